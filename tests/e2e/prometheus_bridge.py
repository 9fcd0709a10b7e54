"""Serve asyncwarden's OpenTelemetry metrics to Prometheus while examples run in this process.

    python tests/e2e/prometheus_bridge.py PORT ROUNDS EXAMPLE.py [EXAMPLE.py ...]

Run with ASYNCWARDEN=warn. A stand-in for ``opentelemetry-exporter-prometheus``, which is not on
the package index this project installs from: an SDK ``MeterProvider`` with an
``InMemoryMetricReader``, collected on each scrape and written with ``prometheus_client``, the
names converted the way the OpenTelemetry Collector's prometheus exporter converts them (what the
Grafana dashboard queries in production): dots to underscores, the unit as a suffix (``s`` ->
``_seconds``, ``{task}`` dropped), ``_total`` on counters.

Says on stdout: ``serving``, then ``round N`` after each round of examples once Prometheus has
scraped twice since, then ``done``; then waits for stdin to close (or 120 s) and exits.
"""

from __future__ import annotations

import contextlib
import io
import re
import runpy
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    Gauge,
    Histogram,
    InMemoryMetricReader,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

_UNITS = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": ""}


def prometheus_name(name: str, unit: str) -> str:
    """The OpenTelemetry -> Prometheus name translation (without ``_total``, added on write)."""
    base = re.sub(r"_+", "_", re.sub(r"[^a-zA-Z0-9_:]", "_", name)).strip("_")
    unit = _UNITS.get(re.sub(r"\{[^}]*\}", "", unit), re.sub(r"\{[^}]*\}", "", unit))
    unit = re.sub(r"[^a-zA-Z0-9_:]", "_", unit)
    if unit and not base.endswith("_" + unit):
        base = f"{base}_{unit}"
    return base


def label_name(key: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", key)


class Bridge:
    def __init__(self, reader: InMemoryMetricReader) -> None:
        self.reader = reader
        self.scrapes = 0
        self.changed = threading.Condition()

    def collect(self) -> Iterator[Metric]:
        data = self.reader.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    yield from self._family(metric)
        with self.changed:
            self.scrapes += 1
            self.changed.notify_all()

    def _family(self, metric: Any) -> Iterator[Metric]:
        points = list(metric.data.data_points)
        keys = sorted({key for point in points for key in point.attributes})
        labels = [label_name(key) for key in keys]
        name = prometheus_name(metric.name, metric.unit or "")
        doc = metric.description or metric.name

        def values(point: Any) -> list[str]:
            return [str(point.attributes.get(key, "")) for key in keys]

        if isinstance(metric.data, Histogram):
            family = HistogramMetricFamily(name, doc, labels=labels)
            for point in points:
                cumulative, buckets = 0, []
                for bound, count in zip(
                    [*point.explicit_bounds, float("inf")], point.bucket_counts, strict=True
                ):
                    cumulative += count
                    buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
                family.add_metric(values(point), buckets, point.sum)
            yield family
        elif isinstance(metric.data, Sum) and metric.data.is_monotonic:
            family = CounterMetricFamily(name, doc, labels=labels)
            for point in points:
                family.add_metric(values(point), point.value)
            yield family
        elif isinstance(metric.data, (Sum, Gauge)):
            family = GaugeMetricFamily(name, doc, labels=labels)
            for point in points:
                family.add_metric(values(point), point.value)
            yield family

    def wait_for_scrapes(self, count: int, timeout: float = 30) -> None:
        with self.changed:
            target = self.scrapes + count
            if not self.changed.wait_for(lambda: self.scrapes >= target, timeout):
                raise SystemExit(f"prometheus_bridge: no scrape within {timeout} s")


def run_example(path: Path) -> None:
    sys.argv = [str(path)]
    sys.path.insert(0, str(path.parent))
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
            runpy.run_path(str(path), run_name="__main__")
    finally:
        sys.path.remove(str(path.parent))


def main() -> None:
    port, rounds, examples = int(sys.argv[1]), int(sys.argv[2]), [Path(p) for p in sys.argv[3:]]
    reader = InMemoryMetricReader()
    resource = Resource.create({"service.name": "asyncwarden-example"})
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader], resource=resource))
    bridge = Bridge(reader)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(bridge)  # type: ignore[arg-type]
    start_http_server(port, addr="127.0.0.1", registry=registry)
    print("serving", flush=True)
    for number in range(1, rounds + 1):
        for example in examples:
            run_example(example)
        bridge.wait_for_scrapes(2)
        print(f"round {number}", flush=True)
    print("done", flush=True)
    # Serve until the test closes our stdin; never outlive it by more than two minutes.
    closed = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), closed.set()), daemon=True).start()
    closed.wait(120)


if __name__ == "__main__":
    main()
