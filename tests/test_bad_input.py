"""Bad input: odd settings and misused APIs behave exactly as they would without the guard.

Settings: every variable is given invalid, empty, huge, non-ASCII, non-UTF-8, multi-line and
code-like values in a fresh interpreter, as a user sets them. Each bad value gives one clear line
on stderr naming the variable (bounded in length, never a traceback), that setting falls back to
its default, and the program runs on to its own exit code.

Linux refuses to start a process whose single environment string reaches 128 KiB
(MAX_ARG_STRLEN, "Argument list too long"), so the huge values passed to a process are just below
that; 1 MB values are parsed in-process.

Misuse: wrong calls to asyncio and pandas raise exactly the same exception type and message, and
emit the same warnings pointing at the same line, with and without the guard.
"""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import asyncwarden
from asyncwarden import _config

PY_3_11_PLUS = sys.version_info >= (3, 11)
PY_3_12_PLUS = sys.version_info >= (3, 12)
MAX_ENV = 128 * 1024  # bytes of one "NAME=value" string, terminating NUL included
LINE_LIMIT = 400  # a bad value's line never echoes more than a bounded excerpt of it

PROGRAM = """
import asyncio, sys
async def main():
    return await asyncio.gather(*(asyncio.sleep(0, result=i) for i in range(3)))
print(asyncio.run(main()), type(asyncio.gather).__name__)
sys.exit(7)
"""
GUARD_ON = "[0, 1, 2] FunctionWrapper\n"
GUARD_OFF = "[0, 1, 2] function\n"


def huge(variable: str) -> str:
    return "x" * (MAX_ENV - len(variable) - 2)


def code_like(marker: Path) -> str:
    return f"__import__('os').system('touch {marker}')"


def values(variable: str, marker: Path) -> dict[str, str | bytes]:
    """The bad values every variable is given (each rejected with one line)."""
    return {
        "invalid word": "sometimes",
        "huge": huge(variable),
        "non-ascii": "wärn",
        "emoji": "\U0001f680",
        "non-utf8 bytes": b"w\xffrn",
        "two lines": "warn\nstrict",
        "code": code_like(marker),
        "shell": f"$(touch {marker}); `touch {marker}`",
        "format string": "{0.__class__.__mro__}%s%n",
    }


def run(env: dict[str, str | bytes], cwd: Path) -> Any:
    environ: dict[str | bytes, str | bytes] = {
        k: v for k, v in os.environ.items() if not k.startswith("ASYNCWARDEN")
    }
    if any(isinstance(v, bytes) for v in env.values()):  # a byte value needs a bytes environment
        environ = {os.fsencode(k): os.fsencode(v) for k, v in {**environ, **env}.items()}
    else:
        environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", PROGRAM],
        env=environ,
        cwd=cwd,
        capture_output=True,
        text=True,
        errors="backslashreplace",
        timeout=60,
        check=False,
    )


def assert_one_line_each(stderr: str, variables: list[str]) -> None:
    assert "Traceback" not in stderr, stderr[:2000]
    lines = stderr.splitlines()
    assert len(lines) == len(variables), stderr[:2000]
    for line, variable in zip(sorted(lines), sorted(variables), strict=True):
        assert line.startswith(f"asyncwarden: {variable}="), line[:LINE_LIMIT]
        assert len(line) <= LINE_LIMIT, line[:LINE_LIMIT]
        assert "falls back" in line


