"""The lifecycle guard in-process: AW301-AW303, strict-mode timing, transparency, uninstall."""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings
from typing import Any

import pytest

import asyncwarden
from asyncwarden import _compat, _observers
from asyncwarden._patches import _wrapping
from asyncwarden._rules import _lifecycle
from asyncwarden.exceptions import (
    AsyncWardenWarning,
    CancelledNotAwaitedWarning,
    FindingError,
    PendingAtShutdownWarning,
)

needs_runner = pytest.mark.skipif(not _compat.PY_3_11_PLUS, reason="asyncio.Runner is 3.11+")


pytestmark = pytest.mark.usefixtures("fresh")


def _line_of(function: Any, marker: str) -> int:
    import inspect

    lines, start = inspect.getsourcelines(function)
    return start + next(i for i, line in enumerate(lines) if marker in line)


async def _sleep_forever() -> None:
    await asyncio.sleep(3600)


def _left_on_a_closed_loop(task: asyncio.Task[Any]) -> asyncio.Task[Any]:
    """A task this test leaves pending on a loop it closes: no "destroyed" message at exit."""
    task._log_destroy_pending = False  # type: ignore[attr-defined]
    return task


async def _cleanup_later() -> None:
    try:
        await asyncio.sleep(3600)
    finally:
        await asyncio.sleep(0.02)  # cleanup that itself awaits


# -- AW301 ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("guard")
def test_task_pending_at_asyncio_run_shutdown_is_aw301_naming_its_batch_and_line() -> None:
    async def main() -> None:
        asyncio.gather(_sleep_forever(), _sleep_forever())  # the batch line
        await asyncio.sleep(0)

    with pytest.warns(PendingAtShutdownWarning) as caught:
        asyncio.run(main())
    assert len(caught) == 1
    text = str(caught[0].message)
    gather_line = _line_of(main, "the batch line")
    assert text.startswith("AW301 pending-at-shutdown: 2 tasks still pending at asyncio.run()")
    assert f"test_lifecycle.py:{gather_line} in " in text
    assert "input position 0" in text
    assert "input position 1" in text
    assert "suspended" in text
    assert "awaiting sleep()" in text
    assert caught[0].lineno == gather_line


@pytest.mark.usefixtures("strict_guard")
def test_strict_asyncio_run_raises_only_after_the_loop_is_closed() -> None:
    loops = []

    async def main() -> str:
        loops.append(asyncio.get_running_loop())
        asyncio.gather(_sleep_forever())
        await asyncio.sleep(0)
        return "result"

    with pytest.raises(FindingError) as raised:
        asyncio.run(main())
    assert loops[0].is_closed()
    finding = raised.value.finding
    assert finding.code == "AW301"
    assert [t.batch_kind for t in finding.tasks] == ["gather"]
    assert finding.details["tasks"] == 1


@needs_runner
@pytest.mark.usefixtures("strict_guard")
def test_strict_runner_close_finishes_closing_before_it_raises() -> None:
    runner = asyncio.Runner()  # type: ignore[attr-defined]

    async def main() -> None:
        asyncio.create_task(_sleep_forever())  # noqa: RUF006 - the stray task under test
        await asyncio.sleep(0)

    with pytest.raises(FindingError, match="AW301"), runner:
        runner.run(main())
    with pytest.raises(RuntimeError, match="Runner is closed"):
        runner.get_loop()


@pytest.mark.usefixtures("strict_guard")
def test_strict_loop_close_by_hand_closes_then_raises_once() -> None:
    loop = asyncio.new_event_loop()

    async def main() -> None:
        _left_on_a_closed_loop(loop.create_task(_sleep_forever()))
        await asyncio.sleep(0)

    loop.run_until_complete(main())
    with pytest.raises(FindingError, match="still pending when the loop was closed"):
        loop.close()
    assert loop.is_closed()
    loop.close()  # closing again is the no-op it always was


@pytest.mark.usefixtures("strict_guard")
def test_strict_mode_does_not_replace_the_programs_own_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def main() -> None:
        asyncio.create_task(_sleep_forever())  # noqa: RUF006 - the stray task under test
        await asyncio.sleep(0)
        raise ValueError("the program's own failure")

    with pytest.raises(ValueError, match="own failure"):
        asyncio.run(main())
    assert "AW301 pending-at-shutdown" in capsys.readouterr().err


