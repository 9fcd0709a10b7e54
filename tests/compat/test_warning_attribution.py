"""Warnings asyncio itself emits keep their category, text, file and line with the guard on.

A wrapper is a frame between the caller and asyncio: where asyncio attributes a warning by
stack level (3.10's wait given coroutines) or by walking up to the first frame outside asyncio
(3.12+'s "There is no current event loop"), a careless wrapper takes the caller's place, and a
warnings filter on the caller's module, or the default filter that shows DeprecationWarning only
for ``__main__``, no longer applies. Each case runs as a user's script, guard off and on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.compat

SCRIPT = Path(__file__).with_name("_deprecated_calls.py")
CASES = [
    "no_loop_gather",
    "no_loop_gather_empty",
    "no_loop_as_completed",
    "wait_coroutines",
    "wait_rejected",
    "unawaited_wait",
]


def _run(case: str, mode: str | None, *options: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCWARDEN")}
    if mode is not None:
        env["ASYNCWARDEN"] = mode
    done = subprocess.run(
        [sys.executable, *options, str(SCRIPT), case],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "asyncwarden: internal error" not in done.stderr, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("case", CASES)
def test_asyncio_warnings_are_attributed_to_the_same_line_with_the_guard_on(case: str) -> None:
    plain = _run(case, None)
    guarded = _run(case, "warn")
    assert guarded == plain
    for category, _, filename, _ in guarded["warnings"]:  # type: ignore[attr-defined]
        if category == "DeprecationWarning":
            assert filename == SCRIPT.name, (category, filename)


@pytest.mark.parametrize("case", ["no_loop_gather", "wait_coroutines"])
def test_deprecation_as_error_raises_the_same_with_the_guard_on(case: str) -> None:
    options = ("-W", "error::DeprecationWarning")
    assert _run(case, "warn", *options) == _run(case, None, *options)
