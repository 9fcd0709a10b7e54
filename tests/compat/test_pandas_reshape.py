"""pandas' own reshape tests give the same results with the guard switched on as without it.

The tests ship inside the installed pandas (``pandas/tests/reshape/concat`` and ``merge``). Each
run is a fresh pytest process started from an empty folder with its own empty ini file (the venv
lives inside this repository, and pytest would otherwise adopt our pyproject.toml's settings);
the guarded one is switched on by ``ASYNCWARDEN=warn`` and the ``.pth`` start-up hook, as a user
does. Compared per test node id. Runs on the pandas of the test venv (3.x) and on pandas 2.2 in
a venv of its own that a session fixture builds once and keeps (``.venv-pandas22``).
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.compat

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SUITES = ("tests/reshape/concat", "tests/reshape/merge")
RUN_TIMEOUT = 900.0
# The plugins the child pytest must not load: pytest-asyncio trips over pandas' conftest, ours
# would switch the guard on by itself, and nothing may be cached in site-packages.
BLOCKED = ("asyncio", "asyncwarden", "cacheprovider", "xdist", "randomly")


def _environment(mode: str | None, outcomes: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ASYNCWARDEN", "PYTEST_", "COV_CORE_"))
    }
    if mode is not None:
        env["ASYNCWARDEN"] = mode
    env["ASYNCWARDEN_OUTCOMES_FILE"] = str(outcomes)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    return env


def _pandas_of(python: str) -> tuple[Path, str]:
    found = subprocess.run(
        [
            python,
            "-c",
            "import os, pandas; print(os.path.dirname(pandas.__file__)); print(pandas.__version__)",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=_environment(None, Path(os.devnull)),
        timeout=120,
    )
    folder, version = found.stdout.split()
    return Path(folder), version


def _run_both(python: str, package: Path, work: Path) -> dict[str, dict[str, Any]]:
    """The reshape suites once without and once with the guard, side by side."""
    started = []
    for mode in (None, "warn"):
        folder = work / (mode or "off")
        folder.mkdir(parents=True)
        (folder / "pytest.ini").write_text("[pytest]\n")
        outcomes = folder / "outcomes.json"
        command = [python, "-m", "pytest", *(str(package / suite) for suite in SUITES)]
        command += ["-q", "-c", "pytest.ini", "--rootdir", ".", "-p", "_pytest_outcomes"]
        for plugin in BLOCKED:
            command += ["-p", f"no:{plugin}"]
        with (folder / "pytest.log").open("wb") as log:
            process = subprocess.Popen(
                command,
                cwd=folder,
                env=_environment(mode, outcomes),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started.append((mode or "off", process, folder))
    results = {}
    for label, process, folder in started:
        try:
            process.wait(timeout=RUN_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        log = (folder / "pytest.log").read_text(errors="replace")
        assert (folder / "outcomes.json").exists(), f"{label}: no outcomes\n{log[-3000:]}"
        result = json.loads((folder / "outcomes.json").read_text())
        result["closing_line"] = log.strip().splitlines()[-1] if log.strip() else ""
        results[label] = result
    return results


def _check_same_outcome(python: str, work: Path) -> dict[str, Any]:
    started = time.perf_counter()
    package, version = _pandas_of(python)
    runs = _run_both(python, package, work)
    plain, guarded = runs["off"], runs["warn"]

    assert plain["guard"]["pandas"] == guarded["guard"]["pandas"] == version
    # The guarded run was guarded (all four entry points wrapped), the plain one not at all.
    assert guarded["guard"]["installed"], guarded["guard"]
    for name in ("concat", "merge", "DataFrame.merge", "DataFrame.join"):
        assert guarded["guard"][name] is True, (name, guarded["guard"])
        assert plain["guard"][name] is False, (name, plain["guard"])
    assert not plain["guard"]["asyncwarden_imported"]
    # pandas' conftest imports asyncio after pandas: the guard must have patched it all the same.
    assert guarded["guard"]["asyncio.gather"] or not guarded["guard"]["asyncio_imported"]

    differences = {
        node: (
            plain["outcomes"].get(node),
            guarded["outcomes"].get(node),
            guarded["details"].get(node, ""),
        )
        for node in sorted(plain["outcomes"].keys() | guarded["outcomes"].keys())
        if plain["outcomes"].get(node) != guarded["outcomes"].get(node)
    }
    summary = {
        "python": guarded["python"],
        "pandas": version,
        "off": dict(collections.Counter(plain["outcomes"].values())),
        "warn": dict(collections.Counter(guarded["outcomes"].values())),
        "closing_lines": {"off": plain["closing_line"], "warn": guarded["closing_line"]},
        "warnings": {"off": len(plain["warnings"]), "warn": len(guarded["warnings"])},
        "differences": differences,
        "seconds": round(time.perf_counter() - started, 1),
    }
    folder = os.environ.get("ASYNCWARDEN_COMPAT_SUMMARY_DIR")
    if folder:
        Path(folder, f"pandas-reshape-{version}-py{guarded['python']}.json").write_text(
            json.dumps(summary, indent=1, sort_keys=True)
        )
    print(json.dumps(summary, indent=1, sort_keys=True))

    assert not differences, "outcomes differ with the guard on (off, warn, detail):\n" + "\n".join(
        f"  {node}: {value}" for node, value in differences.items()
    )
    assert plain["exitstatus"] == guarded["exitstatus"]
    assert len(guarded["outcomes"]) > 1000, "pandas' reshape tests were not found"
    assert summary["warn"].get("passed", 0) > 1000
    # pytest's warnings summary: nothing added, nothing attributed to another file or line.
    fields = ("category", "message", "filename", "lineno", "when")
    seen = [
        collections.Counter(tuple(w[f] for f in fields) for w in run["warnings"])
        for run in runs.values()
    ]
    assert seen[0] == seen[1], (seen[1] - seen[0], seen[0] - seen[1])
    # Failing open hides a bug from the user, not from this test.
    assert not guarded["guard"]["internal_errors"], guarded["guard"]["internal_errors"]
    return summary


def test_pandas_reshape_suite_has_the_same_outcome_with_the_guard_on(tmp_path: Path) -> None:
    summary = _check_same_outcome(sys.executable, tmp_path)
    import pandas

    assert summary["pandas"] == pandas.__version__


# -- pandas 2.2 in a venv of its own -------------------------------------------------------------


def test_pandas_2_2_reshape_suite_has_the_same_outcome_with_the_guard_on(
    pandas22_python: str, tmp_path: Path
) -> None:
    summary = _check_same_outcome(pandas22_python, tmp_path)
    assert summary["pandas"].startswith("2.2."), summary["pandas"]
