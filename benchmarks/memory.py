"""Memory the guard keeps: per live tracked task, after finished batches, and over 1,000,000 tasks.

Run in worker processes of their own (``run.py --memory-worker``), so one measurement's heap is
not another's. Live and retained memory are read with ``tracemalloc`` (bytes Python allocated and
still holds), the long run with the process's resident set size (``/proc/self/statm``), because
tracing 1,000,000 tasks would measure tracemalloc more than the guard.
"""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import sys
import time
import tracemalloc
from typing import Any

import workloads

LIVE_KINDS = ("gather", "wait", "as_completed", "taskgroup")


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def _live_bytes(kind: str, n: int) -> int:
    """Bytes held while ``n`` tasks of one batch are alive and pending (tasks included)."""
    release = asyncio.Event()

    async def hold() -> None:
        await release.wait()

    before = _traced()
    if kind == "taskgroup":
        async with asyncio.TaskGroup() as group:  # type: ignore[attr-defined]
            for _ in range(n):
                group.create_task(hold())
            await asyncio.sleep(0)
            held = _traced() - before
            release.set()
        return held
    tasks: list[Any] = []
    if kind == "gather":
        waiter: Any = asyncio.gather(*[hold() for _ in range(n)])
    else:
        tasks = [asyncio.ensure_future(hold()) for _ in range(n)]
        if kind == "wait":
            waiter = asyncio.ensure_future(_wait(tasks))
        else:
            waiter = asyncio.ensure_future(_drain(asyncio.as_completed(tasks)))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    held = _traced() - before
    release.set()
    await waiter
    return held


async def _wait(tasks: list[Any]) -> None:
    # Called from a coroutine of the program (the guard ignores calls made by asyncio itself).
    await asyncio.wait(tasks)


async def _drain(iterator: Any) -> None:
    for next_done in iterator:
        await next_done


def live_per_task(n: int, repeats: int) -> dict[str, dict[str, float]]:
    """Per kind: bytes per live task unguarded, guarded, and the guard's share."""
    import asyncwarden
    from asyncwarden._tracking import _provenance

    kinds = [k for k in LIVE_KINDS if k != "taskgroup" or sys.version_info >= (3, 11)]
    results: dict[str, dict[str, float]] = {}
    tracemalloc.start()
    try:
        for kind in kinds:
            asyncio.run(_live_bytes(kind, n))  # warm-up
            base: list[int] = []
            guarded: list[int] = []
            for _ in range(repeats):
                base.append(asyncio.run(_live_bytes(kind, n)))
                asyncwarden.install("warn")
                # A fresh registry: its table's growth for n live tasks is counted, as it is in
                # a program that reaches n live tasks for the first time (the worst case).
                _provenance.reset()
                try:
                    guarded.append(asyncio.run(_live_bytes(kind, n)))
                finally:
                    asyncwarden.uninstall()
            b = statistics.median(base) / n
            g = statistics.median(guarded) / n
            results[kind] = {"unguarded": b, "guarded": g, "added": g - b}
    finally:
        tracemalloc.stop()
    return results


async def _finished_batches(batches: int, size: int) -> None:
    import pandas as pd

    async def frame(i: int) -> Any:
        return pd.DataFrame({"i": [i]})

    for number in range(batches):
        kind = number % 4
        if kind == 0:
            await asyncio.gather(*[workloads.noop() for _ in range(size)])
        elif kind == 1:
            await asyncio.wait([asyncio.ensure_future(workloads.noop()) for _ in range(size)])
        elif kind == 2:
            for next_done in asyncio.as_completed(
                [asyncio.ensure_future(workloads.noop()) for _ in range(size)]
            ):
                await next_done
        else:
            pd.concat(await asyncio.gather(*[frame(i) for i in range(size)]))


def retained_after_batches(counts: tuple[int, ...], size: int) -> dict[str, Any]:
    """Bytes still held by the guard after finished batches (tasks and results dropped)."""
    import asyncwarden
    from asyncwarden._tracking import _lineage, _provenance

    asyncwarden.install("warn")
    tracemalloc.start()
    try:
        asyncio.run(_finished_batches(4, size))  # warm-up: first-call caches are not retention
        before = _traced()
        retained: dict[str, Any] = {}
        done = 0
        for count in counts:
            asyncio.run(_finished_batches(count - done, size))
            done = count
            retained[str(count)] = _traced() - before
        retained["registry_batches"] = len(_provenance.registry.batches())
        retained["registry_live_tasks"] = _provenance.registry.live_tasks()
        retained["frame_links"] = len(_lineage._links)
        retained["live_batches"] = sum(type(o) is _provenance.Batch for o in gc.get_objects())
    finally:
        tracemalloc.stop()
        asyncwarden.uninstall()
    return retained


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def _many(total: int, per_batch: int, checkpoints: list[int]) -> list[tuple[int, int]]:
    readings: list[tuple[int, int]] = []
    done = 0
    targets = iter(checkpoints)
    target = next(targets)
    while done < total:
        await asyncio.gather(*[workloads.noop() for _ in range(per_batch)])
        done += per_batch
        if done >= target:
            gc.collect()
            readings.append((done, _rss()))
            target = next(targets, total + 1)
    return readings


def long_run(total: int, per_batch: int, guarded: bool) -> dict[str, Any]:
    """RSS at checkpoints while ``total`` tasks run in gathers of ``per_batch``."""
    import asyncwarden
    from asyncwarden._tracking import _provenance

    if guarded:
        asyncwarden.install("warn")
    checkpoints = [total // 10, total // 4, total // 2, total]
    start = time.perf_counter()
    readings = asyncio.run(_many(total, per_batch, checkpoints))
    elapsed = time.perf_counter() - start
    gc.collect()
    live_batches = sum(type(o) is _provenance.Batch for o in gc.get_objects())
    return {
        "readings": readings,
        "seconds": elapsed,
        "registry_batches": len(_provenance.registry.batches()),
        "live_batches": live_batches,
    }
