"""What telemetry makes of what the guard saw: spans, span events, metrics and log events.

Batch spans are made when the batch ends, backdated to its submission, with the context that was
current when it started as parent: the user's span is the parent, and no span of the user's ever
has ours as parent, because ours is never made current. Everything here reads shapes, counts,
names and call sites; never a task's result, a coroutine's arguments or a frame's cells.
"""

from __future__ import annotations

import collections
import functools
import itertools
import operator
import sys
import threading
import time
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from asyncwarden import _state
from asyncwarden._findings import _delivery
from asyncwarden._sinks import _log
from asyncwarden._sinks import _semconv as sc
from asyncwarden._sinks._telemetry import _backend
from asyncwarden._tracking._provenance import FAILED, OK, PENDING, coroutine_name, outcome_of

if TYPE_CHECKING:
    from asyncwarden._findings._finding import Finding
    from asyncwarden._rules._catalog import Combination
    from asyncwarden._tracking._provenance import Batch

CAP = sc.MAX_ARRAY_LENGTH
_RETURN_WHEN = frozenset({"ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION"})


class Observed:
    """What telemetry keeps on ``Batch.observed`` between the batch's start and its end."""

    __slots__ = ("ends", "link", "parent", "span_context", "tracing")

    def __init__(self) -> None:
        self.tracing = False  # whether spans had somewhere to go when the batch started
        self.parent: Any = None  # the OpenTelemetry context current then (None: no span was)
        self.ends: dict[int, int] | None = None  # position -> end time (ns), task spans only
        self.span_context: Any = None
        self.link: Any = None  # the span link to the batch's span, for concat/merge/join spans


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


def _hex_ids(span_context: Any) -> tuple[str, str]:
    return f"{span_context.trace_id:032x}", f"{span_context.span_id:016x}"


# -- batch id -> span context, for links from findings detected after the batch ended -------

_RECENT = 1024
_recent_batches: collections.OrderedDict[int, Any] = collections.OrderedDict()
_recent_lock = threading.Lock()


def _remember_batch(batch_id: int, span_context: Any) -> None:
    with _recent_lock:
        _recent_batches[batch_id] = span_context
        if len(_recent_batches) > _RECENT:
            _recent_batches.popitem(last=False)


def _batch_contexts(batch_ids: Iterable[int]) -> list[Any]:
    with _recent_lock:
        return [_recent_batches[i] for i in batch_ids if i in _recent_batches]


# -- findings put on a span, for the finding sink and the log event ---------------------------

_MARKS = 256
_marks: dict[int, tuple[weakref.ref[Any], tuple[str, str]]] = {}
_marks_lock = threading.Lock()


def _mark(finding: Finding, ids: tuple[str, str]) -> None:
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
        sc.FINDING_SITES: [f"{role}: {site}" for role, site in finding.sites],
        sc.FINDING_BATCHES: list(finding.batch_ids),
    }


def _error_status(findings: list[Finding]) -> Any:
    from opentelemetry.trace import Status, StatusCode

    first = findings[0]
    more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
    return Status(StatusCode.ERROR, f"{first.code} {first.name}: {first.title}{more}")


def _code_attributes(site: Any) -> dict[str, Any]:
    return {
        sc.CODE_FILEPATH: site.filename,
        sc.CODE_LINENO: site.lineno,
        sc.CODE_FUNCTION: site.function,
    }


# -- batches ----------------------------------------------------------------------------------


def _task_done(ends: dict[int, int], position: int, future: Any) -> None:
    ends[position] = time.time_ns()


def batch_started(batch: Batch) -> None:
    if batch.observed is not None:
        return
    observed = Observed()
    if _backend.tracing_possible():
        # Nothing is imported or made here: the tracer (and, for the trace file, the SDK) comes
        # when the batch has ended, so the batch's own duration never includes that work. If the
        # OpenTelemetry context module is not loaded, no span can be current: the span is a root.
        observed.tracing = True
        context = sys.modules.get("opentelemetry.context")
        observed.parent = context.get_current() if context is not None else None
        cap = _state.settings.task_spans
        if cap:
            # Opt-in: one done-callback per task, for the first ``cap`` tasks only.
            ends: dict[int, int] = {}
            for position, ref in enumerate(batch.members[:cap]):
                future = ref()
                if future is not None:
                    future.add_done_callback(functools.partial(_task_done, ends, position))
            observed.ends = ends
    batch.observed = observed


