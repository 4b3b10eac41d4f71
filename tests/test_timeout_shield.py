"""``@timeout`` on async calls never cuts through an anyio shielded section.

Regression tests for issue 8, defect 7: on asyncio with the system clock the timeout
cancelled the task directly, interrupting ``anyio.CancelScope(shield=True)`` (a shielded
commit was lost); trio and virtual clocks respected the shield. Both backends here.
"""

from __future__ import annotations

import anyio
import pytest

from resiliency import ResiliencyTimeoutError, timeout
from resiliency._alarm import AVAILABLE

pytestmark = pytest.mark.anyio

DEADLINE = 0.001  # seconds: passes while the shielded section runs
SHIELDED = 0.02  # seconds the shielded section takes
SAFETY = 5.0  # seconds: a net against a hung test, never reached when the code is right


def test_the_asyncio_fast_path_is_available() -> None:
    assert AVAILABLE  # the anyio internals the shield check reads are where it expects


@pytest.mark.parametrize("nested", [False, True], ids=["shield", "scope-inside-shield"])
async def test_a_timeout_waits_for_a_shielded_section_then_cancels(nested: bool) -> None:
    committed: list[str] = []

    @timeout(DEADLINE)
    async def commit() -> None:
        with anyio.CancelScope(shield=True):
            if nested:
                with anyio.CancelScope():  # unshielded, but inside the shield
                    await anyio.sleep(SHIELDED)
            else:
                await anyio.sleep(SHIELDED)
            committed.append("commit")
        await anyio.sleep(SAFETY * 2)  # out of the shield: cancelled here

    with anyio.fail_after(SAFETY), pytest.raises(ResiliencyTimeoutError):
        await commit()
    assert committed == ["commit"]


async def test_a_timeout_inside_a_shielded_section_still_times_out() -> None:
    @timeout(DEADLINE)
    async def hang() -> None:
        await anyio.sleep(SAFETY)

    with anyio.CancelScope(shield=True), pytest.raises(ResiliencyTimeoutError):
        await hang()


async def test_a_shielded_call_that_ends_in_the_shield_keeps_its_result() -> None:
    @timeout(DEADLINE)
    async def commit() -> str:
        with anyio.CancelScope(shield=True):
            await anyio.sleep(SHIELDED)
            return "committed"

    with anyio.fail_after(SAFETY):
        assert await commit() == "committed"  # no checkpoint after the shield: nothing to cancel
