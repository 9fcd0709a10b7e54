"""Where the realistic ETL's added time goes: the fan-out, the concat, the merge, the collector.

``python benchmarks/etl_parts.py`` runs ``run.py``'s ETL row (each partition loaded into a frame
by a task, ``wait()``, concat in partition order, merge a dimension table in) in one process,
unguarded and in warn mode by turns (which goes first alternates), and times each part of each
run with the process's CPU time. Per part it prints the median of each side, the difference and
the ratio; then the collections the collector ran per run, by generation, and their time
(``gc.callbacks``). A part's difference is the guard's cost there: the fan-out includes linking
each task's frame to its task, the concat and the merge the rules and the result's lineage.
The collector's line is the share of the guard's objects in the program's own collections.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workloads

import asyncwarden

PARTS = ("whole run", "fan-out", "concat", "merge")

clock = workloads.clock


class _Collections:
    """Collections by generation, and their time, while ``counting`` is set."""

    def __init__(self) -> None:
        self.counting = False
        self.count: collections.Counter[int] = collections.Counter()
        self.seconds: collections.Counter[int] = collections.Counter()
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if not self.counting:
            return
        if phase == "start":
            self._started = clock()
        else:
            self.count[info["generation"]] += 1
            self.seconds[info["generation"]] += clock() - self._started


def measure(partitions: int, rows: int, rounds: int) -> dict[bool, dict[str, Any]]:
    columns, stores = workloads.etl_inputs(partitions, rows)
    samples: dict[bool, list[tuple[float, ...]]] = {False: [], True: []}
    traced = {False: 0, True: 0}
    collected = {False: _Collections(), True: _Collections()}
    for guarded in (False, True):  # a warm-up run of each, untimed
        if guarded:
            asyncwarden.install("warn")
        asyncio.run(workloads.run_etl(columns, stores))
        asyncwarden.uninstall()
    for counter in collected.values():
        gc.callbacks.append(counter)
    try:
        for round_number in range(rounds):
            order = (False, True) if round_number % 2 else (True, False)
            for guarded in order:
                if guarded:
                    asyncwarden.install("warn")
                gc.collect()
                collected[guarded].counting = True
                start = clock()
                *parts, combined = asyncio.run(workloads.run_etl(columns, stores))
                whole = clock() - start
                collected[guarded].counting = False
                samples[guarded].append((whole, *parts))
                lineage = asyncwarden.lineage(combined)
                traced[guarded] = len(lineage.sources) if lineage is not None else 0
                del combined
                if guarded:
                    asyncwarden.uninstall()
    finally:
        for counter in collected.values():
            gc.callbacks.remove(counter)
    return {
        guarded: {
            "medians": [
                statistics.median(column) for column in zip(*samples[guarded], strict=True)
            ],
            "collections": {g: collected[guarded].count[g] / rounds for g in (0, 1, 2)},
            "collector_ms": sum(collected[guarded].seconds.values()) * 1e3 / rounds,
            "traced": traced[guarded],
        }
        for guarded in (False, True)
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", type=int, default=200)
    parser.add_argument("--rows", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: proves the script runs")
    options = parser.parse_args(argv)
    if options.quick:
        options.partitions, options.rows, options.rounds = 20, 100, 2
    result = measure(options.partitions, options.rows, options.rounds)
    plain, warn = result[False], result[True]
    print(
        f"ETL by part, Python {sys.version.split()[0]}, {options.partitions} partitions x "
        f"{options.rows:,} rows, {options.rounds} rounds, CPU time, medians"
    )
    print(f"{'part':12} {'unguarded':>10} {'warn':>10} {'added':>10} {'ratio':>7}")
    for name, before, after in zip(PARTS, plain["medians"], warn["medians"], strict=True):
        print(
            f"{name:12} {before * 1e3:8.3f}ms {after * 1e3:8.3f}ms "
            f"{(after - before) * 1e3:+8.3f}ms {after / before:7.3f}"
        )
    for label, side in (("unguarded", plain), ("warn", warn)):
        counts = side["collections"]
        print(
            f"collections per run, {label:9}: young {counts[0]:.1f}, middle {counts[1]:.1f}, "
            f"old {counts[2]:.1f}; {side['collector_ms']:.3f} ms"
        )
    # What the guarded runs paid for: the combined frame traced to every partition's task.
    print(f"combined frame traced to tasks: unguarded {plain['traced']}, warn {warn['traced']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
