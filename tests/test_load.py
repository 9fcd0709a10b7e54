"""Load: many tasks through many batches on event loops in four threads at once.

CI runs 100,000 tasks through 1,000 batches (4 threads, 100 tasks a batch); the full size,
1,000,000 tasks through 10,000 batches, runs with ``ASYNCWARDEN_LOAD=full``:

    ASYNCWARDEN_LOAD=full .venv/bin/pytest tests/test_load.py -s

Each thread runs its own loop through the same program, compiled under a file name of its own, so
every call site says which thread made it. Asserted: nothing crashes; every task's provenance
names its own thread's batch, loop, parent task and line (no cross-talk); findings are delivered
in the thread that caused them and name its line and its batches; memory still held after the
run is bounded by a constant, not by the number of tasks (memory blocks over the whole run,
tracemalloc over a fifth of it), and the provenance registry keeps no task and only a few batches.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
import os
import sys
import textwrap
import threading
import time
import tracemalloc
import warnings
from typing import Any

import pandas as pd
import pytest

import asyncwarden
from asyncwarden._findings import _delivery
from asyncwarden._findings._finding import Finding
from asyncwarden._tracking import _lineage, _provenance

FULL = os.environ.get("ASYNCWARDEN_LOAD", "").lower() == "full"
THREADS = 4
TASKS_PER_BATCH = 100
BATCHES = 10_000 if FULL else 1_000
FINDING_EVERY = 50  # one batch in this many ends in a combination that is a finding (AW201)
LEAK_LIMIT = 512 * 1024  # bytes still held after the traced run, whatever its size
BLOCK_LIMIT = 5_000  # memory blocks still allocated after the measured run, whatever its size

# The program every thread runs. A marker comment ends each line whose number is checked.
PROGRAM = textwrap.dedent(
    """
    import asyncio, sys

    async def member(i):
        await asyncio.sleep(0)
        if i < 0:
            raise LookupError(i)
        return i

    async def partition(i):
        await asyncio.sleep(0)
        if i == 1:
            raise OSError(i)
        return pd.DataFrame({"k": [i]})

    async def batch(kind, size):
        if kind == 3 and sys.version_info >= (3, 11):
            async with asyncio.TaskGroup() as group:  # @taskgroup
                tasks = [group.create_task(member(i)) for i in range(size)]  # @create_task
            return tasks, sorted(t.result() for t in tasks)
        tasks = [asyncio.ensure_future(member(i)) for i in range(size)]
        if kind == 0:
            results = await asyncio.gather(*tasks)  # @gather
        elif kind == 1:
            done, pending = await asyncio.wait(tasks)  # @wait
            results = [t.result() for t in tasks]
        elif kind == 2:
            results = [await f for f in asyncio.as_completed(tasks)]  # @as_completed
        else:
            results = await asyncio.wait_for(asyncio.gather(*tasks), 60)  # @wait_for
        return tasks, sorted(results)

    async def finding():
        parts = await asyncio.gather(*map(partition, range(3)), return_exceptions=True)  # @parts
        return pd.concat([p for p in parts if isinstance(p, pd.DataFrame)])  # @concat

    async def main(batches, size, every, check):
        asyncio.current_task().set_name(f"main-{THREAD}")
        loop = asyncio.get_running_loop()
        for b in range(batches):
            kind = b % 4
            tasks, results = await batch(kind, size)
            check(tasks, results, kind, loop)
            del tasks, results
            if b % every == every - 1:
                check([], await finding(), -1, loop)
    """
)


def line_of(marker: str) -> int:
    for number, line in enumerate(PROGRAM.splitlines(), 1):
        if line.rstrip().endswith(f"# @{marker}"):
            return number
    raise AssertionError(marker)


# Where each kind's members get their provenance: TaskGroup members at create_task.
KIND_LINE = {
    0: line_of("gather"),
    1: line_of("wait"),
    2: line_of("as_completed"),
    3: line_of("create_task") if sys.version_info >= (3, 11) else line_of("wait_for"),
}
KIND_NAME = {0: "gather", 1: "wait", 2: "as_completed", 3: "taskgroup"}
if sys.version_info < (3, 11):
    KIND_NAME[3] = "gather"  # wait_for over a gather: the gather is the batch members joined


@dataclasses.dataclass
class Thread:
    """One thread's run. Only counters grow: per-batch records would be a leak of the test's own."""

    index: int
    filename: str
    ident: int = 0
    tasks_checked: int = 0
    batches_checked: int = 0
    last_batch_id: int = 0
    findings: int = 0
    problems: list[str] = dataclasses.field(default_factory=list)


# The thread now running under each thread ident: the sink checks a finding against it.
RUNNING: dict[int, Thread] = {}


def check_finding(finding: Finding) -> None:
    """A sink: runs in the thread that reported the finding."""
    state = RUNNING.get(threading.get_ident())
    if state is None:
        return
    state.findings += 1
    if (
        finding.code != "AW201"
        or (finding.site.filename, finding.site.lineno) != (state.filename, line_of("concat"))
        or {site.filename for _, site in finding.sites} != {state.filename}
    ):
        state.problems.append(f"finding from another thread or line: {finding.sites}")


def run_thread(state: Thread, batches: int) -> None:
    namespace: dict[str, Any] = {"pd": pd, "THREAD": state.index}
    exec(compile(PROGRAM, state.filename, "exec"), namespace)
    state.ident = threading.get_ident()
    RUNNING[state.ident] = state
    expected = list(range(TASKS_PER_BATCH))

    def check(tasks: list[asyncio.Task[Any]], results: Any, kind: int, loop: Any) -> None:
        if kind < 0:  # the frame of a finding() combination: its lineage names this thread
            lineage = asyncwarden.lineage(results)
            if lineage is None or {s.batch_site.filename for s in lineage.sources} != {
                state.filename
            }:
                state.problems.append(f"frame lineage from another thread: {lineage}")
            return
        if results != expected:
            state.problems.append(f"results of a {KIND_NAME[kind]} batch: {results[:5]}...")
        if not asyncwarden.is_installed():
            return
        ids = set()
        for position, task in enumerate(tasks):
            record = asyncwarden.provenance(task)
            found = _provenance.registry.lookup(task)
            if record is None or found is None:
                state.problems.append(f"no provenance for a task of a {KIND_NAME[kind]} batch")
                return
            batch, _ = found
            if (
                record.call_site.filename != state.filename
                or record.call_site.lineno != KIND_LINE[kind]
                or record.batch_kind != KIND_NAME[kind]
                or record.position != position
                or record.parent_task != f"main-{state.index}"
                or batch.thread_id != state.ident
                or batch.loop_id != id(loop)
            ):
                state.problems.append(f"cross-talk or wrong record: {record}")
                return
            ids.add(record.batch_id)
        state.tasks_checked += len(tasks)
        state.batches_checked += 1
        (batch_id,) = ids or {0}
        if len(ids) != 1 or batch_id <= state.last_batch_id:
            state.problems.append(f"one new batch expected, got {ids}")
        state.last_batch_id = batch_id

    try:
        asyncio.run(namespace["main"](batches, TASKS_PER_BATCH, FINDING_EVERY, check))
    except BaseException as error:  # a crash is what this test is about: record it
        state.problems.append(f"crashed: {type(error).__name__}: {error}")
    finally:
        del RUNNING[state.ident]


def run_threads(batches_per_thread: int, tag: str) -> list[Thread]:
    states = [Thread(i, f"<load thread {i} {tag}>") for i in range(THREADS)]
    threads = [
        threading.Thread(target=run_thread, args=(s, batches_per_thread), name=f"load-{i}")
        for i, s in enumerate(states)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return states


@pytest.fixture
def guard(monkeypatch: pytest.MonkeyPatch, fresh: None) -> Any:
    """The guard on, findings checked by a sink in the thread that reports them."""
    # pytest's log capture keeps every record of the test (asyncwarden logs each finding to
    # the stdlib logger when a handler is there): memory the test would wrongly count.
    monkeypatch.setattr(logging.getLogger("asyncwarden"), "disabled", True)
    with asyncwarden.guarded("warn"), warnings.catch_warnings():
        warnings.simplefilter("ignore", asyncwarden.AsyncWardenWarning)
        _delivery.sinks.append(check_finding)
        try:
            yield
        finally:
            _delivery.sinks.remove(check_finding)


async def _gathers(count: int) -> None:
    for _ in range(count):
        await asyncio.gather(asyncio.sleep(0))


@pytest.mark.usefixtures("guard")
def test_a_million_tasks_in_four_threads_keep_their_own_provenance_and_memory_is_flat(
    capsys: pytest.CaptureFixture[str],
) -> None:
    per_thread = BATCHES // THREADS
    warm_up = max(FINDING_EVERY, per_thread // 10)
    run_threads(warm_up, "warm-up")  # first-time costs: caches, imports, dict tables
    gc.collect()
    links_before = len(_lineage._links)

    blocks_before = sys.getallocatedblocks()
    started = time.perf_counter()
    states = run_threads(per_thread, "measured")
    elapsed = time.perf_counter() - started
    gc.collect()
    blocks_after = sys.getallocatedblocks()

    # tracemalloc multiplies the run time by four: it watches a fifth of the load, which still
    # shows a leak of 50 bytes a task (one weak reference is 72).
    traced_batches = max(FINDING_EVERY, per_thread // 5)
    tracemalloc.start()
    traced_states = run_threads(traced_batches, "traced")
    gc.collect()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    traced_tasks = sum(s.tasks_checked for s in traced_states)

    problems = [p for s in [*states, *traced_states] for p in s.problems]
    assert problems == [], problems[:10]
    tasks = sum(s.tasks_checked for s in states)
    assert tasks == THREADS * per_thread * TASKS_PER_BATCH
    assert [s.batches_checked for s in states] == [per_thread] * THREADS
    expected_findings = per_thread // FINDING_EVERY
    assert [s.findings for s in states] == [expected_findings] * THREADS

    # The registry holds no task; the dead batches still queued (how many depends on how the
    # threads interleaved) are dropped as new batches come.
    assert _provenance.registry.live_tasks() == 0
    asyncio.run(_gathers(len(_provenance.registry.batches()) + 2))
    assert len(_provenance.registry.batches()) <= 2, len(_provenance.registry.batches())
    assert len(_lineage._links) <= links_before + THREADS  # at most the last frame per loop
    # Memory blocks still allocated after the run: a constant, not one (or more) per task.
    assert blocks_after - blocks_before < BLOCK_LIMIT, (blocks_before, blocks_after)
    assert held < LEAK_LIMIT, f"{held} bytes still held after {traced_tasks} tasks"
    assert "internal error" not in capsys.readouterr().err
    with capsys.disabled():
        print(
            f"\nload: {tasks:,} tasks, {THREADS * per_thread:,} batches, {THREADS} threads, "
            f"{THREADS * expected_findings} findings in {elapsed:.1f} s; memory blocks "
            f"{blocks_before:,} -> {blocks_after:,}; traced run of {traced_tasks:,} tasks: "
            f"{held / 1024:.0f} KiB still held, peak {peak / 1024 / 1024:.1f} MiB"
        )


def test_the_load_programs_compute_the_same_without_the_guard() -> None:
    """The per-batch result checks above would catch a wrong result; they hold unguarded too."""
    states = run_threads(8, "plain")
    assert [p for s in states for p in s.problems] == []
    assert all(s.tasks_checked == 0 for s in states)  # no provenance without the guard
