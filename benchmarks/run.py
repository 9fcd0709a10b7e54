"""asyncwarden's overhead beside its peers, in one run: ``python benchmarks/run.py``.

Every figure is a ratio to the unguarded program measured in the same worker process, from
interleaved samples (unguarded, guarded, guarded, unguarded, ...); each arm runs in fresh worker
processes, several for asyncwarden's own arms. The "noise" column is the unguarded program against
itself under the same schedule: a ratio that differs from 1.00 by less than that is not a cost.

    python benchmarks/run.py            # the full table, with PASS/FAIL per budget
    python benchmarks/run.py --check    # the same; exit status 1 if a budget is missed, 3 if
                                        # one is within the run's own noise (INCONCLUSIVE)
    python benchmarks/run.py --quick    # small sizes, one round: proves the script works; its
                                        # budget lines show values, no verdicts (unless --check)
    python benchmarks/run.py --json out.json   # raw samples as well
    python benchmarks/run.py --check --pythons all   # the same on 3.11 and 3.13, and on 3.10
                                        # and 3.12 when found, each in its .venv-py3XX

See docs/performance.md for what each row measures and how it scales.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import memory  # noqa: E402
import startup  # noqa: E402
import workloads  # noqa: E402

GUARD_ARMS = ("noise", "warn", "warn+sdk")
# --budget KEY=LIMIT: try a budget other than the (keys are printed with --list-budgets).
LIMIT_OVERRIDES: dict[str, float] = {}
PEER_ARMS = ("otel", "otel+sdk", "debug")
ARM_TITLES = {
    "warn": "warn",
    "warn+sdk": "warn+SDK",
    "otel": "OTel asyncio",
    "otel+sdk": "OTel+SDK",
    "debug": "asyncio debug",
    "noise": "noise (A/A)",
}


@dataclass
class Plan:
    tasks: int
    concat_sizes: tuple[int, int]
    merge_rows: int
    rounds: int
    peer_rounds: int
    processes: int
    live_tasks: int
    live_repeats: int
    batch_counts: tuple[int, ...]
    batch_size: int
    long_total: int
    long_batch: int
    startup_runs: int
    pipeline_partitions: int = 200
    etl_partitions: int = 200
    etl_rows: int = 1_000
    # The scaling part: each fan-out API at these batch sizes, rounds per size (warn and noise).
    scaling_sizes: tuple[tuple[int, int], ...] = (
        (1_000, 24),
        (10_000, 8),
        (100_000, 3),
        (1_000_000, 1),
    )
    only: tuple[str, ...] = ()
    wall: bool = False
    concat_repeat: int = 0  # concats per sample; 0: enough for about 2,000 frames

    @property
    def sizes(self) -> dict[str, int]:
        small, large = self.concat_sizes
        return {
            f"concat{small}": small,
            f"concat{large}": large,
            "merge": self.merge_rows,
            "pipeline": self.pipeline_partitions,
            "etl": self.etl_partitions,
            "etl_rows": self.etl_rows,
        }

    def workloads(self) -> list[str]:
        names = [*workloads.available_workloads(), *self.sizes]
        names.remove("etl_rows")
        return [name for name in names if not self.only or name in self.only]

    def scaling(self) -> list[str]:
        """The scaling part's rows: ``scale-<api>-<tasks>``."""
        apis = [a for a in workloads.available_workloads() if a in SCALING_APIS]
        return [
            f"scale-{api}-{count}"
            for api in apis
            if not self.only or api in self.only
            for count, _ in self.scaling_sizes
        ]


FULL = Plan(
    tasks=10_000,
    concat_sizes=(10, 1_000),
    merge_rows=1_000_000,
    # Six processes of four rounds, not three of eight: the margin comes from how processes
    # disagree (``between_processes``), and Student's t for three is 4.30 against 2.57 for six.
    rounds=4,
    peer_rounds=4,
    processes=6,
    live_tasks=10_000,
    live_repeats=3,
    batch_counts=(100, 1_000),
    batch_size=100,
    long_total=1_000_000,
    long_batch=1_000,
    startup_runs=40,
)
QUICK = Plan(
    tasks=500,
    concat_sizes=(10, 100),
    merge_rows=20_000,
    rounds=1,
    peer_rounds=1,
    processes=1,
    live_tasks=500,
    live_repeats=1,
    batch_counts=(8, 16),
    batch_size=20,
    long_total=5_000,
    long_batch=500,
    startup_runs=2,
    pipeline_partitions=40,
    etl_partitions=20,
    etl_rows=100,
    scaling_sizes=((200, 1), (2_000, 1)),
    concat_repeat=1,
)

