"""Security: no environment value is ever run as code, and the start-up hook does the minimum.

Covered elsewhere, not repeated here: the HTML dashboard escapes every string it did not write
(tests/test_dashboard.py, tests/e2e/test_dashboard_browser.py with a real browser), and telemetry
carries no data values (the sentinel test in tests/e2e/test_telemetry_e2e.py).
"""

from __future__ import annotations

import ast
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_python

SOURCE = ROOT / "src" / "asyncwarden"
PTH = ROOT / "src" / "asyncwarden.pth"
VARIABLES = [
    "ASYNCWARDEN",
    "ASYNCWARDEN_LOG",
    "ASYNCWARDEN_TRACE_FILE",
    "ASYNCWARDEN_TASK_SPANS",
    "ASYNCWARDEN_REPEAT",
]


def _sources() -> list[Path]:
    return sorted(SOURCE.rglob("*.py"))


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


# Calls that would run text as code, load code by a computed name, or start a shell.
FORBIDDEN = {
    "eval",
    "exec",
    "compile",
    "__import__",
    "os.system",
    "os.popen",
    "runpy.run_path",
    "runpy.run_module",
    "pickle.load",
    "pickle.loads",
    "marshal.load",
    "marshal.loads",
    "importlib.__import__",
}


def _findings_in(path: Path, root: Path = SOURCE) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names]
            module = getattr(node, "module", None) or ""
            # `asyncwarden run --dashboard` runs the user's own command as a child, then draws it.
            allowed = {"subprocess"} if path.name == "cli.py" else set()
            if ({"pickle", "marshal", "runpy", "subprocess"} - allowed) & {module, *names}:
                found.append(f"{path.name}:{node.lineno} imports {module or names}")
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        where = f"{path.relative_to(root)}:{node.lineno}"
        if name in FORBIDDEN:
            found.append(f"{where} calls {name}")
        if name in ("importlib.import_module", "import_module"):
            target = node.args[0] if node.args else None
            literal = isinstance(target, ast.Constant) and isinstance(target.value, str)
            ours = (
                isinstance(target, ast.JoinedStr)
                and isinstance(target.values[0], ast.Constant)
                and str(target.values[0].value).startswith("asyncwarden.")
            )
            if not (literal or ours):
                found.append(f"{where} imports a module by a computed name")
        if name.startswith("os.exec") and path.name != "cli.py":
            found.append(f"{where} calls {name}")
        for keyword in node.keywords:
            if keyword.arg == "shell":
                found.append(f"{where} passes shell=")
    return found


def test_no_module_runs_text_as_code_or_imports_by_a_computed_name() -> None:
    """The only dynamic import is asyncwarden's own lazy API (``asyncwarden.<module>`` from a
    fixed table); ``os.execvpe`` and ``subprocess`` are ``asyncwarden run``, which runs the user's
    own command."""
    found = [f for path in _sources() for f in _findings_in(path)]
    assert found == []


def test_the_audit_itself_catches_what_it_looks_for(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import os, importlib\n"
        "eval(os.environ['X'])\n"
        "importlib.import_module(os.environ['Y'])\n"
        "__import__(name)\n"
        "os.system('true')\n"
    )
    assert len(_findings_in(bad, tmp_path)) == 4


def test_the_pth_hook_only_checks_for_the_variables_and_imports_the_start_up_module() -> None:
    text = PTH.read_text()
    assert text.count("\n") <= 1  # site.py runs each line of a .pth that starts with "import"
    tree = ast.parse(text)
    assert [ast.dump(node) for node in tree.body] == [
        ast.dump(ast.parse("import os").body[0]),
        ast.dump(
            ast.parse(
                "('ASYNCWARDEN' in os.environ or 'ASYNCWARDEN_TRACE_FILE' in os.environ)"
                " and __import__('asyncwarden._startup')"
            ).body[0]
        ),
    ]


def test_the_installed_pth_is_the_one_in_the_source_tree() -> None:
    installed = Path(sysconfig.get_paths()["purelib"]) / "asyncwarden.pth"
    if not installed.exists():
        pytest.skip("asyncwarden is not installed into this interpreter's site-packages")
    assert installed.read_text().strip() == PTH.read_text().strip()


LISTING = "import sys; print(' '.join(sorted(sys.modules)))"
# What the start-up hook must never pull in: network, processes, serialisation, and the
# libraries it patches or reports to (those load only when the program itself uses them).
NEVER_AT_START = {
    "socket",
    "ssl",
    "http",
    "urllib",
    "subprocess",
    "pickle",
    "asyncio",
    "pandas",
    "structlog",
    "opentelemetry",
}


def test_with_the_variable_unset_the_hook_imports_nothing_of_asyncwarden() -> None:
    result = run_python("-c", LISTING)
    assert not [m for m in result.stdout.split() if m.startswith(("asyncwarden", "wrapt"))]


def test_with_the_variable_set_the_hook_loads_the_guard_and_nothing_that_reaches_out() -> None:
    unset = set(run_python("-c", LISTING).stdout.split())
    started = set(run_python("-c", LISTING, env={"ASYNCWARDEN": "warn"}).stdout.split())
    added = {m.partition(".")[0] for m in started - unset}
    assert "asyncwarden" in added
    assert added & NEVER_AT_START == set()


def test_environment_values_are_never_evaluated_imported_or_passed_to_a_shell(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "pwned"
    payloads = [
        f"__import__('os').system('touch {marker}')",
        f"$(touch {marker})",
        f"`touch {marker}`",
        f"; touch {marker}",
        f"| touch {marker}",
        f"os.system('touch {marker}')",
        f"exec(\"open('{marker}', 'w')\")",
        "{0.__init__.__globals__}",
    ]
    app = tmp_path / "app.py"
    app.write_text(
        "import asyncio, sys\n"
        "async def main():\n"
        "    return await asyncio.gather(asyncio.sleep(0, result=1))\n"
        "print(asyncio.run(main()))\n"
        "sys.exit(5)\n"
    )
    for payload in payloads:
        for mode in ("warn", payload):
            env = dict.fromkeys(VARIABLES, payload)
            env["ASYNCWARDEN"] = mode
            # The start-up hook also reads -W filters that name asyncwarden's categories.
            env["PYTHONWARNINGS"] = f"error::asyncwarden.{payload}"
            result = run_python(str(app), env=env, cwd=tmp_path)
            assert (result.returncode, result.stdout) == (5, "[1]\n"), result.stderr[-2000:]
            assert "Traceback" not in result.stderr
            assert not marker.exists(), payload


def test_the_cli_rejects_a_code_like_mode_without_running_anything(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    result = run_python(
        "-m",
        "asyncwarden",
        "run",
        "--mode",
        f"__import__('os').system('touch {marker}')",
        "--",
        sys.executable,
        "-c",
        f"open({str(marker)!r}, 'w')",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "--mode" in result.stderr
    assert not marker.exists()