@pytest.mark.usefixtures("guard")
def test_a_warning_the_program_made_an_error_is_raised_after_shutdown_too() -> None:
    loops = []

    async def main() -> None:
        loops.append(asyncio.get_running_loop())
        asyncio.create_task(_sleep_forever())  # noqa: RUF006 - the stray task under test
        await asyncio.sleep(0)

    with warnings.catch_warnings():
        warnings.simplefilter("error", AsyncWardenWarning)
        with pytest.raises(PendingAtShutdownWarning):
            asyncio.run(main())
    assert loops[0].is_closed()


@pytest.mark.usefixtures("guard")
def test_destroyed_pending_task_is_aw301_and_asyncio_reports_it_unchanged() -> None:
    seen: list[dict[str, Any]] = []

    async def stuck() -> None:
        await asyncio.get_running_loop().create_future()

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: seen.append(context))
        asyncio.create_task(stuck())  # noqa: RUF006 - left unreferenced: the stray task under test
        await asyncio.sleep(0)
        gc.collect()

    with pytest.warns(PendingAtShutdownWarning, match="was destroyed while still pending"):
        asyncio.run(main())
    assert [c["message"] for c in seen] == ["Task was destroyed but it is pending!"]
    assert set(seen[0]) == {"message", "task"}


@pytest.mark.usefixtures("strict_guard")
def test_allow_acknowledges_a_lifecycle_rule_around_asyncio_run() -> None:
    async def main() -> None:
        asyncio.create_task(_sleep_forever())  # noqa: RUF006 - the stray task under test
        await asyncio.sleep(0)

    with asyncwarden.allow("AW301"):
        asyncio.run(main())


@pytest.mark.usefixtures("strict_guard")
def test_allow_pending_marks_a_daemon_task_and_returns_it() -> None:
    async def main() -> None:
        task = asyncio.create_task(_sleep_forever())
        assert asyncwarden.allow_pending(task) is task
        await asyncio.sleep(0)

    asyncio.run(main())


@pytest.mark.usefixtures("strict_guard")
def test_the_loops_own_tasks_are_not_reported_but_a_batched_one_is() -> None:
    async def main(batched: bool) -> None:
        loop = asyncio.get_running_loop()
        if batched:
            asyncio.gather(loop.create_task(asyncio.sleep(3600)))
        else:
            loop.create_task(asyncio.sleep(3600))  # noqa: RUF006 - the stray task under test
        await asyncio.sleep(0)

    asyncio.run(main(batched=False))
    with pytest.raises(FindingError, match="AW301"):
        asyncio.run(main(batched=True))


@pytest.mark.usefixtures("strict_guard")
def test_a_finding_lists_ten_tasks_and_counts_the_rest() -> None:
    async def main() -> None:
        asyncio.gather(*(_sleep_forever() for _ in range(13)))
        await asyncio.sleep(0)

    with pytest.raises(FindingError) as raised:
        asyncio.run(main())
    text = str(raised.value)
    assert text.count("coroutine _sleep_forever()") == 10
    assert "3 tasks not listed" in text
    assert raised.value.finding.details["tasks"] == 13


# -- AW302 / AW303 ----------------------------------------------------------------------------


@pytest.mark.usefixtures("guard")
def test_pending_task_finishing_after_its_caller_is_aw302_as_it_finishes() -> None:
    # Each step waits for the one before, never for time: the task cannot finish before it is
    # released; its caller is seen to end (its done-callbacks, the guard's first, have run) before
    # that; and main is told the task is done by a callback that runs after the guard's.
    released = asyncio.Event()
    waited = asyncio.Event()
    tasks: list[asyncio.Task[int]] = []

    async def slow() -> int:
        await released.wait()
        return 1

    async def caller() -> None:
        tasks.append(asyncio.create_task(slow()))
        await asyncio.wait(tasks, timeout=0.001)  # the wait line
        waited.set()

    def when_done(task: asyncio.Task[Any]) -> asyncio.Event:
        # A callback the test adds, not an await: awaiting the task would account for it.
        done = asyncio.Event()
        task.add_done_callback(lambda _: done.set())
        return done

    async def main() -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            calling = asyncio.create_task(caller())
            await waited.wait()
            caller_done = when_done(calling)
            await caller_done.wait()
            assert caught == []  # the task is still running: nothing decided yet
            finished = when_done(tasks[0])
            released.set()
            await finished.wait()
        return [str(w.message) for w in caught]

    messages = asyncio.run(main())
    assert len(messages) == 1
    assert messages[0].startswith("AW302 abandoned-pending: task 'Task-")
    assert "ran on and finished" in messages[0]
    assert f"test_lifecycle.py:{_line_of(caller, 'the wait line')} in " in messages[0]
    assert "abandoned by 'Task-" in messages[0]


