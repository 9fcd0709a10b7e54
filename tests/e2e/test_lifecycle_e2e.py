"""The lifecycle rules as users meet them: a program run with ASYNCWARDEN=warn or strict.

Each program runs on asyncio's loop, on ``uvloop.run`` and on asyncio with uvloop's event-loop
policy. The line each finding must name is marked ``# ORIGIN`` in the program.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_python

pytest.importorskip("uvloop")

LOOPS = ["asyncio", "uvloop", "uvloop-policy"]

PRELUDE = """\
import asyncio
import gc
import sys

LOOPS = []


def run(main):
    kind = sys.argv[1]
    if kind == "uvloop":
        import uvloop

        return uvloop.run(main)
    if kind == "uvloop-policy":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return asyncio.run(main)


def new_loop():
    if sys.argv[1].startswith("uvloop"):
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def remember_loop():
    LOOPS.append(asyncio.get_running_loop())


def report_loop():
    print("loop closed:", all(loop.is_closed() for loop in LOOPS))
"""

PROGRAMS = {
    # AW301: a task nobody stops, and a gather nobody awaits, at asyncio.run() shutdown.
    "pending_at_shutdown": """
async def heartbeat():
    while True:
        await asyncio.sleep(0.01)


async def fetch(i):
    await asyncio.sleep(10)


async def main():
    remember_loop()
    asyncio.create_task(heartbeat(), name="heartbeat")
    everything = asyncio.gather(fetch(1), fetch(2))  # ORIGIN
    await asyncio.sleep(0.02)


try:
    run(main())
finally:
    report_loop()
""",
    # AW301: a loop run by hand, closed while a task is still pending.
    "closed_by_hand": """
async def stuck():
    await asyncio.sleep(10)


async def main():
    group = asyncio.gather(stuck())  # ORIGIN
    await asyncio.sleep(0.01)


loop = new_loop()
LOOPS.append(loop)
loop.run_until_complete(main())
try:
    loop.close()
finally:
    report_loop()
""",
    # AW301: a pending task garbage-collected while the loop runs.
    "destroyed": """
async def stuck():  # ORIGIN
    await asyncio.get_running_loop().create_future()


async def main():
    remember_loop()
    asyncio.create_task(stuck())
    await asyncio.sleep(0.01)
    gc.collect()
    await asyncio.sleep(0.01)


try:
    run(main())
finally:
    report_loop()
""",
    # AW302: wait() with a timeout, the pending tasks left running.
    "abandoned": """
async def fetch(i):
    if i:
        await asyncio.Event().wait()  # never set: pending however long the machine takes
    return i


async def main():
    remember_loop()
    tasks = [asyncio.create_task(fetch(i)) for i in range(3)]
    done, pending = await asyncio.wait(tasks, timeout=0.05)  # ORIGIN
    return len(done)


try:
    print("done:", run(main()))
finally:
    report_loop()
""",
    # AW303: pending tasks cancelled and not awaited; their cleanup ends after the caller.
    "cancelled_not_awaited": """
async def writer():
    try:
        await asyncio.sleep(10)
    finally:
        await asyncio.sleep(0.05)  # cleanup: flush a partial file


async def work():
    tasks = [asyncio.create_task(writer()) for _ in range(2)]
    done, pending = await asyncio.wait(tasks, timeout=0.01)  # ORIGIN
    for task in pending:
        task.cancel()


async def main():
    remember_loop()
    await asyncio.create_task(work())
    await asyncio.sleep(0.1)


try:
    run(main())
finally:
    report_loop()
