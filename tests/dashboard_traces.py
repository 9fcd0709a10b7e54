# ruff: noqa: UP031 - write_large fills JSON templates, where %-formatting needs no brace escapes
"""OTLP/JSON trace files for the dashboard tests, written from the telemetry name contract.

They follow the OpenTelemetry Collector file exporter's format (one ExportTraceServiceRequest per
line, int64 as strings, ids in hex) with the span and attribute names of ``_semconv``.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from asyncwarden._sinks import _semconv as sc

_ids = itertools.count(1)
T0 = 1_750_000_000_000_000_000  # ns


def value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, (list, tuple)):
        return {"arrayValue": {"values": [value(x) for x in v]}}
    return {"stringValue": str(v)}


def attributes(mapping: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": value(v)} for k, v in mapping.items() if v is not None]


def site(path: str, line: int, function: str) -> dict[str, Any]:
    return {sc.CODE_FILEPATH: path, sc.CODE_LINENO: line, sc.CODE_FUNCTION: function}


class TraceBuilder:
    """Spans of one process (one resource), in one trace."""

    def __init__(self, service: str = "etl", pid: int = 4242) -> None:
        self.resource = {"service.name": service, "process.pid": pid}
        self.trace_id = f"{next(_ids):032x}"
        self.spans: list[dict[str, Any]] = []

    def span(
        self,
        name: str,
        start_ms: float,
        end_ms: float,
        attrs: dict[str, Any],
        parent: str = "",
        events: Sequence[dict[str, Any]] = (),
        error: bool = False,
    ) -> str:
        span_id = f"{next(_ids):016x}"
        self.spans.append(
            {
                "traceId": self.trace_id,
                "spanId": span_id,
                "parentSpanId": parent,
                "name": name,
                "kind": 1,
                "startTimeUnixNano": str(T0 + int(start_ms * 1e6)),
                "endTimeUnixNano": str(T0 + int(end_ms * 1e6)),
                "attributes": attributes(attrs),
                "events": list(events),
                "status": {"code": 2, "message": "AW101"} if error else {},
            }
        )
        return span_id

    def batch(
        self,
        batch_id: int,
        kind: str,
        size: int,
        start_ms: float,
        end_ms: float,
        *,
        where: tuple[str, int, str] = ("/app/etl.py", 20, "load_all"),
        completion: Sequence[int] | None = None,
        consumed: Sequence[int] | None = None,
        failed: int = 0,
        cancelled: int = 0,
        pending: int = 0,
        tasks: Iterable[tuple[str, str, float, float, str]] | None = None,
        findings: Sequence[dict[str, Any]] = (),
    ) -> str:
        """``tasks``: (name, coroutine, start ms, end ms, outcome) per position."""
        span_id = self.span(
            sc.SPAN_BATCH,
            start_ms,
            end_ms,
            {
                sc.BATCH_ID: batch_id,
                sc.BATCH_KIND: kind,
                sc.BATCH_SIZE: size,
                sc.BATCH_DONE: size - pending,
                sc.BATCH_PENDING: pending,
                sc.BATCH_FAILED: failed,
                sc.BATCH_CANCELLED: cancelled,
                sc.BATCH_RETURN_WHEN: "ALL_COMPLETED" if kind == "wait" else None,
                sc.BATCH_SUBMISSION_ORDER: list(range(size)),
                sc.BATCH_COMPLETION_ORDER: list(completion) if completion is not None else None,
                sc.BATCH_CONSUMED_ORDER: list(consumed) if consumed is not None else None,
                sc.BATCH_PARENT_TASK: "Task-1",
                **site(*where),
            },
            events=findings,
        )
        for position, (name, coroutine, t_start, t_end, outcome) in enumerate(tasks or ()):
            self.span(
                sc.SPAN_TASK,
                t_start,
                t_end,
                {
                    sc.TASK_NAME: name,
                    sc.TASK_COROUTINE: coroutine,
                    sc.TASK_POSITION: position,
                    sc.TASK_OUTCOME: outcome,
                    sc.TASK_OUTCOME_TYPE: "DataFrame" if outcome == "ok" else "OSError",
                },
                parent=span_id,
                error=outcome == "failed",
            )
        return span_id

    def combine(
        self,
        operation: str,
        batch_ids: Sequence[int],
        start_ms: float,
        *,
        rows_in: Sequence[int] = (100, 100),
        rows_out: int = 200,
        where: tuple[str, int, str] = ("/app/etl.py", 31, "main"),
        findings: Sequence[dict[str, Any]] = (),
    ) -> str:
        return self.span(
            sc.SPAN_COMBINE,
            start_ms,
            start_ms + 2,
            {
                sc.COMBINE_OPERATION: operation,
                sc.COMBINE_INPUTS: len(rows_in),
                sc.COMBINE_ROWS_IN: list(rows_in),
                sc.COMBINE_ROWS_OUT: rows_out,
                sc.COMBINE_BATCHES: list(batch_ids),
                **site(*where),
            },
            events=findings,
            error=bool(findings),
        )

    def request(self) -> dict[str, Any]:
        return {
            "resourceSpans": [
                {
                    "resource": {"attributes": attributes(self.resource)},
                    "scopeSpans": [
                        {"scope": {"name": sc.INSTRUMENTATION_NAME}, "spans": self.spans}
                    ],
                }
            ]
        }


def finding(
    code: str,
    name: str,
    message: str,
    at_ms: float,
    *,
    where: tuple[str, int, str] = ("/app/etl.py", 31, "main"),
    sites: Sequence[str] = (),
) -> dict[str, Any]:
    return {
        "name": code,
        "timeUnixNano": str(T0 + int(at_ms * 1e6)),
        "attributes": attributes(
            {
                sc.FINDING_CODE: code,
                sc.FINDING_NAME: name,
                sc.FINDING_MESSAGE: message,
                sc.FINDING_SITES: list(sites) or None,
                **site(*where),
            }
        ),
    }


def write(path: str | os.PathLike[str], builders: Iterable[TraceBuilder]) -> Path:
    """One line per builder, as the file exporter appends one request per export."""
    path = Path(path)
    with path.open("w", encoding="utf-8") as handle:
        for builder in builders:
            handle.write(json.dumps(builder.request()) + "\n")
    return path


def etl_scenario(task_spans: bool = True) -> list[TraceBuilder]:
    """The article's pipeline: wait() over 4 partition loads, concat of the done set (AW101)."""
    wrong = TraceBuilder("etl_wrong", 101)
    loads = [
        ("load-2024-01.csv", "load_partition", 0.4, 38.0, "ok"),
        ("load-2024-02.csv", "load_partition", 0.5, 12.0, "ok"),
        ("load-2024-03.csv", "load_partition", 0.6, 55.0, "ok"),
        ("load-2024-04.csv", "load_partition", 0.7, 21.0, "ok"),
    ]
    wrong.batch(
        1,
        "wait",
        4,
        0,
        56,
        completion=[1, 3, 0, 2],
        consumed=[1, 3, 0, 2],
        tasks=loads if task_spans else None,
    )
    wrong.combine(
        "concat",
        [1],
        57,
        rows_in=(100, 100, 100, 100),
        rows_out=400,
        findings=[
            finding(
                "AW101",
                "unordered-concat",
                "order     concat received input positions [1, 3, 0, 2] (the order in which "
                "wait()'s done set iterates);\n          submission order is [0, 1, 2, 3]",
                58,
                sites=["concat: /app/etl.py:31 in main", "batch #1: /app/etl.py:20 in load_all"],
            )
        ],
    )
    fixed = TraceBuilder("etl_fixed_gather", 102)
    fixed.batch(
        1,
        "gather",
        4,
        100,
        150,
        completion=[1, 3, 0, 2],
        consumed=[0, 1, 2, 3],
        tasks=[(n, c, s + 100, e + 100, o) for n, c, s, e, o in loads] if task_spans else None,
    )
    fixed.combine("concat", [1], 151, rows_in=(100, 100, 100, 100), rows_out=400)
    return [wrong, fixed]


