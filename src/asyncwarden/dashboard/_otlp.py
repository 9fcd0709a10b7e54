"""Read OTLP/JSON trace files: one ``ExportTraceServiceRequest`` per line.

That is what ``ASYNCWARDEN_TRACE_FILE`` and the OpenTelemetry Collector's file exporter write.
Lines holding metrics or logs (``resourceMetrics``, ``resourceLogs``) are skipped. Anything else
that is not an export request stops the read with a :class:`TraceFileError` naming the file and
the line, so a truncated or foreign file gives one clear message instead of a half-empty report.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from asyncwarden.exceptions import AsyncWardenError

# Proto3 JSON writes enums either as numbers or as their names.
_STATUS_CODES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
_OTHER_SIGNALS = ("resourceMetrics", "resourceLogs", "resourceProfiles")


class TraceFileError(AsyncWardenError, ValueError):
    """A trace file that cannot be read as OTLP/JSON; ``str()`` names the file and the line."""

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {reason}")


class Event(NamedTuple):
    """A span event: findings are events named after their rule code."""

    name: str
    time: int
    attributes: dict[str, Any]


class Span(NamedTuple):
    """One span, with attribute values decoded to plain Python values.

    A named tuple rather than a frozen dataclass: a large file holds 100,000s of them, and a
    frozen dataclass costs several times as much to build.
    """

    run: int
    """Index of the resource (one process, one run) the span came from."""
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    start: int
    end: int
    attributes: dict[str, Any]
    events: tuple[Event, ...]
    status_code: int
    status_message: str


@dataclasses.dataclass
class Traces:
    """Every span of the files read, and the resources (runs) they came from."""

    spans: list[Span] = dataclasses.field(default_factory=list)
    runs: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    files: list[str] = dataclasses.field(default_factory=list)
    _run_index: dict[str, int] = dataclasses.field(default_factory=dict)

    def run_of(self, resource: dict[str, Any]) -> int:
        key = json.dumps(resource, sort_keys=True, default=str)
        index = self._run_index.get(key)
        if index is None:
            index = self._run_index[key] = len(self.runs)
            self.runs.append(resource)
        return index


class _Malformed(Exception):
    """Raised inside a line's decoding; turned into a TraceFileError with the line number."""


# Decoding raises _Malformed with what is wrong; the caller that knows where (which span, which
# line) adds that. Nothing is formatted on the way in: large files are mostly the happy path.


def _list(container: dict[str, Any], key: str) -> list[Any]:
    value = container.get(key)
    if value is None:
        return []
    if type(value) is not list:
        raise _Malformed(f"{key} is not a list")
    return value


def _object(value: Any, what: str) -> dict[str, Any]:
    if type(value) is not dict:
        raise _Malformed(f"{what} is not a JSON object")
    return value


def _integer(value: Any, what: str) -> int:
    # int64 fields are strings in proto3 JSON; writers also emit plain numbers.
    kind = type(value)
    if kind is int:
        return int(value)
    if kind is str:
        try:
            return int(value)
        except ValueError:
            pass
    raise _Malformed(f"{what} is not an integer: {value!r:.40}")


def _double(value: Any, what: str) -> float:
    if type(value) in (int, float):
        return float(value)
    if value in ("NaN", "Infinity", "-Infinity"):
        return float(value)
    raise _Malformed(f"{what} is not a number: {value!r:.40}")


def _any_value(value: Any, key: str) -> Any:
    if type(value) is not dict:
        raise _Malformed(f"attribute {key!r} has a value that is not a JSON object")
    for kind, item in value.items():
        if kind == "stringValue":
            return item if type(item) is str else str(item)
        if kind == "intValue":
            return item if type(item) is int else _integer(item, f"attribute {key!r}")
        if kind == "arrayValue":
            items = _list(_object(item or {}, f"attribute {key!r}"), "values")
            return [_any_value(v, key) for v in items]
        if kind == "doubleValue":
            number = _double(item, f"attribute {key!r}")
            return None if math.isnan(number) or math.isinf(number) else number
        if kind == "boolValue":
            return bool(item)
        if kind == "kvlistValue":
            return _attributes(_object(item or {}, f"attribute {key!r}").get("values"))
        if kind == "bytesValue":
            return str(item)
    return None


