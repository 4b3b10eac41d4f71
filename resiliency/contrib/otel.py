"""OpenTelemetry metrics and traces for resiliency (extra ``otel``).

One line turns them on::

    from resiliency.contrib import otel
    otel.instrument()          # the global tracer and meter providers

Metrics carry the names of ``resiliency.contrib.prometheus`` (seed 003): the counters
and gauges are observable instruments read at collection time from a local tally (no
SDK call per successful call); ``failover_call_duration_seconds`` is a histogram
recorded once per group call.

Traces: a span ``failover {group}.{op}`` per group call (attributes
``resilience.operation``, ``failover.mode``), current while the providers run, so each
provider attempt's span (``failover.provider``, ``failover.attempt``,
``resilience.operation``, ``timeout.exceeded``, ``circuit.state`` when the provider has
a breaker) is its child, on asyncio, trio and the sync modes' threads alike. Retries,
timeouts, rejections and breaker transitions are span events on the current span
(``retry`` with ``retry.attempt``, the attempt that failed, and ``retry.delay``); no
span is made for a plain call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar, Token
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation
from opentelemetry.trace import Status, StatusCode, TracerProvider

from .._events import (
    BulkheadAdmitted,
    BulkheadRejected,
    CallRejected,
    CircuitStateChanged,
    Event,
    FailoverFinished,
    FailoverStarted,
    ProviderFailed,
    ProviderSucceeded,
    RateLimited,
    RetryScheduled,
    TimeoutOccurred,
)
from .._registry import Registry
from ._install import Instrumentation, install
from ._tally import BUCKETS, COUNTERS, Tally

__all__ = ["instrument"]

logger = logging.getLogger("resiliency")
_SCOPE = "resiliency"


class _Call:
    """The span of one group call, and what undoes making it current."""

    __slots__ = ("attached", "group", "op", "reset", "span")

    def __init__(self, span: trace.Span, attached: object, group: str, op: str) -> None:
        self.span = span
        self.attached = attached
        self.group = group
        self.op = op
        self.reset: Token[_Call | None] | None = None


_CALL: ContextVar[_Call | None] = ContextVar("resiliency_otel_call", default=None)


class _Listener:
    """Counts events into the tally; turns failover events into spans, the others into span events."""

    def __init__(self, tally: Tally, tracer: trace.Tracer, durations: metrics.Histogram) -> None:
        self.tally = tally
        self.tracer = tracer
        self.durations = durations
        self.active = True
        own: dict[type[Event], Callable[[Any], None]] = {
            FailoverStarted: self._started,
            FailoverFinished: self._finished,
            ProviderSucceeded: self._provider_succeeded,
            ProviderFailed: self._provider_failed,
            RetryScheduled: self._retry,
            TimeoutOccurred: self._timeout,
            CallRejected: self._rejected,
            CircuitStateChanged: self._state_changed,
            BulkheadAdmitted: self._admitted,
            BulkheadRejected: self._bulkhead_rejected,
            RateLimited: self._rate_limited,
        }
        handlers = dict(tally._handlers)
        for kind, handler in own.items():
            counted = handlers.get(kind)
            handlers[kind] = handler if counted is None else _both(counted, handler)
        handlers[FailoverFinished] = self._finished  # its duration goes to the histogram, not the tally
        self._handlers = handlers

    def __call__(self, event: Event) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    # -- group and provider spans --------------------------------------------------

    def _started(self, event: FailoverStarted) -> None:
        group = event.name or ""
        operation = f"{group}.{event.op}"
        span = self.tracer.start_span(
            f"failover {operation}", attributes={"resilience.operation": operation, "failover.mode": event.mode}
        )
        attached = otel_context.attach(trace.set_span_in_context(span))
        call = _Call(span, attached, group, event.op)
        call.reset = _CALL.set(call)

    def _finished(self, event: FailoverFinished) -> None:
        group = event.name or ""
        self.durations.record(event.duration, {"group": group, "op": event.op, "mode": event.mode})
        call = _CALL.get()
        if call is None or (call.group, call.op) != (group, event.op):
            return
        span = call.span
        if event.error is not None:
            if isinstance(event.error, Exception):
                span.record_exception(event.error)
            span.set_status(Status(StatusCode.ERROR, type(event.error).__name__))
        elif not event.ok:
            span.set_status(Status(StatusCode.ERROR, "every provider failed"))
        span.end()
        otel_context.detach(call.attached)  # type: ignore[arg-type]
        if call.reset is not None:
            _CALL.reset(call.reset)

    def _provider_span(self, event: ProviderSucceeded | ProviderFailed, error: BaseException | None) -> None:
        end = time.time_ns()
        group = event.name or ""
        attributes: dict[str, Any] = {
            "resilience.operation": f"{group}.{event.op}",
            "failover.provider": event.provider,
            "failover.attempt": event.attempt,
            "timeout.exceeded": isinstance(error, TimeoutError),
        }
        if event.mode is not None:
            attributes["failover.mode"] = event.mode
        if event.circuit_state is not None:
            attributes["circuit.state"] = event.circuit_state
        start = end - max(int(event.duration * 1e9), 0)
        span = self.tracer.start_span(f"provider {event.provider}", start_time=start, attributes=attributes)
        if error is not None:
            if isinstance(error, Exception):
                span.record_exception(error, timestamp=end)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.end(end_time=end)

    def _provider_succeeded(self, event: ProviderSucceeded) -> None:
        self._provider_span(event, None)

    def _provider_failed(self, event: ProviderFailed) -> None:
        self._provider_span(event, event.error)

    # -- span events on the current span ---------------------------------------------

    def _retry(self, event: RetryScheduled) -> None:
        _span_event("retry", {"retry.attempt": event.attempt, "retry.delay": event.delay}, event.name)

    def _timeout(self, event: TimeoutOccurred) -> None:
        _span_event("timeout", {"timeout.exceeded": True, "timeout.seconds": event.timeout}, event.name)

    def _rejected(self, event: CallRejected) -> None:
        _span_event("circuit_open", {"circuit.state": "open"}, event.name)

    def _state_changed(self, event: CircuitStateChanged) -> None:
        old, new = getattr(event.old, "value", str(event.old)), getattr(event.new, "value", str(event.new))
        _span_event("circuit_state_change", {"circuit.state": new, "circuit.previous_state": old}, event.name)

    def _admitted(self, event: BulkheadAdmitted) -> None:
        if event.queued:
            _span_event("bulkhead_queued", {"bulkhead.queue_position": event.queue_position}, event.name)

    def _bulkhead_rejected(self, event: BulkheadRejected) -> None:
        _span_event("bulkhead_rejected", {"bulkhead.reason": event.reason}, event.name)

    def _rate_limited(self, event: RateLimited) -> None:
        _span_event("rate_limited", {"rate_limit.retry_after": event.retry_after}, event.name)

    # -- observable instruments ------------------------------------------------------

    def observe_counter(self, metric: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        labels = COUNTERS[metric][1]

        def callback(options: CallbackOptions) -> Iterable[Observation]:
            if not self.active:
                return []
            return [Observation(value, dict(zip(labels, key, strict=True))) for key, value in self.tally.counts(metric)]

        return callback

    def observe_states(self, options: CallbackOptions) -> Iterable[Observation]:
        if not self.active:
            return []
        return [Observation(value, {"name": name}) for name, value in self.tally.breaker_states().items()]

    def observe_bulkheads(self, index: int) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def callback(options: CallbackOptions) -> Iterable[Observation]:
            if not self.active:
                return []
            return [Observation(pair[index], {"name": name}) for name, pair in self.tally.bulkheads().items()]

        return callback


def _both(first: Callable[[Any], None], second: Callable[[Any], None]) -> Callable[[Any], None]:
    def handler(event: Any) -> None:
        first(event)
        second(event)

    return handler


def _span_event(name: str, attributes: dict[str, Any], strategy: str | None) -> None:
    span = trace.get_current_span()
    if span.is_recording():
        if strategy is not None:
            attributes["resilience.operation"] = strategy
        span.add_event(name, attributes)


def instrument(
    registry: Registry | None = None,
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> Instrumentation:
    """Report ``registry``'s strategies and groups to OpenTelemetry (metrics and traces).

    A second call for the same ``registry`` returns the first handle.

    Args:
        registry: the resiliency ``Registry`` (default ``resiliency.registry``).
        tracer_provider: where spans go (default: the global one).
        meter_provider: where metrics go (default: the global one).

    Returns:
        The ``Instrumentation`` handle; ``uninstall()`` stops the spans and empties the
        observable instruments (OpenTelemetry cannot remove an instrument).

    Raises:
        TypeError: ``registry`` is not a ``Registry``.
    """

    def setup(source: Registry) -> Callable[[], None]:
        tracer = trace.get_tracer(_SCOPE, tracer_provider=tracer_provider)
        meter = metrics.get_meter(_SCOPE, meter_provider=meter_provider)
        durations = meter.create_histogram(
            "failover_call_duration_seconds",
            unit="s",
            description="Failover group call duration in seconds, by mode (sequential, any, all).",
            explicit_bucket_boundaries_advisory=[b for b in BUCKETS if b != float("inf")],
        )
        listener = _Listener(Tally(source), tracer, durations)
        for metric, (doc, _labels) in COUNTERS.items():
            meter.create_observable_counter(metric, callbacks=[listener.observe_counter(metric)], description=doc)
        meter.create_observable_gauge(
            "circuit_breaker_state",
            callbacks=[listener.observe_states],
            description="Circuit breaker state: 0 closed, 1 half-open, 2 open.",
        )
        meter.create_observable_gauge(
            "bulkhead_active",
            callbacks=[listener.observe_bulkheads(0)],
            description="Calls holding a bulkhead slot now.",
        )
        meter.create_observable_gauge(
            "bulkhead_queued",
            callbacks=[listener.observe_bulkheads(1)],
            description="Calls waiting for a bulkhead slot now.",
        )
        unsubscribe = source.subscribe(listener)

        def cleanup() -> None:
            listener.active = False
            unsubscribe()

        return cleanup

    return install("otel", registry, setup)
