"""A pytest plugin for a foreign suite: every test's outcome, and whether the guard was on, as JSON.

Loaded with ``-p _pytest_outcomes`` (its folder on PYTHONPATH); writes to the file named by
``ASYNCWARDEN_OUTCOMES_FILE`` when the session ends. Depends on pytest and the standard library
only, so it runs in any venv.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

import pytest

_outcomes: dict[str, str] = {}
_details: dict[str, str] = {}
_warnings: list[dict[str, Any]] = []


def _set(nodeid: str, outcome: str, report: pytest.TestReport) -> None:
    # A failure in any phase wins over a pass in another; an error in teardown is still an error.
    if _outcomes.get(nodeid) in {"failed", "error"} and outcome == "passed":
        return
    _outcomes[nodeid] = outcome
    if outcome in {"failed", "error"}:
        _details[nodeid] = str(report.longrepr).strip().splitlines()[-1][:400]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    xfail = hasattr(report, "wasxfail")
    if report.when == "call":
        if report.passed:
            _set(report.nodeid, "xpassed" if xfail else "passed", report)
        elif report.skipped:
            _set(report.nodeid, "xfailed" if xfail else "skipped", report)
        else:
            _set(report.nodeid, "failed", report)
    elif report.failed:
        _set(report.nodeid, "error", report)
    elif report.skipped:  # skipped in setup (skip marks, missing optional dependency)
        _set(report.nodeid, "xfailed" if xfail else "skipped", report)


def pytest_warning_recorded(
    warning_message: Any, when: str, nodeid: str, location: tuple[str, int, str] | None
) -> None:
    """Warnings that reach pytest's summary: the guard must add none and move none."""
    message = re.sub(r"0x[0-9a-fA-F]+", "ADDR", str(warning_message.message))[:160]
    _warnings.append(
        {
            "category": warning_message.category.__name__,
            "message": message,
            "filename": warning_message.filename,
            "lineno": warning_message.lineno,
            "when": when,
        }
    )


def _guard_state() -> dict[str, Any]:
    pandas = sys.modules.get("pandas")
    aw = sys.modules.get("asyncwarden")

    def wrapped(obj: object) -> bool:
        return type(obj).__name__ == "FunctionWrapper"

    state: dict[str, Any] = {
        "asyncwarden_imported": aw is not None,
        "installed": bool(aw is not None and aw.is_installed()),
        "pandas": getattr(pandas, "__version__", None),
    }
    if pandas is not None:
        frame = vars(pandas.DataFrame)
        state["concat"] = wrapped(pandas.concat)
        state["merge"] = wrapped(pandas.merge)
        state["DataFrame.merge"] = wrapped(frame.get("merge"))
        state["DataFrame.join"] = wrapped(frame.get("join"))
    asyncio = sys.modules.get("asyncio")
    state["asyncio_imported"] = asyncio is not None
    state["asyncio.gather"] = asyncio is not None and wrapped(asyncio.gather)
    failopen = sys.modules.get("asyncwarden._failopen")
    state["internal_errors"] = sorted(getattr(failopen, "_reported", ()))
    return state


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get("ASYNCWARDEN_OUTCOMES_FILE")
    if not target:
        return
    result = {
        "python": sys.version.split()[0],
        "exitstatus": int(exitstatus),
        "guard": _guard_state(),
        "outcomes": _outcomes,
        "details": _details,
        "warnings": _warnings,
    }
    with open(target, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1, sort_keys=True)