SCALING_APIS = workloads.SCALING_APIS
# Budgets are judged against the margin measured in the same run (``margin``): a value further
# than the margin from its limit is PASS or FAIL, one within it INCONCLUSIVE (exit status 3).
EXIT_FAIL = 1
EXIT_ERRORS = 2
EXIT_INCONCLUSIVE = 3
INF = float("inf")


@dataclass
class Budget:
    key: str
    name: str
    limit: float
    value: float | None
    unit: str = "x"
    note: str = ""
    # How far the value may be off, from the noise measured in the same run (0: not known).
    noise: float = 0.0

    def __post_init__(self) -> None:
        self.limit = LIMIT_OVERRIDES.get(self.key, self.limit)

    @property
    def verdict(self) -> str:
        """PASS or FAIL when the value is further than the noise from the limit, else
        INCONCLUSIVE: the run could not tell (a loaded machine), which is not a regression."""
        if self.value is None:
            return "FAIL"
        if self.value > self.limit + self.noise:
            return "FAIL"
        if self.value <= self.limit - self.noise:
            return "PASS"
        return "INCONCLUSIVE"

    @property
    def passed(self) -> bool:
        return self.verdict == "PASS"


@dataclass
class Results:
    plan: Plan
    samples: dict[str, dict[str, dict[str, list[float]]]] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    memory: dict[str, Any] = field(default_factory=dict)
    startup: dict[str, Any] = field(default_factory=dict)


# -- running workers ----------------------------------------------------------------------------


def _python() -> str:
    return sys.executable


