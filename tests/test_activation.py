from __future__ import annotations

import asyncio
import asyncio.tasks

import pandas as pd
import pytest

import asyncwarden
from asyncwarden._patches._wrapping import is_patched
from tests.conftest import run_python

ENTRY_POINTS = ("gather", "wait", "as_completed", "wait_for")


def _originals() -> dict[str, object]:
    found: dict[str, object] = {name: getattr(asyncio, name) for name in ENTRY_POINTS}
    found.update({f"tasks.{name}": getattr(asyncio.tasks, name) for name in ENTRY_POINTS})
    found["pd.concat"] = pd.concat
    found["pd.merge"] = pd.merge
    found["DataFrame.merge"] = vars(pd.DataFrame)["merge"]
    found["DataFrame.join"] = vars(pd.DataFrame)["join"]
    if hasattr(asyncio, "TaskGroup"):
        found["TaskGroup.create_task"] = vars(asyncio.TaskGroup)["create_task"]
        found["TaskGroup.__aexit__"] = vars(asyncio.TaskGroup)["__aexit__"]
    return found


def test_install_wraps_every_name_users_reach_and_uninstall_restores_the_exact_objects() -> None:
    before = _originals()
    asyncwarden.install("warn")
    try:
        during = _originals()
        for name, original in before.items():
            assert during[name] is not original, name
            assert during[name].__wrapped__ is original, name  # type: ignore[attr-defined]
        assert asyncio.gather is asyncio.tasks.gather
    finally:
        asyncwarden.uninstall()
    after = _originals()
    for name, original in before.items():
        assert after[name] is original, name
    assert not is_patched()


def test_install_and_uninstall_are_idempotent() -> None:
    original = asyncio.gather
    asyncwarden.install("warn")
    wrapped = asyncio.gather
    asyncwarden.install("strict")
    assert asyncio.gather is wrapped
    asyncwarden.uninstall()
    asyncwarden.uninstall()
    assert asyncio.gather is original
    assert not asyncwarden.is_installed()


def test_guarded_restores_the_previous_state() -> None:
    original = asyncio.gather
    with asyncwarden.guarded("strict"):
        assert asyncio.gather is not original
    assert asyncio.gather is original


def test_install_off_patches_nothing() -> None:
    asyncwarden.install("off")
    assert not is_patched()
    assert not hasattr(asyncio.gather, "__wrapped__")


def test_install_rejects_an_unknown_mode_with_the_accepted_values() -> None:
    with pytest.raises(asyncwarden.ConfigurationError, match="accepted: off, warn, strict"):
        asyncwarden.install("loud")
    assert not is_patched()


def test_environment_variable_switches_the_guard_on_in_a_fresh_process() -> None:
    code = "import asyncio; print(asyncio.gather.__wrapped__.__module__)"
    on = run_python("-c", code, env={"ASYNCWARDEN": "warn"})
    assert on.returncode == 0, on.stderr
    assert on.stdout.strip() == "asyncio.tasks"
    off = run_python("-c", code)
    assert off.returncode == 1
    assert "AttributeError" in off.stderr


@pytest.mark.parametrize("value", ["1", "TRUE", "On", "warn", "Strict"])
def test_accepted_spellings_switch_the_guard_on(value: str) -> None:
    result = run_python(
        "-c",
        "import asyncio; print(hasattr(asyncio.gather, '__wrapped__'))",
        env={"ASYNCWARDEN": value},
    )
    assert result.stdout.strip() == "True", result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize("value", ["0", "false", "", "OFF"])
def test_off_spellings_leave_everything_unpatched(value: str) -> None:
    result = run_python(
        "-c",
        "import asyncio; print(hasattr(asyncio.gather, '__wrapped__'))",
        env={"ASYNCWARDEN": value},
    )
    assert result.stdout.strip() == "False"
    assert result.stderr == ""


def test_invalid_value_prints_one_line_and_the_program_keeps_its_exit_code() -> None:
    result = run_python(
        "-c",
        "import asyncio, sys; print(hasattr(asyncio.gather, '__wrapped__')); sys.exit(7)",
        env={"ASYNCWARDEN": "loud"},
    )
    assert result.returncode == 7
    assert result.stdout.strip() == "False"
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "ASYNCWARDEN='loud'" in lines[0]
    assert "off, warn, strict" in lines[0]
    assert "Traceback" not in result.stderr


def test_start_up_hook_imports_neither_pandas_nor_asyncio() -> None:
    result = run_python(
        "-c",
        "import sys; print(*(m in sys.modules for m in ('pandas', 'asyncio', 'asyncwarden')))",
        env={"ASYNCWARDEN": "warn"},
    )
    assert result.stdout.split() == ["False", "False", "True"], result.stderr


def test_pandas_is_patched_the_moment_the_program_imports_it() -> None:
    result = run_python(
        "-c",
        "import pandas.core.reshape.concat as c; from pandas import concat;"
        " print(concat.__wrapped__ is c.concat)",
        env={"ASYNCWARDEN": "warn"},
    )
    assert result.stdout.strip() == "True", result.stderr


def test_unset_variable_does_not_import_asyncwarden() -> None:
    result = run_python("-c", "import sys; print('asyncwarden' in sys.modules)")
    assert result.stdout.strip() == "False"