_deref = weakref.ref.__call__
_state_of = operator.attrgetter("_state")
_exception_of = operator.attrgetter("_exception")
_FINISHED = "FINISHED"  # asyncio.futures' state names
_CANCELLED = "CANCELLED"


def counts(batch: Batch) -> tuple[int, int, int, int]:
    """(done, pending, failed, cancelled) of the batch's members; done includes the other two."""
    futures = list(map(_deref, batch.members))
    if None not in futures:
        # Every member alive (a batch that just ended holds them): C-level passes over
        # asyncio's own fields, no loop. Pending and cancelled futures keep no exception.
        try:
            states = list(map(_state_of, futures))
            exceptions = list(map(_exception_of, futures))
        except AttributeError:  # a future type without asyncio's private fields: the loop
            pass
        else:
            cancelled = states.count(_CANCELLED)
            pending = len(states) - states.count(_FINISHED) - cancelled
            failed = len(exceptions) - exceptions.count(None)
            total = len(futures) or batch.size
            return total - pending, pending, failed, cancelled
    pending = failed = cancelled = 0
    outcomes = batch.outcomes
    for position, ref in enumerate(batch.members):
        future = ref()
        if future is None:
            word = outcomes.get(position, (OK, ""))[0]
            pending += word == PENDING
            failed += word == FAILED
            cancelled += word == "cancelled"
        elif not future.done():
            pending += 1
        elif future.cancelled():
            cancelled += 1
        elif getattr(future, "_exception", None) is not None:
            failed += 1
    total = len(batch.members) or batch.size
    return total - pending, pending, failed, cancelled


def _options(batch: Batch) -> tuple[str | None, float | None, bool | None]:
    options = batch.options
    return_when = options.get("return_when")
    if not isinstance(return_when, str) or return_when not in _RETURN_WHEN:
        return_when = None
    timeout = options.get("timeout")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        timeout = None
    return_exceptions = options.get("return_exceptions")
    if not isinstance(return_exceptions, bool):
        return_exceptions = None
    return return_when, (float(timeout) if timeout is not None else None), return_exceptions


def _orders(batch: Batch, observed: Observed | None) -> dict[str, list[int]]:
    size = max(batch.size, len(batch.members))
    orders = {sc.BATCH_SUBMISSION_ORDER: list(range(min(size, CAP)))}
    if batch.kind == "as_completed" and batch.completion_order:
        orders[sc.BATCH_COMPLETION_ORDER] = batch.completion_order[:CAP]
        orders[sc.BATCH_CONSUMED_ORDER] = batch.completion_order[:CAP]
    elif observed is not None and observed.ends:
        ends = dict(observed.ends)
        orders[sc.BATCH_COMPLETION_ORDER] = sorted(ends, key=ends.__getitem__)[:CAP]
    if batch.kind == "wait" and batch.done_order is not None:
        orders[sc.BATCH_CONSUMED_ORDER] = batch.done_order[:CAP]
    elif batch.kind == "gather":
        orders[sc.BATCH_CONSUMED_ORDER] = orders[sc.BATCH_SUBMISSION_ORDER]
    return orders


