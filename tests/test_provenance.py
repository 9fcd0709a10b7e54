from __future__ import annotations

import asyncio
import gc
import sys
import threading
import weakref

import pytest

import asyncwarden
from asyncwarden._tracking import _provenance


async def _value(x: int, delay: float = 0) -> int:
    await asyncio.sleep(delay)
    return x


async def _fail() -> None:
    await asyncio.sleep(0)
    raise KeyError("partition")


def _line_of(marker: str) -> int:
    with open(__file__) as source:
        for number, line in enumerate(source, 1):
            if marker in line and "_line_of" not in line:
                return number
    raise AssertionError(marker)


@pytest.mark.usefixtures("guard")
def test_gather_members_carry_batch_position_site_and_outcome() -> None:
    async def main() -> list[asyncio.Future[object]]:
        tasks = [asyncio.ensure_future(_value(i)) for i in range(3)]
        failing = asyncio.ensure_future(_fail())
        await asyncio.gather(*tasks, failing, return_exceptions=True)  # gather-site
        return [*tasks, failing]

    tasks = asyncio.run(main())
    records = [asyncwarden.provenance(t) for t in tasks]
    assert all(r is not None for r in records)
    first = records[0]
    assert first is not None
    assert first.batch_kind == "gather"
    assert [r.position for r in records if r] == [0, 1, 2, 3]
    assert len({r.batch_id for r in records if r}) == 1
    assert first.call_site.filename == __file__
    assert first.call_site.lineno == _line_of("# gather-site")
    assert first.call_site.function.endswith("main")
    assert first.parent_task is not None
    assert first.coroutine is not None and first.coroutine.endswith("_value")
    assert first.outcome == "ok" and first.outcome_type == "int"
    last = records[3]
    assert last is not None
    assert (last.outcome, last.outcome_type) == ("failed", "KeyError")


@pytest.mark.usefixtures("guard")
def test_wait_records_done_and_pending_and_keeps_plain_sets() -> None:
    async def main() -> tuple[object, object, list[asyncio.Task[int]]]:
        fast = asyncio.create_task(_value(1))
        slow = asyncio.create_task(_value(2, delay=10))
        done, pending = await asyncio.wait([fast, slow], timeout=0.05)
        slow.cancel()
        await asyncio.gather(slow, return_exceptions=True)
        return done, pending, [fast, slow]

    done, pending, (fast, slow) = asyncio.run(main())
    assert type(done) is set and type(pending) is set
    fast_record = asyncwarden.provenance(fast)
    slow_record = asyncwarden.provenance(slow)
    assert fast_record is not None and slow_record is not None
    assert fast_record.batch_kind == "wait"
    assert (fast_record.position, fast_record.returned_in) == (0, "done")
    assert (slow_record.position, slow_record.returned_in) == (1, "pending")
    # The later gather over the pending task does not rewrite where it came from.
    assert slow_record.batch_id == fast_record.batch_id
    assert slow_record.outcome == "cancelled"


@pytest.mark.usefixtures("guard")
def test_wait_accepts_a_one_shot_iterator_and_still_records_positions() -> None:
    async def main() -> list[asyncio.Task[int]]:
        tasks = [asyncio.create_task(_value(i)) for i in range(3)]
        done, pending = await asyncio.wait(iter(tasks))
        assert done == set(tasks) and not pending
        return tasks

    tasks = asyncio.run(main())
    assert [asyncwarden.provenance(t).position for t in tasks] == [0, 1, 2]  # type: ignore[union-attr]


@pytest.mark.usefixtures("guard")
def test_as_completed_members_are_tracked_for_tasks_and_coroutines() -> None:
    async def main() -> tuple[list[int], list[asyncio.Task[int]]]:
        tasks = [asyncio.create_task(_value(i)) for i in range(3)]
        results = [await f for f in asyncio.as_completed(tasks)]
        return results, tasks

    results, tasks = asyncio.run(main())
    assert sorted(results) == [0, 1, 2]
    records = [asyncwarden.provenance(t) for t in tasks]
    assert [r.batch_kind for r in records if r] == ["as_completed"] * 3
    assert [r.position for r in records if r] == [0, 1, 2]