""",
}

RULE = {
    "pending_at_shutdown": ("AW301 pending-at-shutdown", "PendingAtShutdownWarning"),
    "closed_by_hand": ("AW301 pending-at-shutdown", "PendingAtShutdownWarning"),
    "destroyed": ("AW301 pending-at-shutdown", "PendingAtShutdownWarning"),
    "abandoned": ("AW302 abandoned-pending", "AbandonedPendingWarning"),
    "cancelled_not_awaited": ("AW303 cancelled-not-awaited", "CancelledNotAwaitedWarning"),
}


def _write(tmp_path: Path, name: str, body: str | None = None) -> tuple[Path, int]:
    source = PRELUDE + textwrap.dedent(PROGRAMS[name] if body is None else body)
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    origin = next(n for n, line in enumerate(source.splitlines(), 1) if "# ORIGIN" in line)
    return path, origin


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_warn_mode_prints_the_rule_at_the_tasks_origin_line_and_exits_0(
    tmp_path: Path, name: str, loop: str
) -> None:
    path, origin = _write(tmp_path, name)
    result = run_python(str(path), loop, env={"ASYNCWARDEN": "warn"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rule, category = RULE[name]
    assert f"{path.name}:{origin}: {category}: {rule}" in result.stderr, result.stderr
    assert "internal error" not in result.stderr
    assert "loop closed: True" in result.stdout


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_strict_mode_fails_after_the_loop_shut_down(tmp_path: Path, name: str, loop: str) -> None:
    path, origin = _write(tmp_path, name)
    result = run_python(str(path), loop, env={"ASYNCWARDEN": "strict"}, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    rule, _ = RULE[name]
    assert f"asyncwarden.exceptions.FindingError: {rule}" in result.stderr, result.stderr
    assert f"{path.name}:{origin} in " in result.stderr
    assert "loop closed: True" in result.stdout


NEVER_CLOSED = """
async def stuck():
    await asyncio.sleep(10)


async def main():
    global kept
    kept = asyncio.gather(stuck())  # ORIGIN
    await asyncio.sleep(0.01)


loop = new_loop()
loop.run_until_complete(main())
print("end of program")
"""


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize("mode", ["warn", "strict"])
def test_a_loop_never_closed_is_reported_at_exit_without_changing_the_exit_status(
    tmp_path: Path, loop: str, mode: str
) -> None:
    path, origin = _write(tmp_path, "never_closed", NEVER_CLOSED)
    result = run_python(str(path), loop, env={"ASYNCWARDEN": mode}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr  # atexit cannot change it
    assert "AW301 pending-at-shutdown: 1 task still pending at interpreter exit" in result.stderr
    assert f"{path.name}:{origin} in main" in result.stderr
    if mode == "strict":
        assert "too late to change the exit status" in result.stderr


def test_json_log_mode_carries_the_finding_and_the_shutdown_count(tmp_path: Path) -> None:
    path, origin = _write(tmp_path, "abandoned")
    result = run_python(
        str(path), "asyncio", env={"ASYNCWARDEN": "warn", "ASYNCWARDEN_LOG": "json"}, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    findings = [e for e in events if e["event"] == "asyncwarden.finding"]
    assert [(f["rule"], f["line"]) for f in findings] == [("AW302", origin)]
    shutdowns = [e for e in events if e["event"] == "asyncwarden.shutdown"]
    assert [e["pending"] for e in shutdowns] == [2]


def test_without_the_variable_the_programs_run_as_before(tmp_path: Path) -> None:
    for name in PROGRAMS:
        path, _ = _write(tmp_path, name)
        result = run_python(str(path), "asyncio", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "AW30" not in result.stderr


def test_debug_mode_names_the_line_that_created_the_task(tmp_path: Path) -> None:
    path, _ = _write(tmp_path, "pending_at_shutdown")
    created = next(
        n for n, line in enumerate(path.read_text().splitlines(), 1) if "create_task(heart" in line
    )
    result = run_python(
        str(path), "asyncio", env={"ASYNCWARDEN": "warn", "PYTHONASYNCIODEBUG": "1"}, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert f"created   {path.name}:{created} in main" in result.stderr, result.stderr


CORRECT = """
import contextlib

import asyncwarden

HAS_TASKGROUP = sys.version_info >= (3, 11)


async def work(seconds, value=None):
    try:
        await asyncio.sleep(seconds)
        return value
    finally:
        await asyncio.sleep(0)  # asynchronous cleanup, like flushing a file


