"""The pytest plugin: a hazard fails the test that introduced it.

Registered through the ``pytest11`` entry point and off unless asked for, by (highest first) the
marker ``@pytest.mark.asyncwarden(mode=...)``, ``--asyncwarden=MODE``, the ``ASYNCWARDEN``
variable, or the ini option ``asyncwarden``. Asked for by none of them, it patches nothing.

strict: a finding raises ``FindingError`` at the hazardous call, which fails the test when raised
in its body. Findings that never reach the test as that error (caught by the code under test,
raised in an asyncio callback, detected at loop shutdown in a fixture's teardown) are collected by
a sink per test and fail the phase they happened in: setup, call or teardown of that test.
warn: tests pass; the terminal summary lists the findings by rule and test.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import warnings
from collections.abc import Generator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING

import pytest

from asyncwarden._config import Mode, parse_mode
from asyncwarden._environ import MODE_ACCEPTED, MODE_VARIABLE
from asyncwarden.exceptions import ConfigurationError, FindingError
from asyncwarden.pytest_plugin import _summary

if TYPE_CHECKING:
    from asyncwarden._findings._finding import Finding


MARKER = "asyncwarden"


FIXTURE = "asyncwarden_findings"


_INI = "asyncwarden"


_OPTION = "--asyncwarden"


@dataclasses.dataclass
class _TestRecord:
    """What one test asked for and the findings reported while it ran."""

    mode: Mode
    in_charge: bool = False
    """The test requested ``asyncwarden_findings``: it asserts on its findings itself."""
    error: str | None = None
    """A bad marker: reported as the test's setup error."""
    when: str = "setup"
    findings: list[Finding] = dataclasses.field(default_factory=list)
    by_phase: dict[str, list[Finding]] = dataclasses.field(default_factory=dict)
    shown: set[int] = dataclasses.field(default_factory=set)
    """ids of findings already in front of the user, as a raised FindingError or our failure."""

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)
        self.by_phase.setdefault(self.when, []).append(finding)


@dataclasses.dataclass
class _Session:
    """Per-run state, kept in ``config.stash``."""

    mode: Mode | None
    """The run's mode; None when nothing asked for the guard."""
    source: str
    current: _TestRecord | None = None
    outside: list[Finding] = dataclasses.field(default_factory=list)
    """Findings reported while no test ran (collection, session teardown)."""
    stack: contextlib.ExitStack = dataclasses.field(default_factory=contextlib.ExitStack)


_SESSION = pytest.StashKey[_Session]()


_RECORD = pytest.StashKey[_TestRecord]()


# Sessions in this process, innermost last (pytester runs pytest inside pytest): findings go to
# the innermost one only.
_sessions: list[_Session] = []


def _sink(finding: Finding) -> None:
    if not _sessions:
        return
    session = _sessions[-1]
    if session.current is not None:
        session.current.add(finding)
    elif session.mode is not None:  # a run that did not ask for the guard keeps nothing
        session.outside.append(finding)


def _mode_argument(value: str) -> str:
    import argparse

    try:
        return parse_mode(value, _OPTION).value
    except ConfigurationError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("asyncwarden", "asyncwarden: ordering and lifecycle hazards")
    group.addoption(
        _OPTION,
        dest="asyncwarden",
        metavar="MODE",
        type=_mode_argument,
        default=None,
        help="switch the guard on for this run: off, warn (findings listed, tests pass) or "
        "strict (a finding fails the test that produced it). Overrides the ASYNCWARDEN "
        "variable and the ini option; a marker's mode= overrides it for one test.",
    )
    parser.addini(
        _INI,
        default="",
        help="asyncwarden mode when neither --asyncwarden nor ASYNCWARDEN is given: "
        f"{MODE_ACCEPTED}.",
    )


def _session_mode(config: pytest.Config) -> tuple[Mode | None, str]:
    """Command line over environment over ini; ``(None, "")`` when nothing asked."""
    option = config.getoption("asyncwarden")
    if option is not None:
        return parse_mode(option, _OPTION), _OPTION
    if MODE_VARIABLE in os.environ:
        return parse_mode(os.environ[MODE_VARIABLE], MODE_VARIABLE), MODE_VARIABLE
    ini = str(config.getini(_INI)).strip()
    if ini:
        return parse_mode(ini, f"ini option {_INI}"), f"ini option {_INI}"
    return None, ""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(allow=[codes], mode=None): asyncwarden for this test, class or module: "
        "rule codes to allow (e.g. allow=['AW101']) and/or mode='off'|'warn'|'strict', "
        "which overrides --asyncwarden, ASYNCWARDEN and the ini option.",
    )
    try:
        mode, source = _session_mode(config)
    except ConfigurationError as error:
        raise pytest.UsageError(str(error)) from None
    session = _Session(mode, source)
    config.stash[_SESSION] = session
    _sessions.append(session)
    if mode is not None:
        _switch_on(config, session, mode)


