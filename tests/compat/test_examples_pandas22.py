"""The article's examples under the guard on pandas 2.2, as a user runs them.

The main run uses pandas 3; the pandas wrappers, lineage links and rules must hold on 2.2 too
(``.venv-pandas22``: Python 3.11, pandas 2.2, asyncwarden installed editable).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.compat

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(python: str, example: str, mode: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCWARDEN")}
    env["ASYNCWARDEN"] = mode
    return subprocess.run(
        [python, str(EXAMPLES / example)],
        env=env,
        cwd=EXAMPLES.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _line(example: str, marker: str) -> int:
    lines = (EXAMPLES / example).read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if marker in line)


def test_the_venv_really_has_pandas_2_2(pandas22_python: str) -> None:
    version = subprocess.run(
        [pandas22_python, "-c", "import pandas; print(pandas.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert version.startswith("2.2."), version


def test_wrong_pipeline_fails_in_strict_mode_naming_its_lines(pandas22_python: str) -> None:
    result = _run(pandas22_python, "etl_wrong.py", "strict")
    assert result.returncode == 1, result.stderr
    assert "FindingError: AW101 unordered-concat" in result.stderr
    assert f"examples/etl_wrong.py:{_line('etl_wrong.py', 'pd.concat(frames')}" in result.stderr


@pytest.mark.parametrize("example", ["etl_fixed_gather.py", "etl_fixed_wait.py"])
def test_fixed_pipelines_are_silent_in_strict_mode(pandas22_python: str, example: str) -> None:
    result = _run(pandas22_python, example, "strict")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "days in the order they were combined: [0, 1, 2, 3]" in result.stdout


def test_merge_fanout_and_swallowed_exceptions_are_reported(pandas22_python: str) -> None:
    fanout = _run(pandas22_python, "merge_fanout.py", "warn")
    assert fanout.returncode == 0, fanout.stderr
    join_line = _line("merge_fanout.py", "return sales.join(goals)")
    assert f"merge_fanout.py:{join_line}: MergeFanoutWarning: AW102" in fanout.stderr
    assert "48 rows out of 12 + 12 in" in fanout.stderr
    swallowed = _run(pandas22_python, "swallowed_exceptions.py", "warn")
    assert swallowed.returncode == 0, swallowed.stderr
    assert "IncompleteBatchWarning: AW201" in swallowed.stderr
    assert "position 2: failed (FileNotFoundError)" in swallowed.stderr
