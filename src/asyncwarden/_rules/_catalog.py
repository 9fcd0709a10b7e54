"""The rule catalog: each rule is its code's data (``_findings/_codes``) plus, for the
combination rules, one small check, defined here.

Adding a rule adds its code's entry in ``_findings/_codes`` and, for a combination rule, its check.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from typing import Any

from asyncwarden import exceptions
from asyncwarden._findings._codes import CODES, LIBRARY_FIXES
from asyncwarden._findings._finding import Finding
from asyncwarden._tracking._callsite import CallSite
from asyncwarden._tracking._combination import Combination
from asyncwarden._tracking._outcomes import CANCELLED, FAILED, PENDING
from asyncwarden._tracking._provenance import UNORDERED_KINDS, Batch, describe_kind


@dataclasses.dataclass(frozen=True)
class Rule:
    """A rule of the catalog."""

    code: str
    name: str
    summary: str
    category: type[exceptions.AsyncWardenWarning]
    fix: str
    check: Callable[[Combination], list[Finding]] | None = None


def _sites(combination: Combination, batches: Sequence[Batch]) -> tuple[tuple[str, CallSite], ...]:
    sites: list[tuple[str, CallSite]] = [(f"pandas.{combination.operation}()", combination.site)]
    for batch in batches:
        sites.append((f"{describe_kind(batch.kind, batch.library)} #{batch.id}", batch.site))
        seen = {batch.site}
        for call in batch.followers:
            if call.site not in seen and len(seen) < 4:
                seen.add(call.site)
                sites.append((f"{describe_kind(call.kind, call.library)} #{call.id}", call.site))
        if batch.consumed_at is not None and batch.consumed_at != combination.site:
            sites.append(("consumed", batch.consumed_at))
    return tuple(sites)


def _scheduler_chose(batch: Batch, order: list[int]) -> str:
    """Why ``order`` is the scheduler's, or "" when it is not (an order the program made).

    The frames of a batch reached the concat in the scheduler's order when that order, limited
    to their positions, is exactly the order they arrived in: wait()'s done sets as they
    iterated (across every wait() on the batch) or as_completed()'s completion order.
    """
    scheduled = batch.scheduled_order()
    if not scheduled:
        return ""
    wanted = set(order)
    witnessed: list[int] = []
    for position in scheduled:
        if position in wanted:
            wanted.discard(position)
            witnessed.append(position)
    if witnessed != order:
        return ""
    kinds = {call.kind for call in (batch, *batch.followers)} & UNORDERED_KINDS
    calls = 1 + len(batch.followers)
    across = f", across {calls} calls" if calls > 1 else ""
    if kinds == {"wait"} and calls == 1:
        return "the order in which wait()'s done set iterates"
    if kinds == {"wait"}:
        return f"the order in which wait()'s done sets iterated{across}"
    if kinds == {"as_completed"}:
        return f"completion order, as as_completed() yields{across}"
    return f"the order wait() and as_completed() handed them out{across}"


def check_unordered_concat(combination: Combination) -> list[Finding]:
    findings: list[Finding] = []
    if combination.operation == "concat":
        if combination.keyed:
            return findings
        for batch, order in combination.groups.items():
            if len(order) < 2:
                continue
            if batch.input_ordered and order == sorted(order):
                continue  # submission order
            evidence = _scheduler_chose(batch, order)
            if not evidence:
                continue  # an order the program made: sorted, mapped back, or its own
            findings.append(
                _finding(
                    "AW101",
                    combination,
                    [batch],
                    f"{len(order)} frames from {describe_kind(batch.kind, batch.library)} reached "
                    f"pandas.concat() out of submission order",
                    f"order     concat received input positions {order} ({evidence});\n"
                    f"          submission order is {sorted(order)}",
                    order=order,
                )
            )
        return findings
    # merge/join: two task frames from unordered batches paired by iteration, not by input.
    pair = [
        r.sources[0] if r is not None and len(r.sources) == 1 else None for r in combination.inputs
    ]
    if len(pair) == 2:
        left, right = pair
        if (
            left is not None
            and right is not None
            and left.batch.kind in UNORDERED_KINDS
            and right.batch.kind in UNORDERED_KINDS
            and left.batch is not right.batch
            and left.batch.size == right.batch.size
            and left.position != right.position
        ):
            findings.append(
                _finding(
                    "AW101",
                    combination,
                    [left.batch, right.batch],
                    f"{combination.operation} pairs partition {left.position} of batch "
                    f"#{left.batch.id} with partition {right.position} of batch #{right.batch.id}",
                    "pairing   both frames came out of unordered collections and were paired by\n"
                    "          iteration order, not by the inputs they were loaded for",
                )
            )
    return findings


def _missing(batch: Batch, present: set[int]) -> list[tuple[int, str, str]]:
    missing: list[tuple[int, str, str]] = []
    size = len(batch.members)
    if len(present) >= size and present.issuperset(range(size)):
        return missing  # every position is there (the common case): one C pass, no loop
    for position in range(size):
        if position in present:
            continue
        outcome, kind = batch.outcome(position)
        if outcome in (FAILED, CANCELLED, PENDING):
            missing.append((position, outcome, kind))
    return missing


def check_incomplete_batch(combination: Combination) -> list[Finding]:
    findings: list[Finding] = []
    if combination.operation != "concat":
        return findings
    for batch, order in combination.groups.items():
        missing = _missing(batch, set(order))
        if not missing:
            continue
        reasons = "\n".join(
            f"          position {p}: {outcome}{f' ({kind})' if kind else ''}"
            for p, outcome, kind in missing
        )
        findings.append(
            _finding(
                "AW201",
                combination,
                [batch],
                f"pandas.concat() got {len(order)} of {batch.size} results of "
                f"{describe_kind(batch.kind, batch.library)}; {len(missing)} missing without "
                "acknowledgement",
                f"missing   {[p for p, _, _ in missing]}\n{reasons}",
                missing=[p for p, _, _ in missing],
            )
        )
    return findings


def index_collisions(ranges: Sequence[range]) -> tuple[str, ...]:
    """Why labels of a concat of these RangeIndex bounds repeat (empty when they do not)."""
    spans = sorted((b.start, b.stop) for b in ranges if b and b.step == 1)
    for (_, stop_a), (start_b, _) in itertools.pairwise(spans):
        if start_b < stop_a:
            return (
                f"index labels {start_b}..{min(stop_a, spans[-1][1]) - 1} repeat across "
                f"partitions (concat without ignore_index=True keeps each partition's 0..n-1)",
            )
    return ()


def check_merge_fanout(combination: Combination) -> list[Finding]:
    if combination.operation not in ("merge", "join") or len(combination.inputs) != 2:
        return []
    reasons: list[str] = []
    batches: list[Batch] = []
    for side, record, uses_index in zip(
        ("left", "right"),
        combination.inputs,
        combination.index_used or (False, False),
        strict=False,
    ):
        if record is None:
            continue
        found = list(index_collisions(record.index_ranges)) if uses_index else []
        if record.duplicated_partitions:
            dup = ", ".join(f"#{s.batch.id}[{s.position}]" for s in record.duplicated_partitions)
            found.append(f"partitions {dup} were concatenated more than once")
        if not found:
            continue
        where = f" (concatenated at {record.site.short()})" if record.site else ""
        reasons.extend(f"{side}: {reason}{where}" for reason in found)
        batches.extend(s.batch for s in record.sources)
    if not reasons:
        return []
    rows = " + ".join(str(r) for r in combination.rows)
    return [
        _finding(
            "AW102",
            combination,
            list(dict.fromkeys(batches)),
            f"{combination.operation} on labels that repeat across partitions: "
            f"{combination.rows_out} rows out of {rows} in",
            "keys      " + "\n          ".join(reasons),
        )
    ]


def _finding(
    code: str,
    combination: Combination,
    batches: Sequence[Batch],
    title: str,
    message: str,
    **details: Any,
) -> Finding:
    rule = CODES[code]
    libraries = {batch.library for batch in batches}
    fix = rule.fix
    if len(libraries) == 1:
        fix = LIBRARY_FIXES.get((code, libraries.pop()), fix)
    return Finding(
        code=code,
        name=rule.name,
        title=title,
        message=message,
        fix=fix,
        site=combination.site,
        sites=_sites(combination, batches),
        batch_ids=tuple(b.id for b in batches),
        details={
            "operation": combination.operation,
            "inputs": len(combination.inputs),
            "rows_in": list(combination.rows),
            "rows_out": combination.rows_out,
            **details,
        },
    )


# The combination rules' checks, run on every concat, merge or join.
_CHECK_OF: dict[str, Callable[[Combination], list[Finding]]] = {
    "AW101": check_unordered_concat,
    "AW102": check_merge_fanout,
    "AW201": check_incomplete_batch,
}

RULES: dict[str, Rule] = {
    code: Rule(code, entry.name, entry.summary, entry.category, entry.fix, _CHECK_OF.get(code))
    for code, entry in CODES.items()
}


_CHECKS = tuple(rule.check for rule in RULES.values() if rule.check is not None)
# AW102 looks at merge and join only, AW201 at concat only: a concat runs two checks, not three.
_CHECKS_FOR = {
    "concat": tuple(c for c in _CHECKS if c is not check_merge_fanout),
    "merge": tuple(c for c in _CHECKS if c is not check_incomplete_batch),
    "join": tuple(c for c in _CHECKS if c is not check_incomplete_batch),
}


def check_combination(combination: Combination) -> list[Finding]:
    """Run every combination rule; return the findings in catalog order."""
    findings: list[Finding] = []
    for check in _CHECKS_FOR.get(combination.operation, _CHECKS):
        found = check(combination)
        if found:
            findings.extend(found)
    return findings