BAD_KINDS = list(values("V", Path("m")))


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_a_bad_mode_is_one_line_and_the_program_runs_on_unguarded(
    kind: str, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    result = run({"ASYNCWARDEN": values("ASYNCWARDEN", marker)[kind]}, tmp_path)
    assert (result.returncode, result.stdout) == (7, GUARD_OFF)
    assert_one_line_each(result.stderr, ["ASYNCWARDEN"])
    assert "accepted: off, warn, strict" in result.stderr
    assert not marker.exists()


OTHER_VARIABLES = ["ASYNCWARDEN_LOG", "ASYNCWARDEN_TASK_SPANS", "ASYNCWARDEN_REPEAT"]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_settings_are_one_line_each_and_the_guard_runs_with_their_defaults(
    kind: str, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    env: dict[str, str | bytes] = {"ASYNCWARDEN": "warn"}
    env.update({v: values(v, marker)[kind] for v in OTHER_VARIABLES})
    result = run(env, tmp_path)
    assert (result.returncode, result.stdout) == (7, GUARD_ON)
    assert_one_line_each(result.stderr, OTHER_VARIABLES)
    assert not marker.exists()


@pytest.mark.parametrize(
    "value",
    [
        "-1",
        "1e3",
        "100001",
        "\uff19",  # a full-width digit: str.isdigit() says yes, int() would accept it
        "99999999999999999999",
        "9" * (MAX_ENV - len("ASYNCWARDEN_TASK_SPANS") - 2),  # beyond int()'s 4300-digit limit
        " 12 3",
    ],
    ids=["negative", "float", "over the maximum", "full-width", "20 digits", "huge", "spaces"],
)
def test_a_bad_task_span_count_is_one_line_and_the_guard_stays_on(
    value: str, tmp_path: Path
) -> None:
    result = run({"ASYNCWARDEN": "warn", "ASYNCWARDEN_TASK_SPANS": value}, tmp_path)
    assert (result.returncode, result.stdout) == (7, GUARD_ON)
    assert_one_line_each(result.stderr, ["ASYNCWARDEN_TASK_SPANS"])


@pytest.mark.parametrize(
    ("env", "stdout"),
    [
        ({"ASYNCWARDEN": ""}, GUARD_OFF),
        ({"ASYNCWARDEN": "  WaRn \t"}, GUARD_ON),
        ({"ASYNCWARDEN": "strict", "ASYNCWARDEN_LOG": "", "ASYNCWARDEN_REPEAT": ""}, GUARD_ON),
        (
            {"ASYNCWARDEN": "1", "ASYNCWARDEN_TASK_SPANS": "", "ASYNCWARDEN_TRACE_FILE": ""},
            GUARD_ON,
        ),
        ({"ASYNCWARDEN": "warn", "ASYNCWARDEN_TASK_SPANS": " 12 "}, GUARD_ON),
    ],
    ids=["empty mode", "spaced mode", "empty settings", "empty spans and file", "spaced count"],
)
def test_empty_and_spaced_values_are_accepted_silently(
    env: dict[str, str | bytes], stdout: str, tmp_path: Path
) -> None:
    result = run(env, tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (7, stdout, "")
    assert list(tmp_path.iterdir()) == []


# -- the trace file -------------------------------------------------------------------------

TRACE = "ASYNCWARDEN_TRACE_FILE"


@pytest.mark.parametrize(
    "path",
    ["a directory", "missing folder", "huge", "code"],
)
def test_a_trace_file_that_cannot_be_written_is_one_line_and_the_program_runs_on(
    path: str, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    value = {
        "a directory": str(tmp_path),
        "missing folder": str(tmp_path / "no" / "such" / "trace.jsonl"),
        "huge": str(tmp_path / huge(TRACE)[: MAX_ENV - len(TRACE) - len(str(tmp_path)) - 4]),
        "code": code_like(marker),
    }[path]
    result = run({"ASYNCWARDEN": "warn", TRACE: value}, tmp_path)
    assert (result.returncode, result.stdout) == (7, GUARD_ON)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr[:2000]
    assert TRACE in lines[0]
    assert len(lines[0]) <= LINE_LIMIT, lines[0][:LINE_LIMIT]
    assert not marker.exists()


@pytest.mark.parametrize("name", ["trace-ü.jsonl", b"trace-\xff.jsonl"], ids=["non-ascii", "bytes"])
def test_a_non_ascii_trace_file_name_is_a_file_name_like_any_other(
    name: str | bytes, tmp_path: Path
) -> None:
    pytest.importorskip("opentelemetry.sdk", reason="the trace file needs the otel extra")
    value: str | bytes = (
        os.fsencode(tmp_path) + b"/" + name if isinstance(name, bytes) else str(tmp_path / name)
    )
    result = run({"ASYNCWARDEN": "warn", TRACE: value}, tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (7, GUARD_ON, "")
    written = list(tmp_path.iterdir())
    assert len(written) == 1 and written[0].stat().st_size > 0


# -- 1 MB values, parsed in-process ---------------------------------------------------------


@pytest.mark.parametrize("variable", [*OTHER_VARIABLES, "ASYNCWARDEN"])
@pytest.mark.parametrize("value", ["x" * 1_000_000, "9" * 1_000_000, "ä" * 500_000])
def test_a_1_mb_value_is_rejected_with_a_short_message(variable: str, value: str) -> None:
    settings, errors = _config.Settings.from_environ({variable: value})
    assert settings == _config.Settings()
    assert [e.variable for e in errors] == [variable]
    assert len(str(errors[0])) <= LINE_LIMIT


def test_a_1_mb_trace_file_path_is_kept_as_given_and_fails_only_when_opened() -> None:
    settings, errors = _config.Settings.from_environ({TRACE: "x" * 1_000_000})
    assert errors == []
    assert settings.trace_file == "x" * 1_000_000


# -- misused asyncio and pandas calls --------------------------------------------------------


def shown(value: object) -> object:
    """A result as comparable across runs: tasks and frames by what they hold, not by address."""
    if isinstance(value, (set, frozenset, list, tuple)):
        return (type(value).__name__, sorted(repr(shown(v)) for v in value))
    if isinstance(value, asyncio.Future):
        return ("future", value.result() if value.done() and not value.cancelled() else None)
    if isinstance(value, pd.DataFrame):
        return value.to_json(orient="split")
    return repr(value)


def outcome(call: Callable[[], Any]) -> tuple[object, list[object]]:
    """What a call does, as its caller sees it: result or exception, and the warnings."""
    # Frozen, what earlier tests left (a coroutine never awaited) cannot warn during this call,
    # and the collection that makes this call's own leftovers warn takes microseconds.
    gc.freeze()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.filterwarnings("ignore", category=asyncwarden.AsyncWardenWarning)
            try:
                result: object = ("returned", shown(call()))
            except BaseException as error:
                result = ("raised", type(error), str(error))
            gc.collect()  # "coroutine ... was never awaited" belongs to this call
    finally:
        gc.unfreeze()
    return result, [(w.category, str(w.message), w.filename, w.lineno) for w in caught]


def same_with_and_without_guard(call: Callable[[], Any]) -> tuple[object, list[object]]:
    plain = outcome(call)
    try:
        with asyncwarden.guarded("warn"):
            guarded = outcome(call)
    finally:
        _config.reset_defaults()
    assert guarded == plain
    return plain


def in_loop(make: Callable[[], Awaitable[Any]]) -> Callable[[], Any]:
    async def main() -> Any:
        return await make()

    return lambda: asyncio.run(main())


async def member(i: int = 0) -> int:
    await asyncio.sleep(0)
    return i


async def _wait_for_tasks(**kwargs: Any) -> Any:
    task = asyncio.ensure_future(member())
    try:
        return await asyncio.wait([task], **kwargs)
    finally:
        await task


async def _coroutine_to_wait() -> Any:
    coroutine = member()
    try:
        return await asyncio.wait([coroutine])
    finally:
        coroutine.close()


async def _coroutine_to_as_completed() -> Any:
    coroutine = member()
    try:
        return [await f for f in asyncio.as_completed(coroutine)]  # type: ignore[arg-type]
    finally:
        coroutine.close()


async def _task_group_misuse(kind: str) -> Any:
    async with asyncio.TaskGroup() as group:  # type: ignore[attr-defined]
        if kind == "not a coroutine":
            group.create_task(1)
        task = group.create_task(member())
    if kind == "after exit":
        coroutine = member()
        try:
            group.create_task(coroutine)
        finally:
            coroutine.close()
    return task.result()


def _gather_outside_a_loop() -> Any:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        future = asyncio.gather(member(), member(1))
        return loop.run_until_complete(future)
    finally:
        asyncio.set_event_loop(None)
        loop.close()


ASYNCIO_MISUSE: dict[str, Callable[[], Any]] = {
    "empty wait": in_loop(lambda: asyncio.wait([])),
    "empty set to wait": in_loop(lambda: asyncio.wait(set())),
    "empty generator to wait": in_loop(lambda: asyncio.wait(t for t in ())),
    "bad return_when": in_loop(lambda: _wait_for_tasks(return_when="SOMETIMES")),
    "a future, not a list, to wait": in_loop(
        lambda: asyncio.wait(asyncio.ensure_future(member()))  # type: ignore[arg-type]
    ),
    "a coroutine passed to wait": in_loop(_coroutine_to_wait),
    "non-awaitables to gather": in_loop(lambda: asyncio.gather(1, "two")),  # type: ignore[arg-type]
    "gather outside a running loop": _gather_outside_a_loop,
    "non-awaitables to as_completed": in_loop(
        lambda: asyncio.gather(*asyncio.as_completed([1, 2]))  # type: ignore[list-item]
    ),
    "a coroutine, not a list, to as_completed": in_loop(_coroutine_to_as_completed),
    "non-awaitable to wait_for": in_loop(lambda: asyncio.wait_for(1, 1)),  # type: ignore[arg-type]
    "negative timeout to wait_for": in_loop(
        lambda: asyncio.wait_for(asyncio.ensure_future(asyncio.sleep(1)), -1)
    ),
    "negative timeout to wait": in_loop(lambda: _wait_for_tasks(timeout=-1)),
}
if PY_3_11_PLUS:
    ASYNCIO_MISUSE["a non-coroutine to TaskGroup.create_task"] = in_loop(
        lambda: _task_group_misuse("not a coroutine")
    )
    ASYNCIO_MISUSE["TaskGroup.create_task after the group finished"] = in_loop(
        lambda: _task_group_misuse("after exit")
    )


# Odd but legal on some Pythons: these may return (the others must raise, so that the
# comparison compares errors).
MAY_RETURN = {"negative timeout to wait", "gather outside a running loop"} | (
    set() if PY_3_11_PLUS else {"a coroutine passed to wait"}  # 3.10: deprecated, still works
)


@pytest.mark.parametrize("name", list(ASYNCIO_MISUSE))
def test_misused_asyncio_raises_the_same_error_under_the_guard(name: str) -> None:
    result, _ = same_with_and_without_guard(ASYNCIO_MISUSE[name])
    assert result[0] == "raised" or name in MAY_RETURN  # type: ignore[index]


def _task_frames() -> list[pd.DataFrame]:
    """Frames with lineage (under the guard): what the guard inspects when they are combined."""

    async def partition(i: int) -> pd.DataFrame:
        await asyncio.sleep(0)
        return pd.DataFrame({"k": [i, i + 1], "v": [10 * i, 10 * i + 1]})

    async def main() -> list[pd.DataFrame]:
        return list(await asyncio.gather(*(partition(i) for i in range(3))))

    return asyncio.run(main())


def _concat_of_failing_generator() -> Any:
    frames = _task_frames()

    def generate() -> Any:
        yield frames[0]
        raise LookupError("the reader failed after one frame")

    return pd.concat(generate())


PANDAS_MISUSE: dict[str, Callable[[], Any]] = {
    "non-frames to concat": lambda: pd.concat([_task_frames()[0], 1, "x"]),  # type: ignore[list-item]
    "a frame, not a list, to concat": lambda: pd.concat(_task_frames()[0]),  # type: ignore[call-overload]
    "concat of an empty list": lambda: pd.concat([]),
    "concat of Nones": lambda: pd.concat([None, None]),  # type: ignore[list-item]
    "concat of a failing generator": _concat_of_failing_generator,
    "concat with a bad axis": lambda: pd.concat(_task_frames(), axis=5),
    "merge with no common columns": lambda: pd.merge(
        _task_frames()[0], _task_frames()[1].rename(columns={"k": "a", "v": "b"})
    ),
    "merge on a missing column": lambda: pd.merge(*_task_frames()[:2], on="nope"),
    "merge with a bad how": lambda: _task_frames()[0].merge(_task_frames()[1], how="sideways"),  # type: ignore[arg-type]
    "merge failing validate": lambda: pd.merge(
        pd.concat(_task_frames()), _task_frames()[1], on="k", validate="one_to_one"
    ),
    "merge with a non-frame": lambda: pd.merge(_task_frames()[0], [1, 2]),  # type: ignore[arg-type]
    "join with overlapping columns and no suffix": lambda: _task_frames()[0].join(
        _task_frames()[1]
    ),
    "join on a missing column": lambda: _task_frames()[0].join(_task_frames()[1], on="nope"),
}


@pytest.mark.parametrize("call", list(PANDAS_MISUSE.values()), ids=list(PANDAS_MISUSE))
def test_misused_pandas_raises_the_same_error_under_the_guard(call: Callable[[], Any]) -> None:
    result, _ = same_with_and_without_guard(call)
    assert result[0] == "raised"  # type: ignore[index]
