"""What telemetry makes of what the guard saw: spans, span events, metrics and log events.

Batch spans are made when the batch ends, backdated to its submission, with the context that was
current when it started as parent: the user's span is the parent, and no span of the user's ever
has ours as parent, because ours is never made current. Everything here reads shapes, counts,
names and call sites; never a task's result, a coroutine's arguments or a frame's cells.
"""

from __future__ import annotations

import collections
import threading
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from asyncwarden import _observers
from asyncwarden._sinks import _log
from asyncwarden._sinks import _semconv as sc
from asyncwarden._sinks._telemetry import _backend

if TYPE_CHECKING:
    from asyncwarden._findings._finding import Finding


CAP = sc.MAX_ARRAY_LENGTH


RETURN_WHEN = frozenset({"ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION"})


class Observed:
    """What telemetry keeps on ``Batch.observed`` between the batch's start and its end."""

    __slots__ = ("ends", "link", "parent", "span_context", "tracing")

    def __init__(self) -> None:
        self.tracing = False  # whether spans had somewhere to go when the batch started
        self.parent: Any = None  # the OpenTelemetry context current then (None: no span was)
        self.ends: dict[int, int] | None = None  # position -> end time (ns), task spans only
        self.span_context: Any = None
        self.link: Any = None  # the span link to the batch's span, for concat/merge/join spans


def ns(seconds: float) -> int:
    return int(seconds * 1e9)


def hex_ids(span_context: Any) -> tuple[str, str]:
    return f"{span_context.trace_id:032x}", f"{span_context.span_id:016x}"


_RECENT = 1024


_recent_batches: collections.OrderedDict[int, Any] = collections.OrderedDict()


_recent_lock = threading.RLock()


def remember_batch(batch_id: int, span_context: Any) -> None:
    with _recent_lock:
        _recent_batches[batch_id] = span_context
        if len(_recent_batches) > _RECENT:
            _recent_batches.popitem(last=False)


def batch_contexts(batch_ids: Iterable[int]) -> list[Any]:
    with _recent_lock:
        return [_recent_batches[i] for i in batch_ids if i in _recent_batches]


_MARKS = 256


_marks: dict[int, tuple[weakref.ref[Any], tuple[str, str]]] = {}


_marks_lock = threading.RLock()


def remember_span_ids(finding: Finding, ids: tuple[str, str]) -> None:
    with _marks_lock:
        if len(_marks) >= _MARKS:  # findings that never reached the sink (strict mode raised)
            _marks.clear()
        _marks[id(finding)] = (weakref.ref(finding), ids)


def span_ids_of(finding: Finding) -> tuple[str, str] | None:
    """(trace id, span id) of the span a finding was put on, if any."""
    entry = _marks.get(id(finding))
    if entry is None or entry[0]() is not finding:
        return None
    return entry[1]


def _unmark(finding: Finding) -> tuple[str, str] | None:
    ids = span_ids_of(finding)
    if ids is not None:
        with _marks_lock:
            _marks.pop(id(finding), None)
    return ids


def finding_attributes(finding: Finding) -> dict[str, Any]:
    return {
        sc.FINDING_CODE: finding.code,
        sc.FINDING_NAME: finding.name,
        sc.FINDING_TITLE: finding.title,
        sc.FINDING_MESSAGE: finding.message,
        # Relative to the working directory, as on the terminal: a report read on another
        # machine has no use for this one's absolute paths (code.filepath keeps the whole path).
        sc.FINDING_SITES: [
            f"{role}: {site.short()} in {site.function}" for role, site in finding.sites
        ],
        sc.FINDING_BATCHES: list(finding.batch_ids),
    }


def error_status(findings: list[Finding]) -> Any:
    from opentelemetry.trace import Status, StatusCode

    first = findings[0]
    more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
    return Status(StatusCode.ERROR, f"{first.code} {first.name}: {first.title}{more}")


def code_attributes(site: Any) -> dict[str, Any]:
    return {
        sc.CODE_FILEPATH: site.filename,
        sc.CODE_LINENO: site.lineno,
        sc.CODE_FUNCTION: site.function,
    }


def finding_sink(finding: Finding) -> None:
    """Count every reported finding; put the ones no span of ours carries on a span of their own."""
    instruments = _backend.instruments()
    if instruments is not None:
        instruments.findings.add(1, {sc.METRIC_RULE_ATTRIBUTE: finding.code})
    if span_ids_of(finding) is not None:
        return  # on its concat/merge/join span already
    tracer = _backend.tracer()
    if tracer is None:
        return
    from opentelemetry.trace import Link

    when = ns(finding.time)
    attributes = {**code_attributes(finding.site), sc.FINDING_BATCHES: list(finding.batch_ids)}
    links = [Link(context) for context in batch_contexts(finding.batch_ids)]
    span = tracer.start_span(sc.SPAN_FINDING, attributes=attributes, links=links, start_time=when)
    span.add_event(finding.code, attributes=finding_attributes(finding), timestamp=when)
    span.set_status(error_status([finding]))
    span.end(end_time=when)
    remember_span_ids(finding, hex_ids(span.get_span_context()))


def add_span_ids(finding: Finding, fields: dict[str, Any]) -> None:
    """Observer of the finding's log event: the ids of its span, forgotten once read."""
    ids = _unmark(finding)
    if ids is not None:
        fields["trace_id"], fields["span_id"] = ids


def pending_at_shutdown(count: int) -> None:
    instruments = _backend.instruments()
    if instruments is not None:
        instruments.pending_at_shutdown.add(count)
    _log.emit("info", sc.EVENT_SHUTDOWN, {"pending": count})


def reset() -> None:
    """Forget remembered batch spans and finding marks (tests)."""
    with _recent_lock:
        _recent_batches.clear()
    with _marks_lock:
        _marks.clear()


_observers.on_reset.append(reset)
