"""Transparency and fail-open: each defect of issue 18, found by running the guard as a new user.

Every test here failed before its fix. Where the defect is seen by a user, the program runs as a
user runs it: a fresh interpreter with ``ASYNCWARDEN`` (and ``ASYNCWARDEN_TRACE_FILE``) set.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_python

needs_sdk = pytest.mark.skipif(
    not __import__("importlib").util.find_spec("opentelemetry.sdk"),
    reason="the trace file needs the otel extra",
)


def _program(tmp_path: Path, source: str, name: str = "app.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def _requests(trace_file: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in trace_file.read_text().splitlines()]


def _spans_by_pid(trace_file: Path) -> dict[int, list[dict[str, Any]]]:
    """Spans of the trace file, by the ``process.pid`` of their resource."""
    found: dict[int, list[dict[str, Any]]] = {}
    for request in _requests(trace_file):
        for resource_spans in request.get("resourceSpans", []):
            attributes = {a["key"]: a["value"] for a in resource_spans["resource"]["attributes"]}
            pid = int(attributes["process.pid"]["intValue"])
            for scope in resource_spans["scopeSpans"]:
                found.setdefault(pid, []).extend(scope["spans"])
    return found


def _function_of(span: dict[str, Any]) -> str:
    values = {a["key"]: a["value"] for a in span.get("attributes", [])}
    return str(values.get("code.function.name", {}).get("stringValue", ""))


# -- 3 and 4: the trace file path --------------------------------------------------------------

RUNS_ON = "import asyncio\nprint('ran')\n"
WAITS = """
import asyncio

async def main():
    await asyncio.wait([asyncio.ensure_future(asyncio.sleep(0))])

asyncio.run(main())
"""


@needs_sdk
def test_a_fifo_as_trace_file_is_one_line_and_start_up_never_blocks(tmp_path: Path) -> None:
    fifo = tmp_path / "trace.fifo"
    os.mkfifo(fifo)
    # No reader: opening it for writing would wait forever. The timeout is the test's only
    # guard against hanging, not a measure of anything.
    result = run_python(
        "-c", RUNS_ON, env={"ASYNCWARDEN": "warn", "ASYNCWARDEN_TRACE_FILE": str(fifo)}, timeout=30
    )
    assert (result.returncode, result.stdout) == (0, "ran\n")
    assert result.stderr.splitlines() == [
        f"asyncwarden: ASYNCWARDEN_TRACE_FILE={str(fifo)!r}: not a regular file (a FIFO); "
        "no trace file is written, the program runs on"
    ]


@needs_sdk
def test_a_fifo_with_a_reader_is_refused_too(tmp_path: Path) -> None:
    fifo = tmp_path / "trace.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        result = run_python(
            "-c",
            RUNS_ON,
            env={"ASYNCWARDEN": "warn", "ASYNCWARDEN_TRACE_FILE": str(fifo)},
            timeout=30,
        )
        assert os.read(reader, 100) == b""
    finally:
        os.close(reader)
    assert (result.returncode, result.stdout) == (0, "ran\n")
    assert "not a regular file (a FIFO)" in result.stderr
    assert len(result.stderr.splitlines()) == 1


@needs_sdk
@pytest.mark.parametrize("target_exists", [True, False], ids=["link", "dangling link"])
def test_a_link_at_the_trace_path_is_not_followed(tmp_path: Path, target_exists: bool) -> None:
    target = tmp_path / "victim.txt"
    if target_exists:
        target.write_text("precious\n")
    link = tmp_path / "trace.jsonl"
    link.symlink_to(target)
    program = _program(tmp_path, WAITS)
    result = run_python(
        str(program),
        env={"ASYNCWARDEN": "warn", "ASYNCWARDEN_TRACE_FILE": str(link)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"asyncwarden: ASYNCWARDEN_TRACE_FILE={str(link)!r}: not a regular file "
        "(a symbolic link, which is not followed); no trace file is written, the program runs on"
    ]
    assert link.is_symlink()
    if target_exists:
        assert target.read_text() == "precious\n"
    else:
        assert not target.exists()


@needs_sdk
@pytest.mark.parametrize("umask", [0o000, 0o022, 0o277], ids=["000", "022", "277"])
def test_a_new_trace_file_is_private_to_its_owner_whatever_the_umask(
    tmp_path: Path, umask: int
) -> None:
    trace_file = tmp_path / "trace.jsonl"
    code = f"import os\nos.umask({umask:#o})\nimport asyncio\nasyncio.run(asyncio.sleep(0))\n"
    result = run_python(
        "-c", code, env={"ASYNCWARDEN": "warn", "ASYNCWARDEN_TRACE_FILE": str(trace_file)}
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert stat.S_IMODE(trace_file.stat().st_mode) == 0o600


@needs_sdk
def test_an_existing_trace_file_keeps_its_mode_and_is_appended_to(tmp_path: Path) -> None:
    trace_file = tmp_path / "trace.jsonl"
    trace_file.write_text("")
    trace_file.chmod(0o640)
    program = _program(tmp_path, WAITS)
    env = {"ASYNCWARDEN": "warn", "ASYNCWARDEN_TRACE_FILE": str(trace_file)}
    for _ in range(2):
        result = run_python(str(program), env=env)
        assert (result.returncode, result.stderr) == (0, "")
    assert stat.S_IMODE(trace_file.stat().st_mode) == 0o640
    assert sum(len(spans) for spans in _spans_by_pid(trace_file).values()) == 2


@needs_sdk
def test_spaces_at_the_ends_of_the_trace_path_are_part_of_the_file_name(tmp_path: Path) -> None:
    program = _program(tmp_path, WAITS)
    result = run_python(
        str(program),
        env={"ASYNCWARDEN": "warn", "ASYNCWARDEN_TRACE_FILE": " trace.jsonl "},
        cwd=tmp_path,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert sorted(p.name for p in tmp_path.iterdir()) == [" trace.jsonl ", "app.py"]
    assert _spans_by_pid(tmp_path / " trace.jsonl ")


# -- 5: the trace file in a process that forks ---------------------------------------------------

FORKING = """
import asyncio, os, sys, threading, warnings

