from __future__ import annotations

import sys

from asyncwarden import RULES
from tests.conftest import run_python


def test_rules_lists_every_code_of_the_catalog() -> None:
    result = run_python("-m", "asyncwarden", "rules")
    assert result.returncode == 0, result.stderr
    for code, rule in RULES.items():
        assert f"{code}  {rule.name}" in result.stdout


def test_rules_verbose_names_the_warning_category() -> None:
    result = run_python("-m", "asyncwarden", "rules", "-v")
    assert "asyncwarden.UnorderedConcatWarning" in result.stdout


def test_run_switches_the_guard_on_for_the_command() -> None:
    code = (
        "import asyncio, os;"
        " print(os.environ['ASYNCWARDEN'], hasattr(asyncio.gather, '__wrapped__'))"
    )
    result = run_python(
        "-m", "asyncwarden", "run", "--mode", "strict", "--", sys.executable, "-c", code
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["strict", "True"]


def test_run_strict_fails_the_wrong_pipeline() -> None:
    result = run_python(
        "-m",
        "asyncwarden",
        "run",
        "--mode",
        "strict",
        "--",
        sys.executable,
        "examples/etl_wrong.py",
    )
    assert result.returncode != 0
    assert "AW101 unordered-concat" in result.stderr


def test_run_without_a_command_says_how_to_use_it() -> None:
    result = run_python("-m", "asyncwarden", "run")
    assert result.returncode == 2
    assert "asyncwarden run -- python app.py" in result.stderr


def test_run_rejects_an_unknown_mode() -> None:
    result = run_python("-m", "asyncwarden", "run", "--mode", "loud", "--", "true")
    assert result.returncode == 2
    assert "accepted: off, warn, strict" in result.stderr
    assert "Traceback" not in result.stderr
