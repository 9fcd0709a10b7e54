"""The OTLP/JSON encoding, checked against the real protobuf schema (opentelemetry-proto).

protobuf's JSON parser knows every field name, type and enum of ``ExportTraceServiceRequest`` and
``ExportMetricsServiceRequest``; OTLP/JSON differs from plain protobuf JSON only in writing ids as
hex, so the tests turn the ids back into base64 and let the parser judge the rest.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, Status, StatusCode, set_span_in_context

from asyncwarden._sinks._telemetry import _otlpjson

json_format = pytest.importorskip("google.protobuf.json_format")
trace_service = pytest.importorskip("opentelemetry.proto.collector.trace.v1.trace_service_pb2")
metrics_service = pytest.importorskip(
    "opentelemetry.proto.collector.metrics.v1.metrics_service_pb2"
)

_ID_KEYS = {"traceId", "spanId", "parentSpanId"}


def _hex_ids_to_base64(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: base64.b64encode(bytes.fromhex(item)).decode()
            if key in _ID_KEYS
            else _hex_ids_to_base64(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_hex_ids_to_base64(item) for item in value]
    return value


def _parse(line: str, message: Any) -> Any:
    """Parse one OTLP/JSON line with protobuf's strict parser (unknown fields are errors)."""
    return json_format.Parse(json.dumps(_hex_ids_to_base64(json.loads(line))), message)


def _spans() -> list[Any]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "otlp-test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("asyncwarden", "9.9")
    parent = tracer.start_span("parent", start_time=1_000)
    parent.end(end_time=5_000)
    child = tracer.start_span(
        "child",
        context=set_span_in_context(parent),
        attributes={
            "s": "text",
            "i": 2**62,
            "f": 0.25,
            "b": True,
            "ints": [1, 2, 3],
            "strings": ["a", "b"],
        },
        links=[Link(parent.get_span_context(), {"why": "lineage"})],
        start_time=2_000,
    )
    child.add_event("AW101", {"asyncwarden.finding.code": "AW101"}, timestamp=3_000)
    child.set_status(Status(StatusCode.ERROR, "AW101 unordered-concat"))
    child.end(end_time=4_000)
    return list(exporter.get_finished_spans())


def test_spans_encode_to_a_valid_export_trace_service_request() -> None:
    spans = _spans()
    line = json.dumps(_otlpjson.trace_request(spans))
    request = _parse(line, trace_service.ExportTraceServiceRequest())
    (resource_spans,) = request.resource_spans
    resource = {kv.key: kv.value.string_value for kv in resource_spans.resource.attributes}
    assert resource["service.name"] == "otlp-test"
    (scope_spans,) = resource_spans.scope_spans
    assert (scope_spans.scope.name, scope_spans.scope.version) == ("asyncwarden", "9.9")
    parent, child = sorted(scope_spans.spans, key=lambda s: s.name, reverse=True)
    sdk_parent = spans[0]
    assert parent.trace_id == sdk_parent.context.trace_id.to_bytes(16, "big")
    assert parent.span_id == sdk_parent.context.span_id.to_bytes(8, "big")
    assert child.parent_span_id == parent.span_id
    assert not parent.parent_span_id
    assert child.kind == 1  # SPAN_KIND_INTERNAL
    assert (child.start_time_unix_nano, child.end_time_unix_nano) == (2_000, 4_000)
    values = {kv.key: kv.value for kv in child.attributes}
    assert values["s"].string_value == "text"
    assert values["i"].int_value == 2**62
    assert values["f"].double_value == 0.25
    assert values["b"].bool_value is True
    assert [v.int_value for v in values["ints"].array_value.values] == [1, 2, 3]
    assert [v.string_value for v in values["strings"].array_value.values] == ["a", "b"]
    (event,) = child.events
    assert (event.name, event.time_unix_nano) == ("AW101", 3_000)
    (link,) = child.links
    assert link.span_id == parent.span_id
    assert child.status.code == 2  # STATUS_CODE_ERROR
    assert child.status.message == "AW101 unordered-concat"
    assert not parent.HasField("status") or parent.status.code == 0


def test_ids_are_lowercase_hex_and_64_bit_integers_are_strings() -> None:
    encoded = _otlpjson.trace_request(_spans())
    span = encoded["resourceSpans"][0]["scopeSpans"][0]["spans"][1]
    assert len(span["traceId"]) == 32 and span["traceId"] == span["traceId"].lower()
    assert len(span["spanId"]) == 16 and len(span["parentSpanId"]) == 16
    assert span["startTimeUnixNano"] == "2000"
    assert {"key": "i", "value": {"intValue": str(2**62)}} in span["attributes"]


def test_values_json_cannot_hold_are_spelled_as_protobuf_json_does() -> None:
    assert _otlpjson.any_value(math.nan) == {"doubleValue": "NaN"}
    assert _otlpjson.any_value(-math.inf) == {"doubleValue": "-Infinity"}
    assert _otlpjson.any_value(b"\x00\xff") == {"bytesValue": "AP8="}
    assert _otlpjson.any_value({"k": 1}) == {
        "kvlistValue": {"values": [{"key": "k", "value": {"intValue": "1"}}]}
    }


def test_metrics_encode_to_a_valid_export_metrics_service_request() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("asyncwarden")
    counter = meter.create_counter("asyncwarden.findings", unit="{finding}")
    counter.add(2, {"asyncwarden.rule": "AW101"})
    histogram = meter.create_histogram(
        "asyncwarden.batch.duration", unit="s", explicit_bucket_boundaries_advisory=[0.1, 1.0]
    )
    histogram.record(0.05, {"asyncwarden.batch.kind": "wait"})
    histogram.record(2.0, {"asyncwarden.batch.kind": "wait"})
    line = json.dumps(_otlpjson.metrics_request(reader.get_metrics_data()))
    request = _parse(line, metrics_service.ExportMetricsServiceRequest())
    metrics = {m.name: m for m in request.resource_metrics[0].scope_metrics[0].metrics}
    findings = metrics["asyncwarden.findings"]
    assert findings.unit == "{finding}"
    assert findings.sum.is_monotonic
    assert findings.sum.aggregation_temporality == 2  # CUMULATIVE
    (point,) = findings.sum.data_points
    assert point.as_int == 2
    assert point.attributes[0].value.string_value == "AW101"
    (bucketed,) = metrics["asyncwarden.batch.duration"].histogram.data_points
    assert (bucketed.count, bucketed.sum) == (2, 2.05)
    assert list(bucketed.explicit_bounds) == [0.1, 1.0]
    assert list(bucketed.bucket_counts) == [1, 0, 1]
    assert (bucketed.min, bucketed.max) == (0.05, 2.0)
