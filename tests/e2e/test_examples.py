"""The examples run as a user runs them: a fresh interpreter, the guard on through ASYNCWARDEN."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.conftest import ROOT, run_python

EXAMPLES = ROOT / "examples"


def _line(example: str, marker: str) -> int:
    for number, line in enumerate((EXAMPLES / example).read_text().splitlines(), 1):
        if marker in line:
            return number
    raise AssertionError(f"{marker!r} not in {example}")


def _until_shuffled(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the wrong pipeline until its done set iterates out of submission order.

    The order of a set of tasks follows their memory addresses, and then there may be nothing
    wrong to report. Warn mode does not reorder (strict mode does, and its tests need no retry);
    a run that printed the wrong order must have printed the finding. pymalloc lays the tasks
    out the same way on every run of the same code (any edit to an imported module can turn the
    order ascending for good), so the retries use the system allocator, whose addresses vary
    from run to run.
    """
    for attempt in range(12):
        retry = {"PYTHONMALLOC": "malloc"} if attempt else {}
        result = run_python(*args, env={**env, **retry})
        if "[0, 1, 2, 3]" not in result.stdout:
            return result
    raise AssertionError("the done set iterated in submission order 12 times in a row")


def test_wrong_pipeline_in_warn_mode_prints_aw101_with_its_own_lines_and_exits_0() -> None:
    result = _until_shuffled("examples/etl_wrong.py", env={"ASYNCWARDEN": "warn"})
    assert result.returncode == 0, result.stderr
    concat_line = _line("etl_wrong.py", "pd.concat(frames")
    wait_line = _line("etl_wrong.py", "asyncio.wait(tasks)")
    assert (
        f"etl_wrong.py:{concat_line}: UnorderedConcatWarning: AW101 unordered-concat"
        in result.stderr
    )
    assert re.search(
        rf"asyncio\.wait\(\) #\d+\s+examples/etl_wrong\.py:{wait_line} in main", result.stderr
    )
    assert "fix" in result.stderr
    assert "days in the order they were combined" in result.stdout


@pytest.mark.parametrize("run", range(5))
def test_wrong_pipeline_in_strict_mode_fails_on_every_run(run: int) -> None:
    result = run_python("examples/etl_wrong.py", env={"ASYNCWARDEN": "strict"})
    assert result.returncode == 1
    assert "asyncwarden.exceptions.FindingError: AW101 unordered-concat" in result.stderr
    assert (
        f"examples/etl_wrong.py:{_line('etl_wrong.py', 'pd.concat(frames')} in main"
        in result.stderr
    )


@pytest.mark.parametrize("example", ["etl_fixed_gather.py", "etl_fixed_wait.py"])
@pytest.mark.parametrize("mode", ["warn", "strict"])
def test_fixed_pipelines_print_no_finding(example: str, mode: str) -> None:
    for _ in range(3):
        result = run_python(f"examples/{example}", env={"ASYNCWARDEN": mode})
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        assert "days in the order they were combined: [0, 1, 2, 3]" in result.stdout


def test_merge_fanout_example_shows_aw102_and_the_inflated_row_count() -> None:
    result = run_python("examples/merge_fanout.py", env={"ASYNCWARDEN": "warn"})
    assert result.returncode == 0, result.stderr
    join_line = _line("merge_fanout.py", "return sales.join(goals)")
    assert f"merge_fanout.py:{join_line}: MergeFanoutWarning: AW102 merge-fanout" in result.stderr
    assert "48 rows out of 12 + 12 in" in result.stderr
    strict = run_python("examples/merge_fanout.py", env={"ASYNCWARDEN": "strict"})
    assert strict.returncode == 1
    assert "AW102 merge-fanout" in strict.stderr


def test_swallowed_exceptions_example_shows_aw201_naming_the_failed_partition() -> None:
    result = run_python("examples/swallowed_exceptions.py", env={"ASYNCWARDEN": "warn"})
    assert result.returncode == 0, result.stderr
    assert "IncompleteBatchWarning: AW201 incomplete-batch" in result.stderr
    assert "position 2: failed (FileNotFoundError)" in result.stderr
    strict = run_python("examples/swallowed_exceptions.py", env={"ASYNCWARDEN": "strict"})
    assert strict.returncode == 1
    assert "AW201 incomplete-batch" in strict.stderr


@pytest.mark.parametrize(
    "example", ["etl_wrong.py", "etl_fixed_gather.py", "merge_fanout.py", "swallowed_exceptions.py"]
)
def test_without_the_variable_examples_run_unguarded_and_silent(example: str) -> None:
    result = run_python(f"examples/{example}")
    assert result.returncode == 0, result.stderr
    assert "AW" not in result.stderr


def test_warning_filters_turn_a_category_into_an_error() -> None:
    result = _until_shuffled(
        "-W",
        "error::asyncwarden.UnorderedConcatWarning",
        "examples/etl_wrong.py",
        env={"ASYNCWARDEN": "warn"},
    )
    assert result.returncode == 1
    assert "UnorderedConcatWarning: AW101" in result.stderr
