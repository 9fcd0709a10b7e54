"""The OTLP/JSON encoding of SDK spans and metrics, one export request per call.

This is what the OpenTelemetry Collector's file exporter writes: the protobuf JSON mapping of
``ExportTraceServiceRequest``/``ExportMetricsServiceRequest`` with OTLP's own amendments (trace and
span ids as hex strings, not base64; enums as integers; lowerCamelCase keys). 64-bit integers are
decimal strings, as the protobuf JSON mapping writes them, so no reader loses precision on
nanosecond timestamps. Fields at their default value are left out, as protobuf writers do.

Written by hand rather than through ``opentelemetry-proto`` + protobuf's ``MessageToJson``: that
one base64-encodes the ids, which OTLP/JSON forbids, and it would add two dependencies.
The SDK objects are read by attribute only, so this module imports nothing from the SDK.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

JSON = dict[str, Any]


def any_value(value: object) -> JSON:
    """An ``AnyValue``: the attribute value types the OpenTelemetry API allows, and nesting."""
    if isinstance(value, bool):  # before int: bool is an int
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": _double(value)}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, (bytes, bytearray)):
        return {"bytesValue": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": key_values(value)}}
    if isinstance(value, Sequence):
        return {"arrayValue": {"values": [any_value(item) for item in value]}}
    if value is None:
        return {}
    return {"stringValue": str(value)}


def _double(value: float) -> float | str:
    # JSON has no NaN or infinities; the protobuf JSON mapping spells them as strings.
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def key_values(attributes: Mapping[str, object] | None) -> list[JSON]:
    if not attributes:
        return []
    return [{"key": str(key), "value": any_value(value)} for key, value in attributes.items()]


def _with_attributes(target: JSON, attributes: Mapping[str, object] | None) -> JSON:
    encoded = key_values(attributes)
    if encoded:
        target["attributes"] = encoded
    return target


def _dropped(target: JSON, key: str, count: int) -> None:
    if count:
        target[key] = count


def resource(res: Any) -> JSON:
    return _with_attributes({}, getattr(res, "attributes", None))


def scope(instrumentation_scope: Any) -> JSON:
    if instrumentation_scope is None:
        return {}
    encoded: JSON = {"name": instrumentation_scope.name}
    if instrumentation_scope.version:
        encoded["version"] = instrumentation_scope.version
    return _with_attributes(encoded, getattr(instrumentation_scope, "attributes", None))


def trace_id(value: int) -> str:
    return f"{value:032x}"


def span_id(value: int) -> str:
    return f"{value:016x}"


def _nanos(value: int | None) -> str:
    return str(int(value or 0))


def span(readable: Any) -> JSON:
    """One ``Span`` from an SDK ``ReadableSpan``."""
    context = readable.context
    encoded: JSON = {"traceId": trace_id(context.trace_id), "spanId": span_id(context.span_id)}
    state = context.trace_state.to_header() if context.trace_state else ""
    if state:
        encoded["traceState"] = state
    if readable.parent is not None and readable.parent.span_id:
        encoded["parentSpanId"] = span_id(readable.parent.span_id)
    encoded["name"] = readable.name
    # The API's SpanKind counts from INTERNAL = 0; OTLP's from UNSPECIFIED = 0, INTERNAL = 1.
    encoded["kind"] = int(readable.kind.value) + 1
    encoded["startTimeUnixNano"] = _nanos(readable.start_time)
    encoded["endTimeUnixNano"] = _nanos(readable.end_time)
    _with_attributes(encoded, readable.attributes)
    _dropped(encoded, "droppedAttributesCount", readable.dropped_attributes)
    events = [
        _with_attributes(
            {"timeUnixNano": _nanos(event.timestamp), "name": event.name}, event.attributes
        )
        for event in readable.events
    ]
    if events:
        encoded["events"] = events
    _dropped(encoded, "droppedEventsCount", readable.dropped_events)
    links = []
    for link in readable.links:
        linked: JSON = {
            "traceId": trace_id(link.context.trace_id),
            "spanId": span_id(link.context.span_id),
        }
        links.append(_with_attributes(linked, link.attributes))
    if links:
        encoded["links"] = links
    _dropped(encoded, "droppedLinksCount", readable.dropped_links)
    status = readable.status
    code = int(status.status_code.value) if status is not None else 0
    if code:
        encoded["status"] = {"code": code}
        if status.description:
            encoded["status"]["message"] = status.description
    return encoded


def _grouped(items: Iterable[Any]) -> list[tuple[Any, list[tuple[Any, list[Any]]]]]:
    """[(resource, [(scope, [items])])] keeping first-seen order."""
    resources: dict[int, tuple[Any, dict[int, tuple[Any, list[Any]]]]] = {}
    for item in items:
        res, scp = item.resource, item.instrumentation_scope
        scopes = resources.setdefault(id(res), (res, {}))[1]
        scopes.setdefault(id(scp), (scp, []))[1].append(item)
    return [(res, list(scopes.values())) for res, scopes in resources.values()]


def trace_request(spans: Iterable[Any]) -> JSON:
    """An ``ExportTraceServiceRequest`` holding ``spans``."""
    resource_spans = []
    for res, scopes in _grouped(spans):
        entry: JSON = {
            "resource": resource(res),
            "scopeSpans": [
                {"scope": scope(scp), "spans": [span(item) for item in items]}
                for scp, items in scopes
            ],
        }
        if getattr(res, "schema_url", ""):
            entry["schemaUrl"] = res.schema_url
        resource_spans.append(entry)
    return {"resourceSpans": resource_spans}


# -- metrics ----------------------------------------------------------------------------------


def _number(point: Any) -> JSON:
    encoded = _with_attributes({}, point.attributes)
    if getattr(point, "start_time_unix_nano", None):
        encoded["startTimeUnixNano"] = _nanos(point.start_time_unix_nano)
    encoded["timeUnixNano"] = _nanos(point.time_unix_nano)
    if isinstance(point.value, int) and not isinstance(point.value, bool):
        encoded["asInt"] = str(point.value)
    else:
        encoded["asDouble"] = _double(float(point.value))
    return encoded


def _distribution_header(point: Any) -> JSON:
    """The fields every histogram point shares: attributes, times, count and sum."""
    encoded = _with_attributes({}, point.attributes)
    encoded["startTimeUnixNano"] = _nanos(point.start_time_unix_nano)
    encoded["timeUnixNano"] = _nanos(point.time_unix_nano)
    encoded["count"] = str(point.count)
    encoded["sum"] = _double(float(point.sum))
    return encoded


def _histogram_point(point: Any) -> JSON:
    encoded = _distribution_header(point)
    encoded["bucketCounts"] = [str(count) for count in point.bucket_counts]
    encoded["explicitBounds"] = [_double(float(bound)) for bound in point.explicit_bounds]
    if point.count:
        encoded["min"] = _double(float(point.min))
        encoded["max"] = _double(float(point.max))
    return encoded


def _exponential_point(point: Any) -> JSON:
    encoded = _distribution_header(point)
    encoded["scale"] = point.scale
    encoded["zeroCount"] = str(point.zero_count)
    for key, buckets in (("positive", point.positive), ("negative", point.negative)):
        encoded[key] = {
            "offset": buckets.offset,
            "bucketCounts": [str(count) for count in buckets.bucket_counts],
        }
    if point.count:
        encoded["min"] = _double(float(point.min))
        encoded["max"] = _double(float(point.max))
    return encoded


def metric(item: Any) -> JSON:
    """One ``Metric`` from an SDK ``Metric``; the data kind is read from the point type's name."""
    encoded: JSON = {"name": item.name}
    if item.description:
        encoded["description"] = item.description
    if item.unit:
        encoded["unit"] = item.unit
    data = item.data
    kind = type(data).__name__
    temporality = int(getattr(getattr(data, "aggregation_temporality", None), "value", 0) or 0)
    if kind == "Sum":
        encoded["sum"] = {
            "dataPoints": [_number(point) for point in data.data_points],
            "aggregationTemporality": temporality,
            "isMonotonic": bool(data.is_monotonic),
        }
    elif kind == "Gauge":
        encoded["gauge"] = {"dataPoints": [_number(point) for point in data.data_points]}
    elif kind == "Histogram":
        encoded["histogram"] = {
            "dataPoints": [_histogram_point(point) for point in data.data_points],
            "aggregationTemporality": temporality,
        }
    elif kind == "ExponentialHistogram":
        encoded["exponentialHistogram"] = {
            "dataPoints": [_exponential_point(point) for point in data.data_points],
            "aggregationTemporality": temporality,
        }
    return encoded


def metrics_request(metrics_data: Any) -> JSON:
    """An ``ExportMetricsServiceRequest`` from an SDK ``MetricsData``."""
    resource_metrics = []
    for entry in metrics_data.resource_metrics:
        encoded: JSON = {
            "resource": resource(entry.resource),
            "scopeMetrics": [
                {"scope": scope(sm.scope), "metrics": [metric(m) for m in sm.metrics]}
                for sm in entry.scope_metrics
            ],
        }
        if entry.schema_url:
            encoded["schemaUrl"] = entry.schema_url
        resource_metrics.append(encoded)
    return {"resourceMetrics": resource_metrics}
