"""A concat/merge/join's span: its inputs as source runs, linked to the batches they came from."""

from __future__ import annotations

import itertools
import operator
from typing import TYPE_CHECKING, Any

from asyncwarden._findings import _delivery
from asyncwarden._sinks import _log
from asyncwarden._sinks import _semconv as sc
from asyncwarden._sinks._telemetry import _backend
from asyncwarden._sinks._telemetry._observe import (
    CAP,
    Observed,
    error_status,
    finding_attributes,
    hex_ids,
    ns,
    remember_span_ids,
)

if TYPE_CHECKING:
    from asyncwarden._findings._finding import Finding
    from asyncwarden._tracking._combination import Combination
    from asyncwarden._tracking._provenance import Batch


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
                when = min(max(ns(finding.time), start_ns), end_ns)
                span.add_event(finding.code, attributes=finding_attributes(finding), timestamp=when)
            span.set_status(error_status(reportable))
        span.end(end_time=end_ns)
        if reportable or target is not None:
            ids = hex_ids(span.get_span_context())
            for finding in reportable:
                remember_span_ids(finding, ids)
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
        _log.send(target, "debug", sc.EVENT_COMBINE, fields)
