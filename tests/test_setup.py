"""What `make test` sets up: pinned versions, and the other Pythons only where they exist."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement

from tests.conftest import ROOT, run_python

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def _constraints() -> dict[str, list[Requirement]]:
    pins: dict[str, list[Requirement]] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            pins.setdefault(requirement.name.lower(), []).append(requirement)
    return pins


def test_constraints_pin_every_dependency_inside_pyprojects_bounds() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        wanted += [Requirement(r) for r in extra]
    pins = _constraints()
    for requirement in wanted:
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = requirement.name.lower().replace("_", "-")
        applying = [p for p in pins.get(name, []) if p.marker is None or p.marker.evaluate()]
        assert len(applying) == 1, f"{name}: {applying} in constraints.txt"
        (version,) = (spec.version for spec in applying[0].specifier)
        assert requirement.specifier.contains(version, prereleases=True), (
            f"constraints.txt pins {name}=={version}, outside pyproject.toml's {requirement}"
        )


def test_make_installs_the_venv_with_the_constraints(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    planned = subprocess.run(
        ["make", "-n", "-B", f"VENV={venv}", f"{venv}/.installed"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (install,) = [line for line in planned.splitlines() if "pip install" in line and "-e" in line]
    assert "-c constraints.txt" in install


def test_a_machine_without_the_other_pythons_skips_them_and_passes(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {"PYENV_ROOT": str(empty), "PATH": str(empty), "HOME": str(empty)}
    for arguments in (["--build-only"], []):
        done = run_python(
            str(ROOT / "scripts" / "test-all-pythons"),
            "--compat-only",
            "--python",
            "3.10",
            "--python",
            "3.13",
            *arguments,
            env={**os.environ, **env},
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "skipped Python 3.10, 3.13: not found" in done.stdout
        assert "failed" not in done.stdout.replace("nothing failed", "")
