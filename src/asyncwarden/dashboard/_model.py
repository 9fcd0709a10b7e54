"""Turn asyncwarden's spans into what the report shows: batches, tasks, combines, findings.

The result is plain JSON-ready data, bounded in size whatever the trace holds: totals are exact,
the detailed lists keep the rows that matter most (batches with findings, batches that fed a
concat/merge, then the slowest) and everything else is folded into per-call-site aggregates.
"""

from __future__ import annotations

import dataclasses
import os
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from asyncwarden._sinks import _semconv as sc
from asyncwarden.dashboard._otlp import Event, Span, Traces

# Bounds on what is embedded in the page; totals above them are still exact. Task rows and
# order entries share a budget across the kept batches, so the page stays a few MB at most.
MAX_BATCHES = 1000
MAX_TASKS_PER_BATCH = 300
MAX_ORDER = 500
TASK_BUDGET = 20_000
ORDER_BUDGET = 60_000
MIN_PER_BATCH = 20
MAX_COMBINES = 1000
MAX_FINDINGS = 2000
MAX_SITES = 300

_RULE_CODE = re.compile(r"^AW\d{3}$")
_BATCH_MENTION = re.compile(r"batch #(\d+)")
_OUTCOMES = ("ok", "failed", "cancelled", "pending")


def _rule_catalog() -> dict[str, dict[str, str]]:
    from asyncwarden._rules._catalog import RULES

    return {code: {"name": r.name, "summary": r.summary, "fix": r.fix} for code, r in RULES.items()}


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def _ints(value: Any) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list):
        value = [value]
    return [i for i in map(_int, value) if i is not None]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(map(_text, value))
    return str(value)


# code.* keys: the stable semantic conventions first, then the deprecated ones older writers use.
_CODE_KEYS = (
    (sc.CODE_FILEPATH, sc.CODE_LINENO, sc.CODE_FUNCTION),
    ("code.filepath", "code.lineno", "code.function"),
)


def _site(attributes: dict[str, Any]) -> dict[str, Any] | None:
    for path_key, line_key, function_key in _CODE_KEYS:
        path = attributes.get(path_key)
        if path is not None:
            return {
                "file": _text(path),
                "line": _int(attributes.get(line_key)) or 0,
                "function": _text(attributes.get(function_key)),
            }
    return None


def run_label(index: int, resource: dict[str, Any]) -> str:
    """A short name for one process's spans: service name or command, and the pid."""
    name = _text(resource.get("service.name"))
    if not name or name.startswith("unknown_service"):
        args = resource.get("process.command_args")
        command = args[1] if isinstance(args, list) and len(args) > 1 else None
        command = (
            command or resource.get("process.command") or resource.get("process.executable.name")
        )
        name = os.path.basename(_text(command)) if command else name
    pid = resource.get("process.pid")
    label = name or f"run {index + 1}"
    return f"{label} (pid {pid})" if pid is not None else label


@dataclasses.dataclass
class _Batch:
    key: str
    span: Span
    tasks: list[Span] = dataclasses.field(default_factory=list)
    findings: list[int] = dataclasses.field(default_factory=list)
    combines: list[int] = dataclasses.field(default_factory=list)
    consumed: list[int] | None = None


def _finding(
    event: Event, span: Span, batch_keys: list[str], catalog: dict[str, dict[str, str]]
) -> dict[str, Any]:
    attrs = event.attributes
    code = _text(attrs.get(sc.FINDING_CODE)) or event.name
    sites_value = attrs.get(sc.FINDING_SITES)
    sites = [_text(s) for s in sites_value] if isinstance(sites_value, list) else []
    if isinstance(sites_value, str):
        sites = [line for line in sites_value.splitlines() if line.strip()]
    message = _text(attrs.get(sc.FINDING_MESSAGE))
    explicit = _ints(attrs.get(sc.FINDING_BATCHES)) or _ints(attrs.get(sc.BATCH_ID))
    if explicit:
        batches = [f"{span.run}:{i}" for i in explicit]
    else:
        # A finding on a combine span concerns some of its batches: the ones it names, if any.
        mentioned = {f"{span.run}:{m}" for m in _BATCH_MENTION.findall(message + " ".join(sites))}
        batches = [key for key in batch_keys if key in mentioned] or list(batch_keys)
    return {
        "rule": code,
        "name": _text(attrs.get(sc.FINDING_NAME)) or catalog.get(code, {}).get("name", ""),
        "title": _text(attrs.get(sc.FINDING_TITLE)),
        "message": message,
        "site": _site(attrs) or _site(span.attributes),
        "sites": sites,
        "batches": batches,
        "fix": catalog.get(code, {}).get("fix", ""),
        "where": _where(span),
        "run": span.run,
        "time": event.time,
    }


