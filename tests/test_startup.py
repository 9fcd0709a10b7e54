"""The start-up hook: settings read at once, the guard switched on at the first asyncio or pandas
import.

Every test runs a fresh interpreter with the variables set, as a user runs a program.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_python

LISTING = "import sys; print(' '.join(sorted(sys.modules)))"
# What the hook may load before the program imports asyncio or pandas: reading the variables.
AT_START = {
    "__future__",
    "asyncwarden",
    "asyncwarden._activation",
    "asyncwarden._activation._first_import",
    "asyncwarden._environ",
    "asyncwarden._startup",
    "asyncwarden.exceptions",
}
PATCHED = (
    "import sys; print(hasattr(sys.modules['asyncio'].gather, '__wrapped__'),"
    " hasattr(sys.modules['asyncio'].tasks.gather, '__wrapped__'))"
)
# The module keeps its own loader, and the start-up finder has left sys.meta_path.
CLEAN = (
    "import sys; m = sys.modules['asyncio'];"
    " print(m.__loader__ is m.__spec__.loader, type(m.__loader__).__name__,"
    " [type(f).__module__ for f in sys.meta_path].count('asyncwarden._activation._first_import'))"
)


def test_with_the_variable_set_nothing_but_the_settings_loads_before_asyncio_or_pandas() -> None:
    unset = set(run_python("-c", LISTING).stdout.split())
    result = run_python("-c", LISTING, env={"ASYNCWARDEN": "warn"})
    assert result.stderr == ""
    added = set(result.stdout.split()) - unset
    assert "asyncwarden._startup" in added
    assert added <= AT_START, sorted(added - AT_START)
    assert not {"wrapt", "dataclasses", "asyncio", "pandas"} & set(result.stdout.split())


# What only pandas, a finding or telemetry with an SDK needs: a program that imports asyncio and
# finds nothing wrong pays for none of it (the start-up figure of docs/performance.md).
LOADED_LATER = {
    "asyncwarden._tracking._lineage",
    "asyncwarden._rules._catalog",
    "asyncwarden._findings._codes",
    "asyncwarden._tracking._combination",
    "asyncwarden._findings._finding",
    "asyncwarden._tracking._task_view",
    "asyncwarden._patches._pandas",
    "asyncwarden._sinks._telemetry._tracefile",
    "pandas",
    "structlog",
    "opentelemetry",
    "uuid",
}


def test_the_asyncio_hook_loads_nothing_that_only_pandas_or_a_finding_needs() -> None:
    program = (
        "import asyncio, sys; print(asyncio.gather.__wrapped__ is not None); print(*sys.modules)"
    )
    result = run_python("-c", program, env={"ASYNCWARDEN": "warn"})
    assert result.stderr == ""
    first, modules = result.stdout.split("\n", 1)
    assert first == "True"
    assert not LOADED_LATER & set(modules.split()), sorted(LOADED_LATER & set(modules.split()))


@pytest.mark.parametrize(
    "first",
    [
        "import asyncio",
        "import asyncio.tasks",
        "from asyncio import gather",
        "import asyncio as aio",
        "import pandas; import asyncio",
        "import importlib; importlib.import_module('asyncio')",
        # A library that only asks whether asyncio is there must not use up the start-up.
        "import importlib.util; importlib.util.find_spec('asyncio'); import asyncio",
    ],
)
def test_every_way_of_importing_asyncio_switches_the_guard_on(first: str) -> None:
    result = run_python("-c", f"{first}; {PATCHED}; {CLEAN}", env={"ASYNCWARDEN": "warn"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "SourceFileLoader", "0"]
    assert result.stderr == ""


def test_importing_pandas_first_patches_pandas_and_then_asyncio() -> None:
    code = (
        "import pandas, sys; from pandas.core.reshape import concat as c;"
        " print(pandas.concat.__wrapped__ is c.concat, 'wrapt' in sys.modules);"
        f" import asyncio; {PATCHED}"
    )
    result = run_python("-c", code, env={"ASYNCWARDEN": "warn"})
    assert result.stdout.split() == ["True", "True", "True", "True"], result.stderr


def test_asyncio_imported_by_sitecustomize_is_patched(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text("import asyncio\n")
    result = run_python("-c", PATCHED, env={"ASYNCWARDEN": "warn", "PYTHONPATH": str(tmp_path)})
    assert result.stdout.split() == ["True", "True"], result.stderr


def test_asyncio_imported_before_the_hook_runs_is_patched_at_once() -> None:
    # -S defers site-packages (and so asyncwarden.pth) until site.main(): asyncio is then already
    # in sys.modules when the hook runs, as under a .pth file that imports it earlier.
    code = f"import asyncio, site; site.main(); {PATCHED}; {CLEAN}"
    result = run_python("-S", "-c", code, env={"ASYNCWARDEN": "warn"})
    assert result.stdout.split() == ["True", "True", "True", "SourceFileLoader", "0"]
    assert result.stderr == ""


def test_the_api_sees_the_guard_the_environment_asked_for_before_asyncio_is_imported() -> None:
    code = (
        "import asyncwarden; print(asyncwarden.is_installed());"
        f" asyncwarden.uninstall(); import asyncio; {PATCHED}"
    )
    result = run_python("-c", code, env={"ASYNCWARDEN": "strict"})
    assert result.stdout.split() == ["True", "False", "False"], result.stderr


def test_strict_from_the_environment_reaches_the_settings_at_the_first_import() -> None:
    code = "import asyncio; from asyncwarden import _config; print(_config.CONFIG.settings)"
    env = {"ASYNCWARDEN": "strict", "ASYNCWARDEN_TASK_SPANS": "7", "ASYNCWARDEN_REPEAT": "always"}
    result = run_python("-c", code, env=env)
    assert "mode=<Mode.STRICT: 'strict'>" in result.stdout, result.stderr
    assert "task_spans=7" in result.stdout
    assert "repeat=True" in result.stdout


def test_a_bad_setting_is_reported_at_start_up_before_the_program_runs() -> None:
    code = "import sys; sys.stderr.write('program\\n'); print('wrapt' in sys.modules)"
    result = run_python("-c", code, env={"ASYNCWARDEN": "warn", "ASYNCWARDEN_LOG": "loud"})
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert "ASYNCWARDEN_LOG='loud'" in lines[0]
    assert lines[1] == "program"
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("order", [("pandas", "asyncio"), ("asyncio", "pandas")])
def test_asyncio_and_pandas_imported_first_by_two_threads_at_once_are_both_patched(
    order: tuple[str, str],
) -> None:
    # The thread that switches the guard on must not patch a module the other thread is still
    # importing (its hook waits until that import has run), nor deadlock with it.
    code = (
        "import threading\n"
        f"threads = [threading.Thread(target=__import__, args=(n,)) for n in {order!r}]\n"
        "for t in threads: t.start()\n"
        "for t in threads: t.join(50)\n"
        "import asyncio, pandas\n"
        "print(hasattr(asyncio.gather, '__wrapped__'), hasattr(pandas.concat, '__wrapped__'))\n"
    )
    result = run_python("-c", code, env={"ASYNCWARDEN": "warn"})
    assert result.stdout.split() == ["True", "True"], result.stderr
    assert result.stderr == ""
