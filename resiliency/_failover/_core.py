"""The shared state of a failover group: its bindings, policy, hooks, stats and events.

A ``FailoverGroup`` and every view ``with_options`` makes share one ``GroupCore``.
Registration compiles each provider and op into a ``Binding`` once (resolved policy,
per-attempt chain) and bumps ``version`` so the views rebuild their per-op plans.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Sequence
from typing import Any

from .._clock import Clock
from .._errors import NoProviderError
from .._registry import Registry
from ._binding import Binding
from ._hooks import Hooks, Notifier
from ._policy import PolicyConfig
from ._provider import Target, unpack
from ._stats import EVENT_BUFFER

__all__ = ["GroupCore"]


class GroupCore:
    """Bindings and state of one group (shared by the group and its views)."""

    def __init__(
        self, name: str, policy: PolicyConfig, hooks: Hooks | None, registry: Registry, clock: Clock | None
    ) -> None:
        self.name = name
        self.policy = policy
        self.registry = registry
        self.clock = clock
        self.notifier = Notifier(name, hooks, registry)
        self.ring: deque[tuple[Any, ...]] = deque(maxlen=EVENT_BUFFER)
        self.lock = threading.RLock()
        self.bindings: list[Binding] = []
        self.owners: dict[str, object] = {}
        self.version = 0
        self.deferral: Any = None  # a _deferral.Deferral when the group defers ops
        self._seq = itertools.count()

    def ordered(self) -> list[Binding]:
        """Every binding by priority, then registration order."""
        with self.lock:
            return sorted(self.bindings, key=lambda b: (b.priority, b.seq))

    def provider_names(self) -> list[str]:
        """Provider names in order (a provider's place is that of its first binding)."""
        return list(dict.fromkeys(b.provider for b in self.ordered()))

    def ops(self) -> list[str]:
        """The ops some provider implements, sorted."""
        with self.lock:
            return sorted({b.op for b in self.bindings})

    def add(self, targets: Sequence[Target]) -> list[Binding]:
        """Compile and add ``targets``; all or nothing.

        Raises:
            ValueError: a provider name already used by another object, or a provider
                and op registered twice.
        """
        with self.lock:
            taken = {(b.provider, b.op) for b in self.bindings}
            owners = dict(self.owners)
            new: list[Binding] = []
            for spec, value, owner in targets:
                holder = owners.setdefault(spec.name, owner)
                if holder is not owner:
                    raise ValueError(
                        f"provider name {spec.name!r} is already used in group {self.name!r} by {_label(holder)}; "
                        f"provider names must be unique within a group (got it again from {_label(owner)})"
                    )
                if (spec.name, spec.op) in taken:
                    raise ValueError(f"provider {spec.name!r} already implements op {spec.op!r} in group {self.name!r}")
                taken.add((spec.name, spec.op))
                raw, strategies, inline, is_async = unpack(value, owner)
                if spec.policy is not None:
                    inline = spec.policy if inline is None else inline.merged(spec.policy)
                new.append(
                    Binding(
                        provider=spec.name,
                        op=spec.op,
                        priority=spec.priority,
                        seq=next(self._seq),
                        owner=owner,
                        raw=raw,
                        strategies=strategies,
                        is_async=is_async,
                        policy=self.policy.resolve(spec.name, spec.op, inline),
                        group=self.name,
                        clock=self.clock,
                        notifier=self.notifier,
                        ring=self.ring,
                    )
                )
            self.bindings.extend(new)
            self.owners = owners
            self.version += 1
            return new

    def plan(self, op: str, providers: frozenset[str] | None, sync: bool) -> tuple[Binding, ...]:
        """The bindings that run ``op``, in order, narrowed to ``providers``.

        Raises:
            NoProviderError: (an ``AllProvidersFailedError`` with no attempts) no provider
                implements ``op``, or none is left after narrowing.
            TypeError: ``sync`` and a provider of ``op`` is async.
        """
        if not isinstance(op, str):
            raise TypeError(f"op must be a str (got {op!r})")
        every = [b for b in self.ordered() if b.op == op]
        if not every:
            ops = ", ".join(self.ops()) or "none registered"
            raise NoProviderError(f"group {self.name!r} has no provider for op {op!r} (its ops: {ops})", op)
        plan = every if providers is None else [b for b in every if b.provider in providers]
        if not plan:
            raise NoProviderError(
                f"no provider for op {op!r} is left in group {self.name!r} after narrowing to "
                f"{sorted(providers or ())} (providers of {op!r}: {', '.join(b.provider for b in every)})",
                op,
            )
        if sync:
            async_ones = [b.provider for b in plan if b.is_async]
            if async_ones:
                raise TypeError(
                    f"the sync modes run sync providers only; {', '.join(async_ones)} implement(s) {op!r} with "
                    f"an async function in group {self.name!r}: use await group.execute(...) and friends"
                )
        return tuple(plan)


def _label(owner: object) -> str:
    if owner is None:
        return "plain functions"
    return f"a {type(owner).__qualname__} object"