def _worker(args: list[str], timeout: float) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCWARDEN")}
    done = subprocess.run(
        [_python(), str(HERE / "run.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"worker {args[:2]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_timings(
    plan: Plan,
    arms: list[str],
    results: Results,
    progress: bool,
    names: list[str] | None = None,
    processes: int | None = None,
) -> None:
    names = plan.workloads() if names is None else names
    if not names:
        return
    passes: list[list[str]] = []
    for number in range(plan.processes if processes is None else processes):
        arms_now = [a for a in arms if a in GUARD_ARMS or number == 0]
        random.Random(number).shuffle(arms_now)
        passes.append(arms_now)
    for number, arms_now in enumerate(passes):
        for arm in arms_now:
            rounds = plan.rounds if arm in GUARD_ARMS else plan.peer_rounds
            spec = json.dumps(
                {
                    "sizes": plan.sizes,
                    "tasks": plan.tasks,
                    "rounds": rounds,
                    "wall": plan.wall,
                    "concat_repeat": plan.concat_repeat,
                    "rounds_for": scaling_rounds(plan),
                }
            )
            if progress:
                print(f"  worker: {arm:10} ({rounds} rounds)", file=sys.stderr, flush=True)
            try:
                out = _worker(["--worker", arm, spec, ",".join(names)], timeout=1800)
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                results.errors.append(f"{arm}: {error}")
                continue
            for workload, pair in out["samples"].items():
                slot = results.samples.setdefault(arm, {}).setdefault(workload, {})
                for which, values in pair.items():  # "base", "arm" and a scaling row's "again"
                    slot.setdefault(which, []).extend(values)
                # Which worker process each pair came from: the budgets' margin is the spread
                # between processes (``between_processes``).
                slot.setdefault("process", []).extend([number] * len(pair["arm"]))
            results.facts.setdefault(arm, {}).update(out["facts"])


def scaling_rounds(plan: Plan) -> dict[str, int]:
    return {
        f"scale-{api}-{count}": rounds
        for api in SCALING_APIS
        for count, rounds in plan.scaling_sizes
    }


def run_scaling(plan: Plan, arms: list[str], results: Results, progress: bool) -> None:
    """Each fan-out API from 1,000 to 1,000,000 tasks, warn against unguarded, with its noise.

    One warn worker process per batch size, which times the unguarded program twice a round,
    around the guarded sample: that pair is the noise. A process of its own per size: after the
    1,000,000-task rows the heap is large and fragmented, and 1,000-task rows run after them in
    the same process measured +4 to +7 us per task added (+0.4 to +1.0 in a fresh one).
    """
    if "warn" not in arms:
        return
    for count, _ in plan.scaling_sizes:
        rows = [w for w in plan.scaling() if w.endswith(f"-{count}")]
        run_timings(plan, ["warn"], results, progress, names=rows, processes=1)


def run_memory(plan: Plan, results: Results, progress: bool) -> None:
    if progress:
        print("  worker: memory", file=sys.stderr, flush=True)
    spec = {
        "live_tasks": plan.live_tasks,
        "live_repeats": plan.live_repeats,
        "batch_counts": plan.batch_counts,
        "batch_size": plan.batch_size,
    }
    try:
        results.memory["live"] = _worker(["--memory-worker", "live", json.dumps(spec)], 1800)
        results.memory["retained"] = _worker(
            ["--memory-worker", "retained", json.dumps(spec)], 1800
        )
        for guarded in (False, True):
            long_spec = json.dumps(
                {"total": plan.long_total, "per_batch": plan.long_batch, "guarded": guarded}
            )
            key = "long_guarded" if guarded else "long_unguarded"
            results.memory[key] = _worker(["--memory-worker", "long", long_spec], 3600)
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        results.errors.append(f"memory: {error}")


def run_startup(plan: Plan, results: Results, progress: bool) -> None:
    if progress:
        print("  start-up", file=sys.stderr, flush=True)
    try:
        results.startup = startup.measure(plan.startup_runs)
    except (OSError, subprocess.CalledProcessError) as error:
        results.errors.append(f"start-up: {error}")


# -- figures ------------------------------------------------------------------------------------


def paired(results: Results, arm: str, workload: str) -> list[float]:
    """Per round: the arm's sample over the unguarded sample taken next to it."""
    pair = results.samples.get(arm, {}).get(workload)
    if not pair:
        return []
    return [a / b for a, b in zip(pair["arm"], pair["base"], strict=True) if b > 0]


def ratio(results: Results, arm: str, workload: str) -> float | None:
    """The median of the paired ratios: a drift in the machine's speed cancels within a pair."""
    ratios = paired(results, arm, workload)
    return statistics.median(ratios) if ratios else None


def base_ms(results: Results, workload: str) -> float | None:
    values = [
        v
        for arm in GUARD_ARMS
        for v in results.samples.get(arm, {}).get(workload, {}).get("base", [])
    ]
    return statistics.median(values) * 1e3 if values else None


def spread(results: Results, workload: str) -> float | None:
    """How far the A/A median lands from 1: the smallest difference the table can resolve."""
    ratios = paired(results, "noise", workload)
    return _median_spread([r - 1 for r in ratios]) if ratios else None


# Student's t, 97.5th percentile, by degrees of freedom (beyond 10: at most 2.2).
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)


def between_processes(results: Results, arm: str, workload: str) -> float:
    """Half the 95 % interval of the arm's ratio, from how its worker processes disagree.

    Pairs in one process share its heap layout, hash seed and the moments it ran, so they do
    not vary independently: pooled, they give a margin far too narrow. Measured (3.11, six
    processes of four rounds): per-process medians of the warn ratio spread with a standard
    deviation of 0.006-0.060 by row, while the A/A arm's pooled margin was 0.002-0.011, and a
    row's verdict changed between runs with no change to the code. Each process's median is
    one observation: t x sd / sqrt(processes). 0 with fewer than two processes.
    """
    pair = results.samples.get(arm, {}).get(workload)
    if not pair or not pair.get("process"):
        return 0.0
    groups: dict[int, list[float]] = {}
    for process, guarded, base in zip(pair["process"], pair["arm"], pair["base"], strict=True):
        if base > 0:
            groups.setdefault(process, []).append(guarded / base)
    medians = [statistics.median(group) for group in groups.values()]
    if len(medians) < 2:
        return 0.0
    t = _T975[len(medians) - 2] if len(medians) - 1 <= len(_T975) else 2.2
    return t * statistics.stdev(medians) / len(medians) ** 0.5


def margin(results: Results, arm: str, workload: str) -> float:
    """A timed row's margin: the A/A noise or the spread between processes, the wider."""
    return max(spread(results, workload) or 0.0, between_processes(results, arm, workload))


WORKLOAD_TITLES = {
    "gather": "gather, {tasks:,} tasks",
    "wait": "wait, {tasks:,} tasks",
    "as_completed": "as_completed, {tasks:,} tasks",
    "as_completed_async": "as_completed, async for, {tasks:,} tasks",
    "taskgroup": "TaskGroup, {tasks:,} tasks",
    "batches": "{side} batches x {side} tasks, sleep(0)",
    "pool_wait": "thread pool + wait, {tasks:,} futures",
}


def title(plan: Plan, workload: str) -> str:
    if workload.startswith("concat"):
        return f"concat of {plan.sizes[workload]:,} frames"
    if workload == "merge":
        return f"merge, 2 x {plan.merge_rows:,} rows"
    if workload == "pipeline":
        return f"{plan.pipeline_partitions} partitions x 10 transformations, concat, merge"
    if workload == "etl":
        return (
            f"ETL: {plan.etl_partitions} partitions x {plan.etl_rows:,} rows, wait, concat, merge"
        )
    if workload.startswith("scale-"):
        _, api, count = workload.split("-")
        return f"{api}, {int(count):,} tasks"
    side = max(1, round(plan.tasks**0.5))
    return WORKLOAD_TITLES[workload].format(tasks=plan.tasks, side=side)


def budgets(results: Results) -> list[Budget]:
    plan = results.plan
    found: list[Budget] = []
    large = plan.concat_sizes[1]
    for workload in plan.workloads():
        if workload in workloads.ASYNCIO_WORKLOADS:
            limit = 1.07
        elif workload in workloads.POOL_WORKLOADS or workload == f"concat{large}":
            limit = 1.05
        elif workload in ("merge", "etl"):
            limit = 1.02
        elif workload == "pipeline":
            limit = 1.03
        else:
            continue
        found.append(
            Budget(
                f"warn-{workload}",
                f"warn, {title(plan, workload)}",
                limit,
                ratio(results, "warn", workload),
                noise=margin(results, "warn", workload),
            )
        )
    if "warn+sdk" in results.samples:
        found.extend(
            Budget(
                f"sdk-{workload}",
                f"warn+SDK, {title(plan, workload)}",
                1.5,
                ratio(results, "warn+sdk", workload),
                noise=margin(results, "warn+sdk", workload),
            )
            for workload in plan.workloads()
        )
    found.extend(scaling_budgets(results))
    if results.startup:
        added = results.startup["added_wall_ms"]
        noise = results.startup["noise_ms"]
        found.append(
            Budget(
                "startup-unset",
                "start-up added, ASYNCWARDEN unset",
                1.0,
                added["unset"],
                " ms",
                noise=noise,
            )
        )
        found.append(
            Budget(
                "startup-set",
                "start-up added, ASYNCWARDEN=warn",
                30.0,
                added["set"],
                " ms",
                noise=noise,
            )
        )
    live = results.memory.get("live")
    if live:
        worst = max(live.items(), key=lambda item: item[1]["added"])
        found.append(
            Budget(
                "memory-live",
                "memory per live tracked task (worst kind)",
                300,
                worst[1]["added"],
                " B",
                f"worst: {worst[0]}",
            )
        )
    retained = results.memory.get("retained")
    if retained:
        counts = [str(c) for c in plan.batch_counts]
        grown = retained[counts[-1]] - retained[counts[0]]
        found.append(
            Budget(
                "memory-retained",
                f"retained growth, {counts[0]} -> {counts[-1]} finished batches",
                64 * 1024,
                grown,
                " B",
                f"registry: {retained['registry_batches']} batches, "
                f"{retained['registry_live_tasks']} live tasks; links {retained['frame_links']}",
            )
        )
    long_guarded = results.memory.get("long_guarded")
    long_unguarded = results.memory.get("long_unguarded")
    if long_guarded and long_unguarded:
        found.append(
            Budget(
                "memory-flat",
                f"RSS growth beyond unguarded, {plan.long_total // 10:,} -> "
                f"{plan.long_total:,} tasks",
                2 * 1024 * 1024,
                _growth(long_guarded) - _growth(long_unguarded),
                " B",
                f"live batches after: {long_guarded['live_batches']}",
            )
        )
    return found


def added_per_task(results: Results, workload: str) -> tuple[float, float] | None:
    """(µs the guard adds per task, its noise in µs) for a scaling row.

    The median of the paired differences, over the tasks; the noise is the A/A spread of the
    same row times the unguarded time per task.
    """
    pair = results.samples.get("warn", {}).get(workload)
    if not pair or not pair["arm"]:
        return None
    count = int(workload.rsplit("-", 1)[1])
    differences = [a - b for a, b in zip(pair["arm"], pair["base"], strict=True)]
    again = [a - b for a, b in zip(pair.get("again", []), pair["base"], strict=True)]
    return (
        statistics.median(differences) / count * 1e6,
        _median_spread(again) / count * 1e6 if again else INF,
    )


def _median_spread(values: list[float]) -> float:
    """How far the median of A/A differences lands from 0: the larger of |median| and its
    standard error (1.25 x IQR/1.35/sqrt n); with too few for quartiles, the worst one."""
    if len(values) < 4:
        return max(abs(v) for v in values)
    quartiles = statistics.quantiles(values, n=4)
    standard_error = 1.25 * (quartiles[2] - quartiles[0]) / 1.35 / len(values) ** 0.5
    return max(abs(statistics.median(values)), standard_error)


def scaling_budgets(results: Results) -> list[Budget]:
    """Per API: the largest added cost per task over the smallest, 1,000 to 1,000,000 tasks."""
    found: list[Budget] = []
    plan = results.plan
    for api in SCALING_APIS:
        rows = [w for w in plan.scaling() if w.split("-")[1] == api]
        measured = [m for m in (added_per_task(results, w) for w in rows) if m is not None]
        if not rows or len(measured) < len(rows):
            continue
        high = max(measured)
        low = min(measured)
        value = high[0] / low[0] if low[0] > 0 else INF
        # The ratio as far apart as the noise lets it be, either way.
        widest = (high[0] + high[1]) / (low[0] - low[1]) if low[0] > low[1] else INF
        narrowest = (high[0] - high[1]) / (low[0] + low[1])
        sizes = ", ".join(f"{a:+.2f}+/-{n:.2f}" for a, n in measured)
        found.append(
            Budget(
                f"flat-{api}",
                f"added us per task flat, {api}, {rows[0].split('-')[2]} -> "
                f"{rows[-1].split('-')[2]} tasks (largest / smallest)",
                1.2,
                value,
                note=f"us per task: {sizes}",
                noise=max(widest - value, value - narrowest) if value < widest < INF else INF,
            )
        )
    return found


def _growth(long: dict[str, Any]) -> int:
    readings = long["readings"]
    return int(readings[-1][1] - readings[0][1])


# -- printing -----------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render(results: Results, arms: list[str], judge: bool = True) -> str:
    plan = results.plan
    lines: list[str] = []
    shown = [a for a in ("warn", "warn+sdk", "otel", "otel+sdk", "debug") if a in arms]
    header = ["workload", "unguarded ms", *(ARM_TITLES[a] for a in shown), "noise +/-"]
    rows = [header]
    for workload in plan.workloads():
        row = [title(plan, workload), _fmt(base_ms(results, workload), 1)]
        for arm in shown:
            value = ratio(results, arm, workload)
            if value is None and arm in PEER_ARMS and workload not in workloads.ASYNCIO_WORKLOADS:
                row.append("n/a")
            else:
                row.append(_fmt(value))
        row.append(_fmt(spread(results, workload), 3))
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for number, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells))
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(
        "ratios: median guarded / median unguarded, same worker process, interleaved; "
        "n/a: the peer does not touch pandas"
    )
    facts = [f"{ARM_TITLES[a]}: {f}" for a, f in results.facts.items() if f]
    if facts:
        lines.append("facts: " + "; ".join(facts))
    if results.startup:
        s = results.startup
        lines.append("")
        lines.append(
            f"start-up (python -c pass, median of {s['runs']}): no hook "
            f"{s['wall_ms']['absent']:.1f} ms, hook + unset {s['wall_ms']['unset']:.1f} ms, "
            f"hook + ASYNCWARDEN=warn {s['wall_ms']['set']:.1f} ms (run-to-run noise "
            f"+/-{s['noise_ms']:.1f} ms)"
        )
        heavy = ", ".join(f"{m} {ms:.1f}" for m, ms in s["heaviest_imports_set"])
        lines.append(
            f"  -X importtime, modules added when set: {s['modules_added_set']} "
            f"({s['added_import_ms']['set']:.1f} ms self time; heaviest: {heavy}); "
            f"pandas imported: {s['pandas_imported_set']}"
        )
        lines.append(
            "  with the program importing asyncio anyway (python -c 'import asyncio'): "
            f"ASYNCWARDEN=warn adds {s['added_wall_ms_with_asyncio']:.1f} ms"
        )
    live = results.memory.get("live")
    if live:
        lines.append("")
        parts = ", ".join(
            f"{kind} {v['added']:.0f} B (task itself {v['unguarded']:.0f} B)"
            for kind, v in live.items()
        )
        lines.append(f"memory per live tracked task, guard's share: {parts}")
    retained = results.memory.get("retained")
    if retained:
        counts = ", ".join(f"after {c} batches {retained[str(c)]} B" for c in plan.batch_counts)
        lines.append(
            f"retained after finished batches of {plan.batch_size} tasks: {counts}; "
            f"registry batches {retained['registry_batches']} "
            f"({retained['registry_live_tasks']} live tasks), frame links "
            f"{retained['frame_links']}, live Batch objects {retained['live_batches']}"
        )
    for key in ("long_unguarded", "long_guarded"):
        long = results.memory.get(key)
        if long:
            readings = ", ".join(f"{n:,}: {rss / 2**20:.1f} MiB" for n, rss in long["readings"])
            lines.append(
                f"RSS over {plan.long_total:,} tasks ({key.split('_')[1]}): {readings}; "
                f"{long['seconds']:.1f} s; live Batch objects {long['live_batches']}"
            )
    scaled = [w for w in plan.scaling() if w in results.samples.get("warn", {})]
    if scaled:
        lines.append("")
        lines.append("added cost per task (warn - unguarded), by batch size:")
        for workload in scaled:
            measured = added_per_task(results, workload)
            base = statistics.median(results.samples["warn"][workload]["base"])
            count = int(workload.rsplit("-", 1)[1])
            if measured is not None:
                lines.append(
                    f"  {title(plan, workload):28} unguarded {base / count * 1e6:6.2f} us/task, "
                    f"added {measured[0]:+.2f} +/- {measured[1]:.2f} us, "
                    f"ratio {_fmt(ratio(results, 'warn', workload), 3)}"
                )
    lines.append("")
    # One round of tiny workloads says whether each part runs, not whether it meets a budget.
    lines.append(
        "budgets (+/- the margin measured in this run: the A/A noise or, for a timed row, "
        "the 95 % interval from its worker processes' disagreement, the wider; within it: "
        "INCONCLUSIVE):"
        if judge
        else "budgets (not judged: --quick measures too little):"
    )
    for budget in budgets(results):
        value = "missing" if budget.value is None else f"{budget.value:,.3f}{budget.unit}"
        noise = f" +/- {budget.noise:,.3f}" if budget.noise and budget.value is not None else ""
        verdict = budget.verdict.ljust(12) if judge else " -  "
        note = f"  ({budget.note})" if budget.note else ""
        lines.append(
            f"  {verdict}  {budget.name}: {value}{noise} <= {budget.limit:,}{budget.unit}{note}"
            f"  [{budget.key}]"
        )
    if results.errors:
        lines.append("")
        lines.append("errors:")
        lines.extend(f"  {error}" for error in results.errors)
    return "\n".join(lines)


def environment() -> str:
    import pandas

    commit = subprocess.run(
        ["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return (
        f"Python {platform.python_version()}, pandas {pandas.__version__}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}, commit {commit or '?'}"
    )


# -- entry points -------------------------------------------------------------------------------


def worker_main(argv: list[str]) -> None:
    arm, spec_text, names = argv
    spec = json.loads(spec_text)
    if spec.get("wall"):
        workloads.clock = time.perf_counter
    out = workloads.run_worker(
        arm,
        names.split(","),
        spec["tasks"],
        spec["rounds"],
        spec["sizes"],
        spec.get("concat_repeat", 0),
        spec.get("rounds_for"),
    )
    print(json.dumps(out))


def memory_worker_main(argv: list[str]) -> None:
    what, spec_text = argv
    spec = json.loads(spec_text)
    if what == "live":
        out: Any = memory.live_per_task(spec["live_tasks"], spec["live_repeats"])
    elif what == "retained":
        out = memory.retained_after_batches(tuple(spec["batch_counts"]), spec["batch_size"])
    else:
        out = memory.long_run(spec["total"], spec["per_batch"], spec["guarded"])
    print(json.dumps(out))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        worker_main(argv[1:])
        return 0
    if argv[:1] == ["--memory-worker"]:
        memory_worker_main(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one round")
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if a budget is missed, 3 if the run's noise leaves one undecided",
    )
    parser.add_argument("--json", metavar="PATH", help="also write raw samples as JSON")
    parser.add_argument("--rounds", type=int, help="paired rounds per worker (guard arms)")
    parser.add_argument("--processes", type=int, help="worker processes per guard arm")
    parser.add_argument(
        "--arms",
        default=",".join((*GUARD_ARMS, *PEER_ARMS)),
        help="comma-separated: noise, warn, warn+sdk, otel, otel+sdk, debug",
    )
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated parts to skip: timings, scaling, memory, startup",
    )
    parser.add_argument(
        "--budget",
        action="append",
        default=[],
        metavar="KEY=LIMIT",
        help="use another limit for one budget (its key is shown in brackets after it)",
    )
    parser.add_argument(
        "--wall", action="store_true", help="time with the wall clock instead of CPU time"
    )
    parser.add_argument(
        "--workloads", default="", help="comma-separated subset of the timed workloads"
    )
    parser.add_argument(
        "--pythons",
        metavar="all|3.X,...",
        help="run this command on each of these Pythons in turn (all: 3.11 and 3.13, which must "
        "be found, and 3.10 and 3.12 when they are), each in its .venv-py3XX",
    )
    options = parser.parse_args(argv)
    if options.pythons:
        try:
            versions = _versions(options.pythons)
        except ValueError as error:
            parser.error(str(error))
        return on_each_python(versions, _without_option(argv, "--pythons"), options.json)
    plan = QUICK if options.quick else FULL
    if options.rounds:
        plan.rounds = options.rounds
    if options.processes:
        plan.processes = options.processes
    plan.wall = options.wall
    for override in options.budget:
        key, _, limit = override.partition("=")
        try:
            LIMIT_OVERRIDES[key] = float(limit)
        except ValueError:
            parser.error(f"--budget wants KEY=NUMBER, got {override!r}")
    plan.only = tuple(w for w in options.workloads.split(",") if w)
    arms = [a for a in options.arms.split(",") if a]
    unknown = [a for a in arms if a not in workloads.ARMS]
    if unknown:
        parser.error(f"unknown arm(s) {unknown}; known: {', '.join(workloads.ARMS)}")
    arms = _available(arms)
    skip = set(options.skip.split(","))
    results = Results(plan)
    started = time.perf_counter()
    print(f"asyncwarden benchmarks: {environment()}", flush=True)
    if "timings" not in skip:
        run_timings(plan, arms, results, progress=True)
    if "scaling" not in skip:
        run_scaling(plan, arms, results, progress=True)
    if "memory" not in skip:
        run_memory(plan, results, progress=True)
    if "startup" not in skip:
        run_startup(plan, results, progress=True)
    # --check asks for verdicts even on a quick run (that is how the check itself is tested).
    print(render(results, arms, judge=not options.quick or options.check))
    print(f"\n({time.perf_counter() - started:.0f} s)")
    if options.json:
        Path(options.json).write_text(
            json.dumps(
                {
                    "plan": plan.__dict__,
                    "samples": results.samples,
                    "facts": results.facts,
                    "memory": results.memory,
                    "startup": results.startup,
                    "errors": results.errors,
                },
                indent=1,
            )
        )
    verdicts = {b.verdict for b in budgets(results)}
    if results.errors:
        return EXIT_ERRORS
    if not options.check:
        return 0
    if "FAIL" in verdicts:
        return EXIT_FAIL
    return EXIT_INCONCLUSIVE if "INCONCLUSIVE" in verdicts else 0


# -- the same run on each Python -----------------------------------------------------------------

REQUIRED_PYTHONS = ("3.11", "3.13")
OPTIONAL_PYTHONS = ("3.10", "3.12")
# Worst first: a worker failure hides nothing, a FAIL outranks an undecided row.
_EXIT_RANK = (EXIT_ERRORS, EXIT_FAIL, EXIT_INCONCLUSIVE, 0)


def _versions(text: str) -> list[str]:
    if text == "all":
        return ["all"]
    versions = [v.strip() for v in text.split(",") if v.strip()]
    known = {*REQUIRED_PYTHONS, *OPTIONAL_PYTHONS}
    unknown = [v for v in versions if v not in known]
    if unknown or not versions:
        raise ValueError(
            f"--pythons wants 'all' or a list of {', '.join(sorted(known))}; got {text!r}"
        )
    return versions


def _interpreters(versions: list[str]) -> tuple[dict[str, str], list[str]]:
    """version -> interpreter with the project installed, and what is missing but required.

    The running interpreter serves its own version; the others are scripts/test-all-pythons'
    .venv-py3XX, built (or brought up to date) by it with the dev extra the arms need.
    """
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    wanted = [*REQUIRED_PYTHONS, *OPTIONAL_PYTHONS] if versions == ["all"] else versions
    required = REQUIRED_PYTHONS if versions == ["all"] else tuple(versions)
    others = [v for v in wanted if v != running]
    if others:
        builder = [sys.executable, str(HERE.parent / "scripts" / "test-all-pythons")]
        builder += ["--build-only", *(f"--python={v}" for v in others)]
        print(f"building venvs: {' '.join(builder[2:])}", file=sys.stderr, flush=True)
        subprocess.run(builder, check=False, stdout=sys.stderr)
    found: dict[str, str] = {}
    for version in sorted(wanted, key=lambda v: int(v.split(".")[1])):
        if version == running:
            found[version] = sys.executable
            continue
        interpreter = HERE.parent / f".venv-py{version.replace('.', '')}" / "bin" / "python"
        if interpreter.exists():
            found[version] = str(interpreter)
    return found, [v for v in required if v not in found]


def on_each_python(versions: list[str], argv: list[str], json_path: str | None) -> int:
    """Run ``run.py ARGV`` on each Python, one after the other (each run uses both cores)."""
    found, missing = _interpreters(versions)
    statuses: dict[str, int] = {}
    for version, interpreter in found.items():
        args = list(argv)
        if json_path:  # one file per Python: out.json -> out-py311.json
            path = Path(json_path)
            per_python = path.with_name(f"{path.stem}-py{version.replace('.', '')}{path.suffix}")
            args = [*_without_option(args, "--json"), "--json", str(per_python)]
        print(f"\n== Python {version} ({interpreter}) ==", flush=True)
        # This checkout's code, whichever checkout the venv was built from.
        paths = [str(HERE.parent / "src"), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
        statuses[version] = subprocess.run(
            [interpreter, str(HERE / "run.py"), *args], env=env, check=False
        ).returncode
    print("\nper Python:")
    words = {0: "PASS", EXIT_FAIL: "FAIL", EXIT_INCONCLUSIVE: "INCONCLUSIVE", EXIT_ERRORS: "ERROR"}
    for version, status in statuses.items():
        print(f"  {version}: exit {status} ({words.get(status, 'ERROR')})")
    for version in missing:
        print(f"  {version}: not found (pyenv or python{version} on PATH); required")
    if missing:
        return EXIT_ERRORS
    worst = min(statuses.values(), key=lambda s: _EXIT_RANK.index(s) if s in _EXIT_RANK else -1)
    return worst if statuses else EXIT_ERRORS


def _without_option(argv: list[str], name: str) -> list[str]:
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == name:
            skip = True
        elif not arg.startswith(f"{name}="):
            kept.append(arg)
    return kept


def _available(arms: list[str]) -> list[str]:
    """Drop peers that cannot run here, saying so, rather than failing the whole run."""
    kept = []
    for arm in arms:
        try:
            if arm in ("otel", "otel+sdk"):
                importlib.import_module("opentelemetry.instrumentation.asyncio")
            if arm in ("otel+sdk", "warn+sdk"):
                importlib.import_module("opentelemetry.sdk")
        except ImportError as error:
            print(f"  {arm}: not measured ({error})", file=sys.stderr)
            continue
        kept.append(arm)
    return kept


if __name__ == "__main__":
    sys.exit(main())
