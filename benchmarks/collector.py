"""The guard's added cost per task by batch size, with the garbage collector on and off.

``python benchmarks/collector.py`` times each asyncio workload at each size in one process:
per round the unguarded program, the guarded one (``asyncwarden.install("warn")``) and the
unguarded one again; the added cost is the median of guarded minus the mean of the two
unguarded samples, in us per task (CPU time). Collector off, what is left is the guard's own
work; the difference from collector on is the collector's extra work for the guard's objects,
which grows with the number of live tasks. A process's first rounds run slower: the smallest
sizes are the least reliable (docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workloads

import asyncwarden


def _sample(workload: str, tasks: int, guarded: bool, collector: bool) -> float:
    function = workloads.ASYNCIO_WORKLOADS[workload]
    if guarded:
        asyncwarden.install("warn")
    # Untimed, as in run.py: what runs once after install() is paid once in a program's life.
    asyncio.run(function(10))  # type: ignore[arg-type]
    gc.collect()
    if not collector:
        gc.disable()
    try:
        start = time.process_time()
        asyncio.run(function(tasks))  # type: ignore[arg-type]
        return time.process_time() - start
    finally:
        gc.enable()
        if guarded:
            asyncwarden.uninstall()


def added_per_task(workload: str, tasks: int, rounds: int, collector: bool) -> tuple[float, float]:
    """(median added us per task, unguarded us per task)."""
    added: list[float] = []
    plain: list[float] = []
    for _ in range(rounds):
        before = _sample(workload, tasks, False, collector)
        guarded = _sample(workload, tasks, True, collector)
        after = _sample(workload, tasks, False, collector)
        base = (before + after) / 2
        added.append((guarded - base) / tasks * 1e6)
        plain.append(base / tasks * 1e6)
    return statistics.median(added), statistics.median(plain)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="gather,wait,as_completed")
    parser.add_argument(
        "--sizes", default="1000:24,100000:3,1000000:1", help="TASKS:ROUNDS, comma-separated"
    )
    options = parser.parse_args(argv)
    sizes = [tuple(map(int, size.split(":"))) for size in options.sizes.split(",")]
    print(f"added us per task (warn - unguarded), Python {sys.version.split()[0]}, CPU time")
    print(f"{'workload':14} {'tasks':>10} {'collector on':>22} {'collector off':>22}")
    for workload in options.workloads.split(","):
        for tasks, rounds in sizes:
            cells = []
            for collector in (True, False):
                added, plain = added_per_task(workload, tasks, rounds, collector)
                cells.append(f"{added:+6.2f} (plain {plain:5.2f})")
            print(f"{workload:14} {tasks:>10,} {cells[0]:>22} {cells[1]:>22}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