def _where(span: Span) -> str:
    """When the finding was made, in the user's words (span names are telemetry's, not theirs)."""
    if span.name == sc.SPAN_COMBINE:
        return f"at {_text(span.attributes.get(sc.COMBINE_OPERATION)) or 'concat/merge/join'}()"
    if span.name == sc.SPAN_BATCH:
        return "when the batch ended"
    if span.name == sc.SPAN_FINDING:
        return "by the lifecycle check (loop shutdown, task end)"
    return ""


def _is_finding(event: Event) -> bool:
    return bool(_RULE_CODE.match(event.name)) or sc.FINDING_CODE in event.attributes


def _task_row(task: Span, origin: int) -> list[Any]:
    attrs = task.attributes
    outcome = _text(attrs.get(sc.TASK_OUTCOME)) or ("failed" if task.status_code == 2 else "ok")
    return [
        _int(attrs.get(sc.TASK_POSITION)),
        _text(attrs.get(sc.TASK_NAME)),
        _text(attrs.get(sc.TASK_COROUTINE)),
        round((task.start - origin) / 1e6, 3),
        round((task.end - origin) / 1e6, 3),
        outcome if outcome in _OUTCOMES else "ok",
        _text(attrs.get(sc.TASK_OUTCOME_TYPE)),
    ]


def _batch_row(batch: _Batch, t0: int, max_tasks: int, max_order: int) -> dict[str, Any]:
    span = batch.span
    a = span.attributes
    tasks = sorted(batch.tasks, key=lambda t: _int(t.attributes.get(sc.TASK_POSITION)) or 0)
    orders = {
        "submission": _ints(a.get(sc.BATCH_SUBMISSION_ORDER)),
        "completion": _ints(a.get(sc.BATCH_COMPLETION_ORDER)),
        "consumed": _ints(a.get(sc.BATCH_CONSUMED_ORDER)) or batch.consumed or [],
    }
    return {
        "key": batch.key,
        "run": span.run,
        "id": _int(a.get(sc.BATCH_ID)),
        "kind": _text(a.get(sc.BATCH_KIND)) or "batch",
        "site": _site(a),
        "size": _int(a.get(sc.BATCH_SIZE)),
        "done": _int(a.get(sc.BATCH_DONE)),
        "pending": _int(a.get(sc.BATCH_PENDING)),
        "failed": _int(a.get(sc.BATCH_FAILED)),
        "cancelled": _int(a.get(sc.BATCH_CANCELLED)),
        "returnWhen": _text(a.get(sc.BATCH_RETURN_WHEN)),
        "timeout": a.get(sc.BATCH_TIMEOUT),
        "parent": _text(a.get(sc.BATCH_PARENT_TASK)),
        "start": round((span.start - t0) / 1e6, 3),
        "duration": round((span.end - span.start) / 1e6, 3),
        "status": span.status_code,
        "orders": {name: order[:max_order] for name, order in orders.items()},
        "ordersTruncated": any(len(order) > max_order for order in orders.values()),
        "tasks": [_task_row(t, span.start) for t in tasks[:max_tasks]],
        "taskSpans": len(batch.tasks),
        "findings": batch.findings,
        "combines": batch.combines,
    }


