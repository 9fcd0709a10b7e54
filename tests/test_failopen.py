"""Fault injection: a bug inside asyncwarden never changes what the user's program computes.

Every internal hook is made to raise in turn (batch bookkeeping, the provenance registry, frame
lineage, the rules, observers, sinks, rendering, call-site capture, the lifecycle guard). The
user's program must compute exactly what it computes without the guard, and asyncwarden must log
exactly one internal-error line per place, however often the place is reached. The last tests do
the same in a subprocess started as a user starts one (``ASYNCWARDEN=warn python app.py``).
"""

from __future__ import annotations

import asyncio
import re
import sys
import textwrap
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import asyncwarden
from asyncwarden import _failopen, _observers
from asyncwarden._findings import _delivery
from asyncwarden._findings._finding import Finding
from asyncwarden._patches import _asyncio_completed, _asyncio_taskgroup, _asyncio_wait
from asyncwarden._rules import _catalog, _lifecycle
from asyncwarden._tracking import _callsite, _frame_types, _lineage, _provenance
from tests.conftest import run_python

PY_3_11_PLUS = sys.version_info >= (3, 11)
INTERNAL = re.compile(r"^asyncwarden: internal error in (?P<where>.+?): (?P<error>\w+): ", re.M)
FAULT = "injected fault"


def boom(*args: object, **kwargs: object) -> Any:
    raise RuntimeError(FAULT)


def failing_sink(finding: Finding) -> None:
    raise RuntimeError(FAULT)


# -- the user's programs --------------------------------------------------------------------


async def member(i: int, fail: bool = False) -> int:
    await asyncio.sleep(0)
    if fail:
        raise KeyError(f"member {i}")
    return i


async def asyncio_main() -> list[object]:
    """Every patched asyncio entry point, with results, failures and pending tasks."""
    seen: list[object] = []
    gathered = await asyncio.gather(
        *(member(i) for i in range(3)), member(9, fail=True), return_exceptions=True
    )
    seen.append([repr(r) for r in gathered])
    tasks = [asyncio.ensure_future(member(i)) for i in range(3)]
    done, pending = await asyncio.wait(tasks)
    seen.append((sorted(t.result() for t in done), type(done).__name__, len(pending)))
    slow = asyncio.ensure_future(asyncio.sleep(10))
    done, pending = await asyncio.wait(
        [asyncio.ensure_future(member(1)), slow], return_when=asyncio.FIRST_COMPLETED
    )
    seen.append((len(done), len(pending)))
    for task in pending:
        task.cancel()
    seen.append(await asyncio.gather(*pending, return_exceptions=True) != [])
    seen.append(sorted([await f for f in asyncio.as_completed([member(i) for i in range(3)])]))
    futures = [asyncio.ensure_future(member(i)) for i in range(3)]
    seen.append(sorted([await f for f in asyncio.as_completed(futures)]))
    seen.append(await asyncio.wait_for(asyncio.ensure_future(member(5)), 10))
    try:
        await asyncio.wait_for(asyncio.ensure_future(asyncio.sleep(10)), 0.001)
    except asyncio.TimeoutError:
        seen.append("timed out")
    if PY_3_11_PLUS:
        async with asyncio.TaskGroup() as group:  # type: ignore[attr-defined]
            members = [group.create_task(member(i)) for i in range(3)]
        seen.append([t.result() for t in members])
        try:
            async with asyncio.TaskGroup() as group:  # type: ignore[attr-defined]
                group.create_task(member(1, fail=True))
                group.create_task(asyncio.sleep(10))
        except BaseException as error:  # an ExceptionGroup (a builtin only on 3.11+)
            seen.append((type(error).__name__, [repr(e) for e in error.exceptions]))  # type: ignore[attr-defined]
    return seen


async def partition(i: int, fail: bool = False) -> pd.DataFrame:
    await asyncio.sleep(0)
    if fail:
        raise OSError(f"partition {i} unreadable")
    return pd.DataFrame({"day": [i, i], "value": [10 * i, 10 * i + 1]})


