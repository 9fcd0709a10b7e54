from __future__ import annotations

import importlib.metadata
import os
import re
import sys
import textwrap
from pathlib import Path

import asyncwarden
from asyncwarden import RULES
from tests.conftest import ROOT, run_python


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


def test_version_is_the_installed_distributions() -> None:
    result = run_python("-m", "asyncwarden", "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"asyncwarden {importlib.metadata.version('asyncwarden')}"
    assert asyncwarden.__version__ == importlib.metadata.version("asyncwarden")


def _doc_section(code: str) -> str:
    text = (ROOT / "docs" / "rules.md").read_text()
    found = re.search(rf"^## {code} .*?(?=^## |\Z)", text, re.M | re.S)
    assert found, code
    return found.group(0)


def test_rules_with_a_code_prints_that_rules_docs_section_with_wrong_and_right_code() -> None:
    for code in RULES:
        result = run_python("-m", "asyncwarden", "rules", code.lower())
        assert result.returncode == 0, result.stderr
        section = _doc_section(code)
        assert result.stdout.startswith(f"{code} {RULES[code].name}")
        assert "Wrong:" in result.stdout and "Right:" in result.stdout
        blocks = re.findall(r"^```python\n(.*?)^```", section, re.M | re.S)
        assert blocks
        for block in blocks:
            assert textwrap.indent(block, "    ", lambda line: bool(line.strip())) in (
                result.stdout + "\n"
            )
        other = next(c for c in RULES if c != code)
        assert (
            f"## {other}" not in result.stdout
            and f"{other} {RULES[other].name}" not in (result.stdout.splitlines()[0])
        )


def test_the_packaged_rule_texts_are_docs_rules_md_itself() -> None:
    assert os.path.samefile(ROOT / "src" / "asyncwarden" / "rules.md", ROOT / "docs" / "rules.md")


def test_rules_with_an_unknown_code_names_the_known_ones() -> None:
    result = run_python("-m", "asyncwarden", "rules", "AW999")
    assert result.returncode == 2
    assert result.stderr == f"asyncwarden rules: unknown rule 'AW999'; known: {', '.join(RULES)}\n"


def test_run_with_a_trace_file_and_dashboard_draws_this_runs_picture(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    page = tmp_path / "report.html"
    command = [
        "-m", "asyncwarden", "run", "--mode", "strict",
        "--trace-file", str(trace), "--dashboard", str(page),
        "--", sys.executable, "examples/etl_wrong.py",
    ]  # fmt: skip
    for _ in range(2):
        result = run_python(*command)
        # The command's own exit status (strict mode failed it), and the picture of the failure.
        assert result.returncode == 1
        assert "FindingError: AW101" in result.stderr
        # The second run appends to the trace file; the picture is of this run only.
        assert result.stdout == (f"wrote {page}: 1 batch, 4 tasks, 1 concat/merge/join, AW101 x1\n")
        assert "AW101" in page.read_text()
    assert trace.read_text().count('"asyncwarden.batch"') == 2


def test_run_with_a_dashboard_and_nothing_to_draw_says_so(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    result = run_python(
        "-m", "asyncwarden", "run", "--dashboard", str(page), "--", sys.executable, "-c", "pass"
    )
    assert result.returncode == 1
    assert result.stderr == (
        "asyncwarden run: the command ended without a batch or finding to draw; "
        f"{page} not written\n"
    )
    assert not page.exists()


def test_run_with_a_dashboard_keeps_the_commands_exit_status(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(
        "import asyncio, sys\n"
        "async def main():\n"
        "    await asyncio.gather(asyncio.sleep(0))\n"
        "asyncio.run(main())\n"
        "sys.exit(3)\n"
    )
    page = tmp_path / "report.html"
    result = run_python(
        "-m", "asyncwarden", "run", "--dashboard", str(page), "--", sys.executable, str(script)
    )
    assert result.returncode == 3, result.stderr
    assert result.stdout == f"wrote {page}: 1 batch, 1 task, 0 concat/merge/join, no findings\n"
