"""SDK exporters that append OTLP/JSON lines to the trace file. Imports the SDK: load lazily."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from asyncwarden._sinks._telemetry import _otlpjson

Write = Callable[[bytes], bool]


def _line(request: dict[str, Any]) -> bytes:
    # ensure_ascii keeps every line plain ASCII whatever the names contain; compact separators
    # keep lines short.
    return (json.dumps(request, separators=(",", ":"), allow_nan=False) + "\n").encode("ascii")


class FileSpanExporter(SpanExporter):
    """One ``ExportTraceServiceRequest`` per export call, as one line."""

    def __init__(self, write: Write) -> None:
        self._write = write

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not spans:
            return SpanExportResult.SUCCESS
        ok = self._write(_line(_otlpjson.trace_request(spans)))
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        """Nothing to release: the file stays open for the metrics exporter."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class FileMetricExporter(MetricExporter):
    """One ``ExportMetricsServiceRequest`` per collection, as one line (cumulative totals)."""

    def __init__(self, write: Write) -> None:
        super().__init__()
        self._write = write

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        request = _otlpjson.metrics_request(metrics_data)
        if not any(sm["metrics"] for rm in request["resourceMetrics"] for sm in rm["scopeMetrics"]):
            return MetricExportResult.SUCCESS
        ok = self._write(_line(request))
        return MetricExportResult.SUCCESS if ok else MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Nothing to release."""
