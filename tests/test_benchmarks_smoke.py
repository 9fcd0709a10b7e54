"""The benchmark script runs end to end, as a user runs it (``--quick``: tiny sizes, one round).

Speed is what the benchmarks measure (``python benchmarks/run.py``, docs/performance.md); this
test asserts nothing about timings, only that every part ran and reported.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, run_python

RUN = ROOT / "benchmarks" / "run.py"


# Out of the default run (about a minute of worker processes); `make test` runs it on its own.
@pytest.mark.benchmarks
def test_quick_run_prints_every_row_arm_and_budget(tmp_path: Path) -> None:
    raw = tmp_path / "raw.json"
    done = run_python(str(RUN), "--quick", "--json", str(raw), cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    table = done.stdout
    for row in (
        "gather, 500 tasks",
        "wait, 500 tasks",
        "as_completed, 500 tasks",
        "thread pool + wait, 500 futures",
    ):
        assert row in table
    # 3.13's as_completed is also an async iterator: the issue's budget covers `async for` too.
    assert ("as_completed, async for, 500 tasks" in table) == (sys.version_info >= (3, 13))
    for row in (
        "batches x",
        "concat of 10 frames",
        "concat of 100 frames",
        "merge, 2 x",
        "ETL: 20 partitions x 100 rows, wait, concat, merge",
    ):
        assert row in table
    # The added cost per task, by batch size, for each fan-out API, with its flatness budget.
    assert "added cost per task (warn - unguarded), by batch size:" in table
    assert "[flat-wait]" in table
    for column in ("warn", "warn+SDK", "OTel asyncio", "OTel+SDK", "asyncio debug", "noise"):
        assert column in table.splitlines()[1]
    assert "start-up (python -c pass" in table
    assert "memory per live tracked task" in table
    # One tiny round cannot judge a budget: each is shown with its value and no verdict.
    assert "budgets (not judged: --quick measures too little):" in table
    assert "PASS" not in table
    assert "FAIL" not in table
    budget_lines = [line for line in table.splitlines() if line.startswith("   -    ")]
    assert any("start-up added, ASYNCWARDEN unset" in line for line in budget_lines)
    assert any("RSS growth beyond unguarded" in line for line in budget_lines)
    assert "errors:" not in table

    samples = json.loads(raw.read_text())
    for arm in ("noise", "warn", "warn+sdk", "otel", "otel+sdk", "debug"):
        pairs = samples["samples"][arm]["gather"]
        assert len(pairs["base"]) == len(pairs["arm"]) >= 1
    # A scaling row's noise is timed in the warn worker itself, around each guarded sample.
    scaled = [w for w in samples["samples"]["warn"] if w.startswith("scale-")]
    assert scaled
    for workload in scaled:
        pair = samples["samples"]["warn"][workload]
        assert len(pair["again"]) == len(pair["base"]) == len(pair["arm"]) >= 1
        assert workload not in samples["samples"]["noise"]
    # The SDK arms really exported spans to memory: their cost is measured, not skipped.
    assert samples["facts"]["otel+sdk"]["spans_exported"] > 0
    assert samples["facts"]["warn+sdk"]["spans_exported"] > 0
    retained = samples["memory"]["retained"]
    assert retained["registry_live_tasks"] == 0
    # Dead batches are dropped as new ones come: only the last few can still be queued.
    assert retained["registry_batches"] <= 3


def test_check_exits_non_zero_when_a_budget_is_missed(tmp_path: Path) -> None:
    # Only start-up is measured, against an impossible budget: --check must fail the run.
    done = run_python(
        str(RUN),
        "--quick",
        "--check",
        "--skip",
        "timings,scaling,memory",
        "--budget",
        "startup-set=-1000",
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    line = next(x for x in done.stdout.splitlines() if "[startup-set]" in x)
    assert line.split()[0] == "FAIL", line


def _run_module() -> Any:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import run
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return run


def _budget(value: float | None, noise: float) -> Any:
    return _run_module().Budget("key", "name", 1.07, value, noise=noise)


def _results_with(per_process: list[list[float]], aa: list[float]) -> Any:
    """Results of a run of the gather row only: warn ratios by worker process, A/A ratios."""
    run = _run_module()
    results = run.Results(run.FULL)
    base = [1.0] * sum(map(len, per_process))
    results.samples = {
        "warn": {
            "gather": {
                "base": base,
                "arm": [r for process in per_process for r in process],
                "process": [n for n, process in enumerate(per_process) for _ in process],
            }
        },
        "noise": {"gather": {"base": [1.0] * len(aa), "arm": aa, "process": [0] * len(aa)}},
    }
    return results


def _gather_budget(results: Any) -> Any:
    return next(b for b in _run_module().budgets(results) if b.key == "warn-gather")


def test_processes_that_disagree_widen_the_margin_past_the_a_a_noise() -> None:
    quiet_aa = [1.0, 1.001, 0.999, 1.0, 1.002, 0.998, 1.0, 1.001]
    # Each process alone is steady and its pooled median is under the limit; the processes
    # disagree by more than the A/A arm shows. A pooled margin called this PASS.
    apart = [[1.02] * 4, [1.09] * 4, [1.03] * 4, [1.08] * 4, [1.04] * 4, [1.06] * 4]
    run = _run_module()
    results = _results_with(apart, quiet_aa)
    budget = _gather_budget(results)
    assert budget.noise > run.spread(results, "gather") * 5
    assert budget.verdict == "INCONCLUSIVE"
    # The same values with processes that agree: the A/A noise is the margin again.
    together = [[1.02, 1.09, 1.03, 1.08]] * 3 + [[1.04, 1.06, 1.05, 1.05]] * 3
    assert run.between_processes(_results_with(together, quiet_aa), "warn", "gather") < 0.01
    # A real regression stays a FAIL however the processes disagree.
    slow = [[1.25] * 4, [1.35] * 4, [1.28] * 4, [1.31] * 4, [1.22] * 4, [1.40] * 4]
    assert _gather_budget(_results_with(slow, quiet_aa)).verdict == "FAIL"


@pytest.mark.parametrize(
    ("value", "noise", "verdict"),
    [
        (1.05, 0.01, "PASS"),
        (1.10, 0.01, "FAIL"),
        (1.05, 0.03, "INCONCLUSIVE"),  # under the limit, but the run cannot tell
        (1.09, 0.03, "INCONCLUSIVE"),  # over it, as far as a loaded machine's noise reaches
        (1.60, 0.30, "FAIL"),  # a real regression is further out than any noise
        (None, 0.0, "FAIL"),  # not measured
    ],
)
def test_a_budget_is_judged_against_the_noise_of_its_run(
    value: float | None, noise: float, verdict: str
) -> None:
    assert _budget(value, noise).verdict == verdict


# Out of the default run (timed worker processes): a regression injected into the guarded arm
# only, through the environment of the process a user starts, must FAIL --check, not be taken
# for noise.
@pytest.mark.benchmarks
def test_check_fails_a_real_regression_injected_into_the_guarded_arm(tmp_path: Path) -> None:
    args = (
        str(RUN),
        "--check",
        "--workloads",
        "gather",
        "--arms",
        "noise,warn",
        "--skip",
        "scaling,memory,startup",
        "--rounds",
        "2",
        "--processes",
        "4",
    )
    done = run_python(
        *args, env={"AW_BENCH_INJECT": "per-task-callback"}, cwd=tmp_path, timeout=600
    )
    assert done.returncode == 1, done.stdout + done.stderr
    line = next(x for x in done.stdout.splitlines() if "[warn-gather]" in x)
    assert line.split()[0] == "FAIL", line


@pytest.mark.benchmarks
def test_one_command_runs_the_check_on_each_python_and_sums_up(tmp_path: Path) -> None:
    """``run.py --check --pythons 3.11,3.13``: each Python's run, then the worst exit status."""
    raw = tmp_path / "raw.json"
    done = run_python(
        str(RUN),
        "--quick",
        "--check",
        "--arms",
        "noise,warn",
        "--skip",
        "scaling,memory,startup",
        "--workloads",
        "gather",
        "--budget",
        "warn-gather=-1",  # impossible: every Python must FAIL it
        "--json",
        str(raw),
        "--pythons",
        "3.11,3.13",
        cwd=tmp_path,
        timeout=900,
    )
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    for version in ("3.11", "3.13"):
        assert f"== Python {version} (" in out
        assert f"  {version}: exit 1 (FAIL)" in out
        data = json.loads((tmp_path / f"raw-py{version.replace('.', '')}.json").read_text())
        assert data["samples"]["warn"]["gather"]["arm"]
    headers = [line for line in out.splitlines() if "asyncwarden benchmarks: Python" in line]
    assert [line.split("Python ")[1][:4] for line in headers] == ["3.11", "3.13"]