def _sources(attributes: dict[str, Any], limit: int = MAX_ORDER) -> list[str]:
    """``"batch_id:position"`` per input, runs (``"batch_id:first-last"``) expanded; at most
    ``limit``, so a hostile run such as ``"1:0-999999999"`` costs no more than a short one."""
    sources = attributes.get(sc.COMBINE_SOURCES)
    if not isinstance(sources, list):
        return []
    expanded: list[str] = []
    for source in map(_text, sources):
        owner, _, span = source.rpartition(":")
        first, dash, last = span.partition("-")
        if dash and first.isdigit() and last.isdigit() and int(first) <= int(last):
            stop = min(int(last) + 1, int(first) + limit - len(expanded))
            expanded.extend(f"{owner}:{position}" for position in range(int(first), stop))
        else:
            expanded.append(source)
        if len(expanded) >= limit:
            return expanded[:limit]
    return expanded


def _consumed_from_combines(
    batch: _Batch, combines: list[tuple[Span, list[str], list[int]]]
) -> None:
    """Without a consumed-order attribute, the first combine's input order for this batch is it."""
    batch_id = batch.key.split(":", 1)[1]
    for index in batch.combines:
        order = []
        for source in _sources(combines[index][0].attributes):
            owner, _, position = source.rpartition(":")
            if owner == batch_id and position.isdigit():
                order.append(int(position))
        if order:
            batch.consumed = order
            return


def _combine_row(span: Span, keys: list[str], findings: list[int], t0: int) -> dict[str, Any]:
    a = span.attributes
    rows_in = a.get(sc.COMBINE_ROWS_IN)
    return {
        "run": span.run,
        "operation": _text(a.get(sc.COMBINE_OPERATION)) or "combine",
        "site": _site(a),
        "inputs": _int(a.get(sc.COMBINE_INPUTS)),
        "rowsIn": _ints(rows_in) if isinstance(rows_in, list) else _int(rows_in),
        "rowsOut": _int(a.get(sc.COMBINE_ROWS_OUT)),
        "batches": keys,
        "sources": _sources(a),
        "start": round((span.start - t0) / 1e6, 3),
        "duration": round((span.end - span.start) / 1e6, 3),
        "findings": findings,
    }


def _sites_table(batches: Sequence[_Batch], t0: int) -> list[dict[str, Any]]:
    groups: dict[tuple[Any, ...], list[_Batch]] = defaultdict(list)
    for batch in batches:
        a = batch.span.attributes
        key = (
            batch.span.run,
            _text(a.get(sc.BATCH_KIND)),
            _text(a.get(sc.CODE_FILEPATH)),
            _int(a.get(sc.CODE_LINENO)) or 0,
            _text(a.get(sc.CODE_FUNCTION)),
        )
        groups[key].append(batch)
    rows = []
    for (run, kind, path, line, function), members in groups.items():
        durations = [(b.span.end - b.span.start) / 1e6 for b in members]
        rows.append(
            {
                "run": run,
                "kind": kind or "batch",
                "site": {"file": path, "line": line, "function": function} if path else None,
                "batches": len(members),
                "tasks": sum(_int(b.span.attributes.get(sc.BATCH_SIZE)) or 0 for b in members),
                "p50": round(statistics.median(durations), 3),
                "max": round(max(durations), 3),
                "findings": sum(len(b.findings) for b in members),
                "first": round((min(b.span.start for b in members) - t0) / 1e6, 3),
            }
        )
    rows.sort(key=lambda r: (-r["findings"], -r["batches"], r["first"]))
    return rows[:MAX_SITES]