filters = list(warnings.filters)

async def in_parent():
    await asyncio.wait([asyncio.ensure_future(asyncio.sleep(0))])

async def in_child():
    await asyncio.wait([asyncio.ensure_future(asyncio.sleep(0))])

asyncio.run(in_parent())
print("threads", threading.active_count())
print("filters unchanged", warnings.filters == filters)
sys.stdout.flush()
pid = os.fork()  # -W error::DeprecationWarning: a multi-threaded process fails here on 3.12+
if pid == 0:
    asyncio.run(in_child())
    sys.exit(0)  # a normal exit: whatever is still buffered is flushed
_, status = os.waitpid(pid, 0)
print("child", pid, os.waitstatus_to_exitcode(status))
"""


@needs_sdk
@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork")
def test_the_trace_file_adds_no_thread_no_warning_filter_and_is_correct_per_process(
    tmp_path: Path,
) -> None:
    trace_file = tmp_path / "trace.jsonl"
    program = _program(tmp_path, FORKING)
    result = run_python(
        "-W",
        "error::DeprecationWarning",
        str(program),
        env={"ASYNCWARDEN": "warn", "ASYNCWARDEN_TRACE_FILE": str(trace_file)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[:2] == ["threads 1", "filters unchanged True"]
    child_pid = int(lines[2].split()[1])
    assert lines[2] == f"child {child_pid} 0"
    spans = _spans_by_pid(trace_file)
    functions = {pid: sorted(map(_function_of, found)) for pid, found in spans.items()}
    parent_pid = next(pid for pid in functions if pid != child_pid)
    assert functions == {parent_pid: ["in_parent"], child_pid: ["in_child"]}


@needs_sdk
@pytest.mark.skipif(
    not __import__("importlib").util.find_spec("test.test_asyncio"),
    reason="CPython's own test suite is not installed",
)
def test_cpython_regrtest_sees_no_changed_environment_with_the_trace_file(tmp_path: Path) -> None:
    # regrtest's --fail-env-changed checks, around each test file, the threads left running and
    # warnings.filters (among others): what a guarded program must not find changed either.
    trace_file = tmp_path / "trace.jsonl"
    result = run_python(
        "-m",
        "test",
        "test_asyncio.test_waitfor",
        "--fail-env-changed",
        env={"ASYNCWARDEN": "warn", "ASYNCWARDEN_TRACE_FILE": str(trace_file)},
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "== Tests result: SUCCESS ==" in result.stdout  # 3.10 has no "Result:" line
    assert _spans_by_pid(trace_file)  # the guard was at work, writing the file


# -- 7: the OpenTelemetry SDK failing to encode a span --------------------------------------------

UNENCODABLE = """
import asyncio
from asyncwarden._sinks._telemetry import _otlpjson