def write_large(path: str | os.PathLike[str], batches: int, tasks: int) -> int:
    """A trace of ``batches`` gathers with ``tasks`` task spans each, written fast (templated).

    One request per 50 batches, as a batching exporter would write it. Returns the span count.
    """
    resource = json.dumps({"attributes": attributes({"service.name": "large", "process.pid": 7})})
    trace_id = f"{next(_ids):032x}"
    lines = []
    count = 0
    for first in range(0, batches, 50):
        spans = []
        for b in range(first, min(first + 50, batches)):
            start = T0 + b * 10_000_000
            batch_span = f"{b + 1:016x}"
            order = json.dumps(value(list(range(tasks))))
            spans.append(
                '{"traceId":"%s","spanId":"%s","name":"%s","startTimeUnixNano":"%d",'
                '"endTimeUnixNano":"%d","attributes":[%s]}'
                % (
                    trace_id,
                    batch_span,
                    sc.SPAN_BATCH,
                    start,
                    start + 9_000_000,
                    ",".join(
                        [
                            '{"key":"%s","value":{"intValue":"%d"}}' % (sc.BATCH_ID, b + 1),
                            '{"key":"%s","value":{"stringValue":"gather"}}' % sc.BATCH_KIND,
                            '{"key":"%s","value":{"intValue":"%d"}}' % (sc.BATCH_SIZE, tasks),
                            '{"key":"%s","value":{"intValue":"%d"}}' % (sc.BATCH_DONE, tasks),
                            '{"key":"%s","value":%s}' % (sc.BATCH_COMPLETION_ORDER, order),
                            '{"key":"%s","value":{"stringValue":"/app/big.py"}}' % sc.CODE_FILEPATH,
                            '{"key":"%s","value":{"intValue":"%d"}}' % (sc.CODE_LINENO, 10 + b % 7),
                        ]
                    ),
                )
            )
            for t in range(tasks):
                spans.append(
                    '{"traceId":"%s","spanId":"%08x%08x","parentSpanId":"%s","name":"%s",'
                    '"startTimeUnixNano":"%d","endTimeUnixNano":"%d","attributes":['
                    '{"key":"%s","value":{"stringValue":"task-%d-%d"}},'
                    '{"key":"%s","value":{"stringValue":"work"}},'
                    '{"key":"%s","value":{"intValue":"%d"}},'
                    '{"key":"%s","value":{"stringValue":"%s"}}]}'
                    % (
                        trace_id,
                        b + 1,
                        t + 1,
                        batch_span,
                        sc.SPAN_TASK,
                        start + t * 1000,
                        start + 1_000_000 + t * 50_000,
                        sc.TASK_NAME,
                        b,
                        t,
                        sc.TASK_COROUTINE,
                        sc.TASK_POSITION,
                        t,
                        sc.TASK_OUTCOME,
                        "failed" if t % 7 == 6 else "ok",
                    )
                )
            count += 1 + tasks
        lines.append(
            '{"resourceSpans":[{"resource":%s,"scopeSpans":[{"scope":{"name":"asyncwarden"},'
            '"spans":[%s]}]}]}' % (resource, ",".join(spans))
        )
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return count
