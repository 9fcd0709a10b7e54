"""CPython's own asyncio tests give the same results with the guard switched on as without it.

The tests come from the running interpreter's standard library (``test.test_asyncio``). Both runs
happen in subprocesses of this interpreter; the guarded one is switched on the way a user switches
it on, by ``ASYNCWARDEN=warn`` and asyncwarden's ``.pth`` start-up hook, so every process the tests
start is guarded too. Compared per test id, not by exit code, together with what regrtest's
``--fail-env-changed`` would notice: unraisable exceptions, exceptions in threads, asyncio's own
error log and stray warnings.
"""

from __future__ import annotations

import collections
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.compat

RUNNER = Path(__file__).with_name("_run_stdlib_tests.py")

# Left out where a version lacks them: taskgroups and timeouts before 3.11, eager tasks before 3.12.
MODULES = [
    "test.test_asyncio.test_tasks",
    "test.test_asyncio.test_waitfor",
    "test.test_asyncio.test_taskgroups",
    "test.test_asyncio.test_timeouts",
    "test.test_asyncio.test_runners",
    "test.test_asyncio.test_eager_task_factory",
    "test.test_asyncio.test_locks",
    "test.test_asyncio.test_queues",
    "test.test_asyncio.test_futures",
    "test.test_asyncio.test_base_events",
]

# Processes per run. The tests mostly sleep: two runs of four processes each keep 2 cores busy.
SHARDS = int(os.environ.get("ASYNCWARDEN_COMPAT_SHARDS", "4"))
CHILD_TIMEOUT = 600.0

_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")


