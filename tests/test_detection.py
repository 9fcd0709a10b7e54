"""AW101 decided on what the scheduler chose: re-waits of one batch, orders the program made."""

from __future__ import annotations

import asyncio
import sys
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


# -- lineage through transformations --------------------------------------------------------


def _transformed(frame: pd.DataFrame) -> list[pd.DataFrame]:
    """Each ordinary transformation of ``frame``, and a chain of them."""
    chain = (
        frame.assign(batch=7)
        .rename(columns={"value": "amount"})
        .astype({"amount": "float64"})[["part", "amount"]]
        .query("amount >= 0")
        .dropna()
        .fillna(0)
        .copy()
        .set_index("part")
        .loc[:, ["amount"]]
        .iloc[:2]
    )
    return [
        frame.assign(batch=7),
        frame.rename(columns={"value": "amount"}),
        frame.astype({"value": "float64"}),
        frame[["part"]],
        frame[frame["value"] >= 0],
        frame.query("value >= 0"),
        frame.dropna(),
        frame.fillna(0),
        frame.copy(),
        frame.set_index("part"),
        frame.loc[:, ["value"]],
        frame.iloc[:1],
        chain,
    ]


@pytest.mark.usefixtures("guard")
def test_a_frame_derived_from_a_tasks_frame_keeps_its_source() -> None:
    async def main() -> list[pd.DataFrame]:
        return list(await asyncio.gather(*(part(i) for i in range(3))))

    frames = asyncio.run(main())
    for derived in _transformed(frames[2]):
        found = asyncwarden.lineage(derived)
        assert found is not None, derived
        assert [(s.position, s.batch_kind) for s in found.sources] == [(2, "gather")]
        assert derived.attrs == {}  # nothing written to the frame


@pytest.mark.usefixtures("guard")
def test_a_column_of_a_tasks_frame_is_not_a_frame_of_that_partition() -> None:
    async def main() -> pd.DataFrame:
        return await asyncio.create_task(part(1))

    frame = asyncio.run(main())
    assert asyncwarden.lineage(frame["value"]) is None


@pytest.mark.usefixtures("strict_guard")
@pytest.mark.parametrize("run", range(3))
def test_done_set_frames_transformed_before_the_concat_are_aw101(run: int) -> None:
    async def main() -> pd.DataFrame:
        tasks = [asyncio.create_task(part(i)) for i in range(4)]
        done, _ = await asyncio.wait(tasks)
        frames = [t.result().assign(run_id=run).rename(columns={"value": "v"}) for t in done]
        lines = pd.concat(frames, ignore_index=True)
        lines["line"] = lines.index + 1
        return lines

    with pytest.raises(FindingError) as raised:
        asyncio.run(main())
    assert raised.value.finding.code == "AW101"


# -- decided at the concat result's first use ------------------------------------------------


async def _done_set_concat(n: int = 4) -> pd.DataFrame:
    tasks = [asyncio.create_task(part(i)) for i in range(n)]
    done, _ = await asyncio.wait(tasks)
    return pd.concat([t.result() for t in done])


@pytest.mark.usefixtures("strict_guard")
@pytest.mark.parametrize(
    "reindex",
    [
        lambda f: f.sort_values(["part", "value"]),
        lambda f: f.set_index(["part", "value"]).sort_index(),
        lambda f: f.set_index("value").reindex([0, 1, 10, 11, 20, 21, 30, 31]),
        lambda f: f.sort_values("value", inplace=True) or f,
    ],
    ids=["sort_values", "set_index_sort_index", "set_index_reindex", "sort_inplace"],
)
def test_a_concat_re_indexed_before_any_use_is_silent(reindex: object) -> None:
    async def main() -> pd.DataFrame:
        result = reindex(await _done_set_concat())  # type: ignore[operator]
        result["line"] = range(len(result))
        return result.head(8)

    frame = asyncio.run(main())
    assert len(frame) == 8


@pytest.mark.usefixtures("strict_guard")
@pytest.mark.skipif(
    not hasattr(pd.DataFrame, "_check_inplace_deprecation"),
    reason="pandas' inplace deprecation (PDEP-8) is 3.1+",
)
@pytest.mark.xfail(
    strict=True,
    reason="known gap: while a concat result is held, sort_values is wrapped, and a pandas "
    "warning with a fixed stacklevel (PDEP-8's inplace deprecation uses 3) names the wrapper's "
    "frame instead of the program's line",
)
def test_a_pandas_warning_on_a_held_frame_names_the_programs_line() -> None:
    async def main() -> list[warnings.WarningMessage]:
        frame = await _done_set_concat()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame.sort_values("value", inplace=True)
        return caught

    caught = asyncio.run(main())
    inplace = [w for w in caught if "inplace keyword" in str(w.message)]
    assert inplace
    assert [w.filename for w in inplace] == [__file__]


@pytest.mark.usefixtures("strict_guard")
@pytest.mark.parametrize(
    "use",
    [
        lambda f: f.reset_index(drop=True),
        lambda f: f["value"].cumsum(),
        lambda f: f.to_csv(),
        lambda f: f.iloc[0],
        lambda f: f.merge(f, on="part"),
        lambda f: pd.concat([f, f]),
    ],
    ids=["reset_index", "column", "to_csv", "iloc", "merge", "concat"],
)
def test_the_first_use_of_an_unordered_concat_raises_in_strict_mode(use: object) -> None:
    used_here: list[int] = []

    async def main() -> None:
        frame = await _done_set_concat()
        used_here.append(sys._getframe().f_lineno + 1)
        use(frame)  # type: ignore[operator]

    with pytest.raises(FindingError) as raised:
        asyncio.run(main())
    finding = raised.value.finding
    assert finding.code == "AW101"
    roles = dict(finding.sites)
    assert roles["pandas.concat()"].lineno == _done_set_concat.__code__.co_firstlineno + 3
    assert "first use" in roles


@pytest.mark.usefixtures("guard")
def test_an_unordered_concat_dropped_unused_is_reported_when_it_dies() -> None:
    async def main() -> list[int]:
        frame = await _done_set_concat()
        order = list(dict.fromkeys(frame.index.map(lambda _: 0)))  # no frame made from it
        del frame
        return order

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(main())
    # Warn mode reports only when the set really iterated out of order on this run.
    for message in _aw101(caught):
        assert "dropped" in message


@pytest.mark.usefixtures("strict_guard")
def test_a_row_wise_step_before_the_sort_hands_the_hold_on() -> None:
    async def main() -> pd.DataFrame:
        lines = (await _done_set_concat()).assign(double=lambda d: d["value"] * 2)
        lines = lines.rename(columns={"double": "twice"}).sort_values(["part", "value"])
        lines["running"] = lines["twice"].cumsum()
        return lines

    assert asyncio.run(main())["part"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


@pytest.mark.usefixtures("strict_guard")
def test_a_concat_only_aggregated_by_key_is_silent() -> None:
    async def main() -> pd.Series:
        frame = await _done_set_concat()
        return frame.groupby("part")["value"].sum()

    assert asyncio.run(main()).tolist() == [1, 21, 41, 61]


@pytest.mark.usefixtures("strict_guard")
def test_reset_index_is_a_use_even_though_pandas_copies_inside_it() -> None:
    async def main() -> None:
        (await _done_set_concat()).reset_index(drop=True)

    with pytest.raises(FindingError) as raised:
        asyncio.run(main())
    assert "first use" in dict(raised.value.finding.sites)