@pytest.mark.usefixtures("guard")
def test_as_completed_keeps_what_became_of_members_the_program_dropped() -> None:
    async def main() -> tuple[asyncio.Task[int], list[str]]:
        kept = asyncio.create_task(_value(0))
        failing = asyncio.create_task(_fail())
        cancelled = asyncio.create_task(_value(2, delay=10))
        cancelled.cancel()
        seen = []
        for next_done in asyncio.as_completed([kept, failing, cancelled]):
            try:
                await next_done
                seen.append("ok")
            except (KeyError, asyncio.CancelledError) as error:
                seen.append(type(error).__name__)
        return kept, seen

    kept, seen = asyncio.run(main())
    gc.collect()  # the failed and the cancelled task are gone; only their records remain
    assert sorted(seen) == ["CancelledError", "KeyError", "ok"]
    found = _provenance.registry.lookup(kept)
    assert found is not None
    batch, _ = found
    assert batch.member(1) is None and batch.member(2) is None
    assert [batch.outcome(p) for p in range(3)] == [
        ("ok", "int"),
        ("failed", "KeyError"),
        ("cancelled", ""),
    ]
    assert batch.finished is not None


@pytest.mark.usefixtures("guard")
def test_wait_for_tracks_a_task_it_is_given() -> None:
    async def main() -> asyncio.Task[int]:
        task = asyncio.create_task(_value(5))
        assert await asyncio.wait_for(task, timeout=5) == 5
        return task

    record = asyncwarden.provenance(asyncio.run(main()))
    assert record is not None and record.batch_kind == "wait_for"


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup is new in 3.11")
@pytest.mark.usefixtures("guard")
def test_task_group_members_are_one_batch_in_creation_order() -> None:
    async def main() -> list[asyncio.Task[int]]:
        async with asyncio.TaskGroup() as group:  # type: ignore[attr-defined]
            return [group.create_task(_value(i)) for i in range(3)]

    tasks = asyncio.run(main())
    records = [asyncwarden.provenance(t) for t in tasks]
    assert [r.batch_kind for r in records if r] == ["taskgroup"] * 3
    assert [r.position for r in records if r] == [0, 1, 2]
    assert len({r.batch_id for r in records if r}) == 1


@pytest.mark.usefixtures("guard")
def test_provenance_is_none_for_a_task_never_seen_in_a_batch() -> None:
    async def main() -> asyncio.Task[int]:
        task = asyncio.create_task(_value(1))
        await task
        return task

    assert asyncwarden.provenance(asyncio.run(main())) is None
    assert asyncwarden.provenance(object()) is None


@pytest.mark.usefixtures("guard")
def test_registry_keeps_no_task_alive() -> None:
    async def main() -> weakref.ref[asyncio.Future[list[int]]]:
        tasks = [asyncio.ensure_future(_value(i)) for i in range(100)]
        await asyncio.gather(*tasks)
        return weakref.ref(tasks[0])

    first = asyncio.run(main())
    gc.collect()
    assert first() is None
    assert _provenance.registry.live_tasks() == 0


