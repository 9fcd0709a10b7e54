"""The combination rules' building blocks, fed lineage records directly (no pandas call)."""

from __future__ import annotations

from asyncwarden._rules import _catalog
from asyncwarden._tracking import _callsite
from asyncwarden._tracking._combination import Combination, grouped
from asyncwarden._tracking._lineage import Link, Source
from asyncwarden._tracking._provenance import NO_MEMBER, Batch

SITE = _callsite.CallSite("etl.py", 3, "main")


def _batch(kind: str, members: int) -> Batch:
    batch = Batch(kind, SITE)
    batch.members.extend([NO_MEMBER] * members)
    batch.size = members
    return batch


def _task_links(batch: Batch, positions: list[int]) -> list[Link | None]:
    return [Link((Source(batch, p),), "task", None) for p in positions]


def test_grouping_of_one_batch_keeps_input_order() -> None:
    batch = _batch("gather", 4)
    inputs = [*_task_links(batch, [2, 0]), None, *_task_links(batch, [3, 1])]
    assert grouped(inputs) == {batch: [2, 0, 3, 1]}


def test_grouping_of_several_batches_keeps_each_batchs_order() -> None:
    first, second = _batch("wait", 3), _batch("gather", 3)
    inputs = [
        *_task_links(first, [1]),
        *_task_links(second, [0]),
        *_task_links(first, [0]),
        Link((Source(second, 2), Source(first, 2)), "concat", SITE),
    ]
    groups = grouped(inputs)
    assert list(groups) == [first, second]
    assert groups == {first: [1, 0, 2], second: [0, 2]}
    assert grouped([None, None]) == {}


def test_a_batch_fully_present_needs_no_outcome_reads() -> None:
    batch = _batch("gather", 3)
    batch.outcomes[1] = ("failed", "OSError")  # not read: position 1 is present
    combination = Combination("concat", SITE, _task_links(batch, [2, 1, 0]))
    assert _catalog.check_incomplete_batch(combination) == []


def test_a_missing_failed_member_is_aw201_with_its_position() -> None:
    batch = _batch("gather", 3)
    batch.outcomes[1] = ("failed", "OSError")
    combination = Combination("concat", SITE, _task_links(batch, [0, 2]))
    [finding] = _catalog.check_incomplete_batch(combination)
    assert finding.code == "AW201"
    assert finding.details["missing"] == [1]


def test_index_collisions_name_the_repeating_labels() -> None:
    assert _catalog.index_collisions([range(4), range(4, 8)]) == ()
    assert _catalog.index_collisions([range(4), range(2)]) == (
        "index labels 0..1 repeat across partitions (concat without ignore_index=True keeps "
        "each partition's 0..n-1)",
    )
    # empty and stepped ranges are not compared
    assert _catalog.index_collisions([range(4), range(0), range(0, 8, 2)]) == ()


def test_with_rows_keeps_the_groups_already_computed() -> None:
    batch = _batch("gather", 2)
    combination = Combination("merge", SITE, _task_links(batch, [0, 1]), rows=(2, 2))
    done = combination.with_rows(combination.rows, 3)
    assert done.groups is combination.groups
    assert (done.rows, done.rows_out, done.operation) == ((2, 2), 3, "merge")