def _environment(mode: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCWARDEN")}
    if mode is not None:
        env["ASYNCWARDEN"] = mode
    return env


def _run(runs: list[tuple[str | None, list[list[str]]]], work: Path) -> list[list[dict[str, Any]]]:
    """Start every (mode, names per process) run at once; return each run's JSON results.

    All processes run side by side, so timing-sensitive tests see the same load in both modes.
    """
    work.mkdir(parents=True, exist_ok=True)
    started = []
    for run, (mode, names_per_process) in enumerate(runs):
        for index, names in enumerate(names_per_process):
            stem = work / f"{mode or 'off'}-{run}-{index}"
            with stem.with_suffix(".log").open("wb") as log:
                process = subprocess.Popen(
                    [sys.executable, str(RUNNER), str(stem.with_suffix(".json")), *names],
                    cwd=work,
                    env=_environment(mode),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            started.append((run, process, stem))
    results: list[list[dict[str, Any]]] = [[] for _ in runs]
    for run, process, stem in started:
        try:
            process.wait(timeout=CHILD_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        log = stem.with_suffix(".log").read_text(errors="replace")
        assert process.returncode == 0, f"{stem.name}: exited {process.returncode}\n{log[-3000:]}"
        result = json.loads(stem.with_suffix(".json").read_text())
        result["internal_errors"] = [
            line for line in log.splitlines() if line.startswith("asyncwarden: internal error")
        ]
        results[run].append(result)
    return results


def _deal(classes: dict[str, int], shards: int) -> list[list[str]]:
    """Largest class first onto the lightest process; each process keeps the load order."""
    order = {name: i for i, name in enumerate(classes)}
    dealt: list[list[str]] = [[] for _ in range(shards)]
    loads = [0] * shards
    for name in sorted(classes, key=lambda n: (-classes[n], order[n])):
        lightest = loads.index(min(loads))
        dealt[lightest].append(name)
        loads[lightest] += classes[name]
    return [sorted(names, key=order.__getitem__) for names in dealt if names]


def _merge(results: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {
        "outcomes": {},
        "details": {},
        "batches_seen": 0,
        "guard": [],
        "unraisable": [],
        "thread_errors": [],
        "asyncio_errors_logged": [],
        "warnings_shown": [],
        "seconds": 0.0,
        "class_seconds": {},
        "internal_errors": [],
    }
    for result in results:
        merged["outcomes"].update(result["outcomes"])
        merged["details"].update(result["details"])
        merged["class_seconds"].update(result["class_seconds"])
        merged["batches_seen"] += result["batches_seen"]
        merged["guard"] += [result["guard_before"], result["guard_after"]]
        merged["seconds"] = max(merged["seconds"], result["seconds"])
        for key in (
            "unraisable",
            "thread_errors",
            "asyncio_errors_logged",
            "warnings_shown",
            "internal_errors",
        ):
            merged[key] += result[key]
    return merged


def _rerunnable(test_id: str) -> str:
    """The loadable name for a test id: subtests run with their test, fixtures with their class."""
    fixture = re.match(
        r"(?:setUpClass|tearDownClass|setUpModule|tearDownModule) \((.+)\)$", test_id
    )
    if fixture:
        return fixture.group(1)
    return re.sub(r" \(.*\)$", "", test_id)


def _covered(test_id: str, names: list[str]) -> bool:
    """Whether running ``names`` runs ``test_id`` again (a test, its subtests, its class)."""
    name = _rerunnable(test_id)
    return any(name == n or name.startswith(n + ".") for n in names)


def _differences_that_reproduce(
    plain: dict[str, Any], guarded: dict[str, Any], work: Path
) -> tuple[dict[str, tuple[Any, ...]], dict[str, tuple[str | None, str | None]]]:
    """Tests whose outcome differs with the guard on, and still does when run again.

    Returns ``(differences, rerun)``: test id -> (off, warn, detail) for the differences that
    reproduced, and test id -> (off, warn) from the second run of every first-run difference.
    ``plain`` and ``guarded`` take the second run's outcomes in place of the first's.
    """
    differing = sorted(
        test_id
        for test_id in plain["outcomes"].keys() | guarded["outcomes"].keys()
        if plain["outcomes"].get(test_id) != guarded["outcomes"].get(test_id)
    )
    rerun: dict[str, tuple[str | None, str | None]] = {}
    if differing:
        # A difference must reproduce: the same tests again, one process per mode, side by side.
        names = sorted({_rerunnable(test_id) for test_id in differing})
        again_plain, again_guarded = map(_merge, _run([(None, [names]), ("warn", [names])], work))
        for test_id in differing:
            rerun[test_id] = (
                again_plain["outcomes"].get(test_id),
                again_guarded["outcomes"].get(test_id),
            )
        for result, again in ((plain, again_plain), (guarded, again_guarded)):
            # The second run's word replaces the first's, for each test and its subtests.
            for test_id in [t for t in result["outcomes"] if _covered(t, names)]:
                del result["outcomes"][test_id]
            result["outcomes"].update(again["outcomes"])
            result["details"].update(again["details"])
    differences = {
        test_id: (
            plain["outcomes"].get(test_id),
            guarded["outcomes"].get(test_id),
            guarded["details"].get(test_id, ""),
        )
        for test_id in differing
        if plain["outcomes"].get(test_id) != guarded["outcomes"].get(test_id)
    }
    return differences, rerun


def _events(events: list[dict[str, Any]], *keys: str) -> collections.Counter[tuple[Any, ...]]:
    return collections.Counter(tuple(event.get(key) for key in keys) for event in events)


def _module_counts(outcomes: dict[str, str]) -> dict[str, collections.Counter[str]]:
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for test_id, outcome in outcomes.items():
        match = re.search(r"test\.test_asyncio\.(\w+)", test_id)
        counts[match.group(1) if match else "?"][outcome] += 1
    return counts


def _write_summary(summary: dict[str, Any]) -> None:
    """For scripts/test-all-pythons: one JSON file per Python, in a folder it names."""
    folder = os.environ.get("ASYNCWARDEN_COMPAT_SUMMARY_DIR")
    if folder:
        name = f"cpython-asyncio-{sys.version_info[0]}.{sys.version_info[1]}.json"
        Path(folder, name).write_text(json.dumps(summary, indent=1, sort_keys=True))


def test_cpython_asyncio_suite_has_the_same_outcome_with_the_guard_on(tmp_path: Path) -> None:
    started = time.perf_counter()
    listing = tmp_path / "classes.json"
    subprocess.run(
        [sys.executable, str(RUNNER), "--list", str(listing), *MODULES],
        check=True,
        env=_environment(None),
        cwd=tmp_path,
        timeout=120,
    )
    found = json.loads(listing.read_text())
    if "test.test_asyncio.test_tasks" in found["missing"]:
        # Debian ships CPython's tests apart (scripts/system-deps installs them for its python3).
        version = f"{sys.version_info[0]}.{sys.version_info[1]}"
        pytest.skip(
            f"CPython's test suite is not installed for {sys.executable} "
            f"(Debian: libpython{version}-testsuite)"
        )
    assert sum(found["classes"].values()) > 500, "CPython's asyncio tests were not found"
    shards = _deal(found["classes"], SHARDS)

    plain, guarded = map(_merge, _run([(None, shards), ("warn", shards)], tmp_path / "first"))

    # The guarded run was guarded, in every process, from start to end; the plain one was not.
    assert all(all(state.values()) for state in guarded["guard"]), guarded["guard"]
    assert guarded["batches_seen"] > 100, "the guard was installed but saw no batch"
    assert not any(state["asyncwarden_imported"] for state in plain["guard"]), plain["guard"]

    differences, rerun = _differences_that_reproduce(plain, guarded, tmp_path / "again")

    summary = {
        "python": sys.version.split()[0],
        "modules": sorted({m.rsplit(".", 1)[-1] for m in MODULES} - set(found["missing"])),
        "missing": found["missing"],
        "off": {m: dict(c) for m, c in sorted(_module_counts(plain["outcomes"]).items())},
        "warn": {m: dict(c) for m, c in sorted(_module_counts(guarded["outcomes"]).items())},
        "differences": differences,
        "flaky_first_run": {k: v for k, v in rerun.items() if k not in differences},
        "batches_seen": guarded["batches_seen"],
        "seconds": round(time.perf_counter() - started, 1),
        "processes_per_run": len(shards),
    }
    _write_summary(summary)
    print(json.dumps(summary, indent=1, sort_keys=True))

    assert not differences, "outcomes differ with the guard on (off, warn, detail):\n" + "\n".join(
        f"  {test_id}: {value}" for test_id, value in differences.items()
    )
    assert len(plain["outcomes"]) == len(guarded["outcomes"]) > 500

    # Nothing the tests cannot catch may appear, or disappear, because of the guard.
    for key, fields in (
        ("unraisable", ("type", "message", "object")),
        ("thread_errors", ("type", "message")),
        ("asyncio_errors_logged", ("message",)),
    ):
        assert _events(plain[key], *fields) == _events(guarded[key], *fields), (
            key,
            _events(guarded[key], *fields) - _events(plain[key], *fields),
            _events(plain[key], *fields) - _events(guarded[key], *fields),
        )
    # Warnings keep their category, text and the file they are attributed to; a warning pointing
    # into asyncwarden or wrapt would mean a wrapper frame took the place of the caller's.
    package = str(Path(sys.modules["asyncwarden"].__file__ or "").parent)
    misattributed = [
        w
        for w in guarded["warnings_shown"]
        if w["filename"].startswith(package) or "/wrapt/" in w["filename"]
    ]
    assert not misattributed, misattributed
    stray = [w for w in guarded["warnings_shown"] if not w["finding"]]
    fields = ("category", "message", "filename")
    assert _events(plain["warnings_shown"], *fields) == _events(stray, *fields)
    # Failing open hides a bug from the user, not from this test.
    assert not guarded["internal_errors"], guarded["internal_errors"]