encode = _otlpjson.span

def fails_for_wait(readable):
    if dict(readable.attributes).get("asyncwarden.batch.kind") == "wait":
        raise RuntimeError("injected fault")
    return encode(readable)

_otlpjson.span = fails_for_wait

async def gathered():
    await asyncio.gather(asyncio.sleep(0))

async def waited():
    await asyncio.wait([asyncio.ensure_future(asyncio.sleep(0))])

async def main():
    await gathered()
    await waited()
    await gathered()

asyncio.run(main())
print("ran")
"""


@needs_sdk
def test_a_span_that_cannot_be_encoded_is_one_line_and_the_others_are_written(
    tmp_path: Path,
) -> None:
    trace_file = tmp_path / "trace.jsonl"
    program = _program(tmp_path, UNENCODABLE)
    result = run_python(
        str(program), env={"ASYNCWARDEN": "warn", "ASYNCWARDEN_TRACE_FILE": str(trace_file)}
    )
    assert (result.returncode, result.stdout) == (0, "ran\n")
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("asyncwarden: internal error in trace file: encoding spans: ")
    assert "RuntimeError: injected fault" in lines[0]
    written = [_function_of(s) for spans in _spans_by_pid(trace_file).values() for s in spans]
    assert written == ["gathered", "gathered"]


# -- 2: patched callables pickle as the originals do --------------------------------------------

PICKLING = """
import asyncio, copy, pickle, pickletools
from concurrent.futures import ProcessPoolExecutor
import pandas as pd

frames = [pd.DataFrame({"a": [1]}), pd.DataFrame({"a": [2]})]
df = frames[0]
patched = {
    "asyncio.wait": asyncio.wait,
    "asyncio.gather": asyncio.gather,
    "asyncio.as_completed": asyncio.as_completed,
    "asyncio.wait_for": asyncio.wait_for,
    "asyncio.tasks.wait": asyncio.tasks.wait,
    "pd.concat": pd.concat,
    "pd.merge": pd.merge,
    "DataFrame.merge": pd.DataFrame.merge,
    "DataFrame.join": pd.DataFrame.join,
}
if hasattr(asyncio, "TaskGroup"):
    patched["TaskGroup.create_task"] = asyncio.TaskGroup.create_task
    patched["TaskGroup.__aexit__"] = asyncio.TaskGroup.__aexit__
for name, function in patched.items():
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        data = pickle.dumps(function, protocol)
        assert pickle.loads(data) == function, (name, protocol)
        assert b"asyncwarden" not in data, (name, data)
    assert copy.copy(function) is function and copy.deepcopy(function) is function, name
print("functions", len(patched))
bound = pickle.loads(pickle.dumps(df.merge))
assert bound.__self__.equals(df) and bound(df, on="a").equals(df)
assert copy.copy(df.merge)(df, on="a").equals(df)
print("bound method")

