"""SDK exporters that append OTLP/JSON lines to the trace file. Imports the SDK: load lazily.

An exporter writes only in the process that made it: after ``os.fork()`` the child makes
exporters of its own (``_tracefile``), and the parent's, inherited, stay silent there. A span or
metric that cannot be encoded is an internal error, reported once; it is left out and the rest is
written. The SDK's own handling would print a traceback and drop the whole batch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    MetricReader,
    MetricsData,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from asyncwarden._failopen import internal_error
from asyncwarden._sinks._telemetry import _otlpjson

Write = Callable[[bytes], bool]


def _line(request: dict[str, Any]) -> bytes:
    # ensure_ascii keeps every line plain ASCII whatever the names contain; compact separators
    # keep lines short.
    return (json.dumps(request, separators=(",", ":"), allow_nan=False) + "\n").encode("ascii")


def _span_lines(spans: Sequence[ReadableSpan]) -> bytes:
    """The spans as one line; if that fails, every span that can be encoded, one line each."""
    try:
        return _line(_otlpjson.trace_request(spans))
    except Exception as error:
        internal_error("trace file: encoding spans", error)
    lines = []
    for span in spans:
        try:
            lines.append(_line(_otlpjson.trace_request([span])))
        except Exception:  # reported above, once; this span is left out
            continue
    return b"".join(lines)


class FileSpanExporter(SpanExporter):
    """One ``ExportTraceServiceRequest`` per export call, as one line."""

    def __init__(self, write: Write) -> None:
        self._write = write
        self._pid = os.getpid()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not spans or os.getpid() != self._pid:
            return SpanExportResult.SUCCESS
        data = _span_lines(spans)
        ok = not data or self._write(data)
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
        self._pid = os.getpid()

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        if os.getpid() != self._pid:
            return MetricExportResult.SUCCESS
        try:
            request = _otlpjson.metrics_request(metrics_data)
            if not any(
                sm["metrics"] for rm in request["resourceMetrics"] for sm in rm["scopeMetrics"]
            ):
                return MetricExportResult.SUCCESS
            data = _line(request)
        except Exception as error:
            internal_error("trace file: encoding metrics", error)
            return MetricExportResult.FAILURE
        ok = self._write(data)
        return MetricExportResult.SUCCESS if ok else MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Nothing to release."""


class OnDemandMetricReader(MetricReader):
    """Hands every collection to the exporter; collects only when asked, in the caller's thread.

    The SDK's ``PeriodicExportingMetricReader`` runs a thread of its own in the program's
    process; the trace file asks for a collection instead (``_tracefile``), and at shutdown.
    """

    def __init__(self, exporter: FileMetricExporter) -> None:
        super().__init__()
        self._exporter = exporter
        self._pid = os.getpid()

    def _receive_metrics(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> None:
        self._exporter.export(metrics_data, timeout_millis=timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        if os.getpid() == self._pid:  # the last collection, by the process that counted it
            try:
                self.collect(timeout_millis=timeout_millis)
            except Exception as error:
                internal_error("trace file: metrics at exit", error)
        self._exporter.shutdown()
