"""The venv with pandas 2.2 that tests/compat/test_pandas_reshape.py checks the guard against.

``.venv-pandas22`` beside ``.venv``: Python 3.11 (pandas 2.2 has wheels for it), asyncwarden
installed editable, pandas 2.2, pytest and hypothesis. Built once, rebuilt when pyproject.toml or
the requirements below change (a stamp file holds their hash), one builder at a time.
``python tests/compat/_pandas22_venv.py`` builds it ahead (``make test`` does, beside the main
test run, so the test finds it ready). Standard library only.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-pandas22"
PANDAS22 = "pandas==2.2.*"
# pandas 2.2 predates python-dateutil 4: its time zone code fails 4 reshape tests with it.
PINS = ("python-dateutil<3",)


def base_python() -> str:
    """Python 3.11 from pyenv or PATH, else the interpreter running this."""
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    releases = sorted(
        (int(match.group(1)), folder / "bin" / "python")
        for folder in pyenv.glob("3.11.*")
        if (match := re.fullmatch(r"3\.11\.(\d+)", folder.name))
        and (folder / "bin" / "python").exists()
    )
    if releases:
        return str(releases[-1][1])
    return shutil.which("python3.11") or getattr(sys, "_base_executable", sys.executable)


def requirement(name: str) -> str:
    """The dev extra's requirement string for ``name``, so the versions live in one place."""
    text = (ROOT / "pyproject.toml").read_text()
    match = re.search(rf'"({re.escape(name)}\s*[<>=!~][^";]*)', text)
    return match.group(1) if match else name


def build() -> str:
    """The venv's interpreter, after building the venv if it is missing or stale."""
    base = base_python()
    requirements = [str(ROOT), PANDAS22, *PINS, requirement("pytest"), requirement("hypothesis")]
    key = hashlib.sha256(
        "\n".join([(ROOT / "pyproject.toml").read_text(), base, *requirements]).encode()
    ).hexdigest()
    python = VENV / "bin" / "python"
    stamp = VENV / ".asyncwarden-stamp"
    lock = ROOT / "out" / ".venv-pandas22.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:  # pytest-xdist workers, make test's early build, a 2nd pytest
        fcntl.flock(handle, fcntl.LOCK_EX)
        if python.exists() and stamp.exists() and stamp.read_text().strip() == key:
            return str(python)
        subprocess.run([base, "-m", "venv", "--clear", str(VENV)], check=True, timeout=300)
        # Bytecode compiled here, once (make test builds this beside the main run): with
        # PYTHONDONTWRITEBYTECODE set, every test process would compile pandas again otherwise.
        pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
        installed = subprocess.run(
            [*pip, "-q", "-e", *requirements],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if installed.returncode != 0:
            raise RuntimeError(
                f"building {VENV} failed:\n{installed.stdout[-3000:]}{installed.stderr[-3000:]}"
            )
        stamp.write_text(key + "\n")
    return str(python)


if __name__ == "__main__":
    print(f"pandas 2.2 venv ready: {build()}")
