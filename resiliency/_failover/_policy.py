"""``PolicyConfig`` and the field-by-field resolution of a provider's retry policy.

For provider ``p`` running op ``o`` the effective ``RetryPolicy`` is built field by
field, the most specific setting winning::

    per_provider[p]  >  per_op[o]  >  inline (policy= or @retry under @provider)  >  default  >  GROUP_DEFAULTS

Only the fields a policy was given explicitly count (``RetryPolicy.fields_set``), so
``per_op={"upload": RetryPolicy(max_attempts=5)}`` changes the attempts of every
provider's upload and leaves their backoff as it was.

``GROUP_DEFAULTS`` are the seed's: one attempt per provider (no retry), full jitter from
0.2 s up to 5 s, so a group moves on to the next provider at once unless a policy asks
for retries. A provider that carries its own retry policy (an inline one) asks for
retries: its fallback attempt count is ``RetryPolicy``'s own default (3), below the
explicit fields of every layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .._decorators import is_async_callable
from .._errors import CircuitOpenError
from .._retry_policy import RetryPolicy
from .._validate import message

__all__ = ["GROUP_DEFAULTS", "PolicyConfig", "resolve_policy"]

_EMPTY: Mapping[str, RetryPolicy] = MappingProxyType({})

#: What a group falls back to for every field no policy sets (seed 000).
GROUP_DEFAULTS = RetryPolicy(max_attempts=1, backoff="full_jitter", base_delay=0.2, max_delay=5.0)
# The fallback of a provider with an inline retry policy: it asked for retries.
_INLINE_DEFAULTS = GROUP_DEFAULTS.replace(max_attempts=RetryPolicy().max_attempts)


def _check_table(param: str, table: object) -> Mapping[str, RetryPolicy]:
    if table is None:
        return _EMPTY
    if not isinstance(table, Mapping):
        raise TypeError(message(param, "a mapping of names to RetryPolicy", table))
    for key, value in table.items():
        if not isinstance(key, str):
            raise TypeError(message(f"{param} key", "a str", key))
        if not isinstance(value, RetryPolicy):
            raise TypeError(message(f"{param}[{key!r}]", "a RetryPolicy", value))
    return MappingProxyType(dict(table))


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """The retry policies of a failover group, by op and by provider.

    Args:
        default: the group's ``RetryPolicy`` for every provider and op. Fields no
            layer sets take the group defaults: one attempt per provider (no retry),
            ``"full_jitter"`` backoff from 0.2 s up to 5 s; a provider with an inline
            retry policy falls back to 3 attempts instead of 1.
        per_op: ``{op: RetryPolicy}``, over the inline policy and the default.
        per_provider: ``{provider name: RetryPolicy}``, the most specific setting.

    Raises:
        TypeError: a value that is not a ``RetryPolicy`` or a key that is not a str.
    """

    default: RetryPolicy | None = None
    per_op: Mapping[str, RetryPolicy] = field(default_factory=dict)
    per_provider: Mapping[str, RetryPolicy] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.default is not None and not isinstance(self.default, RetryPolicy):
            raise TypeError(message("default", "a RetryPolicy or None", self.default))
        object.__setattr__(self, "per_op", _check_table("per_op", self.per_op))
        object.__setattr__(self, "per_provider", _check_table("per_provider", self.per_provider))

    def resolve(self, provider: str, op: str, inline: RetryPolicy | None = None) -> RetryPolicy:
        """Return the effective policy of ``provider`` running ``op``.

        Args:
            provider: the provider's name.
            op: the operation.
            inline: the provider's own policy (``policy=`` or a ``@retry`` under
                ``@provider``), if any.
        """
        return resolve_policy(self, provider, op, inline)


def resolve_policy(config: PolicyConfig, provider: str, op: str, inline: RetryPolicy | None) -> RetryPolicy:
    """Merge the layers field by field: per_provider > per_op > inline > default > group defaults.

    The group defaults are ``GROUP_DEFAULTS`` (one attempt); with an inline policy the
    fallback attempt count is ``RetryPolicy``'s default, 3. When a layer sets a
    ``base_delay`` above the defaults' 5 s cap and none sets ``max_delay``, the cap is
    raised to that ``base_delay``. An explicit ``retry_on`` never retries a
    ``CircuitOpenError``: an open breaker skips its provider at once, whatever the
    filter says.
    """
    fallback = GROUP_DEFAULTS if inline is None else _INLINE_DEFAULTS
    given: dict[str, Any] = {}
    for layer in (config.default, inline, config.per_op.get(op), config.per_provider.get(provider)):
        if layer is not None:
            given.update(layer.fields())
    if not given:
        return fallback
    if "max_delay" not in given and given.get("base_delay", 0.0) > fallback.max_delay:
        given["max_delay"] = given["base_delay"]
    policy = fallback.replace(**given)
    if "retry_on" in given:
        policy = policy.replace(retry_on=_not_when_open(policy))
    return policy


def _not_when_open(policy: RetryPolicy) -> Any:
    wants: Any = policy._should_retry
    retry_on: Any

    if is_async_callable(wants):  # stays async, so the async loop awaits it

        async def retry_on(exc: BaseException) -> bool:
            return not isinstance(exc, CircuitOpenError) and bool(await wants(exc))

    else:

        def retry_on(exc: BaseException) -> bool:
            return not isinstance(exc, CircuitOpenError) and wants(exc)

    retry_on.__qualname__ = f"not_when_open({policy.retry_on!r})"
    return retry_on