async def cancel_then_gather():
    tasks = [asyncio.create_task(work(s)) for s in (0, 10, 10)]
    done, pending = await asyncio.wait(tasks, timeout=0.01)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


async def cancel_then_wait():
    tasks = [asyncio.create_task(work(s)) for s in (0, 10)]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.wait(pending)


async def first_completed_until_all_done():
    pending = {asyncio.create_task(work(s / 100)) for s in range(4)}
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)


async def first_exception_then_cleanup():
    async def boom():
        raise ValueError("boom")

    tasks = [asyncio.create_task(boom()), asyncio.create_task(work(10))]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        task.exception()


async def taskgroup_and_timeout():
    if not HAS_TASKGROUP:
        return
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(0.01):
            async with asyncio.TaskGroup() as group:
                group.create_task(work(10))
                group.create_task(work(10))
    async with asyncio.TaskGroup() as group:
        group.create_task(work(0))


async def wait_for_timeouts():
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(work(10), timeout=0.01)
    task = asyncio.create_task(work(10))
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(task, timeout=0.01)


inflight = set()


async def keep_for_later():
    tasks = [asyncio.create_task(work(s)) for s in (0, 0.02, 0.03)]
    done, pending = await asyncio.wait(tasks, timeout=0.01)
    inflight.update(pending)  # handed over: main awaits them later


async def kept_in_a_set_and_awaited_later():
    await asyncio.create_task(keep_for_later())
    await asyncio.gather(*inflight)
    inflight.clear()
    await asyncio.create_task(keep_for_later())
    await asyncio.wait(inflight)
    inflight.clear()
    tasks = [asyncio.create_task(work(s)) for s in (0, 0.02)]
    done, later = await asyncio.wait(tasks, timeout=0.01)
    await asyncio.sleep(0)
    await asyncio.gather(*later)


async def background_cancelled_in_finally():
    async def heartbeat():
        while True:
            await asyncio.sleep(0.005)

    beat = asyncio.create_task(heartbeat())
    try:
        await asyncio.sleep(0.02)
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat


async def daemon():
    while True:
        await asyncio.sleep(0.005)


async def main():
    remember_loop()
    asyncwarden.allow_pending(asyncio.create_task(daemon()))
    await cancel_then_gather()
    await cancel_then_wait()
    await first_completed_until_all_done()
    await first_exception_then_cleanup()
    await taskgroup_and_timeout()
    await wait_for_timeouts()
    await kept_in_a_set_and_awaited_later()
    await background_cancelled_in_finally()
    return "ok"


try:
    print(run(main()))
finally:
    report_loop()
"""


@pytest.mark.parametrize("loop", LOOPS)
def test_correct_patterns_are_silent_in_strict_mode(tmp_path: Path, loop: str) -> None:
    path = tmp_path / "correct.py"
    path.write_text(PRELUDE + CORRECT)
    result = run_python(str(path), loop, env={"ASYNCWARDEN": "strict"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines() == ["ok", "loop closed: True"]


def test_stray_tasks_example_shows_aw301_and_aw302_and_its_fix_is_silent() -> None:
    example = ROOT / "examples" / "stray_tasks.py"
    lines = example.read_text().splitlines()
    wait_line = next(n for n, line in enumerate(lines, 1) if "asyncio.wait(tasks" in line)
    warn = run_python(str(example), env={"ASYNCWARDEN": "warn"})
    assert warn.returncode == 0, warn.stderr
    assert "PendingAtShutdownWarning: AW301 pending-at-shutdown" in warn.stderr
    assert f"stray_tasks.py:{wait_line}: AbandonedPendingWarning: AW302" in warn.stderr
    assert "removed AFTER main had returned" in warn.stdout
    strict = run_python(str(example), env={"ASYNCWARDEN": "strict"})
    assert strict.returncode == 1
    assert "FindingError: AW301" in strict.stderr
    assert "FindingError: AW302" in strict.stderr or sys.version_info < (3, 11)
    fixed = run_python(str(example), "--fixed", env={"ASYNCWARDEN": "strict"})
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stderr == ""
    assert "AFTER" not in fixed.stdout
