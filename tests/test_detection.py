"""AW101 decided on what the scheduler chose: re-waits of one batch, orders the program made."""

from __future__ import annotations

import asyncio
import warnings

import pandas as pd
import pytest

import asyncwarden
from asyncwarden import FindingError, UnorderedConcatWarning


async def part(i: int, delay: float = 0) -> pd.DataFrame:
    await asyncio.sleep(delay)
    return pd.DataFrame({"part": [i, i], "value": [10 * i, 10 * i + 1]})


def _aw101(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, UnorderedConcatWarning)]


def _parts_of(frame: pd.DataFrame) -> list[int]:
    return list(dict.fromkeys(frame["part"]))


# -- one batch across re-waits --------------------------------------------------------------


calls: list[int] = []


async def _progress_loop_appending(n: int) -> pd.DataFrame:
    # Later partitions are smaller and come back first: completion order is not submission order.
    pending = {asyncio.create_task(part(i, 0.004 * (n - i))) for i in range(n)}
    frames = []
    calls.clear()
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        calls.append(len(done))
        frames.extend(task.result() for task in done)
    events = pd.concat(frames, ignore_index=True)
    events["running"] = events["value"].cumsum()
    return events


async def _progress_loop_mapping_back(n: int) -> pd.DataFrame:
    tasks = {i: asyncio.create_task(part(i, 0.004 * (n - i))) for i in range(n)}
    pending = set(tasks.values())
    while pending:
        _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    return pd.concat([tasks[i].result() for i in range(n)], ignore_index=True)


@pytest.mark.usefixtures("strict_guard")
def test_progress_loop_appending_across_re_waits_is_one_batch_out_of_order() -> None:
    with pytest.raises(FindingError) as raised:
        asyncio.run(_progress_loop_appending(5))
    finding = raised.value.finding
    assert finding.code == "AW101"
    assert "5 frames" in finding.title
    # A loaded machine may finish several partitions in one tick: one call or several.
    assert ("across" in finding.message) == (len(calls) > 1)
    assert len(finding.batch_ids) == 1


@pytest.mark.usefixtures("strict_guard")
@pytest.mark.parametrize("run", range(5))
def test_progress_loop_mapping_back_to_partitions_is_silent(run: int) -> None:
    assert _parts_of(asyncio.run(_progress_loop_mapping_back(4))) == [0, 1, 2, 3]


@pytest.mark.usefixtures("guard")
def test_the_set_a_batch_was_created_into_gives_its_submission_order() -> None:
    # The first wait() gets a set: the tasks' creation order is their submission order, so the
    # finding cites it rather than the set's own iteration order.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = asyncio.run(_progress_loop_appending(4))
    if _parts_of(frame) != [0, 1, 2, 3]:
        (message,) = _aw101(caught)
        assert f"input positions {_parts_of(frame)}" in message
    else:
        assert _aw101(caught) == []


@pytest.mark.usefixtures("strict_guard")
def test_as_completed_over_pending_tasks_of_a_wait_joins_that_batch() -> None:
    async def main() -> pd.DataFrame:
        tasks = [asyncio.create_task(part(i, 0.004 * (4 - i))) for i in range(4)]
        done, pending = await asyncio.wait(tasks, timeout=0.006)
        frames = [t.result() for t in sorted(done, key=tasks.index)]
        for next_done in asyncio.as_completed(pending):
            frames.append(await next_done)
        return pd.concat(frames).reset_index(drop=True)

    with pytest.raises(FindingError) as raised:
        asyncio.run(main())
    finding = raised.value.finding
    assert finding.code == "AW101"
    assert len(finding.batch_ids) == 1
    assert "as_completed" in finding.message


@pytest.mark.skipif(not hasattr(asyncio, "TaskGroup"), reason="TaskGroup is 3.11+")
@pytest.mark.usefixtures("strict_guard")
def test_as_completed_over_a_taskgroups_tasks_is_read_against_the_group() -> None:
    async def main() -> pd.DataFrame:
        frames = []
        async with asyncio.TaskGroup() as group:  # type: ignore[attr-defined]
            tasks = [group.create_task(part(i, 0.004 * (4 - i))) for i in range(4)]
            for next_done in asyncio.as_completed(tasks):
                frames.append(await next_done)
        return pd.concat(frames).reset_index(drop=True)

    with pytest.raises(FindingError) as raised:
        asyncio.run(main())
    assert raised.value.finding.code == "AW101"
    assert "TaskGroup" in raised.value.finding.title


# -- orders the program made ----------------------------------------------------------------


@pytest.mark.usefixtures("strict_guard")
@pytest.mark.parametrize("run", range(5))
def test_frames_sorted_by_their_key_column_are_silent_though_not_in_submission_order(
    run: int,
) -> None:
    stores = [104, 101, 103, 102]

    async def load(store: int) -> pd.DataFrame:
        await asyncio.sleep(0.002 * (store % 3))
        return pd.DataFrame({"store": [store], "amount": [store * 2]})

    async def main() -> pd.DataFrame:
        frames = [await f for f in asyncio.as_completed([load(s) for s in stores])]
        frames.sort(key=lambda frame: frame["store"].iat[0])
        return pd.concat(frames, ignore_index=True)

    assert asyncio.run(main())["store"].tolist() == [101, 102, 103, 104]


@pytest.mark.usefixtures("strict_guard")
@pytest.mark.parametrize("run", range(5))
def test_frames_put_in_reverse_by_the_program_from_gather_are_silent(run: int) -> None:
    async def main() -> pd.DataFrame:
        frames = await asyncio.gather(*(part(i) for i in range(3)))
        return pd.concat(frames[::-1])

    assert _parts_of(asyncio.run(main())) == [2, 1, 0]


@pytest.mark.usefixtures("strict_guard")
def test_an_allowed_finding_is_still_decided_on_the_whole_batch() -> None:
    with asyncwarden.allow("AW101"):
        frame = asyncio.run(_progress_loop_appending(3))
    assert sorted(_parts_of(frame)) == [0, 1, 2]