def _switch_on(config: pytest.Config, session: _Session, mode: Mode) -> None:
    """Set the guard to ``mode`` for the run; what was there before comes back at unconfigure."""
    _listen(config)
    session.stack.enter_context(_guarded(mode))


def _listen(config: pytest.Config) -> None:
    from asyncwarden._findings import _delivery

    if _sink not in _delivery.sinks:
        _delivery.sinks.append(_sink)
    if config.pluginmanager.hasplugin("anyio"):
        _anyio_runner_is_the_loops()


def _anyio_runner_is_the_loops() -> None:
    """anyio's test runner keeps a task of its own pending until its loop shuts down.

    That task (``TestRunner._run_tests_and_fixtures``) is the runner's, like asyncio's own
    shutdown helpers: coroutines defined in anyio's backends count as the event loop's.
    """
    import importlib.util

    spec = importlib.util.find_spec("anyio._backends._asyncio")
    if spec is not None and spec.origin:
        from asyncwarden._tracking import _task_marks

        _task_marks.add_library(spec.origin)


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(_SESSION, None)
    if session is None:
        return
    if session in _sessions:
        _sessions.remove(session)
    session.stack.close()
    _stop_listening()


def _stop_listening() -> None:
    """Remove the sink unless a run in this process asked for the guard for all its tests."""
    if any(session.mode is not None for session in _sessions):
        return
    from asyncwarden._findings import _delivery

    if _sink in _delivery.sinks:
        _delivery.sinks.remove(_sink)


def pytest_report_header(config: pytest.Config) -> str | None:
    session = config.stash.get(_SESSION, None)
    if session is None or session.mode is None:
        return None
    return f"asyncwarden: {session.mode.value} (from {session.source})"


def _marker_settings(item: pytest.Item) -> tuple[Mode | None, tuple[str, ...], str | None]:
    """The closest marker's mode, every marker's allowed codes, and what is wrong with them."""
    from asyncwarden._rules._catalog import RULES

    mode: Mode | None = None
    allowed: list[str] = []
    problems: list[str] = []
    for marker in item.iter_markers(MARKER):  # closest first: function, class, module
        unknown_keys = sorted(set(marker.kwargs) - {"allow", "mode"})
        if marker.args or unknown_keys:
            problems.append(
                f"@pytest.mark.{MARKER} takes allow=[codes] and mode='off'|'warn'|'strict', "
                f"got {', '.join([*map(repr, marker.args), *unknown_keys])}"
            )
        codes = marker.kwargs.get("allow", ())
        codes = [codes] if isinstance(codes, str) else list(codes)
        unknown = [code for code in codes if code not in RULES]
        if unknown:
            problems.append(f"unknown rule code(s) {unknown} in allow=; known: {', '.join(RULES)}")
        allowed.extend(code for code in codes if code in RULES and code not in allowed)
        if mode is None and marker.kwargs.get("mode") is not None:
            try:
                mode = parse_mode(marker.kwargs["mode"], f"@pytest.mark.{MARKER}(mode=...)")
            except ConfigurationError as error:
                problems.append(str(error))
    return mode, tuple(allowed), "; ".join(problems) or None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    session = item.config.stash.get(_SESSION, None)
    if session is None:
        return (yield)
    marker_mode, allowed, error = _marker_settings(item)
    in_charge = FIXTURE in getattr(item, "fixturenames", ())
    mode = marker_mode if marker_mode is not None else session.mode
    if mode is None and in_charge:
        mode = Mode.WARN  # requesting the fixture asks for the guard
    if mode is None:
        return (yield)  # not asked for: change nothing
    from asyncwarden._findings import _delivery
    from asyncwarden.exceptions import AsyncWardenWarning

    record = _TestRecord(mode, in_charge, error)
    item.stash[_RECORD] = record
    with contextlib.ExitStack() as stack:
        _listen(item.config)
        if session.mode is None:  # only this test asked (marker or fixture)
            stack.callback(_stop_listening)
        stack.enter_context(_guarded(mode))
        if allowed:
            stack.enter_context(_allowed_in_process(allowed))
        if in_charge:
            # The test reads its findings from the fixture; as warnings they would only repeat them.
            stack.enter_context(warnings.catch_warnings())
            warnings.simplefilter("ignore", AsyncWardenWarning)
        _delivery.forget_shown()
        session.current = record
        try:
            return (yield)
        finally:
            session.current = None