def batch_finished(batch: Batch) -> None:
    observed = batch.observed if isinstance(batch.observed, Observed) else None
    finished = batch.finished or time.time()
    duration = max(0.0, finished - batch.submitted)
    done, pending, failed, cancelled = counts(batch)
    instruments = _backend.instruments()
    if instruments is not None:
        kind = {sc.METRIC_KIND_ATTRIBUTE: batch.kind}
        instruments.batch_duration.record(duration, kind)
        instruments.batch_size.record(batch.size, kind)
    return_when, timeout, return_exceptions = _options(batch)
    ids = made = None
    tracer = _backend.tracer() if observed is not None and observed.tracing else None
    if observed is not None and tracer is not None:
        attributes: dict[str, Any] = {
            sc.BATCH_ID: batch.id,
            sc.BATCH_KIND: batch.kind,
            sc.BATCH_SIZE: batch.size,
            sc.BATCH_DONE: done,
            sc.BATCH_PENDING: pending,
            sc.BATCH_FAILED: failed,
            sc.BATCH_CANCELLED: cancelled,
            **_code_attributes(batch.site),
            **_orders(batch, observed),
        }
        if return_when is not None:
            attributes[sc.BATCH_RETURN_WHEN] = return_when
        if timeout is not None:
            attributes[sc.BATCH_TIMEOUT] = timeout
        if return_exceptions is not None:
            attributes[sc.BATCH_RETURN_EXCEPTIONS] = return_exceptions
        if batch.parent is not None:
            attributes[sc.BATCH_PARENT_TASK] = batch.parent
        if observed.parent is None:
            from opentelemetry.context import Context

            observed.parent = Context()
        span = tracer.start_span(
            sc.SPAN_BATCH,
            context=observed.parent,
            attributes=attributes,
            start_time=_ns(batch.submitted),
        )
        observed.span_context = span.get_span_context()
        _remember_batch(batch.id, observed.span_context)
        if observed.ends is not None:
            _task_spans(batch, tracer, observed, span, _ns(finished))
        span.end(end_time=_ns(finished))
        made = observed.span_context
        observed.parent = None  # the context may hold the user's span: do not keep it alive
    target = _log.route("debug")
    if target is not None:
        if made is not None:
            ids = _hex_ids(made)
        fields: dict[str, Any] = {
            "batch_id": batch.id,
            "kind": batch.kind,
            "size": batch.size,
            "done": done,
            "pending": pending,
            "failed": failed,
            "cancelled": cancelled,
            "duration_s": round(duration, 6),
            "return_when": return_when,
            "timeout": timeout,
            "file": batch.site.filename,
            "line": batch.site.lineno,
            "function": batch.site.function,
            "parent_task": batch.parent,
        }
        if ids is not None:
            fields["trace_id"], fields["span_id"] = ids
        target("debug", sc.EVENT_BATCH, fields)


def _task_spans(
    batch: Batch, tracer: Any, observed: Observed, parent_span: Any, end_ns: int
) -> None:
    from opentelemetry import trace

    context = trace.set_span_in_context(parent_span)
    start_ns = _ns(batch.submitted)
    ends = observed.ends or {}
    cap = _state.settings.task_spans
    for position in range(min(cap, len(batch.members))):
        future = batch.member(position)
        outcome, outcome_type = (
            outcome_of(future) if future is not None else batch.outcome(position)
        )
        attributes: dict[str, Any] = {
            sc.BATCH_ID: batch.id,
            sc.TASK_POSITION: position,
            sc.TASK_OUTCOME: outcome,
        }
        if outcome_type:
            attributes[sc.TASK_OUTCOME_TYPE] = outcome_type
        if future is not None:
            get_name = getattr(future, "get_name", None)
            if get_name is not None:
                attributes[sc.TASK_NAME] = get_name()
            coroutine = coroutine_name(future)
            if coroutine is not None:
                attributes[sc.TASK_COROUTINE] = coroutine
        span = tracer.start_span(
            sc.SPAN_TASK, context=context, attributes=attributes, start_time=start_ns
        )
        if outcome == FAILED:
            from opentelemetry.trace import Status, StatusCode

            span.set_status(Status(StatusCode.ERROR, outcome_type))
        span.end(end_time=max(start_ns, min(ends.get(position, end_ns), end_ns)))


# -- concat, merge, join ----------------------------------------------------------------------


_source_of = operator.attrgetter("sources")
_batch_id_of = operator.attrgetter("batch.id")
_position_of = operator.attrgetter("position")


def _source_runs(combination: Combination) -> list[str]:
    """Where each input came from, in input order, as ``"batch_id:position"``.

    Consecutive positions of one batch in ascending order are one run, ``"batch_id:first-last"``
    (an in-order concat of a whole batch is one string, not one per frame: a span attribute
    costs the SDK per element). At most CAP runs.
    """
    groups = combination.groups
    if len(groups) == 1:  # the common case, from the positions the rules already grouped
        ((batch, order),) = groups.items()
        if order and order == list(range(order[0], order[-1] + 1)):
            return [_run(batch.id, order[0], order[-1])]
    inputs = combination.inputs
    sources = list(itertools.chain.from_iterable(map(_source_of, filter(None, inputs))))
    if not sources:
        return []
    ids = list(map(_batch_id_of, sources))
    positions = list(map(_position_of, sources))
    runs: list[str] = []
    start = 0
    for end in range(1, len(sources) + 1):
        if (
            end == len(sources)
            or ids[end] != ids[start]
            or positions[end] != positions[end - 1] + 1
        ):
            runs.append(_run(ids[start], positions[start], positions[end - 1]))
            if len(runs) == CAP:
                break
            start = end
    return runs