def test_pythons_option_refuses_an_unknown_version(tmp_path: Path) -> None:
    done = run_python(str(RUN), "--pythons", "3.9", cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert "--pythons wants 'all' or a list of 3.10, 3.11, 3.12, 3.13; got '3.9'" in done.stderr
    assert "Traceback" not in done.stderr


def _instructions_script() -> Path:
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed (scripts/system-deps installs it)")
    return ROOT / "benchmarks" / "instructions.py"


@pytest.mark.benchmarks
def test_instruction_counts_run_end_to_end_and_see_the_guard(tmp_path: Path) -> None:
    """``benchmarks/instructions.py`` as a user runs it: one row per workload, parsed back."""
    script = _instructions_script()
    done = run_python(
        str(script), "--workloads", "gather,wait", "--tasks", "300", cwd=tmp_path, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()[2:]}
    assert set(rows) == {"gather", "wait"}
    for plain, warn, _added, ratio in rows.values():
        # A guarded task does the unguarded task's work and the guard's: never less.
        assert float(warn.replace(",", "")) > float(plain.replace(",", "")) > 0
        assert float(ratio) > 1.0


@pytest.mark.benchmarks
def test_flatness_on_counts_reports_both_sizes_and_a_verdict(tmp_path: Path) -> None:
    """``instructions.py --scaling`` as a user runs it: the flatness budget judged on counts."""
    script = _instructions_script()
    done = run_python(
        str(script),
        "--scaling",
        "--workloads",
        "gather,batches",
        "--tasks",
        "200",
        "--large",
        "800",
        cwd=tmp_path,
        timeout=600,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    rows = [line.split() for line in done.stdout.splitlines()[2:]]
    # batches is not a fan-out API of the budget: only gather is judged.
    assert [row[0] for row in rows] == ["gather"]
    _, small, large, ratio, _, _, verdict, *_ = rows[0]
    assert float(small.replace(",", "")) > 0 and float(large.replace(",", "")) > 0
    assert float(ratio) == pytest.approx(
        float(large.replace(",", "")) / float(small.replace(",", "")), rel=0.01
    )
    assert verdict == ("PASS" if float(ratio) <= 1.2 else "FAIL")
    assert done.returncode == (0 if verdict == "PASS" else 1)


@pytest.mark.benchmarks
def test_collector_script_reports_each_workload_and_size_both_ways(tmp_path: Path) -> None:
    """``benchmarks/collector.py`` as a user runs it: a row per workload and size, both columns."""
    script = ROOT / "benchmarks" / "collector.py"
    done = run_python(
        str(script), "--workloads", "gather,wait", "--sizes", "200:1,400:1", cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line.split() for line in done.stdout.splitlines()[2:]]
    assert [(row[0], row[1]) for row in rows] == [
        ("gather", "200"),
        ("gather", "400"),
        ("wait", "200"),
        ("wait", "400"),
    ]
    for row in rows:
        # "+0.12 (plain 6.40)" twice: the unguarded cost per task is a positive time.
        plains = [float(row[i].rstrip(")")) for i in (4, 7)]
        assert all(plain > 0 for plain in plains), row


@pytest.mark.benchmarks
def test_etl_parts_script_times_each_part_both_ways_and_the_guard_was_on(tmp_path: Path) -> None:
    """``benchmarks/etl_parts.py`` as a user runs it: every part, both sides, the collector, and
    proof that the warn side ran guarded (the combined frame traced to each partition's task)."""
    done = run_python(str(ROOT / "benchmarks" / "etl_parts.py"), "--quick", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    parts = {line[:12].strip(): line[12:].split() for line in lines[2:6]}
    assert list(parts) == ["whole run", "fan-out", "concat", "merge"]
    for name, (plain, warn, added, ratio) in parts.items():
        before, after = float(plain.removesuffix("ms")), float(warn.removesuffix("ms"))
        assert before > 0 and after > 0, name
        assert float(ratio) == pytest.approx(after / before, abs=0.002), name
        assert float(added.removesuffix("ms")) == pytest.approx(after - before, abs=0.002), name
    assert lines[6].startswith("collections per run, unguarded: young ")
    assert lines[7].startswith("collections per run, warn     : young ")
    assert lines[8] == "combined frame traced to tasks: unguarded 0, warn 20"