def _attributes(items: Any) -> dict[str, Any]:
    if items is None:
        return {}
    if type(items) is not list:
        raise _Malformed("attributes is not a list")
    decoded: dict[str, Any] = {}
    for item in items:
        try:
            key = item["key"]
            raw = item.get("value")
        except (TypeError, KeyError, AttributeError):
            raise _Malformed("an attribute is not a {key, value} object") from None
        if type(key) is not str:
            raise _Malformed("an attribute has no string key")
        # Inline the two commonest shapes: most of a large file's time is spent here.
        if type(raw) is dict and len(raw) == 1:
            string = raw.get("stringValue")
            if type(string) is str:
                decoded[key] = string
                continue
            number = raw.get("intValue")
            if type(number) is str and number.isdigit():
                decoded[key] = int(number)
                continue
        decoded[key] = None if raw is None else _any_value(raw, key)
    return decoded


def _events(raw: dict[str, Any], start: int) -> tuple[Event, ...]:
    events = []
    for number, event in enumerate(_list(raw, "events")):
        try:
            event = _object(event, "it")
            events.append(
                Event(
                    name=str(event.get("name", "")),
                    time=_integer(event.get("timeUnixNano", start), "timeUnixNano"),
                    attributes=_attributes(event.get("attributes")),
                )
            )
        except _Malformed as error:
            raise _Malformed(f"event {number}: {error}") from None
    return tuple(events)


def _span(raw: Any, run: int) -> Span:
    raw = _object(raw, "the span")
    name = raw.get("name")
    if type(name) is not str:
        raise _Malformed("the span has no name")
    start = _integer(raw.get("startTimeUnixNano"), "startTimeUnixNano")
    end = _integer(raw.get("endTimeUnixNano", start), "endTimeUnixNano")
    status = _object(raw.get("status") or {}, "status")
    code = status.get("code", 0)
    status_code = _STATUS_CODES.get(code, 0) if type(code) is str else _integer(code, "status")
    return Span(
        run=run,
        trace_id=str(raw.get("traceId", "")),
        span_id=str(raw.get("spanId", "")),
        parent_id=str(raw.get("parentSpanId") or ""),
        name=name,
        start=start,
        end=max(end, start),
        attributes=_attributes(raw.get("attributes")),
        events=_events(raw, start) if raw.get("events") else (),
        status_code=status_code,
        status_message=str(status.get("message", "")),
    )


def _request(document: Any, traces: Traces) -> None:
    if type(document) is not dict:
        raise _Malformed("not an OTLP/JSON export request (expected a JSON object)")
    if "resourceSpans" not in document:
        if any(key in document for key in _OTHER_SIGNALS):
            return
        raise _Malformed("not an OTLP/JSON export request (no resourceSpans)")
    for r, resource_spans in enumerate(_list(document, "resourceSpans")):
        where = f"resourceSpans[{r}]"
        try:
            resource_spans = _object(resource_spans, "it")
            resource = _object(resource_spans.get("resource") or {}, "resource")
            run = traces.run_of(_attributes(resource.get("attributes")))
            scopes = _list(resource_spans, "scopeSpans")
        except _Malformed as error:
            raise _Malformed(f"{where}: {error}") from None
        for s, scope_spans in enumerate(scopes):
            where = f"resourceSpans[{r}].scopeSpans[{s}]"
            try:
                spans = _list(_object(scope_spans, "it"), "spans")
            except _Malformed as error:
                raise _Malformed(f"{where}: {error}") from None
            append = traces.spans.append
            for n, raw in enumerate(spans):
                try:
                    append(_span(raw, run))
                except _Malformed as error:
                    raise _Malformed(f"{where}.spans[{n}]: {error}") from None


def _read_lines(path: str) -> Iterator[tuple[int, str, bool]]:
    """(line number, text, whether the line ended with a newline)."""
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                yield number, line, line.endswith("\n")
    except UnicodeDecodeError as error:
        raise TraceFileError(path, None, f"not UTF-8 text ({error.reason})") from None
    except OSError as error:
        raise TraceFileError(path, None, f"cannot read: {error.strerror or error}") from None


def read_traces(paths: Iterable[str | os.PathLike[str]]) -> Traces:
    """Read every span of the given OTLP/JSON files; raise TraceFileError on the first bad line."""
    traces = Traces()
    for name in paths:
        path = os.fspath(name)
        traces.files.append(path)
        if os.path.isdir(path):
            raise TraceFileError(path, None, "is a directory, not a trace file")
        for number, line, complete in _read_lines(path):
            if not line.strip():
                continue
            try:
                document = json.loads(line)
            except json.JSONDecodeError as error:
                hint = "; the file looks truncated" if not complete else ""
                raise TraceFileError(
                    path, number, f"not valid JSON ({error.msg}: column {error.colno}){hint}"
                ) from None
            except RecursionError:
                raise TraceFileError(path, number, "not valid JSON: nested too deeply") from None
            try:
                _request(document, traces)
            except _Malformed as error:
                raise TraceFileError(path, number, str(error)) from None
    return traces