def _run(batch_id: int, first: int, last: int) -> str:
    return f"{batch_id}:{first}" if first == last else f"{batch_id}:{first}-{last}"


def _batch_link(batch: Batch) -> Any:
    """The span link to a batch's span, made once per batch (None: the batch has no span)."""
    observed = batch.observed
    if not isinstance(observed, Observed) or observed.span_context is None:
        return None
    if observed.link is None:
        from opentelemetry.trace import Link

        # No attributes: the linked span carries asyncwarden.batch.id, and the SDK re-validates
        # a link's attributes for every span it is put on (4 us a span, docs/performance.md).
        observed.link = Link(observed.span_context)
    return observed.link


def combined(
    combination: Combination, start: float, end: float, findings: list[Finding], result: Any
) -> None:
    tracer = _backend.tracer()
    target = _log.route("debug")
    if tracer is None and target is None:
        return
    reportable = [f for f in findings if not _delivery.is_allowed(f.code)] if findings else []
    batches = list(combination.groups)  # in order of first appearance
    batch_ids = [batch.id for batch in batches[:CAP]]
    sources = _source_runs(combination)
    rows_in = list(combination.rows[:CAP])
    rows_out = combination.rows_out
    site = combination.site
    ids = None
    if tracer is not None:
        # One dict, made once, handed to the SDK as is (it validates and copies it anyway).
        attributes: dict[str, Any] = {
            sc.COMBINE_OPERATION: combination.operation,
            sc.COMBINE_INPUTS: len(combination.inputs),
            sc.COMBINE_ROWS_IN: rows_in,
            sc.COMBINE_BATCHES: batch_ids,
            sc.COMBINE_SOURCES: sources,
            sc.CODE_FILEPATH: site.filename,
            sc.CODE_LINENO: site.lineno,
            sc.CODE_FUNCTION: site.function,
        }
        if rows_out is not None:
            attributes[sc.COMBINE_ROWS_OUT] = rows_out
        links = [link for link in map(_batch_link, batches) if link is not None]
        start_ns, end_ns = int(start * 1e9), int(end * 1e9)
        span = tracer.start_span(
            sc.SPAN_COMBINE, attributes=attributes, links=links, start_time=start_ns
        )
        if reportable:
            for finding in reportable:
                when = min(max(_ns(finding.time), start_ns), end_ns)
                span.add_event(finding.code, attributes=finding_attributes(finding), timestamp=when)
            span.set_status(_error_status(reportable))
        span.end(end_time=end_ns)
        if reportable or target is not None:
            ids = _hex_ids(span.get_span_context())
            for finding in reportable:
                _mark(finding, ids)
    if target is not None:
        fields: dict[str, Any] = {
            "operation": combination.operation,
            "inputs": len(combination.inputs),
            "rows_in": rows_in,
            "rows_out": rows_out,
            "batch_ids": batch_ids,
            "sources": sources,
            "findings": [f.code for f in reportable],
            "duration_s": round(max(0.0, end - start), 6),
            "file": site.filename,
            "line": site.lineno,
            "function": site.function,
        }
        if ids is not None:
            fields["trace_id"], fields["span_id"] = ids
        target("debug", sc.EVENT_COMBINE, fields)


# -- findings and shutdown --------------------------------------------------------------------


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

    when = _ns(finding.time)
    attributes = {**_code_attributes(finding.site), sc.FINDING_BATCHES: list(finding.batch_ids)}
    links = [Link(context) for context in _batch_contexts(finding.batch_ids)]
    span = tracer.start_span(sc.SPAN_FINDING, attributes=attributes, links=links, start_time=when)
    span.add_event(finding.code, attributes=finding_attributes(finding), timestamp=when)
    span.set_status(_error_status([finding]))
    span.end(end_time=when)
    _mark(finding, _hex_ids(span.get_span_context()))


def log_span_ids(finding: Finding) -> tuple[str, str] | None:
    """For the finding's log event: the ids of its span, forgotten once read."""
    return _unmark(finding)


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