async def main():
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(1) as pool:
        combined = await loop.run_in_executor(pool, pd.concat, frames)
        merged = await loop.run_in_executor(pool, df.merge, frames[0])
    print(combined["a"].tolist(), merged["a"].tolist())

asyncio.run(main())
"""


@pytest.mark.parametrize("mode", ["off", "warn"])
def test_patched_callables_pickle_by_reference_into_a_process_pool(
    tmp_path: Path, mode: str
) -> None:
    program = _program(tmp_path, PICKLING)
    result = run_python(str(program), env={"ASYNCWARDEN": mode})
    assert (result.returncode, result.stderr) == (0, "")
    functions = 11 if sys.version_info >= (3, 11) else 9
    assert result.stdout.splitlines() == [f"functions {functions}", "bound method", "[1, 2] [1]"]


def test_a_pickled_patched_callable_reads_as_what_its_module_holds_now() -> None:
    import pickle

    import asyncwarden

    pandas = pytest.importorskip("pandas")
    import asyncio

    original_wait, original_concat = asyncio.wait, pandas.concat
    with asyncwarden.guarded("warn"):
        assert asyncio.wait is not original_wait and pandas.concat is not original_concat
        data = pickle.dumps((asyncio.wait, pandas.concat))
        assert pickle.loads(data) == (asyncio.wait, pandas.concat)
    # Read where the guard is off, the same bytes are the originals.
    assert pickle.loads(data) == (original_wait, original_concat)
    assert pickle.loads(pickle.dumps(original_concat)) is original_concat


# -- 6: strict mode's traceback ends one frame below the user's line ------------------------------

STRICT = """
import asyncio
import pandas as pd

async def part(i):
    return pd.DataFrame({"a": [i, i]})

async def broken():
    raise OSError("partition 1 unreadable")

async def main(how):
    frames = await asyncio.gather(*(part(i) for i in range(3)))
    if how == "concat":  # AW201 is decided at the concat (AW101 waits for the result's use)
        results = await asyncio.gather(part(0), broken(), return_exceptions=True)
        frames = [r for r in results if not isinstance(r, BaseException)]
        return pd.concat(frames)  # the user's line
    other = pd.DataFrame({"b": [1, 2]})
    combined = pd.concat(frames)
    if how == "merge":
        return pd.merge(combined, other, left_index=True, right_index=True)  # the user's line
    return combined.join(other)  # the user's line