async def pandas_main() -> list[object]:
    """Frames from tasks through concat, merge and join, with findings AW102 and AW201."""
    frames = await asyncio.gather(*(partition(i) for i in range(3)))
    combined = pd.concat(frames)  # index 0,1 repeats: a later join on it is AW102
    lookup = pd.DataFrame({"label": ["a", "b"]})
    joined = combined.join(lookup)
    merged = pd.merge(frames[0], frames[1], on="value", how="outer")
    method_merged = frames[0].merge(frames[2], how="cross")
    partial = await asyncio.gather(
        *(partition(i, fail=(i == 1)) for i in range(3)), return_exceptions=True
    )
    incomplete = pd.concat([p for p in partial if isinstance(p, pd.DataFrame)])  # AW201
    tasks = [asyncio.ensure_future(partition(i)) for i in range(3)]
    done, _ = await asyncio.wait(tasks)
    by_input = pd.concat([t.result() for t in tasks if t in done], ignore_index=True)
    completed = [await f for f in asyncio.as_completed([partition(i) for i in range(3)])]
    sorted_frames = pd.concat(sorted(completed, key=lambda f: int(f["day"].iloc[0])))
    frames_out = [combined, joined, merged, method_merged, incomplete, by_input, sorted_frames]
    if PY_3_11_PLUS:
        async with asyncio.TaskGroup() as group:  # type: ignore[attr-defined]
            members = [group.create_task(partition(i)) for i in range(3)]
        frames_out.append(pd.concat([t.result() for t in members], ignore_index=True))
    return [frame.to_json(orient="split") for frame in frames_out]


def run(main: Callable[[], Any]) -> Any:
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        return asyncio.run(main())