@pytest.mark.usefixtures("strict_guard")
def test_abandoned_pending_tasks_still_running_at_shutdown_are_aw302_not_aw301() -> None:
    async def main() -> None:
        tasks = [asyncio.create_task(_sleep_forever()) for _ in range(2)]
        await asyncio.wait(tasks, timeout=0.001)

    with pytest.raises(FindingError) as raised:
        asyncio.run(main())
    assert raised.value.finding.code == "AW302"
    assert [t.returned_in for t in raised.value.finding.tasks] == ["pending", "pending"]
    assert "AW301" not in str(raised.value)


def read_partition(release: threading.Event) -> int:
    release.wait()
    return 1


@pytest.mark.usefixtures("guard")
def test_aw302_on_to_thread_tasks_names_the_function_the_thread_runs() -> None:
    release = threading.Event()

    async def main() -> None:
        tasks = [asyncio.create_task(asyncio.to_thread(read_partition, release))]
        await asyncio.wait(tasks, timeout=0)

    shown: list[str] = []

    def show(message: Warning | str, *args: Any, **kwargs: Any) -> None:
        shown.append(str(message))
        release.set()  # the worker thread ends once the finding is out; asyncio.run waits for it

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        try:
            asyncio.run(main())
        finally:
            release.set()
    [message] = shown
    assert message.startswith("AW302 abandoned-pending")
    defined = read_partition.__code__.co_firstlineno
    assert (
        "runs      read_partition() in a worker thread (asyncio.to_thread), "
        f"defined at tests/test_lifecycle.py:{defined}"
    ) in message
    assert "threads.py" not in message


@pytest.mark.usefixtures("guard")
def test_cancelled_pending_tasks_whose_cleanup_outlives_the_caller_are_aw303() -> None:
    async def caller() -> None:
        tasks = [asyncio.create_task(_cleanup_later())]
        _, pending = await asyncio.wait(tasks, timeout=0.001)
        for task in pending:
            task.cancel()

    async def main() -> None:
        await asyncio.create_task(caller())
        await asyncio.sleep(0.05)

    with pytest.warns(CancelledNotAwaitedWarning, match="was cancelled but never awaited"):
        asyncio.run(main())


@pytest.mark.usefixtures("strict_guard")
def test_cancel_requested_and_still_pending_at_shutdown_is_aw303() -> None:
    async def main() -> None:
        task = asyncio.create_task(_cleanup_later())
        await asyncio.sleep(0)
        task.cancel()

    with pytest.raises(FindingError) as raised:
        asyncio.run(main())
    # 3.10 cannot tell a delivered cancellation request from none.
    expected = "AW303" if _compat.TASK_COUNTS_CANCELLING else "AW301"
    assert raised.value.finding.code == expected


@pytest.mark.usefixtures("strict_guard")
def test_pending_tasks_awaited_later_are_not_reported() -> None:
    async def slow() -> None:
        await asyncio.sleep(0.01)

    kept: set[asyncio.Task[None]] = set()

    async def hand_over() -> None:
        _, pending = await asyncio.wait([asyncio.create_task(slow())], timeout=0.001)
        kept.update(pending)

    async def main() -> None:
        await asyncio.create_task(hand_over())
        await asyncio.gather(*kept)
        kept.clear()
        await asyncio.create_task(hand_over())
        await asyncio.wait(kept)
        kept.clear()
        await asyncio.create_task(hand_over())
        for task in kept:
            await task

    asyncio.run(main())


@pytest.mark.usefixtures("strict_guard")
def test_wait_run_by_the_loop_itself_counts_as_awaiting() -> None:
    # CPython's own tests do this: wait() with a timeout in one task, the rest awaited by a
    # second run_until_complete(asyncio.wait(...)).
    loop = asyncio.new_event_loop()
    a = loop.create_task(asyncio.sleep(0.001))
    b = loop.create_task(asyncio.sleep(0.03))

    async def first() -> None:
        await asyncio.wait([a, b], timeout=0.01)

    loop.run_until_complete(loop.create_task(first()))
    loop.run_until_complete(asyncio.wait([a, b]))
    loop.close()