import sys
asyncio.run(main(sys.argv[1]))
"""
FRAME = re.compile(r'^  File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<function>\S+)$')


@pytest.mark.parametrize("how", ["concat", "merge", "join"])
def test_a_finding_error_comes_out_of_the_users_call_with_one_real_frame_below_it(
    tmp_path: Path, how: str
) -> None:
    program = _program(tmp_path, STRICT)
    result = run_python(str(program), how, env={"ASYNCWARDEN": "strict"})
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    frames = [(i, m) for i, line in enumerate(lines) if (m := FRAME.match(line))]
    users = [i for i, (_, m) in enumerate(frames) if m["file"] == str(program)]
    below = frames[users[-1] + 1 :]
    assert len(below) == 1, result.stderr
    index, frame = below[0]
    assert frame["function"] == how
    real = os.path.realpath(frame["file"])
    assert os.path.isfile(real)
    assert "asyncwarden" in Path(real).parts
    source = lines[index + 1].strip()
    assert source == Path(real).read_text().splitlines()[int(frame["line"]) - 1].strip()
    assert lines[index + 2].startswith("asyncwarden.exceptions.FindingError: AW")
    assert "<asyncwarden guard>" not in result.stderr
    assert "_delivery.py" not in result.stderr and "_report.py" not in result.stderr


def test_pandas_warnings_still_name_the_users_line_through_the_guards_frame(
    tmp_path: Path,
) -> None:
    program = _program(
        tmp_path,
        """
        import asyncio, warnings
        import pandas as pd

        async def part(i):
            return pd.DataFrame({"a": [i]})

        async def main():
            frames = await asyncio.gather(*(part(i) for i in range(2)))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                pd.concat(frames, copy=False)  # the user's line
            print(sorted({(w.filename, w.lineno) for w in caught}))

        asyncio.run(main())
        """,
    )
    plain = run_python(str(program))
    guarded = run_python(str(program), env={"ASYNCWARDEN": "warn"})
    assert (guarded.returncode, guarded.stderr) == (0, "")
    assert guarded.stdout == plain.stdout


def test_pandas_method_warnings_and_chained_assignment_checks_are_as_without_the_guard(
    tmp_path: Path,
) -> None:
    """pandas warns with a fixed stacklevel in some methods (``inplace=``'s deprecation) and
    counts references to ``self`` to see chained assignment: a wrapper in front of those methods
    would be named by the one and hide the other. Before and after a concat of task frames.
    """
    program = _program(
        tmp_path,
        """
        import asyncio, warnings
        import pandas as pd

        def pandas_moves():
            df = pd.DataFrame({"a": [2, 1], "b": [3, 4]})
            df.sort_values("a", inplace=True)
            df.fillna(0, inplace=True)
            df[df.a > 0]["b"] = 5
            df["a"].fillna(0, inplace=True)
            df.drop(columns="b").rename(columns={"a": "c"}).to_dict()

        async def part(i):
            return pd.DataFrame({"a": [i]})

        async def main():
            tasks = [asyncio.create_task(part(i)) for i in range(3)]
            done, _ = await asyncio.wait(tasks)
            combined = pd.concat([tasks[i].result() for i in range(3)], ignore_index=True)
            pandas_moves()
            return combined["a"].tolist()

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pandas_moves()
            print(asyncio.run(main()))
        print(sorted({(w.category.__name__, w.filename, w.lineno) for w in caught}))
        """,
    )
    plain = run_python(str(program))
    guarded = run_python(str(program), env={"ASYNCWARDEN": "warn"})
    assert plain.returncode == 0, plain.stderr
    assert (guarded.returncode, guarded.stderr) == (0, "")
    assert guarded.stdout == plain.stdout
    assert "app.py" in plain.stdout  # pandas did warn, at the user's lines


# -- 7: what the program configured, or asyncwarden's own failure, never stops the program -------

LOGGING_STOPS = """
import asyncio, sys
import pandas as pd
import structlog

class Stop(BaseException):
    pass

def stop(logger, method, event_dict):
    raise Stop("a processor of the program's")

structlog.configure(processors=[stop])

async def part(i):
    return pd.DataFrame({"a": [i, i]})

async def main():
    frames = await asyncio.gather(*(part(i) for i in range(3)))
    pd.concat(frames).join(pd.DataFrame({"b": [1, 2]}))  # AW102: a finding, logged

asyncio.run(main())
print("ran")
"""


@pytest.mark.parametrize("log", ["console", "json"])
def test_a_structlog_processor_raising_a_base_exception_does_not_stop_the_program(
    tmp_path: Path, log: str
) -> None:
    program = _program(tmp_path, LOGGING_STOPS)
    result = run_python(
        str(program),
        env={"ASYNCWARDEN": "warn", "ASYNCWARDEN_LOG": log, "PYTHONWARNINGS": "ignore"},
    )
    assert (result.returncode, result.stdout) == (0, "ran\n"), result.stderr
    assert "Traceback" not in result.stderr
    internal = [line for line in result.stderr.splitlines() if "internal error" in line]
    assert internal, result.stderr
    assert all("Stop: a processor of the program's" in line for line in internal)
    assert len(internal) == len(set(internal))


def test_a_failure_raising_held_findings_is_an_internal_error_not_the_programs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], guard: None
) -> None:
    import asyncio

    from asyncwarden import _failopen
    from asyncwarden._findings import _held as delivery

    class Broken(dict[Any, Any]):
        def pop(self, *args: object) -> Any:
            raise RuntimeError("injected fault")

    _failopen.reset()
    monkeypatch.setattr(delivery, "_held", Broken())
    asyncio.run(asyncio.sleep(0))
    loop = asyncio.new_event_loop()
    loop.close()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("asyncwarden: internal error in lifecycle: raising held findings")
    assert "RuntimeError: injected fault" in lines[0]


# -- 1: the program's input is read once ----------------------------------------------------------


class _Jobs:
    """An iterable that starts a job per item it yields, logging each start."""

    def __init__(self, log: list[int], count: int = 3) -> None:
        self.log = log
        self.count = count

    def __iter__(self) -> Any:
        import asyncio

        for i in range(self.count):
            self.log.append(i)
            yield asyncio.ensure_future(asyncio.sleep(0, i))


class _SizedJobs(_Jobs):
    def __len__(self) -> int:
        return self.count


class _ListOfJobs(list[Any]):
    """A list subclass whose own ``__iter__`` starts the jobs; the list itself holds markers."""

    def __init__(self, log: list[int], count: int = 3) -> None:
        super().__init__(range(count))
        self.jobs = _Jobs(log, count)

    def __iter__(self) -> Any:
        return iter(self.jobs)


INPUTS = {"iterable": _Jobs, "sized": _SizedJobs, "list subclass": _ListOfJobs}


def _run_guarded_and_not(program: Any) -> tuple[Any, Any]:
    import asyncwarden

    plain = program()
    with asyncwarden.guarded("warn"):
        guarded = program()
    return plain, guarded


@pytest.mark.parametrize("kind", INPUTS)
@pytest.mark.parametrize("call", ["wait", "as_completed"])
def test_an_input_that_starts_jobs_as_it_is_read_is_read_once(kind: str, call: str) -> None:
    import asyncio

    def program() -> tuple[list[int], list[int]]:
        log: list[int] = []

        async def main() -> list[int]:
            jobs = INPUTS[kind](log)
            if call == "wait":
                done, _ = await asyncio.wait(jobs)
                results = sorted(task.result() for task in done)
            else:
                results = sorted([await f for f in asyncio.as_completed(jobs)])
            return results

        return log, asyncio.run(main())

    plain, guarded = _run_guarded_and_not(program)
    assert plain == ([0, 1, 2], [0, 1, 2])
    assert guarded == plain


@pytest.mark.parametrize("kind", ["sized", "list subclass"])
def test_an_empty_input_to_wait_is_not_read_with_the_guard_either(kind: str) -> None:
    import asyncio

    def program() -> tuple[list[int], str]:
        log: list[int] = []
        jobs: Any = _SizedJobs(log, 0) if kind == "sized" else _ListOfJobs(log, 0)
        if kind == "list subclass":
            jobs.jobs.count = 3  # empty as a list, yet its __iter__ would start three jobs

        async def main() -> str:
            try:
                await asyncio.wait(jobs)
            except ValueError as error:
                return str(error)
            return "no error"

        return log, asyncio.run(main())

    plain, guarded = _run_guarded_and_not(program)
    assert plain[0] == [] and plain[1].endswith("Futures is empty.")
    assert guarded == plain


class _Partitions:
    """Loads a partition per item it yields, logging each load."""

    def __init__(self, log: list[Any], count: int = 3) -> None:
        self.log = log
        self.count = count

    def __iter__(self) -> Any:
        pd = pytest.importorskip("pandas")
        for i in range(self.count):
            self.log.append(i)
            yield pd.DataFrame({"a": [i]})


class _SizedPartitions(_Partitions):
    def __len__(self) -> int:
        return self.count


class _LazyPartitions(__import__("collections.abc").abc.Mapping):  # type: ignore[misc]
    """A mapping that loads a partition when it is looked up."""

    def __init__(self, log: list[Any], count: int = 3) -> None:
        self.log = log
        self.count = count

    def __getitem__(self, key: Any) -> Any:
        pd = pytest.importorskip("pandas")
        if key not in range(self.count):
            raise KeyError(key)
        self.log.append(key)
        return pd.DataFrame({"a": [key]})

    def __iter__(self) -> Any:
        return iter(range(self.count))

    def __len__(self) -> int:
        return self.count


@pytest.mark.parametrize(
    ("kind", "keys"),
    [
        ("iterable", None),
        ("sized", None),
        ("mapping", None),
        ("mapping", [2, 0]),
        ("mapping", [1, 7]),
    ],
    ids=["iterable", "sized", "mapping", "mapping with keys", "mapping with a missing key"],
)
def test_partitions_that_load_as_they_are_read_are_loaded_once_by_concat(
    kind: str, keys: list[int] | None
) -> None:
    import asyncio

    pd = pytest.importorskip("pandas")
    make = {"iterable": _Partitions, "sized": _SizedPartitions, "mapping": _LazyPartitions}[kind]

    def program() -> tuple[list[Any], str]:
        log: list[Any] = []

        async def part(i: int) -> Any:
            return pd.DataFrame({"a": [i]})

        async def main() -> None:
            await asyncio.gather(*(part(i) for i in range(2)))  # the guard is at work

        asyncio.run(main())
        try:
            combined = pd.concat(make(log), keys=keys)
        except Exception as error:
            return log, f"{type(error).__name__}: {error}"
        return log, combined.to_json(orient="split")

    plain, guarded = _run_guarded_and_not(program)
    assert (
        plain[0]
        == {None: [0, 1, 2], (2, 0): [2, 0], (1, 7): [1]}[None if keys is None else tuple(keys)]
    )
    assert guarded == plain


# -- 8: what is promised about order --------------------------------------------------------------


def test_the_docs_promise_about_order_only_what_holds() -> None:
    # The equivalence properties (tests/test_equivalence.py) check the promise itself: lists and
    # completions in the same order, sets compared as sets. This keeps the words in line with it.
    root = Path(__file__).resolve().parent.parent
    readme = " ".join((root / "README.md").read_text().split())
    reliability = " ".join((root / "docs" / "reliability.md").read_text().split())
    assert "return types and ordering" not in readme  # the old, unqualified promise
    for text in (readme, reliability):
        assert "reorders nothing" in text
        assert "arbitrary with or without the guard" in text


# -- object lifetimes: the guard keeps no member alive ----------------------------------------

LIFETIMES = """
import asyncio, gc, sys, weakref

gc.disable()  # what is freed must be freed by reference counting, as without the guard
refs = []

async def member(i):
    await asyncio.sleep(0)
    return i

async def main(how):
    tasks = [asyncio.ensure_future(member(i)) for i in range(50)]
    refs.extend(map(weakref.ref, tasks))
    if how == "for":
        got = [await f for f in asyncio.as_completed(tasks)]
    elif how == "async for":
        got = [f.result() async for f in asyncio.as_completed(tasks)]
    else:  # the program stops reading after the first result; the others still finish
        for f in asyncio.as_completed(tasks):
            got = [await f]
            del f
            break
        await asyncio.sleep(0.05)
    del tasks
    return len(got)

results = {}
for how in sys.argv[1:]:
    refs.clear()
    asyncio.run(main(how))
    results[how] = sum(r() is not None for r in refs)
print(results)
"""


def test_as_completed_keeps_no_member_alive_after_the_loop(tmp_path: Path) -> None:
    # The guard's recorder sat on as_completed's queue with a table of the input: a cycle that
    # kept every member alive until the garbage collector ran (and cost 2-4 us per task).
    program = _program(tmp_path, LIFETIMES)
    ways = ["for", "stop early"] + (["async for"] if sys.version_info >= (3, 13) else [])
    plain = run_python(str(program), *ways)
    guarded = run_python(str(program), *ways, env={"ASYNCWARDEN": "warn"})
    assert plain.returncode == 0, plain.stderr
    assert guarded.returncode == 0, guarded.stderr
    assert plain.stdout == guarded.stdout
    assert guarded.stdout.strip() == str(dict.fromkeys(ways, 0))
