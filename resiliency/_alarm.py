"""The asyncio fast path of ``@timeout``: a timer that cancels the task, unless it is shielded.

``anyio.CancelScope`` costs ~3x a bare asyncio timer per call, so on asyncio with the
system clock the timeout arms a loop timer instead (as ``asyncio.timeout`` does). A bare
``task.cancel()`` would cut through ``anyio.CancelScope(shield=True)``, which anyio
promises to protect (a shielded commit must finish). So when the timer fires, the alarm
looks at the task's anyio cancel scopes (anyio's asyncio backend keeps them per task):
if the task now sits in a shielded scope entered during the timed call, it does not
cancel but looks again every ``SHIELD_POLL`` seconds, and cancels once the task is out
of the shield, as trio and anyio's own scopes would. Shields entered before the timed
call (a timeout inside a shielded section) do not stop it.

The scope walk reads anyio internals (``_task_states``, ``_parent_scope``); without
them (another anyio) ``AVAILABLE`` is False and the timeout uses an anyio cancel scope.
"""

from __future__ import annotations

import asyncio
from typing import Any

try:  # anyio's per-task cancel scope state on asyncio (private; checked by the tests)
    from anyio._backends._asyncio import _task_states
except ImportError:  # pragma: no cover - another anyio layout: no fast path
    _task_states = None  # type: ignore[assignment]

__all__ = ["AVAILABLE", "SHIELD_POLL", "Alarm"]

AVAILABLE = _task_states is not None
SHIELD_POLL = 0.001
"""Seconds between looks while a task that passed its deadline runs in a shielded scope."""


def _current_scope(task: asyncio.Task[Any]) -> Any:
    """The task's innermost anyio cancel scope (None outside any)."""
    state = _task_states.get(task) if _task_states is not None else None
    return None if state is None else state.cancel_scope


class Alarm:
    """The timer callback of one asyncio timeout: cancels the task, remembers it did.

    Attributes:
        cancelling: the task's ``cancelling()`` count when the timeout started.
        fired: the alarm cancelled the task (reset by the layer once handled).
        handle: the loop timer now armed (the first, or a shield re-check).
    """

    __slots__ = ("cancelling", "fired", "handle", "loop", "outer_scope", "task")

    def __init__(self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any], seconds: float) -> None:
        self.loop = loop
        self.task = task
        self.cancelling = task.cancelling()
        self.outer_scope = _current_scope(task)
        self.fired = False
        self.handle: asyncio.TimerHandle = loop.call_at(loop.time() + seconds, self.fire)

    def _shielded(self) -> bool:
        """Whether the task now runs in a shielded scope entered since the timeout started."""
        scope = _current_scope(self.task)
        outer = self.outer_scope
        while scope is not None and scope is not outer:
            if scope.shield:
                return True
            scope = scope._parent_scope
        return False

    def fire(self) -> None:
        """Cancel the task, or look again soon while it is shielded."""
        if self._shielded():
            self.handle = self.loop.call_at(self.loop.time() + SHIELD_POLL, self.fire)
            return
        self.fired = True
        self.task.cancel()
