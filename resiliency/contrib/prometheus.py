"""Prometheus metrics for resiliency's strategies and failover groups (extra ``prometheus``).

One line turns them on::

    from resiliency.contrib import prometheus
    prometheus.instrument()              # the default registries of both libraries

Every metric of the design is exposed through one prometheus-client ``Collector``:
counters are counted locally per event (no prometheus-client call per call) and read,
like the live gauges, when Prometheus scrapes. Metric names and labels:

- ``circuit_breaker_state_changes_total{name,from_state,to_state}``
- ``circuit_breaker_calls_total{name,result}`` (success, failure, ignored, rejected)
- ``circuit_breaker_state{name}`` (gauge: 0 closed, 1 half-open, 2 open)
- ``retry_attempts_total{name}`` (retries: attempts after the first)
- ``timeout_operations_total{name}``
- ``bulkhead_executions_total{name,state}`` (active: admitted, queued, rejected)
- ``bulkhead_active{name}``, ``bulkhead_queued{name}`` (gauges, read live)
- ``rate_limiter_rejections_total{name}``
- ``failover_provider_calls_total{group,op,provider,result}`` (success, failure, rejected)
- ``failover_call_duration_seconds{group,op,mode}`` (histogram)

``name`` is the strategy's name, else the qualified name of the callable it decorates.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from .._registry import Registry
from .._validate import message
from ._install import Instrumentation, install
from ._tally import COUNTERS, Tally

__all__ = ["ResiliencyCollector", "instrument"]

_DURATION = "failover_call_duration_seconds"


class ResiliencyCollector(Collector):
    """A prometheus-client collector reading a ``Tally`` and the registry at scrape time.

    Args:
        tally: the counting listener (subscribed by ``instrument``).
    """

    def __init__(self, tally: Tally) -> None:
        self._tally = tally

    def describe(self) -> Iterator[Metric]:
        """The metric families, without samples (names are known before the first scrape)."""
        for name, (doc, labels) in COUNTERS.items():
            yield CounterMetricFamily(name, doc, labels=list(labels))
        yield GaugeMetricFamily("circuit_breaker_state", _STATE_HELP, labels=["name"])
        yield GaugeMetricFamily("bulkhead_active", "Calls holding a bulkhead slot now.", labels=["name"])
        yield GaugeMetricFamily("bulkhead_queued", "Calls waiting for a bulkhead slot now.", labels=["name"])
        yield HistogramMetricFamily(_DURATION, _DURATION_HELP, labels=["group", "op", "mode"])

    def collect(self) -> Iterator[Metric]:
        """Every metric with its current samples."""
        tally = self._tally
        for name, (doc, labels) in COUNTERS.items():
            family = CounterMetricFamily(name, doc, labels=list(labels))
            for key, value in tally.counts(name):
                family.add_metric(list(key), value)
            yield family
        states = GaugeMetricFamily("circuit_breaker_state", _STATE_HELP, labels=["name"])
        for name, value in sorted(tally.breaker_states().items()):
            states.add_metric([name], value)
        yield states
        active = GaugeMetricFamily("bulkhead_active", "Calls holding a bulkhead slot now.", labels=["name"])
        queued = GaugeMetricFamily("bulkhead_queued", "Calls waiting for a bulkhead slot now.", labels=["name"])
        for name, (running, waiting) in sorted(tally.bulkheads().items()):
            active.add_metric([name], running)
            queued.add_metric([name], waiting)
        yield active
        yield queued
        histogram = HistogramMetricFamily(_DURATION, _DURATION_HELP, labels=["group", "op", "mode"])
        for key, (buckets, total, _count) in tally.histograms():
            histogram.add_metric(list(key), [(_le(bound), count) for bound, count in buckets], total)
        yield histogram


_STATE_HELP = "Circuit breaker state: 0 closed, 1 half-open, 2 open."
_DURATION_HELP = "Failover group call duration in seconds, by mode (sequential, any, all)."


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


def instrument(
    registry: Registry | None = None, *, prometheus_registry: CollectorRegistry | None = None
) -> Instrumentation:
    """Expose the metrics of ``registry``'s strategies and groups to Prometheus.

    Subscribes a counting listener to ``registry`` and registers a collector on
    ``prometheus_registry``. A second call for the same ``registry`` returns the first
    handle (and registers nothing more).

    Args:
        registry: the resiliency ``Registry`` (default ``resiliency.registry``).
        prometheus_registry: a prometheus-client ``CollectorRegistry`` (default: its
            global ``REGISTRY``).

    Returns:
        The ``Instrumentation`` handle; ``uninstall()`` unsubscribes and unregisters.

    Raises:
        TypeError: ``registry`` or ``prometheus_registry`` of the wrong type.
    """
    target = REGISTRY if prometheus_registry is None else prometheus_registry
    if not isinstance(target, CollectorRegistry):
        raise TypeError(message("prometheus_registry", "a prometheus_client CollectorRegistry or None", target))

    def setup(source: Registry) -> Any:
        tally = Tally(source)
        collector = ResiliencyCollector(tally)
        target.register(collector)
        unsubscribe = source.subscribe(tally)

        def cleanup() -> None:
            unsubscribe()
            target.unregister(collector)

        return cleanup

    return install("prometheus", registry, setup)