def internal_errors(stderr: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for match in INTERNAL.finditer(stderr):
        counts[match["where"]] = counts.get(match["where"], 0) + 1
    return counts


# -- the faults -----------------------------------------------------------------------------

# (id, where to inject, which program, places that must report it)
Fault = tuple[str, Callable[[pytest.MonkeyPatch], None], Callable[[], Any], set[str]]


def _raise(owner: object, name: str) -> Callable[[pytest.MonkeyPatch], None]:
    return lambda mp: mp.setattr(owner, name, boom)


def _append(owner: object, name: str, item: object) -> Callable[[pytest.MonkeyPatch], None]:
    return lambda mp: mp.setattr(owner, name, [*getattr(owner, name), item])


BATCH_PLACES = {"gather", "wait", "as_completed", "wait_for"} | (
    {"TaskGroup.create_task"} if PY_3_11_PLUS else set()
)
COMPLETION_PLACES = {"gather completion", "wait result", "as_completed completion"} | (
    {"TaskGroup exit"} if PY_3_11_PLUS else set()
)

FAULTS: list[Fault] = [
    ("Batch.__init__", _raise(_provenance.Batch, "__init__"), asyncio_main, BATCH_PLACES),
    (
        "capture (asyncio)",
        lambda mp: [
            _raise(module, "capture")(mp)
            for module in (_asyncio_wait, _asyncio_completed, _asyncio_taskgroup)
        ],
        asyncio_main,
        BATCH_PLACES,
    ),
    (
        "registry.register*",
        lambda mp: [
            mp.setattr(_provenance.registry, name, boom)
            for name in ("register", "register_all", "writer")
            if hasattr(_provenance.registry, name)
        ],
        asyncio_main,
        BATCH_PLACES,
    ),
    (
        "_frame_types.link_task_results",
        _raise(_frame_types, "link_task_results"),
        pandas_main,  # only frames are linked
        COMPLETION_PLACES,
    ),
    (
        "observer batch_started",
        _append(_observers, "on_batch_started", boom),
        asyncio_main,
        {"observer batch_started"},
    ),
    (
        "observer batch_finished",
        _append(_observers, "on_batch_finished", boom),
        asyncio_main,
        {"observer batch_finished"},
    ),
    (
        "_observers.batch_started itself",
        lambda mp: [
            _append(_observers, "on_batch_started", lambda batch: None)(mp),
            mp.setattr(_observers, "batch_started", boom),
        ],
        asyncio_main,
        {"gather", "wait", "as_completed"},
    ),
    (
        "lifecycle wait() pending observer",
        lambda mp: mp.setattr(_observers, "on_wait_pending", [boom]),
        asyncio_main,
        {"observer wait_pending"},
    ),
    (
        "lifecycle shutdown check",
        _raise(_lifecycle, "check_pending"),
        asyncio_main,
        {"lifecycle: runner shutdown"},
    ),
    (
        "_lineage.get",
        _raise(_lineage, "get"),
        pandas_main,
        {"pandas merge", "pandas join"},
    ),
    # concat looks its inputs up all at once; a concat that failed open links nothing.
    ("_lineage.get_many", _raise(_lineage, "get_many"), pandas_main, {"pandas.concat"}),
    # A concat that failed open links nothing, so the join of its result is not looked at.
    (
        "capture (pandas)",
        _raise(_callsite, "capture"),
        pandas_main,
        {"pandas.concat", "pandas merge"},
    ),
    (
        "_catalog.check_combination",
        _raise(_catalog, "check_combination"),
        pandas_main,
        {"pandas.concat", "pandas merge result"},
    ),
    (
        "_lineage.link",  # a combined frame's link; a task's own frame is linked as above
        _raise(_lineage, "link"),
        pandas_main,
        {"pandas.concat result", "pandas merge result"},
    ),
    (
        "observer combined",
        _append(_observers, "on_combined", boom),
        pandas_main,
        {"observer combined"},
    ),
    ("sink", _append(_delivery, "sinks", failing_sink), pandas_main, {"sink failing_sink"}),
    ("Finding.render", _raise(Finding, "render"), pandas_main, {"render"}),
    ("delivery bookkeeping", _raise(_delivery, "_first_time"), pandas_main, {"delivery"}),
]


@pytest.mark.usefixtures("fresh")
@pytest.mark.parametrize(
    ("inject", "main", "places"), [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS]
)
def test_a_raising_internal_hook_changes_nothing_and_is_logged_once_per_place(
    inject: Callable[[pytest.MonkeyPatch], None],
    main: Callable[[], Any],
    places: set[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    expected = run(main)
    inject(monkeypatch)
    with asyncwarden.guarded("warn"):
        outcomes = [run(main) for _ in range(3)]  # a place reached again is not logged again
    assert outcomes == [expected] * 3
    stderr = capsys.readouterr().err
    logged = internal_errors(stderr)
    assert places <= set(logged), stderr
    assert set(logged.values()) == {1}, logged
    assert "Traceback" not in stderr


@pytest.mark.usefixtures("fresh")
def test_a_finding_that_cannot_be_rendered_still_warns_in_warn_mode(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(Finding, "render", boom)
    with asyncwarden.guarded("warn"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(pandas_main())
    codes = {str(w.message).split()[0] for w in caught if issubclass(w.category, Warning)}
    assert {"AW102", "AW201"} <= codes
    assert all(str(w.message) != "" for w in caught)
    assert internal_errors(capsys.readouterr().err) == {"render": 1}


@pytest.mark.usefixtures("fresh")
def test_a_finding_that_cannot_be_rendered_is_still_a_finding_error_in_strict_mode(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(Finding, "render", boom)
    with asyncwarden.guarded("strict"), pytest.raises(asyncwarden.FindingError) as raised:
        asyncio.run(pandas_main())
    assert raised.value.finding.code in {"AW102", "AW201"}
    assert str(raised.value).startswith(raised.value.finding.code)
    assert "render" in internal_errors(capsys.readouterr().err)


@pytest.mark.usefixtures("fresh")
def test_an_internal_error_is_one_line_naming_the_place_and_the_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_provenance.Batch, "__init__", boom)
    with asyncwarden.guarded("warn"):
        run(asyncio_main)
    lines = [line for line in capsys.readouterr().err.splitlines() if "internal error" in line]
    assert lines
    for line in lines:
        assert line.startswith("asyncwarden: internal error in ")
        assert f"RuntimeError: {FAULT}" in line
        assert "the program's own call proceeded" in line


@pytest.mark.usefixtures("fresh")
def test_internal_error_itself_never_raises_even_with_a_broken_stderr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Broken:
        def write(self, text: str) -> int:
            raise OSError("stderr closed")

    monkeypatch.setattr(sys, "stderr", Broken())
    _failopen.internal_error("a place", RuntimeError(FAULT))  # must return quietly


# -- the same, run as a user runs a program -------------------------------------------------

APP = """
import asyncio, json, sys
sys.path.insert(0, {tests!r})
from test_failopen_app import asyncio_main, pandas_main

out = [asyncio.run(asyncio_main()), asyncio.run(pandas_main()), asyncio.run(asyncio_main())]
print(json.dumps(out, default=repr, sort_keys=True))
sys.exit(3)
"""

# Imported by the interpreter after the .pth start-up hook ran: the guard is installed (the
# variable is set) and its internals are then broken, before the user's program starts.
SITECUSTOMIZE = """
import asyncio  # the patch layer is in place before its internals are broken
import os
faults = os.environ.get("TEST_FAULTS", "").split(",")

def boom(*args, **kwargs):
    raise RuntimeError("injected fault")

if "batch" in faults:
    from asyncwarden._tracking import _provenance
    _provenance.Batch.__init__ = boom
if "link_task_results" in faults:
    from asyncwarden._tracking import _frame_types, _lineage  # _lineage sets the hook: first
    _frame_types.link_task_results = boom
if "lineage_get" in faults:
    from asyncwarden._tracking import _lineage
    _lineage.get = boom
    _lineage.get_many = boom
if "check_combination" in faults:
    from asyncwarden._rules import _catalog
    _catalog.check_combination = boom
if "render" in faults:
    from asyncwarden._findings._finding import Finding
    Finding.render = boom
if "sink" in faults:
    from asyncwarden._findings import _delivery
    def failing_sink(finding):
        raise RuntimeError("injected fault")
    _delivery.sinks.append(failing_sink)
if "observers" in faults:
    from asyncwarden import _observers
    _observers.on_batch_started.append(boom)
    _observers.on_batch_finished.append(boom)
    _observers.on_combined.append(boom)
if "lifecycle" in faults:
    from asyncwarden._rules import _lifecycle
    _lifecycle.check_pending = boom
"""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("failopen_app")
    module = Path(__file__).read_text()
    programs = module[module.index("async def member") : module.index("def run(main")]
    header = "import asyncio, sys\nimport pandas as pd\nfrom typing import Any\n"
    header += f"PY_3_11_PLUS = {PY_3_11_PLUS}\n"
    (folder / "test_failopen_app.py").write_text(header + programs)
    (folder / "app.py").write_text(APP.format(tests=str(folder)))
    (folder / "sitecustomize.py").write_text(textwrap.dedent(SITECUSTOMIZE))
    return folder


@pytest.mark.parametrize(
    "faults",
    ["batch,lineage_get,sink", "link_task_results,check_combination,render,observers,lifecycle"],
)
def test_a_broken_guard_in_a_users_process_changes_neither_output_nor_exit_code(
    app: Path, faults: str
) -> None:
    plain = run_python(str(app / "app.py"), env={"PYTHONPATH": str(app)}, cwd=app)
    broken = run_python(
        str(app / "app.py"),
        env={"PYTHONPATH": str(app), "ASYNCWARDEN": "warn", "TEST_FAULTS": faults},
        cwd=app,
    )
    assert plain.returncode == broken.returncode == 3, plain.stderr + broken.stderr
    assert plain.stdout == broken.stdout
    assert "Traceback" not in broken.stderr
    logged = internal_errors(broken.stderr)
    assert logged, broken.stderr
    assert set(logged.values()) == {1}, broken.stderr
    assert all(m["error"] == "RuntimeError" for m in INTERNAL.finditer(broken.stderr)), (
        broken.stderr
    )


def test_the_guard_is_really_on_in_the_users_process_when_nothing_is_broken(app: Path) -> None:
    """The subprocess tests above prove something only if the guard ran there."""
    guarded = run_python(
        str(app / "app.py"), env={"PYTHONPATH": str(app), "ASYNCWARDEN": "warn"}, cwd=app
    )
    assert guarded.returncode == 3
    assert "AW102" in guarded.stderr and "AW201" in guarded.stderr
    assert "internal error" not in guarded.stderr


# -- import order: a half-imported guard must not leave itself off ---------------------------


@pytest.mark.parametrize("name", ["provenance", "lineage", "Finding", "allow"])
def test_a_public_name_imported_before_asyncio_leaves_the_guard_whole(name: str) -> None:
    """Found by the subprocess tests above: ``from asyncwarden import provenance`` before
    ``import asyncio`` imported asyncio from inside a half-imported module; asyncio's post-import
    hook then failed on it and the program ran unguarded, with two internal-error lines."""
    result = run_python(
        "-c",
        f"from asyncwarden import {name}\nimport asyncio\nprint(type(asyncio.gather).__name__)",
        env={"ASYNCWARDEN": "warn"},
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "FunctionWrapper\n", "")