@pytest.mark.usefixtures("guard")
def test_one_done_callback_per_caller_however_many_waits() -> None:
    async def main() -> int:
        tasks = [asyncio.create_task(asyncio.sleep(0.001 * i)) for i in range(4)]
        pending = set(tasks)
        while pending:
            _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        me = asyncio.current_task()
        assert me is not None
        return sum(1 for callback, _ in me._callbacks or () if callback is _lifecycle._caller_done)  # type: ignore[attr-defined]

    assert asyncio.run(main()) == 1


# -- uvloop -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("strict_guard")
def test_uvloop_run_shutdown_and_loop_close_are_guarded() -> None:
    uvloop = pytest.importorskip("uvloop")

    async def main() -> None:
        _left_on_a_closed_loop(asyncio.create_task(_sleep_forever()))
        await asyncio.sleep(0)

    with pytest.raises(FindingError, match=r"at asyncio\.run\(\) shutdown"):
        uvloop.run(main())
    loop = uvloop.new_event_loop()
    loop.run_until_complete(main())
    with pytest.raises(FindingError, match="when the loop was closed"):
        loop.close()
    assert loop.is_closed()


@pytest.mark.usefixtures("strict_guard")
def test_pytest_asyncios_runner_backport_closes_fully_before_it_raises() -> None:
    backport = pytest.importorskip("backports.asyncio.runner")  # pytest-asyncio's, on 3.10

    async def main() -> None:
        asyncio.create_task(_sleep_forever())  # noqa: RUF006 - the stray task under test
        await asyncio.sleep(0)

    runner = backport.Runner()
    with pytest.raises(FindingError, match=r"at asyncio\.run\(\) shutdown"), runner:
        runner.run(main())
    with pytest.raises(RuntimeError, match="Runner is closed"):
        runner.get_loop()


# -- switching off ----------------------------------------------------------------------------


def test_uninstall_restores_every_original_shutdown_hook() -> None:
    from asyncio import base_events, runners

    uvloop = pytest.importorskip("uvloop")
    before = (
        runners._cancel_all_tasks,
        vars(base_events.BaseEventLoop)["close"],
        vars(base_events.BaseEventLoop)["call_exception_handler"],
        uvloop._cancel_all_tasks,
    )
    assert "close" not in vars(uvloop.Loop)
    with asyncwarden.guarded("warn"):
        assert runners._cancel_all_tasks is not before[0]
        assert "close" in vars(uvloop.Loop)
        assert _wrapping.is_patched()
    after = (
        runners._cancel_all_tasks,
        vars(base_events.BaseEventLoop)["close"],
        vars(base_events.BaseEventLoop)["call_exception_handler"],
        uvloop._cancel_all_tasks,
    )
    assert after == before
    assert "close" not in vars(uvloop.Loop)
    assert "call_exception_handler" not in vars(uvloop.Loop)


def test_when_the_guard_is_off_nothing_is_reported() -> None:
    async def main() -> None:
        asyncio.create_task(_sleep_forever())  # noqa: RUF006 - the stray task under test
        await asyncio.sleep(0)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        asyncio.run(main())


# -- telemetry --------------------------------------------------------------------------------


@pytest.mark.usefixtures("guard")
def test_telemetry_gets_the_pending_count_once_per_shutdown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counts: list[int] = []
    monkeypatch.setattr(_observers, "on_pending_at_shutdown", [counts.append])

    async def main(leave: int) -> None:
        for _ in range(leave):
            asyncwarden.allow_pending(_left_on_a_closed_loop(asyncio.create_task(_sleep_forever())))
        await asyncio.sleep(0)

    asyncio.run(main(2))
    asyncio.run(main(0))
    loop = asyncio.new_event_loop()
    loop.run_until_complete(main(1))
    loop.close()
    assert counts == [2, 0, 1]


def test_allow_pending_hands_back_what_it_is_given_even_what_it_cannot_mark() -> None:
    assert asyncwarden.allow_pending is _lifecycle.allow_pending
    plain = object()  # no attributes, no weak references: nothing to mark, nothing to report
    assert asyncwarden.allow_pending(plain) is plain
