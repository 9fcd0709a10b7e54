"""CPython's own concurrent.futures tests give the same results with the guard switched on.

As ``test_cpython_asyncio``: the tests come from the running interpreter's standard library
(``test.test_concurrent_futures``, shipped by 3.10 and 3.13 here; the 3.11 and 3.12 builds on
this machine lack it, and the test says so and skips). Both runs happen side by side in
subprocesses of this interpreter, the guarded one switched on by ``ASYNCWARDEN=warn`` and the
``.pth`` start-up hook, so the pools' worker processes are guarded too. Compared per test id,
with what ``--fail-env-changed`` would notice.

Left out, to keep the run near a minute: the deadlock tests (a worker crashing or exiting
mid-pickle: the executor's own crash handling, never a call the guard follows) and the process
pools started with "spawn" (the same tests as "fork" and "forkserver", which run; spawn's
start-up alone made them half of the suite's time, 260 s of CPU on 3.13 here).
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

from tests.compat.test_cpython_asyncio import (
    RUNNER,
    _deal,
    _differences_that_reproduce,
    _environment,
    _events,
    _merge,
    _run,
)

pytestmark = pytest.mark.compat

PACKAGE = "test.test_concurrent_futures"
LEFT_OUT = re.compile(r"Deadlock|ProcessPoolSpawn")
SHARDS = int(os.environ.get("ASYNCWARDEN_COMPAT_SHARDS", "4"))


def _counts(outcomes: dict[str, str]) -> dict[str, dict[str, int]]:
    """Outcomes per module of the package (3.13) or per class of the one module (3.10)."""
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for test_id, outcome in outcomes.items():
        match = re.search(r"test\.test_concurrent_futures\.(\w+)", test_id)
        counts[match.group(1) if match else "?"][outcome] += 1
    return {name: dict(c) for name, c in sorted(counts.items())}


def test_cpython_concurrent_futures_suite_has_the_same_outcome_with_the_guard_on(
    tmp_path: Path,
) -> None:
    started = time.perf_counter()
    listing = tmp_path / "classes.json"
    subprocess.run(
        [sys.executable, str(RUNNER), "--list", str(listing), PACKAGE],
        check=True,
        env=_environment(None),
        cwd=tmp_path,
        timeout=120,
    )
    found = json.loads(listing.read_text())
    if found["missing"]:
        pytest.skip(f"this Python ships no {PACKAGE}")
    classes = {name: n for name, n in found["classes"].items() if not LEFT_OUT.search(name)}
    assert sum(classes.values()) > 150, "CPython's concurrent.futures tests were not found"
    shards = _deal(classes, SHARDS)

    plain, guarded = map(_merge, _run([(None, shards), ("warn", shards)], tmp_path / "first"))

    assert all(all(state.values()) for state in guarded["guard"]), guarded["guard"]
    assert guarded["batches_seen"] > 20, "the guard was installed but saw no batch"
    assert not any(state["asyncwarden_imported"] for state in plain["guard"]), plain["guard"]

    differences, rerun = _differences_that_reproduce(plain, guarded, tmp_path / "again")
    summary: dict[str, Any] = {
        "python": sys.version.split()[0],
        "classes": len(classes),
        "left_out": sorted(set(found["classes"]) - set(classes)),
        "off": _counts(plain["outcomes"]),
        "warn": _counts(guarded["outcomes"]),
        "differences": differences,
        "flaky_first_run": {k: v for k, v in rerun.items() if k not in differences},
        "batches_seen": guarded["batches_seen"],
        "seconds": round(time.perf_counter() - started, 1),
    }
    folder = os.environ.get("ASYNCWARDEN_COMPAT_SUMMARY_DIR")
    if folder:
        name = f"cpython-futures-{sys.version_info[0]}.{sys.version_info[1]}.json"
        Path(folder, name).write_text(json.dumps(summary, indent=1, sort_keys=True))
    print(json.dumps(summary, indent=1, sort_keys=True))

    assert not differences, "outcomes differ with the guard on (off, warn, detail):\n" + "\n".join(
        f"  {test_id}: {value}" for test_id, value in differences.items()
    )
    assert len(plain["outcomes"]) == len(guarded["outcomes"]) > 150
    for key, fields in (
        ("unraisable", ("type", "message", "object")),
        ("thread_errors", ("type", "message")),
    ):
        assert _events(plain[key], *fields) == _events(guarded[key], *fields), key
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
    assert not guarded["internal_errors"], guarded["internal_errors"]
