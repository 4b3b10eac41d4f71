"""Thread-mode timeouts: the worker limit, bulkheads above them, and virtual deadlines.

Regression tests for issue 8: defect 6 (a bulkhead above a thread-mode ``@timeout``
freed its slot while the abandoned worker still ran inside the dependency, and the
shared 64 workers let one hung dependency starve every other timeout) and defect 8
(``FakeClock.advance()`` from another thread did not end a sync thread-mode timeout).
"""

from __future__ import annotations

import copy
import pickle
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from resiliency import (
    Bulkhead,
    BulkheadFullError,
    BulkheadPolicy,
    Registry,
    ResiliencePolicy,
    ResiliencyTimeoutError,
    RetryPolicy,
    TimeoutPolicy,
    WorkerLimitError,
    resilient,
    timeout,
)
from resiliency.testing import FakeClock, describe

pytestmark = pytest.mark.usefixtures("no_thread_leak")

REAL = 0.01  # seconds: real timeouts only where a thread must be given up on
SAFETY = 10.0  # seconds: a net against a hung test, never reached when the code is right


def wait_until(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + SAFETY
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.001)


class Dependency:
    """A dependency that hangs until released; counts the calls inside it."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.inside = 0
        self.entered = 0

    def call(self) -> str:
        with self.lock:
            self.inside += 1
            self.entered += 1
        try:
            self.release.wait(SAFETY)
            return "late"
        finally:
            with self.lock:
                self.inside -= 1


@pytest.fixture
def dependency() -> Iterator[Dependency]:
    dep = Dependency()
    yield dep
    dep.release.set()  # the abandoned workers end, so no thread leaks
    wait_until(lambda: dep.inside == 0)


def outcome(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as exc:
        return exc


# -- a bulkhead above a thread-mode timeout (defect 6) --------------------------------------


def test_resilient_bulkhead_bounds_the_work_inside_a_hung_dependency(dependency: Dependency) -> None:
    registry = Registry()
    policy = ResiliencePolicy(bulkhead=BulkheadPolicy(max_concurrent=2), timeout=REAL)

    @resilient("hung", policy=policy, registry=registry)
    def call() -> str:
        return dependency.call()

    results = [outcome(call) for _ in range(20)]
    timed_out = [r for r in results if isinstance(r, ResiliencyTimeoutError)]
    rejected = [r for r in results if type(r) is BulkheadFullError]
    assert len(timed_out) == 2  # the two calls that got the slots
    assert len(rejected) == 18  # the slots stay taken while their workers hang
    assert dependency.entered == 2
    assert registry.bulkhead("hung").metrics().active == 2

    dependency.release.set()  # the workers end: the slots come back
    wait_until(lambda: registry.bulkhead("hung").metrics().active == 0)
    assert call() == "late"


def test_a_waiter_gets_the_slot_when_the_abandoned_worker_ends(dependency: Dependency) -> None:
    bh = Bulkhead(max_concurrent=1, max_queue=1)

    @bh
    @timeout(REAL)
    def call() -> str:
        return dependency.call()

    with pytest.raises(ResiliencyTimeoutError):
        call()
    assert bh.metrics().active == 1
    results: list[Any] = []
    waiter = threading.Thread(target=lambda: results.append(outcome(call)))
    waiter.start()
    wait_until(lambda: bh.metrics().queued == 1)
    dependency.release.set()  # the worker ends and hands its slot to the waiter
    waiter.join(SAFETY)
    assert results == ["late"]
    assert bh.metrics().active == 0
    assert bh.metrics().completed == 2


def test_work_left_behind_by_a_worker_counts_against_the_outer_bulkhead_too(dependency: Dependency) -> None:
    outer, inner = Bulkhead(max_concurrent=1), Bulkhead(max_concurrent=1)

    @inner
    @timeout(REAL)
    def query() -> str:
        return dependency.call()

    @outer
    @timeout(SAFETY)
    def handler() -> str:
        try:
            return query()
        except ResiliencyTimeoutError:
            return "gave up"

    assert handler() == "gave up"  # in time: the handler's own worker ended
    assert (outer.metrics().active, inner.metrics().active) == (1, 1)  # the query's worker runs on
    with pytest.raises(BulkheadFullError):
        handler()
    dependency.release.set()
    wait_until(lambda: outer.metrics().active == 0 and inner.metrics().active == 0)


def test_a_cooperative_timeout_leaves_nothing_behind_so_the_slot_frees_at_once() -> None:
    clock = FakeClock()
    bh = Bulkhead(max_concurrent=1)

    @bh
    @timeout(1, mode="cooperative", clock=clock)
    def call() -> None:
        clock.sleep(2)

    with pytest.raises(ResiliencyTimeoutError):
        call()
    assert bh.metrics().active == 0


# -- the worker limit (defect 6) --------------------------------------------------------------


def test_a_call_that_gets_no_worker_fails_with_worker_limit_error(dependency: Dependency) -> None:
    @timeout(REAL, max_workers=2, name="hung")
    def hung() -> str:
        return dependency.call()

    @timeout(SAFETY)
    def healthy() -> str:
        return "ok"

    for _ in range(2):
        with pytest.raises(ResiliencyTimeoutError):
            hung()
    with pytest.raises(WorkerLimitError) as excinfo:
        hung()
    error = excinfo.value
    assert dependency.entered == 2  # the third call never ran
    assert (error.name, error.limit, error.abandoned) == ("hung", 2, 2)
    assert error.waited >= REAL
    assert error.code == "WORKER_LIMIT"
    assert isinstance(error, BulkheadFullError)
    assert not isinstance(error, TimeoutError)
    assert error.reason == "no_worker"
    assert "found no free worker thread" in str(error)
    assert "all 2 are busy (2 abandoned" in str(error)
    assert healthy() == "ok"  # its own workers: the hung dependency does not starve it


def test_worker_limit_error_is_not_retried_by_default(dependency: Dependency) -> None:
    policy = ResiliencePolicy(
        retry=RetryPolicy(max_attempts=5, base_delay=0.0), timeout=TimeoutPolicy(REAL, max_workers=1)
    )

    @resilient("starved", policy=policy, registry=Registry())
    def call() -> str:
        return dependency.call()

    with pytest.raises(WorkerLimitError):
        call()  # 1 timeout, retried: no worker; that rejection is not retried
    assert dependency.entered == 1


def test_a_policy_shares_its_workers_between_its_call_sites(dependency: Dependency) -> None:
    shared = TimeoutPolicy(REAL, max_workers=1)

    @timeout(policy=shared)
    def first() -> str:
        return dependency.call()

    @timeout(policy=shared)
    def second() -> str:
        return dependency.call()

    with pytest.raises(ResiliencyTimeoutError):
        first()
    with pytest.raises(WorkerLimitError):
        second()
    assert TimeoutPolicy(REAL, max_workers=1) == shared  # the pool is not part of equality
    assert "pool" not in repr(shared)


@pytest.mark.parametrize(
    ("value", "error"),
    [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError), ("2", TypeError)],
)
def test_bad_max_workers_is_refused(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="max_workers"):
        TimeoutPolicy(1.0, max_workers=value)
    with pytest.raises(error, match="max_workers"):
        timeout(1.0, max_workers=value)


def test_max_workers_beside_policy_is_refused() -> None:
    with pytest.raises(TypeError, match="not both"):
        timeout(policy=TimeoutPolicy(1.0), max_workers=2)


@pytest.mark.parametrize("max_workers", [None, 3])
def test_a_policy_pickles_and_copies_with_workers_of_its_own(max_workers: int | None) -> None:
    policy = TimeoutPolicy(2.0, max_workers=max_workers)
    assert copy.copy(policy)._pool is policy._pool  # a shallow copy shares it
    for twin in (pickle.loads(pickle.dumps(policy)), copy.deepcopy(policy)):
        assert twin == policy
        if max_workers is None:
            assert twin._pool is policy._pool  # the process-wide pool
        else:
            assert twin._pool is not policy._pool
            assert twin._pool.limit == max_workers


def test_worker_limit_error_pickles() -> None:
    error = WorkerLimitError("db", 4, 3, 0.5)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.name, copy.limit, copy.abandoned, copy.waited, str(copy)) == ("db", 4, 3, 0.5, str(error))


# -- virtual time from another thread (defect 8) -----------------------------------------------


def test_fake_clock_advanced_by_another_thread_ends_a_thread_mode_timeout(dependency: Dependency) -> None:
    clock = FakeClock()

    @timeout(60, clock=clock)
    def hung() -> str:
        return dependency.call()

    results: list[Any] = []
    caller = threading.Thread(target=lambda: results.append(outcome(hung)))
    caller.start()
    wait_until(lambda: dependency.entered == 1)
    clock.advance(59.5)
    caller.join(0.01)
    assert caller.is_alive()  # not yet at the virtual deadline
    clock.advance(0.5)
    caller.join(SAFETY)  # before the fix: 60 real seconds
    assert not caller.is_alive()
    [error] = results
    assert isinstance(error, ResiliencyTimeoutError)
    assert error.elapsed == 60.0


def test_waiting_for_a_worker_ends_at_the_virtual_deadline(dependency: Dependency) -> None:
    clock = FakeClock()

    @timeout(5, clock=clock, max_workers=1)
    def hung() -> str:
        return dependency.call()

    results: list[Any] = []
    first = threading.Thread(target=lambda: results.append(outcome(hung)))
    first.start()
    wait_until(lambda: dependency.entered == 1)
    clock.advance(5)
    first.join(SAFETY)
    second = threading.Thread(target=lambda: results.append(outcome(hung)))
    second.start()
    [strategy] = describe(hung)
    wait_until(lambda: strategy.policy._pool.waiting == 1)  # waits for a worker, in virtual time
    clock.advance(5)
    second.join(SAFETY)
    assert not second.is_alive()
    assert [type(r) for r in results] == [ResiliencyTimeoutError, WorkerLimitError]
    assert results[1].waited == 5.0
    assert dependency.entered == 1
