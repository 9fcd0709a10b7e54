"""A batch's span, task spans and metrics, made when the batch ends, backdated to its submission."""

from __future__ import annotations

import functools
import sys
import time
import weakref
from typing import TYPE_CHECKING, Any

from asyncwarden import _config
from asyncwarden._sinks import _log
from asyncwarden._sinks import _semconv as sc
from asyncwarden._sinks._telemetry import _backend
from asyncwarden._sinks._telemetry._observe import (
    CAP,
    RETURN_WHEN,
    Observed,
    code_attributes,
    hex_ids,
    ns,
    remember_batch,
)
from asyncwarden._tracking import _outcomes
from asyncwarden._tracking._outcomes import CANCELLED, FAILED, OK, PENDING, outcome_of
from asyncwarden._tracking._provenance import NO_MEMBER, coroutine_name

if TYPE_CHECKING:
    from asyncwarden._tracking._provenance import Batch


_deref = weakref.ref.__call__


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
        cap = _config.CONFIG.settings.task_spans
        if cap:
            # Opt-in: one done-callback per task, for the first ``cap`` tasks only.
            ends: dict[int, int] = {}
            for position, ref in enumerate(batch.members[:cap]):
                future = ref()
                if future is not None:
                    future.add_done_callback(functools.partial(_task_done, ends, position))
            observed.ends = ends
    batch.observed = observed


def _distinct_positions(batch: Batch) -> list[int] | None:
    """The positions of the members the batch's size counts; None: every position.

    as_completed hands out a future listed twice once, and its size is asyncio's count of the
    distinct members: count each at its first position. Only when the size says a member is
    listed twice: the table costs a pass over every member. Other kinds count every position
    (gather returns one result per position; wait's size is the number of inputs).
    """
    if batch.kind != "as_completed" or batch.size >= len(batch.members):
        return None
    first = batch.first_positions()
    first.pop(id(NO_MEMBER), None)  # a coroutine listed twice: asyncio made one task of it
    return sorted(first.values())


def counts(batch: Batch) -> tuple[int, int, int, int]:
    """(done, pending, failed, cancelled) of the batch's members; done includes the other two."""
    positions = _distinct_positions(batch)
    members = batch.members
    refs = members if positions is None else [members[p] for p in positions]
    futures = list(map(_deref, refs))
    if None not in futures:
        # Every member alive (a batch that just ended holds them): C-level passes over
        # asyncio's own fields, no loop. Pending and cancelled futures keep no exception.
        try:
            states = list(map(_outcomes.state_of, futures))
            exceptions = list(map(_outcomes.exception_of, futures))
        except AttributeError:  # a future type without asyncio's private fields: the loop
            pass
        else:
            cancelled = states.count(_outcomes.CANCELLED_STATE)
            pending = len(states) - states.count(_outcomes.FINISHED_STATE) - cancelled
            failed = len(exceptions) - exceptions.count(None)
            total = len(futures) or batch.size
            return total - pending, pending, failed, cancelled
    pending = failed = cancelled = 0
    outcomes = batch.outcomes
    for position, ref in (
        enumerate(refs) if positions is None else zip(positions, refs, strict=True)
    ):
        future = ref()
        word = outcomes.get(position, (OK, ""))[0] if future is None else outcome_of(future)[0]
        pending += word == PENDING
        failed += word == FAILED
        cancelled += word == CANCELLED
    total = len(refs) or batch.size
    return total - pending, pending, failed, cancelled


def _options(batch: Batch) -> tuple[str | None, float | None, bool | None]:
    options = batch.options
    return_when = options.get("return_when")
    if not isinstance(return_when, str) or return_when not in RETURN_WHEN:
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
            **code_attributes(batch.site),
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
            start_time=ns(batch.submitted),
        )
        observed.span_context = span.get_span_context()
        remember_batch(batch.id, observed.span_context)
        if observed.ends is not None:
            _task_spans(batch, tracer, observed, span, ns(finished))
        span.end(end_time=ns(finished))
        made = observed.span_context
        observed.parent = None  # the context may hold the user's span: do not keep it alive
    target = _log.route("debug")
    if target is not None:
        if made is not None:
            ids = hex_ids(made)
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
        _log.send(target, "debug", sc.EVENT_BATCH, fields)


def _task_spans(
    batch: Batch, tracer: Any, observed: Observed, parent_span: Any, end_ns: int
) -> None:
    from opentelemetry import trace

    context = trace.set_span_in_context(parent_span)
    start_ns = ns(batch.submitted)
    ends = observed.ends or {}
    cap = _config.CONFIG.settings.task_spans
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
