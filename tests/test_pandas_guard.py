"""The findings engine as a user meets it through the API: AW101, AW102, AW201, lineage."""

from __future__ import annotations

import asyncio
import sys
import warnings

import pandas as pd
import pytest

import asyncwarden
from asyncwarden import FindingError, IncompleteBatchWarning, UnorderedConcatWarning
from tests.conftest import run_python


async def partition(i: int, delay: float = 0) -> pd.DataFrame:
    await asyncio.sleep(delay)
    return pd.DataFrame({"day": [i, i], "value": [10 * i, 10 * i + 1]})


async def _broken(i: int) -> pd.DataFrame:
    await asyncio.sleep(0)
    raise OSError(f"partition {i} unreadable")


def _wrong(n: int = 4) -> pd.DataFrame:
    async def main() -> pd.DataFrame:
        tasks = [asyncio.create_task(partition(i)) for i in range(n)]
        done, _ = await asyncio.wait(tasks)
        sales = pd.concat([t.result() for t in done])
        sales["running"] = sales["value"].cumsum()  # reads the rows in the order they came
        return sales

    return asyncio.run(main())


def _mapped_back(n: int = 4) -> pd.DataFrame:
    async def main() -> pd.DataFrame:
        tasks = {i: asyncio.create_task(partition(i)) for i in range(n)}
        done, _ = await asyncio.wait(tasks.values(), return_when=asyncio.FIRST_EXCEPTION)
        results = {i: tasks[i].result() for i in tasks if tasks[i] in done}
        return pd.concat(results.values())

    return asyncio.run(main())


@pytest.mark.usefixtures("strict_guard")
@pytest.mark.parametrize("run", range(10))
def test_wait_done_set_into_concat_is_aw101_in_strict_mode_on_every_run(run: int) -> None:
    with pytest.raises(FindingError) as raised:
        _wrong()
    finding = raised.value.finding
    assert finding.code == "AW101"
    assert finding.site.filename == __file__
    assert ("asyncio.wait() #" in role for role, _ in finding.sites)


