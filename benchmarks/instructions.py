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

``--scaling`` judges the issue's flatness budget (the guard's added cost per task within 20 %
from small batches to large) on counts: per fan-out API, the added instructions per task and
the added last-level cache misses per task (valgrind's simulation of this machine's caches) at
``--tasks`` and at ``--large`` tasks, and the ratio large / small. Timed, a 1,000,000-task
sample varies by about 1 us a task from one sample to the next (``run.py``'s scaling part),
more than the whole added cost; the counts do not vary, and the cache misses stand in for what
a large heap costs that an instruction count does not see. Exit status 1 if a ratio is over 1.2.
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
_LL_MISSES = re.compile(r"LL misses:\s+([\d,]+)")
FLAT_LIMIT = 1.2


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


def counts(
    workload: str, tasks: int, guarded: bool, gc_on: bool, caches: bool = False
) -> tuple[int, int]:
    """(instructions, last-level cache misses) of one process running the workload; the misses
    are 0 unless ``caches`` (valgrind's cache simulation takes about twice as long)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCWARDEN")}
    env["PYTHONHASHSEED"] = "0"  # set iteration order, hence the work, the same every run
    done = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            f"--cache-sim={'yes' if caches else 'no'}",
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
    misses = _LL_MISSES.search(done.stderr)
    if done.returncode != 0 or found is None or (caches and misses is None):
        raise RuntimeError(f"valgrind run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return (
        int(found.group(1).replace(",", "")),
        int(misses.group(1).replace(",", "")) if caches and misses is not None else 0,
    )


def per_task(
    workload: str, tasks: int, guarded: bool, gc_on: bool, caches: bool = False
) -> tuple[float, float]:
    """(instructions, LL misses) a task: runs of ``2 * tasks`` less runs of ``tasks``."""
    (instructions, misses), (instructions_half, misses_half) = (
        counts(workload, size, guarded, gc_on, caches) for size in (2 * tasks, tasks)
    )
    return (instructions - instructions_half) / tasks, (misses - misses_half) / tasks


def added_per_task(workload: str, tasks: int, gc_on: bool) -> tuple[float, float]:
    """(instructions, LL misses) the guard adds a task."""
    plain = per_task(workload, tasks, False, gc_on, caches=True)
    warn = per_task(workload, tasks, True, gc_on, caches=True)
    return warn[0] - plain[0], warn[1] - plain[1]


def scaling(names: list[str], small: int, large: int, gc_on: bool) -> int:
    """The flatness budget on counts; exit status 1 if an API's ratio is over ``FLAT_LIMIT``."""
    print(
        f"added per task, small -> large batch, Python {sys.version.split()[0]}, "
        f"{small:,} -> {2 * small:,} against {large:,} -> {2 * large:,} tasks, collector "
        f"{'on' if gc_on else 'off'}; LL: last-level cache misses (simulated)"
    )
    print(
        f"{'workload':14} {'instr small':>11} {'instr large':>11} {'ratio':>6} "
        f"{'LL small':>9} {'LL large':>9}  verdict"
    )
    failed = False
    for workload in names:
        instructions_small, misses_small = added_per_task(workload, small, gc_on)
        instructions_large, misses_large = added_per_task(workload, large, gc_on)
        ratio = instructions_large / instructions_small if instructions_small > 0 else float("inf")
        verdict = "PASS" if ratio <= FLAT_LIMIT else "FAIL"
        failed |= verdict == "FAIL"
        print(
            f"{workload:14} {instructions_small:+11,.0f} {instructions_large:+11,.0f} "
            f"{ratio:6.3f} {misses_small:+9.2f} {misses_large:+9.2f}  {verdict} (<= {FLAT_LIMIT})"
        )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument(
        "--workloads",
        default=",".join(w for w in workloads.available_workloads() if w != "pool_wait"),
        help="comma-separated asyncio workloads (default: every fan-out API and batches)",
    )
    parser.add_argument(
        "--tasks", type=int, default=5_000, help="N: runs of N and 2N tasks (default 5,000)"
    )
    parser.add_argument("--gc", choices=("on", "off"), default="on")
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="the flatness budget: added cost per task at --tasks against --large tasks",
    )
    # 50,000 tasks already hold more than this machine's 32 MiB last-level cache; 1,000,000
    # under valgrind would take about an hour per API.
    parser.add_argument("--large", type=int, default=50_000, help="the large batch (--scaling)")
    options = parser.parse_args(argv)
    if options.worker:
        workload, tasks, guarded, gc_on = options.worker
        _one_run(workload, int(tasks), guarded == "1", gc_on == "1")
        return 0
    if shutil.which("valgrind") is None:
        print("benchmarks/instructions.py: valgrind is not installed", file=sys.stderr)
        return 2
    gc_on = options.gc == "on"
    if options.scaling:
        names = [n for n in options.workloads.split(",") if n in workloads.SCALING_APIS]
        # Not 1,000: between runs of 1,000 and 2,000 tasks, one collection of the older
        # generations falling in one run and not the other moves the figure by thousands of
        # instructions a task (3.13, collector on: gather +7,720 at 1,000, +707 at 5,000).
        # At 5,000 it still shows on 3.13; --gc off leaves the guard's own work alone.
        return scaling(names, options.tasks, options.large, gc_on)
    print(
        f"instructions per task, Python {sys.version.split()[0]}, {options.tasks:,} -> "
        f"{2 * options.tasks:,} tasks, collector {options.gc}"
    )
    print(f"{'workload':14} {'unguarded':>10} {'warn':>10} {'added':>8} {'ratio':>6}")
    for workload in options.workloads.split(","):
        try:
            plain = per_task(workload, options.tasks, False, gc_on)[0]
            warn = per_task(workload, options.tasks, True, gc_on)[0]
        except RuntimeError as error:
            print(f"{workload}: {error}", file=sys.stderr)
            return 2
        print(
            f"{workload:14} {plain:10,.0f} {warn:10,.0f} {warn - plain:+8,.0f} {warn / plain:6.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