@pytest.mark.usefixtures("guard")
def test_a_lookup_in_another_thread_while_a_batch_is_queued_cannot_hide_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Another thread looks up while this one is queueing its new batch (the moment of the
    # sweep). The lookup must not leave the index believing it is up to date without the batch:
    # the program's next lookup of its own tasks would find nothing (seen under load, 4 threads).
    registry = _provenance.registry
    original_sweep = registry._sweep
    in_sweep, lookup_done = threading.Event(), threading.Event()

    def sweep_with_a_lookup_between() -> None:
        if not in_sweep.is_set():
            in_sweep.set()
            # Fixed code holds the registry's lock here, so the other lookup waits for it and
            # this wait runs out; without the lock the lookup lands right in this window.
            lookup_done.wait(timeout=1)
        original_sweep()

    def look_up_something_else() -> None:
        in_sweep.wait()
        registry.lookup(threading.Event())  # any object that is no member
        lookup_done.set()

    monkeypatch.setattr(registry, "_sweep", sweep_with_a_lookup_between)
    other = threading.Thread(target=look_up_something_else)
    other.start()

    async def main() -> list[asyncio.Task[int]]:
        tasks = [asyncio.ensure_future(_value(i)) for i in range(3)]
        await asyncio.gather(*tasks)
        return tasks

    tasks = asyncio.run(main())
    other.join()
    assert [r.position if r else None for r in map(asyncwarden.provenance, tasks)] == [0, 1, 2]


@pytest.mark.usefixtures("guard")
def test_finished_batches_are_dropped_as_new_ones_come_and_live_ones_are_kept() -> None:
    async def main() -> list[asyncio.Task[int]]:
        kept = [asyncio.ensure_future(_value(i)) for i in range(3)]
        await asyncio.wait(kept)  # kept-site
        for _ in range(200):
            await asyncio.gather(*(_value(i) for i in range(10)))
        return kept

    kept = asyncio.run(main())
    gc.collect()
    # Two hundred finished gathers left no more than a couple of batches behind ...
    assert len(_provenance.registry.batches()) <= 3
    # ... and the batch whose tasks the program still holds is still known, position and all.
    records = [asyncwarden.provenance(task) for task in kept]
    assert [(r.batch_kind, r.position, r.call_site.lineno) for r in records if r] == [
        ("wait", i, _line_of("# kept-site")) for i in range(3)
    ]


@pytest.mark.usefixtures("guard")
@pytest.mark.skipif(sys.version_info < (3, 11), reason="TaskGroup is 3.11+")
def test_an_open_task_group_whose_first_members_died_keeps_its_later_members() -> None:
    async def main() -> asyncio.Task[int]:
        async with asyncio.TaskGroup() as group:  # type: ignore[attr-defined]
            await group.create_task(_value(0))  # done and dropped: the group's only member dies
            gc.collect()
            for _ in range(50):  # new batches, each looking at the oldest for dead ones
                await asyncio.gather(*(_value(i) for i in range(3)))
            return group.create_task(_value(1))

    later = asyncio.run(main())
    record = asyncwarden.provenance(later)
    assert record is not None
    assert (record.batch_kind, record.position) == ("taskgroup", 1)


@pytest.mark.usefixtures("guard")
@pytest.mark.skipif(sys.version_info < (3, 11), reason="TaskGroup is 3.11+")
@pytest.mark.parametrize("exit_", ["raised", "normal"])
def test_task_group_exit_records_failed_and_cancelled_members_the_program_dropped(
    exit_: str,
) -> None:
    async def main(raised: list[str]) -> asyncio.Task[int]:
        # The program holds its tasks through the group's exit (what is recorded is read then)
        # and drops all but the first afterwards.
        tasks = []
        try:
            async with asyncio.TaskGroup() as group:  # type: ignore[attr-defined]
                tasks.append(group.create_task(_value(0)))
                if exit_ == "raised":
                    tasks.append(group.create_task(_fail()))  # the group cancels the third
                    tasks.append(group.create_task(_value(2, delay=10)))
                else:
                    tasks.append(group.create_task(_value(1)))
                    tasks.append(group.create_task(_value(2, delay=10)))
                    tasks[-1].cancel()  # a cancellation is not an error: a normal exit
        except BaseException as error:  # an ExceptionGroup (a builtin only on 3.11+)
            raised.append(type(error).__name__)  # not the error: its traceback holds the tasks
        return tasks[0]

    raised: list[str] = []
    kept = asyncio.run(main(raised))
    assert raised == (["ExceptionGroup"] if exit_ == "raised" else [])
    gc.collect()  # only the first member is still alive: the others' outcomes are records
    found = _provenance.registry.lookup(kept)
    assert found is not None
    batch, _ = found
    assert batch.member(1) is None and batch.member(2) is None
    second = ("failed", "KeyError") if exit_ == "raised" else ("ok", "")  # types kept: failures
    assert [batch.outcome(p) for p in range(3)] == [("ok", "int"), second, ("cancelled", "")]


@pytest.mark.usefixtures("guard")
@pytest.mark.skipif(sys.version_info < (3, 11), reason="TaskGroup is 3.11+")
def test_a_task_group_that_never_exits_is_dropped_once_the_group_is_gone() -> None:
    async def main() -> None:
        group = asyncio.TaskGroup()  # type: ignore[attr-defined]
        await group.__aenter__()  # entered, never exited
        await group.create_task(_value(1))
        kinds = {b.kind for b in _provenance.registry.batches()}
        assert "taskgroup" in kinds
        del group
        gc.collect()
        for _ in range(5):  # new batches, each looking at the oldest
            await asyncio.gather(_value(0))

    asyncio.run(main())
    assert "taskgroup" not in {b.kind for b in _provenance.registry.batches()}


@pytest.mark.usefixtures("guard")
def test_the_first_batch_a_task_joined_stays_its_origin_whatever_was_looked_up_between() -> None:
    async def main() -> tuple[object, object, object]:
        tasks = [asyncio.ensure_future(_value(i)) for i in range(2)]
        await asyncio.wait(tasks)  # origin-site
        before = asyncwarden.provenance(tasks[1])
        await asyncio.gather(tasks[1], tasks[0])  # the index is updated, the origin stays
        after = asyncwarden.provenance(tasks[1])
        return before, after, tasks

    before, after, _tasks = asyncio.run(main())
    assert before == after
    assert before is not None
    assert (before.batch_kind, before.position) == ("wait", 1)  # type: ignore[attr-defined]
    assert before.call_site.lineno == _line_of("# origin-site")  # type: ignore[attr-defined]


@pytest.mark.usefixtures("guard")
def test_lookups_stay_right_after_indexed_batches_are_dropped() -> None:
    async def main() -> None:
        for round_ in range(30):
            tasks = [asyncio.ensure_future(_value(i)) for i in range(5)]
            await asyncio.gather(*tasks)
            # Each round indexes the batch, and the next round drops the one before.
            records = [asyncwarden.provenance(t) for t in tasks]
            assert [r.position for r in records if r] == list(range(5)), round_
            assert len({r.batch_id for r in records if r}) == 1

    asyncio.run(main())


@pytest.mark.usefixtures("guard")
def test_loops_in_threads_keep_their_own_provenance() -> None:
    results: dict[int, list[tuple[int, int]]] = {}

    def worker(n: int) -> None:
        async def main() -> list[asyncio.Task[int]]:
            tasks = [asyncio.ensure_future(_value(i)) for i in range(50)]
            await asyncio.gather(*tasks)
            return tasks

        tasks = asyncio.run(main())
        records = [asyncwarden.provenance(t) for t in tasks]
        results[n] = [(r.batch_id, r.position) for r in records if r]

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batch_ids = {n: {b for b, _ in pairs} for n, pairs in results.items()}
    assert all(len(ids) == 1 for ids in batch_ids.values())
    assert len(set().union(*batch_ids.values())) == 4
    assert all([p for _, p in pairs] == list(range(50)) for pairs in results.values())


@pytest.mark.usefixtures("guard")
def test_wait_run_as_the_top_of_a_task_is_the_users_batch() -> None:
    async def value(i: int) -> int:
        return i

    loop = asyncio.new_event_loop()
    try:
        tasks = [loop.create_task(value(i)) for i in range(3)]
        loop.run_until_complete(asyncio.wait(tasks))  # top-of-task
    finally:
        loop.close()
    record = asyncwarden.provenance(tasks[1])
    assert record is not None
    assert (record.batch_kind, record.position) == ("wait", 1)
    assert record.call_site.lineno == _line_of("# top-of-task")


async def _in_every_fan_out(make: object, task_group: bool = True) -> list[list[object]]:
    """Futures made by ``make()`` handed to gather, wait, as_completed and (3.11+, if
    ``task_group``) a TaskGroup; each call's futures, still referenced, after it returned."""
    batches: list[list[object]] = []
    futures = [make() for _ in range(3)]  # type: ignore[operator]
    await asyncio.gather(*futures)
    batches.append(futures)
    futures = [make() for _ in range(3)]  # type: ignore[operator]
    await asyncio.wait(futures)
    batches.append(futures)
    futures = [make() for _ in range(3)]  # type: ignore[operator]
    for next_done in asyncio.as_completed(futures):
        await next_done
    batches.append(futures)
    if task_group and sys.version_info >= (3, 11):
        async with asyncio.TaskGroup() as group:
            batches.append([group.create_task(_value(i)) for i in range(3)])
    return batches


def test_gather_wait_and_as_completed_add_no_weak_reference_to_a_task_asyncio_holds_weakly(
    fresh: None,
) -> None:
    # asyncio keeps every task in a weak set from its creation; these calls reuse that reference.
    def counts() -> list[list[int]]:
        async def main() -> list[list[int]]:
            make = lambda: asyncio.ensure_future(_value(1))  # noqa: E731
            batches = await _in_every_fan_out(make, task_group=False)
            return [[weakref.getweakrefcount(t) for t in batch] for batch in batches]

        return asyncio.run(main())

    plain = counts()
    with asyncwarden.guarded("warn"):
        guarded = counts()

        async def positions() -> list[list[int]]:
            batches = await _in_every_fan_out(lambda: asyncio.ensure_future(_value(1)))
            assert len(batches) == (4 if sys.version_info >= (3, 11) else 3)
            records = [[asyncwarden.provenance(t) for t in batch] for batch in batches]
            return [[r.position if r else -1 for r in batch] for batch in records]

        assert all(batch == [0, 1, 2] for batch in asyncio.run(positions()))
    assert guarded == plain
    assert all(count == 1 for batch in plain for count in batch)


@pytest.mark.usefixtures("guard")
def test_a_programs_weak_reference_with_a_callback_is_never_kept_alive_by_a_batch() -> None:
    # A plain future has no reference of asyncio's; the program's own, with its callback, must
    # not become the batch's: once the program drops it, the callback must never run.
    called: list[str] = []

    async def main() -> list[list[object]]:
        loop = asyncio.get_running_loop()

        def make() -> asyncio.Future[int]:
            future: asyncio.Future[int] = loop.create_future()
            held.append(weakref.ref(future, lambda _: called.append("callback")))
            loop.call_soon(future.set_result, 1)
            return future

        held: list[weakref.ref[object]] = []
        batches = await _in_every_fan_out(make)
        held.clear()  # the program drops its references: their callbacks are disarmed
        return batches

    batches = asyncio.run(main())
    records = [[asyncwarden.provenance(f) for f in batch] for batch in batches]
    assert [[r.position if r else -1 for r in batch] for batch in records[:3]] == [[0, 1, 2]] * 3
    del batches, records
    gc.collect()
    assert called == []
    assert _provenance.registry.live_tasks() == 0


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager tasks came in 3.12")
@pytest.mark.usefixtures("guard")
def test_eager_tasks_that_finished_at_once_keep_their_provenance() -> None:
    # An eager task that returns without suspending is never put in asyncio's weak set, and on
    # 3.12.0-3.12.4 its get_coro() crashes the process (python/cpython#122332).
    async def at_once_value(x: int) -> int:
        return x

    async def main() -> tuple[list[asyncio.Task[int]], list[asyncio.Task[int]]]:
        asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)  # type: ignore[attr-defined]
        at_once = [asyncio.ensure_future(at_once_value(i)) for i in range(3)]
        mixed = [asyncio.ensure_future(_value(i, delay=0.001 * (i % 2))) for i in range(4)]
        assert all(t.done() for t in at_once)
        await asyncio.gather(*at_once)
        for next_done in asyncio.as_completed(mixed):
            await next_done
        # as_completed makes the tasks of coroutines itself; these finish at once.
        assert [await f for f in asyncio.as_completed([at_once_value(i) for i in range(3)])]
        return at_once, mixed

    at_once, mixed = asyncio.run(main())
    for tasks, kind in ((at_once, "gather"), (mixed, "as_completed")):
        records = [asyncwarden.provenance(t) for t in tasks]
        assert [(r.batch_kind, r.position) if r else None for r in records] == [
            (kind, i) for i in range(len(tasks))
        ]


@pytest.mark.usefixtures("guard")
def test_a_future_held_only_by_a_weak_proxy_is_still_a_member(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def main() -> tuple[list[asyncio.Future[int]], list[object]]:
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[int]] = [loop.create_future() for _ in range(3)]
        proxies = [weakref.proxy(f) for f in futures]
        for number, future in enumerate(futures):
            loop.call_soon(future.set_result, number)
        assert await asyncio.gather(*futures) == [0, 1, 2]
        return futures, proxies

    futures, _ = asyncio.run(main())
    records = [asyncwarden.provenance(f) for f in futures]
    assert [(r.batch_kind, r.position) if r else None for r in records] == [
        ("gather", i) for i in range(3)
    ]
    assert "internal error" not in capsys.readouterr().err