@pytest.mark.usefixtures("strict_guard")
@pytest.mark.parametrize("run", range(10))
def test_wait_mapped_back_to_inputs_is_silent_in_strict_mode(run: int) -> None:
    assert _mapped_back()["day"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


@pytest.mark.usefixtures("guard")
def test_warn_mode_warns_once_per_call_site_and_points_at_the_users_line() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(5):
            # Iterate until the set order differs from submission order (it usually does at once).
            _wrong()
    aw101 = [w for w in caught if issubclass(w.category, UnorderedConcatWarning)]
    assert len(aw101) <= 1
    if aw101:
        assert aw101[0].filename == __file__
        assert "AW101 unordered-concat" in str(aw101[0].message)


@pytest.mark.usefixtures("strict_guard")
def test_gather_into_concat_is_silent_and_lineage_names_batch_and_positions() -> None:
    async def main() -> pd.DataFrame:
        frames = await asyncio.gather(*(partition(i, delay=0.001 * (3 - i)) for i in range(3)))
        return pd.concat(frames, ignore_index=True)

    combined = asyncio.run(main())
    assert combined["day"].tolist() == [0, 0, 1, 1, 2, 2]
    found = asyncwarden.lineage(combined)
    assert found is not None
    assert found.operation == "concat"
    assert [s.position for s in found.sources] == [0, 1, 2]
    assert {s.batch_kind for s in found.sources} == {"gather"}
    assert len(found.batches) == 1
    assert found.site is not None and found.site.filename == __file__


@pytest.mark.usefixtures("strict_guard")
def test_concat_with_keys_or_a_mapping_is_silent_even_from_the_done_set() -> None:
    async def main() -> tuple[pd.DataFrame, pd.DataFrame]:
        tasks = {i: asyncio.create_task(partition(i)) for i in range(4)}
        done, _ = await asyncio.wait(tasks.values())
        by_task = {t: i for i, t in tasks.items()}
        keyed = pd.concat({by_task[t]: t.result() for t in done})
        explicit = pd.concat([t.result() for t in done], keys=[by_task[t] for t in done])
        return keyed, explicit

    keyed, explicit = asyncio.run(main())
    assert len(keyed) == len(explicit) == 8


@pytest.mark.usefixtures("strict_guard")
def test_sort_back_into_submission_order_is_silent() -> None:
    async def main() -> pd.DataFrame:
        tasks = [asyncio.create_task(partition(i)) for i in range(4)]
        frames = []
        for next_done in asyncio.as_completed(tasks):
            frames.append(await next_done)
        frames.sort(key=lambda f: int(f["day"].iloc[0]))
        return pd.concat(frames)

    assert asyncio.run(main())["day"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


@pytest.mark.usefixtures("strict_guard")
def test_as_completed_order_into_concat_is_aw101_when_it_differs_from_submission() -> None:
    async def main() -> pd.DataFrame:
        # The later partitions finish first: completion order is the reverse of submission.
        events = [asyncio.Event() for _ in range(3)]

        async def gated(i: int) -> pd.DataFrame:
            await events[i].wait()
            if i > 0:
                events[i - 1].set()
            return await partition(i)

        tasks = [asyncio.create_task(gated(i)) for i in range(3)]
        events[2].set()
        frames = [await f for f in asyncio.as_completed(tasks)]
        return pd.concat(frames).reset_index(drop=True)

    with pytest.raises(FindingError) as raised:
        asyncio.run(main())
    assert raised.value.finding.code == "AW101"
    assert "completion order" in raised.value.finding.message


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup is new in 3.11")
@pytest.mark.usefixtures("strict_guard")
def test_task_group_results_in_creation_order_are_silent() -> None:
    async def main() -> pd.DataFrame:
        async with asyncio.TaskGroup() as group:  # type: ignore[attr-defined]
            tasks = [group.create_task(partition(i, 0.001 * (3 - i))) for i in range(3)]
        return pd.concat([t.result() for t in tasks])

    combined = asyncio.run(main())
    assert combined["day"].tolist() == [0, 0, 1, 1, 2, 2]
    assert [s.batch_kind for s in asyncwarden.lineage(combined).sources] == ["taskgroup"] * 3  # type: ignore[union-attr]


@pytest.mark.usefixtures("strict_guard")
def test_gather_return_exceptions_with_failures_filtered_out_is_aw201() -> None:
    async def main() -> pd.DataFrame:
        results = await asyncio.gather(
            partition(0), _broken(1), partition(2), return_exceptions=True
        )
        return pd.concat([r for r in results if isinstance(r, pd.DataFrame)])

    with pytest.raises(FindingError) as raised:
        asyncio.run(main())
    finding = raised.value.finding
    assert finding.code == "AW201"
    assert "position 1: failed (OSError)" in finding.message
    assert finding.details["missing"] == [1]


@pytest.mark.usefixtures("strict_guard")
def test_wait_timeout_with_only_done_concatenated_is_aw201_naming_the_pending_positions() -> None:
    async def main() -> pd.DataFrame:
        tasks = [asyncio.create_task(partition(i, delay=0 if i < 2 else 30)) for i in range(4)]
        done, pending = await asyncio.wait(tasks, timeout=0.2)
        try:
            return pd.concat([t.result() for t in tasks if t in done])
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    with pytest.raises(FindingError) as raised:
        asyncio.run(main())
    assert raised.value.finding.code == "AW201"
    assert raised.value.finding.details["missing"] == [2, 3]
    assert "position 2: pending" in raised.value.finding.message


@pytest.mark.usefixtures("strict_guard")
def test_allow_acknowledges_a_partial_result() -> None:
    async def main() -> pd.DataFrame:
        results = await asyncio.gather(partition(0), _broken(1), return_exceptions=True)
        with asyncwarden.allow("AW201"):
            return pd.concat([r for r in results if isinstance(r, pd.DataFrame)])

    assert len(asyncio.run(main())) == 2


def test_allow_rejects_an_unknown_code() -> None:
    with pytest.raises(ValueError, match="unknown rule code"), asyncwarden.allow("AW999"):
        pass


@pytest.mark.usefixtures("guard")
def test_warn_mode_for_aw201_uses_its_own_category() -> None:
    async def main() -> pd.DataFrame:
        results = await asyncio.gather(partition(0), _broken(1), return_exceptions=True)
        return pd.concat([r for r in results if isinstance(r, pd.DataFrame)])

    with pytest.warns(IncompleteBatchWarning, match="AW201 incomplete-batch"):
        asyncio.run(main())


@pytest.mark.usefixtures("strict_guard")
def test_concat_without_ignore_index_then_join_on_index_is_aw102() -> None:
    async def main() -> pd.DataFrame:
        left = pd.concat(await asyncio.gather(*(partition(i) for i in range(3))))
        right = pd.concat(await asyncio.gather(*(partition(i) for i in range(3))))
        return left.merge(right, left_index=True, right_index=True)

    with pytest.raises(FindingError) as raised:
        asyncio.run(main())
    finding = raised.value.finding
    assert finding.code == "AW102"
    assert "18 rows out of 6 + 6 in" in finding.title
    assert "repeat across partitions" in finding.message


@pytest.mark.usefixtures("strict_guard")
def test_the_same_partition_concatenated_twice_then_merged_is_aw102() -> None:
    async def main() -> pd.DataFrame:
        frames = await asyncio.gather(*(partition(i) for i in range(3)))
        doubled = pd.concat([*frames, frames[1]], ignore_index=True)
        lookup = pd.DataFrame({"day": [0, 1, 2], "name": ["a", "b", "c"]})
        return doubled.merge(lookup, on="day")

    with pytest.raises(FindingError) as raised:
        asyncio.run(main())
    assert raised.value.finding.code == "AW102"
    assert "concatenated more than once" in raised.value.finding.message


@pytest.mark.usefixtures("strict_guard")
def test_ignore_index_concat_then_join_is_silent() -> None:
    async def main() -> pd.DataFrame:
        left = pd.concat(await asyncio.gather(*(partition(i) for i in range(3))), ignore_index=True)
        right = pd.concat(
            await asyncio.gather(*(partition(i) for i in range(3))), ignore_index=True
        )
        return left.merge(right, left_index=True, right_index=True)

    assert len(asyncio.run(main())) == 6


@pytest.mark.usefixtures("strict_guard")
def test_merge_pairing_partitions_of_two_waits_by_iteration_is_aw101() -> None:
    async def main() -> list[pd.DataFrame]:
        left_tasks = [asyncio.create_task(partition(i)) for i in range(3)]
        right_tasks = [asyncio.create_task(partition(i)) for i in range(3)]
        left_done, _ = await asyncio.wait(left_tasks)
        right_done, _ = await asyncio.wait(right_tasks)
        return [
            a.result().merge(b.result(), on="day")
            for a, b in zip(
                sorted(left_done, key=left_tasks.index),
                sorted(right_done, key=right_tasks.index, reverse=True),
                strict=True,
            )
        ]

    with pytest.raises(FindingError) as raised:
        asyncio.run(main())
    assert raised.value.finding.code == "AW101"
    assert "pairs partition 0" in raised.value.finding.title


@pytest.mark.usefixtures("guard")
def test_the_guard_never_touches_the_users_frames() -> None:
    async def main() -> tuple[list[pd.DataFrame], pd.DataFrame]:
        frames = await asyncio.gather(*(partition(i) for i in range(3)))
        return frames, pd.concat(frames)

    frames, combined = asyncio.run(main())
    assert all(f.attrs == {} for f in frames)
    assert combined.attrs == {}
    assert list(combined.columns) == ["day", "value"]


@pytest.mark.usefixtures("guard")
def test_frames_from_to_thread_tasks_have_lineage() -> None:
    def read(i: int) -> pd.DataFrame:
        return pd.DataFrame({"day": [i]})

    async def main() -> pd.DataFrame:
        frames = await asyncio.gather(*(asyncio.to_thread(read, i) for i in range(2)))
        return pd.concat(frames)

    found = asyncwarden.lineage(asyncio.run(main()))
    assert found is not None and [s.position for s in found.sources] == [0, 1]


def test_lineage_is_none_for_a_frame_no_task_returned() -> None:
    assert asyncwarden.lineage(pd.DataFrame({"a": [1]})) is None


# The collector runs a finalizer in the middle of linking a batch's frames, and the finalizer
# concatenates frames with lineage: the guard links again, from inside its own linking.
FINALIZER_CONCATS = """
import asyncio, gc
import pandas as pd
import asyncwarden
from asyncwarden._tracking import _frame_types
from asyncwarden._tracking._callsite import capture
from asyncwarden._tracking._provenance import Batch

asyncwarden.install("warn")
rows = []

class ConcatOnCollect:
    def __init__(self, frames):
        self.frames, self.cycle = frames, self  # only the collector frees it
    def __del__(self):
        rows.append(len(pd.concat(self.frames)))

async def load(i):
    return pd.DataFrame({"day": [i]})

async def main():
    return await asyncio.gather(*(load(i) for i in range(2)))

tracked = asyncio.run(main())
fresh = [pd.DataFrame({"day": [i]}) for i in range(3)]

def results():
    for position, frame in enumerate(fresh):
        ConcatOnCollect(tracked)  # garbage the next allocation collects
        yield frame, position

gc.set_threshold(1)
_frame_types.link_task_results(Batch("gather", capture(0)), results())
gc.set_threshold(700, 10, 10)
gc.collect()
print(len(rows), rows[0], [asyncwarden.lineage(f).sources[0].position for f in fresh])
"""


def test_a_finalizer_that_concats_while_frames_are_linked_neither_deadlocks_nor_loses_lineage() -> (
    None
):
    done = run_python("-c", FINALIZER_CONCATS, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3", "2", "[0,", "1,", "2]"], done.stdout
