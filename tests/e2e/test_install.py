"""asyncwarden added to a project as README says: a wheel built from the clone, installed alone.

The wheel goes into a fresh venv with its dependencies only (no pandas, no dev tools): the rule
texts ship with it, and an asyncio program without pandas is guarded.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT
from tests.test_docs import block

ASYNCIO_ONLY = """
import asyncio

async def slow():
    await asyncio.sleep(3600)

async def main():
    done, pending = await asyncio.wait([asyncio.create_task(slow())], timeout=0)
    return len(pending)

print(asyncio.run(main()))
"""


def _run(*command: str | Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASYNCWARDEN", "PYTHON"))}
    env.update(settings)
    return subprocess.run(
        [str(part) for part in command],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_wheel_installs_without_pandas_and_guards_an_asyncio_program(tmp_path: Path) -> None:
    # README's wheel line, with its output folder in the test's own.
    line = block("README.md", "pip install '/path/to/asyncwarden[pandas]'").text.splitlines()[2]
    build = line.split("&&")[0].split()
    assert build == ["pip", "wheel", "--no-deps", "-w", "dist", "."]
    dist = tmp_path / "dist"
    built = _run(sys.executable, "-m", *build[:-2], str(dist), str(ROOT))
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("asyncwarden-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(f"{wheel.name.split('-py3')[0]}.dist-info/METADATA").decode()
        packaged_rules = archive.read("asyncwarden/rules.md").decode()
    assert re.search(r"^Requires-Dist: pandas>=2\.2; extra == ['\"]pandas['\"]$", metadata, re.M)
    assert not re.search(r"^Requires-Dist: pandas\b[^;]*$", metadata, re.M)  # not unconditional
    assert packaged_rules == (ROOT / "docs" / "rules.md").read_text()

    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", venv).returncode == 0
    python = venv / "bin" / "python"
    installed = _run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel)
    assert installed.returncode == 0, installed.stderr
    assert _run(python, "-c", "import pandas").returncode == 1  # not pulled in

    version = _run(venv / "bin" / "asyncwarden", "--version")
    assert version.stdout == f"asyncwarden {wheel.name.split('-')[1]}\n"
    rules = _run(venv / "bin" / "asyncwarden", "rules", "AW101")
    assert rules.returncode == 0, rules.stderr
    assert rules.stdout.startswith("AW101 unordered-concat")
    assert "Wrong:" in rules.stdout

    script = tmp_path / "app.py"
    script.write_text(ASYNCIO_ONLY)
    warned = _run(python, script, ASYNCWARDEN="warn")
    assert warned.returncode == 0, warned.stderr
    assert warned.stdout == "1\n"
    assert "AbandonedPendingWarning: AW302 abandoned-pending" in warned.stderr
    strict = _run(python, script, ASYNCWARDEN="strict")
    assert "FindingError: AW302 abandoned-pending" in strict.stderr
