"""Deliver findings: to every sink, then as a warning (warn mode) or a ``FindingError`` (strict).

Sinks are plain callables ``(finding) -> None`` in a list (structlog, OpenTelemetry, the pytest
plugin's collector). A sink that fails is reported once and skipped; delivery goes on. After the
sinks, ``_observers.on_finding_delivered`` hears of it: the callbacks of ``on_finding``.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from asyncwarden import _config, _observers
from asyncwarden._failopen import internal_error
from asyncwarden.exceptions import FindingError, text_of

# The rule codes and Finding load with the first finding or allow(), not with the asyncio hook
# (their dataclasses cost start-up time in every guarded program).
if TYPE_CHECKING:
    from asyncwarden._findings._finding import Finding

Sink = Callable[["Finding"], None]

sinks: list[Sink] = []

_allowed: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "asyncwarden_allowed", default=frozenset()
)
_shown: set[tuple[str, str, int]] = set()
_shown_lock = threading.RLock()


@contextlib.contextmanager
def allow(*codes: str) -> Iterator[None]:
    """Within this block (and tasks started in it), findings with these codes are not reported.

    For code that combines partial results on purpose: ``with asyncwarden.allow("AW201"): ...``.
    """
    from asyncwarden._findings._codes import CODES

    unknown = [code for code in codes if code not in CODES]
    if unknown:
        raise ValueError(f"unknown rule code(s) {unknown}; known: {', '.join(CODES)}")
    token = _allowed.set(_allowed.get() | frozenset(codes))
    try:
        yield
    finally:
        _allowed.reset(token)


# Codes allowed in the whole process for a while: the pytest plugin's per-test marker. A test's
# code can run in a task whose context predates the test (anyio's runner task), which allow()'s
# context variable would not reach, or would reach with an earlier test's codes.
allowed_in_process: frozenset[str] = frozenset()


def on_finding(callback: Callable[[Finding], object]) -> Callable[[], None]:
    """Call ``callback(finding)`` with every finding delivered from now on; returns ``unregister``.

    Called in warn and strict mode (in strict mode before the ``FindingError`` is raised), for
    every finding, also those whose warning was already shown once at the same line; not for
    findings acknowledged with ``allow()``. It runs where the finding was detected, possibly in
    another thread or inside asyncio's shutdown: keep it short. An exception it raises is printed
    once and goes no further; the guarded call proceeds.
    """
    if not callable(callback):
        raise TypeError(f"on_finding() takes a callable, got {type(callback).__name__}")
    failed = False

    def observer(finding: Finding) -> None:
        nonlocal failed
        try:
            callback(finding)
        except Exception as error:  # the user's callback failed, not asyncwarden
            if not failed:
                failed = True
                name = getattr(callback, "__qualname__", repr(callback))
                sys.stderr.write(
                    f"asyncwarden: the on_finding callback {name} raised "
                    f"{type(error).__name__}: {error} (shown once; findings go on)\n"
                )

    _observers.on_finding_delivered.append(observer)

    def unregister() -> None:
        """Stop calling the callback. Idempotent."""
        if observer in _observers.on_finding_delivered:
            _observers.on_finding_delivered.remove(observer)

    return unregister


def is_allowed(code: str) -> bool:
    return code in _allowed.get() or code in allowed_in_process


def _first_time(finding: Finding) -> bool:
    if _config.CONFIG.settings.repeat:
        return True
    key = (finding.code, finding.site.filename, finding.site.lineno)
    with _shown_lock:
        if key in _shown:
            return False
        _shown.add(key)
        return True


def forget_shown() -> None:
    """Show every finding again, once (a new test, a new run)."""
    with _shown_lock:
        _shown.clear()


def error_of(finding: Finding) -> BaseException | None:
    """Deliver one finding; return the error to raise at the user's call, or None.

    That is a ``FindingError`` in strict mode, or the warning the program turned into an error
    (``-W error``). The caller raises it in its own frame, so the traceback ends one frame below
    the user's line, where the call was guarded. A failure of the delivery itself is an internal
    error, and None.
    """
    try:
        if is_allowed(finding.code):
            return None
        for sink in sinks:
            try:
                sink(finding)
            except Exception as error:
                internal_error(f"sink {getattr(sink, '__qualname__', sink)!s}", error)
        if _observers.on_finding_delivered:
            _observers.finding_delivered(finding)
        if _config.CONFIG.strict():
            return FindingError(finding)
        if not _first_time(finding):
            return None
        from asyncwarden._findings._codes import CODES

        category = CODES[finding.code].category
        text = text_of(finding)  # a finding that cannot be rendered still reaches the user
        site = finding.site
    except Exception as error:
        internal_error("delivery", error)
        return None
    try:
        warnings.warn_explicit(text, category, site.filename, site.lineno, module=site.function)
    except Exception as error:  # the program's filters made the warning an error: its choice
        return error.with_traceback(None)
    return None


def first_error(findings: Iterable[Finding]) -> BaseException | None:
    """Deliver findings in order, up to the first that gives an error to raise (``error_of``)."""
    for finding in findings:
        error = error_of(finding)
        if error is not None:
            return error
    return None


def deliver(finding: Finding) -> None:
    """Deliver one finding. Raises ``FindingError`` in strict mode, or a warning turned error.

    Only those two reach the caller: a failure of the delivery itself is an internal error.
    """
    error = error_of(finding)
    if error is not None:
        raise error


_observers.on_reset.append(forget_shown)