@contextlib.contextmanager
def _allowed_in_process(codes: tuple[str, ...]) -> Iterator[None]:
    """The marker's codes, allowed wherever the test's code runs while the test runs.

    Not ``asyncwarden.allow()``: its context variable misses tasks made before the test began
    (anyio's runner task outlives a test and keeps the context of the test that started it).
    """
    from asyncwarden._findings import _delivery

    before = _delivery.allowed_in_process
    _delivery.allowed_in_process = before | frozenset(codes)
    try:
        yield
    finally:
        _delivery.allowed_in_process = before


def _guarded(mode: Mode) -> contextlib.AbstractContextManager[None]:
    from asyncwarden._activation._guard import guarded

    return guarded(mode)


def _raised_findings(error: BaseException | None, seen: set[int] | None = None) -> set[int]:
    """ids of the findings a raised error carries: itself, its causes, its group members."""
    found: set[int] = set()
    seen = set() if seen is None else seen
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, FindingError):
            found.add(id(error.finding))
        for member in getattr(error, "exceptions", ()):
            if isinstance(member, BaseException):
                found |= _raised_findings(member, seen)
        error = error.__cause__ or error.__context__
    return found


def _hide_our_stack_frames(excinfo: pytest.ExceptionInfo[BaseException]) -> bool:
    # Our wrappers say nothing about an error raised in the test or its fixtures; our own
    # failures (pytest.fail without a traceback) keep them, or pytest notes that all are hidden.
    return not isinstance(excinfo.value, pytest.fail.Exception)


def _phase(item: pytest.Item, when: str) -> Generator[None, object, object]:
    __tracebackhide__ = _hide_our_stack_frames
    record = item.stash.get(_RECORD, None)
    if record is None:
        return (yield)
    record.when = when
    if when == "setup" and record.error is not None:
        pytest.fail(f"asyncwarden: {record.error}", pytrace=False)
    try:
        result = yield
    except BaseException as error:
        record.shown |= _raised_findings(error)
        raise
    if record.mode is Mode.STRICT and not record.in_charge:
        unseen = [f for f in record.by_phase.get(when, ()) if id(f) not in record.shown]
        if unseen:
            record.shown.update(map(id, unseen))
            pytest.fail(_summary.failure(unseen, when), pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    __tracebackhide__ = _hide_our_stack_frames
    return (yield from _phase(item, "setup"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    __tracebackhide__ = _hide_our_stack_frames
    return (yield from _phase(item, "call"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    __tracebackhide__ = _hide_our_stack_frames
    return (yield from _phase(item, "teardown"))


def _end_at_user_line(excinfo: pytest.ExceptionInfo[FindingError]) -> None:
    """End a FindingError's traceback at the last line of the user's the finding names.

    What follows is the patch layer and the report call, which say nothing to the user. pytest
    rebuilds tracebacks from the raw chain, so the chain itself is cut.
    """
    finding = excinfo.value.finding
    named = {
        (site.filename, site.lineno) for site in (finding.site, *(s for _, s in finding.sites))
    }
    user_line = None
    node: TracebackType | None = excinfo.tb
    while node is not None:
        if (node.tb_frame.f_code.co_filename, node.tb_lineno) in named:
            user_line = node
        node = node.tb_next
    if user_line is not None and user_line.tb_next is not None:
        user_line.tb_next = None
        excinfo.traceback = type(excinfo.traceback)(excinfo.tb)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    record = item.stash.get(_RECORD, None)
    excinfo = call.excinfo
    if record is not None and excinfo is not None and isinstance(excinfo.value, FindingError):
        _end_at_user_line(excinfo)  # type: ignore[arg-type]
    report = yield
    if record is None or record.in_charge:
        return report
    findings = record.by_phase.get(call.when, [])
    if not findings:
        return report
    setattr(
        report, _summary.REPORT_ATTRIBUTE, [_summary.summary_entry(f, call.when) for f in findings]
    )
    if report.failed:
        unseen = [f for f in findings if id(f) not in record.shown]
        if unseen:
            report.sections.append(
                ("asyncwarden findings", "\n\n".join(map(_summary.render, unseen)))
            )
    return report


@pytest.fixture
def asyncwarden_findings(request: pytest.FixtureRequest) -> list[Finding]:
    """The findings this test produced so far, in order; the test takes charge of them.

    Findings a test reads this way do not fail it in strict mode and are not listed in the
    summary: the test asserts on them itself. The hazardous call still raises ``FindingError``
    in strict mode (``pytest.raises`` it, or mark the test ``mode="warn"`` to let the code run on).
    Requesting the fixture switches the guard on (warn) for a test nothing else asked it for.
    """
    record = request.node.stash.get(_RECORD, None)
    return record.findings if record is not None else []


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    session = config.stash.get(_SESSION, None)
    if session is None:
        return
    _summary.write(
        terminalreporter,
        [r for stat in terminalreporter.stats.values() for r in stat],
        session.outside,
    )
