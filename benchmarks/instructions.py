"""Instructions per task, unguarded and in warn mode, counted by valgrind: what load cannot move.

``python benchmarks/instructions.py`` runs each fan-out workload under ``valgrind
--tool=cachegrind`` at N and 2N tasks, unguarded and with ``asyncwarden.install("warn")``; the
difference between the two sizes is the cost of N tasks, so start-up, imports and the run's
fixed costs fall out. The count is the same on an idle and on a loaded machine (time is not:
``run.py`` measures time, and needs a quiet machine or its noise arm to judge). An instruction
is not a nanosecond: cache misses and page faults are not in it. Use it to decide whether a
change to the guard's per-task work helps; use ``run.py`` for the budgets.

``--gc off`` disables the collector in both runs: what remains is the guard's own work, and the
difference from the default is the collector's extra work for the guard's objects.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import workloads  # noqa: E402  (benchmarks/ is not a package)

_TOTAL = re.compile(r"I\s+refs:\s+([\d,]+)")


def _one_run(workload: str, tasks: int, guarded: bool, gc_on: bool) -> None:
    """The measured process: a warm-up, then one ``asyncio.run`` of the workload."""
    import asyncio
    import gc

    import asyncwarden

    if not gc_on:
        gc.disable()
    function = workloads.ASYNCIO_WORKLOADS[workload]
    asyncio.run(function(100))  # type: ignore[arg-type]
    if guarded:
        asyncwarden.install("warn")
    asyncio.run(function(tasks))  # type: ignore[arg-type]


def count(workload: str, tasks: int, guarded: bool, gc_on: bool) -> int:
    """Instructions of one process running the workload (valgrind's total)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCWARDEN")}
    env["PYTHONHASHSEED"] = "0"  # set iteration order, hence the work, the same every run
    done = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--worker",
            workload,
            str(tasks),
            "1" if guarded else "0",
            "1" if gc_on else "0",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    found = _TOTAL.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"valgrind run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_task(workload: str, tasks: int, guarded: bool, gc_on: bool) -> float:
    return (
        count(workload, 2 * tasks, guarded, gc_on) - count(workload, tasks, guarded, gc_on)
    ) / tasks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument(
        "--workloads",
        default=",".join(w for w in workloads.available_workloads() if w != "pool_wait"),
        help="comma-separated asyncio workloads (default: every fan-out API and batches)",
    )
    parser.add_argument("--tasks", type=int, default=5_000, help="N: runs of N and 2N tasks")
    parser.add_argument("--gc", choices=("on", "off"), default="on")
    options = parser.parse_args(argv)
    if options.worker:
        workload, tasks, guarded, gc_on = options.worker
        _one_run(workload, int(tasks), guarded == "1", gc_on == "1")
        return 0
    if shutil.which("valgrind") is None:
        print("benchmarks/instructions.py: valgrind is not installed", file=sys.stderr)
        return 2
    gc_on = options.gc == "on"
    print(
        f"instructions per task, Python {sys.version.split()[0]}, {options.tasks:,} -> "
        f"{2 * options.tasks:,} tasks, collector {options.gc}"
    )
    print(f"{'workload':14} {'unguarded':>10} {'warn':>10} {'added':>8} {'ratio':>6}")
    for workload in options.workloads.split(","):
        try:
            plain = per_task(workload, options.tasks, False, gc_on)
            warn = per_task(workload, options.tasks, True, gc_on)
        except RuntimeError as error:
            print(f"{workload}: {error}", file=sys.stderr)
            return 2
        print(
            f"{workload:14} {plain:10,.0f} {warn:10,.0f} {warn - plain:+8,.0f} {warn / plain:6.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