def build_model(traces: Traces) -> dict[str, Any]:
    """The report's data: exact totals, bounded detail lists, aggregates per call site."""
    catalog = _rule_catalog()
    names = (sc.SPAN_BATCH, sc.SPAN_TASK, sc.SPAN_COMBINE, sc.SPAN_FINDING)
    ours = [s for s in traces.spans if s.name in names]
    t0 = min((s.start for s in ours), default=0)

    batches: dict[str, _Batch] = {}
    by_span: dict[tuple[str, str], _Batch] = {}
    for span in ours:
        if span.name != sc.SPAN_BATCH:
            continue
        batch_id = _int(span.attributes.get(sc.BATCH_ID))
        key = f"{span.run}:{batch_id if batch_id is not None else span.span_id}"
        batch = _Batch(key, span)
        batches[key] = batch
        by_span[(span.trace_id, span.span_id)] = batch
    orphan_tasks = 0
    for span in ours:
        if span.name == sc.SPAN_TASK:
            parent = by_span.get((span.trace_id, span.parent_id))
            if parent is None:
                orphan_tasks += 1
            else:
                parent.tasks.append(span)

    findings: list[dict[str, Any]] = []
    combines: list[tuple[Span, list[str], list[int]]] = []
    for span in traces.spans:
        keys: list[str] = []
        if span.name == sc.SPAN_COMBINE:
            keys = [f"{span.run}:{i}" for i in _ints(span.attributes.get(sc.COMBINE_BATCHES))]
        elif span.name == sc.SPAN_BATCH:
            own = by_span.get((span.trace_id, span.span_id))
            keys = [own.key] if own is not None else []
        found = []
        for event in span.events:
            if _is_finding(event):
                found.append(len(findings))
                findings.append(_finding(event, span, keys, catalog))
        if span.name == sc.SPAN_COMBINE:
            for key in keys:
                if key in batches:
                    batches[key].combines.append(len(combines))
            combines.append((span, keys, found))
    for index, finding in enumerate(findings):
        for key in finding["batches"]:
            if key in batches:
                batches[key].findings.append(index)

    for batch in batches.values():
        if batch.combines and sc.BATCH_CONSUMED_ORDER not in batch.span.attributes:
            _consumed_from_combines(batch, combines)

    by_rule = Counter(f["rule"] for f in findings)
    total_tasks = sum(_int(b.span.attributes.get(sc.BATCH_SIZE)) or 0 for b in batches.values())
    outcomes = Counter(
        {
            name: sum(_int(b.span.attributes.get(attr)) or 0 for b in batches.values())
            for name, attr in (
                ("failed", sc.BATCH_FAILED),
                ("cancelled", sc.BATCH_CANCELLED),
                ("pending", sc.BATCH_PENDING),
            )
        }
    )

    # Keep the batches a reader needs: with findings, feeding a combine, then the slowest.
    ranked = sorted(
        batches.values(),
        key=lambda b: (not b.findings, not b.combines, -(b.span.end - b.span.start)),
    )
    kept = sorted(ranked[:MAX_BATCHES], key=lambda b: (b.span.start, b.key))
    max_tasks = max(MIN_PER_BATCH, min(MAX_TASKS_PER_BATCH, TASK_BUDGET // max(len(kept), 1)))
    max_order = max(MIN_PER_BATCH, min(MAX_ORDER, ORDER_BUDGET // max(3 * len(kept), 1)))
    kept_combines = sorted(
        range(len(combines)), key=lambda i: (not combines[i][2], combines[i][0].start)
    )[:MAX_COMBINES]
    kept_combines.sort(key=lambda i: combines[i][0].start)

    return {
        "files": list(traces.files),
        "runs": [run_label(i, r) for i, r in enumerate(traces.runs)],
        "rules": catalog,
        "summary": {
            "spans": len(traces.spans),
            "otherSpans": len(traces.spans) - len(ours),
            "batches": len(batches),
            "tasks": total_tasks,
            "taskSpans": sum(len(b.tasks) for b in batches.values()) + orphan_tasks,
            "combines": len(combines),
            "findings": len(findings),
            "byRule": dict(sorted(by_rule.items())),
            "outcomes": dict(outcomes),
            "kinds": dict(
                Counter(_text(b.span.attributes.get(sc.BATCH_KIND)) for b in batches.values())
            ),
            "duration": round((max((s.end for s in ours), default=t0) - t0) / 1e6, 3),
        },
        "batches": [_batch_row(b, t0, max_tasks, max_order) for b in kept],
        "combines": [{"index": i, **_combine_row(*combines[i], t0)} for i in kept_combines],
        "findings": [
            {"index": i, **f, "time": round((f["time"] - t0) / 1e6, 3)}
            for i, f in enumerate(findings[:MAX_FINDINGS])
        ],
        "sites": _sites_table(list(batches.values()), t0),
        "limits": {
            "batches": MAX_BATCHES,
            "tasksPerBatch": max_tasks,
            "order": max_order,
            "combines": MAX_COMBINES,
            "findings": MAX_FINDINGS,
            "sites": MAX_SITES,
        },
    }
