"""Start-up cost of the ``asyncwarden.pth`` hook, with ``ASYNCWARDEN`` unset and set.

Two throwaway virtual environments on the same interpreter, with the same ``sys.path`` (this
project's ``src`` and its venv's site-packages, added as plain path lines, which run no ``.pth``
files of their own): ``bare`` has no hook, ``hooked`` has a copy of ``src/asyncwarden.pth``. The
difference between them is what installing asyncwarden adds to every Python process. Runs of the
three arms are interleaved; the figures are medians. pandas is not imported (``-c pass``).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _make_venv(where: Path, hooked: bool) -> Path:
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    site = Path(purelib)
    site.mkdir(parents=True, exist_ok=True)
    ours = sysconfig.get_paths()["purelib"]
    (site / "_benchmark_paths.pth").write_text(f"{ROOT / 'src'}\n{ours}\n")
    if hooked:
        shutil.copy(ROOT / "src" / "asyncwarden.pth", site / "asyncwarden.pth")
    return python


def _environ(mode: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASYNCWARDEN", "PYTHON"))}
    if mode is not None:
        env["ASYNCWARDEN"] = mode
    return env


def _wall(python: Path, env: dict[str, str], code: str) -> float:
    start = time.perf_counter()
    subprocess.run([str(python), "-c", code], env=env, check=True)
    return time.perf_counter() - start


def _imports(python: Path, env: dict[str, str], code: str) -> dict[str, int]:
    """Module -> self import time in microseconds, from ``-X importtime``."""
    done = subprocess.run(
        [str(python), "-X", "importtime", "-c", code],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    times: dict[str, int] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        fields = line[len("import time:") :].split("|")
        times[fields[2].strip()] = int(fields[0])
    return times


def measure(runs: int, code: str = "pass") -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="asyncwarden-startup-") as folder:
        bare = _make_venv(Path(folder) / "bare", hooked=False)
        hooked = _make_venv(Path(folder) / "hooked", hooked=True)
        arms = {
            "absent": (bare, _environ(None)),
            "unset": (hooked, _environ(None)),
            "set": (hooked, _environ("warn")),
        }
        for python, env in arms.values():  # warm the file cache
            _wall(python, env, code)
        walls: dict[str, list[float]] = {name: [] for name in arms}
        for number in range(runs):
            order = list(arms) if number % 2 == 0 else list(reversed(arms))
            for name in order:
                walls[name].append(_wall(*arms[name], code))
        imports = {name: [_imports(*arms[name], code) for _ in range(5)] for name in arms}
        # The same with asyncio imported by the program anyway: what the hook adds to a real
        # asyncio program, whose own imports already include much of what asyncwarden needs.
        with_asyncio: dict[str, list[float]] = {"unset": [], "set": []}
        for number in range(runs):
            for name in ("unset", "set") if number % 2 == 0 else ("set", "unset"):
                with_asyncio[name].append(_wall(*arms[name], "import asyncio"))
    medians = {name: statistics.median(values) for name, values in walls.items()}
    import_costs = {name: _added_imports(imports["absent"], imports[name]) for name in arms}
    return {
        "runs": runs,
        "wall_ms": {name: value * 1e3 for name, value in medians.items()},
        "added_wall_ms": {
            "unset": (medians["unset"] - medians["absent"]) * 1e3,
            "set": (medians["set"] - medians["absent"]) * 1e3,
        },
        "noise_ms": _noise(walls["absent"]) * 1e3,
        "added_import_ms": {name: cost["total_ms"] for name, cost in import_costs.items()},
        "heaviest_imports_set": import_costs["set"]["heaviest"],
        "modules_added_set": import_costs["set"]["modules"],
        "pandas_imported_set": any("pandas" in m for m in imports["set"][0]),
        "added_wall_ms_with_asyncio": (
            statistics.median(with_asyncio["set"]) - statistics.median(with_asyncio["unset"])
        )
        * 1e3,
    }


def _noise(values: list[float]) -> float:
    """Half the interquartile range of one arm's wall times: how far a median can wander."""
    quartiles = statistics.quantiles(values, n=4)
    return (quartiles[2] - quartiles[0]) / 2


def _added_imports(base_runs: list[dict[str, int]], runs: list[dict[str, int]]) -> dict[str, Any]:
    base = set().union(*base_runs)
    added = sorted({m for run in runs for m in run} - base)
    per_module = {m: statistics.median(run.get(m, 0) for run in runs) for m in added}
    heaviest = sorted(per_module.items(), key=lambda item: -item[1])[:6]
    return {
        "total_ms": sum(per_module.values()) / 1e3,
        "modules": len(added),
        "heaviest": [(m, us / 1e3) for m, us in heaviest],
    }
