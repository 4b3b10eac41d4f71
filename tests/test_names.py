"""Names everywhere (issue 9 item 12, issue 11 item 1): an unnamed strategy reports under
the decorated callable's qualified name, in its events and in its error messages."""

from __future__ import annotations

import pytest

from resiliency import (
    Bulkhead,
    BulkheadFullError,
    CircuitBreaker,
    CircuitOpenError,
    RateLimitedError,
    RateLimiter,
    Registry,
    ResiliencyTimeoutError,
    circuit_breaker,
    rate_limit,
    retry,
    timeout,
)
from resiliency._events import CallRejected, Event, RateLimited, RetryScheduled, TimeoutOccurred
from resiliency.testing import FakeClock


class Boom(Exception):
    pass


def test_unnamed_timeout_names_the_function_in_its_message(registry: Registry) -> None:
    clock = FakeClock()

    @timeout(1, mode="cooperative", clock=clock, registry=registry)
    def fetch_report() -> None:
        clock.advance(2)

    with pytest.raises(ResiliencyTimeoutError, match="fetch_report") as caught:
        fetch_report()
    assert caught.value.name == fetch_report.__qualname__


def test_unnamed_breaker_names_the_function_in_its_message(registry: Registry) -> None:
    @circuit_breaker(failure_threshold=1, registry=registry)
    def charge_card() -> None:
        raise Boom

    with pytest.raises(Boom):
        charge_card()
    with pytest.raises(CircuitOpenError, match=r"circuit '.*charge_card' is open"):
        charge_card()


def test_unnamed_rate_limiter_names_the_function_in_its_message(registry: Registry) -> None:
    @rate_limit(rate=1, registry=registry, clock=FakeClock())
    def send_sms() -> None:
        pass

    send_sms()
    with pytest.raises(RateLimitedError, match=r"rate limiter '.*send_sms' has no token"):
        send_sms()


def test_unnamed_bulkhead_names_the_method_in_its_message(registry: Registry) -> None:
    bulkhead = Bulkhead(max_concurrent=1, registry=registry)

    class Mailer:
        @bulkhead
        def send(self) -> None:
            with pytest.raises(BulkheadFullError, match=r"bulkhead '.*Mailer\.send' rejected"):
                self.send()

    Mailer().send()
    assert bulkhead.name is None  # still private: the label is not a registry name
    assert registry.names("bulkhead") == []


def test_a_given_name_wins_over_the_callable(registry: Registry) -> None:
    breaker = CircuitBreaker("payments", failure_threshold=1, registry=registry)

    @breaker
    def charge() -> None:
        raise Boom

    with pytest.raises(Boom):
        charge()
    with pytest.raises(CircuitOpenError, match="circuit 'payments' is open"):
        charge()
    assert breaker.label == "payments"


def test_a_shared_unnamed_strategy_keeps_the_first_callables_name(registry: Registry) -> None:
    limiter = RateLimiter(rate=1, registry=registry, clock=FakeClock())

    @limiter
    def first() -> None:
        pass

    @limiter
    def second() -> None:
        pass

    assert limiter.label == first.__qualname__
    first()
    with pytest.raises(RateLimitedError, match="first"):
        second()


def test_events_carry_the_label(registry: Registry) -> None:
    seen: list[Event] = []
    registry.subscribe(seen.append)
    clock = FakeClock()

    @retry(max_attempts=2, backoff="none", clock=clock, registry=registry)
    @circuit_breaker(failure_threshold=1, clock=clock, registry=registry)
    def sync_inventory() -> None:
        raise Boom

    with pytest.raises(CircuitOpenError):
        sync_inventory()

    @timeout(1, mode="cooperative", clock=clock, registry=registry)
    def slow() -> None:
        clock.advance(2)

    with pytest.raises(ResiliencyTimeoutError):
        slow()

    @rate_limit(rate=1, clock=clock, registry=registry)
    def ping() -> None:
        pass

    ping()
    with pytest.raises(RateLimitedError):
        ping()
    labels = {type(e).__name__: e.name for e in seen}
    assert labels["RetryScheduled"] == sync_inventory.__qualname__
    assert labels["CallRejected"] == sync_inventory.__qualname__
    assert labels["TimeoutOccurred"] == slow.__qualname__
    assert labels["RateLimited"] == ping.__qualname__
    assert {type(e) for e in seen} >= {RetryScheduled, CallRejected, TimeoutOccurred, RateLimited}


def test_the_one_off_call_form_names_the_function() -> None:
    from resiliency import TimeoutPolicy

    clock_free_policy = TimeoutPolicy(0.001, mode="cooperative")

    def crunch() -> None:
        import time

        time.sleep(0.01)

    with pytest.raises(ResiliencyTimeoutError, match="crunch"):
        clock_free_policy.call(crunch)
