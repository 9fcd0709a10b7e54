"""AW101 on a concatenated frame, decided at the frame's first use.

Frames concatenated in the scheduler's order are harmless when the result is put back in order
before anything reads it (``pd.concat(frames).sort_values("id")``). So AW101 found at a concat is
held on the result and settled by the first thing the program does with it:

- ``sort_values``, ``sort_index`` and ``reindex`` clear it: the rows are re-indexed by the program;
- ``set_index`` hands it on to the frame it returns (``set_index(key).sort_index()``);
- anything else that makes a frame or Series from it (a column, a filter, ``head``, ``iloc``,
  ``reset_index``, ``assign``, ``groupby``...), a write or export (``to_csv``, ``to_parquet``,
  ``to_dict``, ``to_numpy``...), a ``merge``, ``join`` or ``concat`` that takes it in, confirms it;
- a result dropped without a use confirms it when it is garbage-collected; one still held when
  the interpreter exits, then.

Strict mode raises at the use that confirms it. Nothing is written to the frame: the hold is an
entry keyed by its identity with a weak reference, like lineage.
"""

from __future__ import annotations

import atexit
import dataclasses
import threading
import weakref
from typing import TYPE_CHECKING

from asyncwarden import _config, _observers
from asyncwarden._config import Mode
from asyncwarden._failopen import internal_error
from asyncwarden._findings import _delivery, _held
from asyncwarden._tracking._callsite import CallSite

if TYPE_CHECKING:
    from asyncwarden._findings._finding import Finding
    from asyncwarden._tracking._combination import Combination


@dataclasses.dataclass(slots=True)
class Held:
    """What a concat decided later: its AW101 findings and the telemetry of the call."""

    findings: list[Finding]
    combination: Combination | None = None
    start: float = 0.0
    end: float = 0.0
    others: list[Finding] = dataclasses.field(default_factory=list)
    """Findings of the same concat already reported (for the combine span, sent at settling)."""


class _Ref(weakref.ref):  # type: ignore[type-arg]
    __slots__ = ("held", "key")
    key: int
    held: Held


held: dict[int, _Ref] = {}
"""id(frame) -> the hold on it. Read by the pandas hooks: empty means nothing to settle."""

# Re-entrant: a weakref callback (_dropped) may run in the middle of a locked block when the
# cyclic garbage collector frees a held frame there.
_lock = threading.RLock()
_exit_hook = False


def hold(frame: object, record: Held) -> bool:
    """Hold ``record`` on ``frame`` until its first use; False if the frame cannot be held."""
    global _exit_hook
    try:
        ref = _Ref(frame, _dropped)
    except TypeError:
        return False
    ref.key = id(frame)
    ref.held = record
    with _lock:
        first = not held
        held[ref.key] = ref
        if first and _observers.on_holding:
            _observers.holding(True)
        if not _exit_hook:
            _exit_hook = True
            atexit.register(_at_exit)
    return True


def take(frame: object) -> Held | None:
    """The hold on ``frame``, removed; None if it has none."""
    with _lock:
        ref = held.get(id(frame))
        if ref is None or ref() is not frame:
            return None
        del held[ref.key]
        if not held and _observers.on_holding:
            _observers.holding(False)
    return ref.held


def is_held(frame: object) -> bool:
    ref = held.get(id(frame))
    return ref is not None and ref() is frame


def clear(frame: object) -> None:
    """The program re-indexed the frame before using it: nothing to report."""
    _clear(take(frame))


def hold_failed(record: Held) -> BaseException | None:
    """A hold could not move on: decide it now, as a use."""
    return _confirm(record, "used", None)


def _clear(record: Held | None) -> None:
    if record is not None:
        try:
            _observe(record, [])
        except Exception as error:
            internal_error("AW101 cleared", error)


def hand_on(source: object, target: object) -> None:
    """``target`` was made from ``source`` by a step toward re-indexing: the hold moves to it."""
    record = take(source)
    if record is not None and not hold(target, record):
        error = _confirm(record, "used", None)
        if error is not None:
            raise error


def confirm(frame: object, use: CallSite | None, how: str = "used") -> BaseException | None:
    """The frame's first use depends on its row order: report what was held.

    Returns what the caller raises at the user's call (``FindingError`` in strict mode), or None.
    """
    record = take(frame)
    return _confirm(record, how, use) if record is not None else None


def _confirm(record: Held, how: str, use: CallSite | None) -> BaseException | None:
    """Deliver the held findings; the error to raise, as ``_delivery.first_error`` gives it."""
    if _config.CONFIG.settings.mode is Mode.OFF:
        return None  # the guard was switched off since the concat
    try:
        findings = [_with_use(finding, how, use) for finding in record.findings]
        _observe(record, findings)
    except Exception as error:
        internal_error("AW101 at first use", error)
        findings = record.findings
    return _delivery.first_error(findings)


def _with_use(finding: Finding, how: str, use: CallSite | None) -> Finding:
    sites = finding.sites
    if use is not None:
        sites = (*sites, ("first use", use))
    message = finding.message
    if how == "dropped":
        message += "\nuse       none: the result was dropped without being re-sorted"
    elif how == "exit":
        message += "\nuse       none before the program exited"
    return dataclasses.replace(finding, sites=sites, message=message)


def _observe(record: Held, findings: list[Finding]) -> None:
    if record.combination is not None and _observers.on_combined:
        _observers.combined(
            record.combination, record.start, record.end, [*record.others, *findings], None
        )


def _dropped(ref: _Ref) -> None:
    """Weakref callback: the frame died with its hold: nobody re-sorted it."""
    with _lock:
        if held.get(ref.key) is ref:
            del held[ref.key]
            if not held and _observers.on_holding:
                _observers.holding(False)
        else:
            return
    _deliver_late(ref.held, "dropped")


def _deliver_late(record: Held, how: str) -> None:
    # Not raised here (a finalizer or the exit): strict mode's error is printed at exit.
    try:
        error = _confirm(record, how, None)
        if error is not None:
            _held.hold(error, None)
    except Exception as error:
        internal_error("AW101 held on a dropped frame", error)


def _at_exit() -> None:
    with _lock:
        refs = list(held.values())
        held.clear()
        if _observers.on_holding:
            _observers.holding(False)
    for ref in refs:
        if ref() is not None:
            _deliver_late(ref.held, "exit")
    try:
        _held.flush_at_exit()
    except Exception as error:
        internal_error("AW101 held at exit", error)


def reset() -> None:
    """Forget every hold (tests)."""
    with _lock:
        held.clear()
        if _observers.on_holding:
            _observers.holding(False)


_observers.on_reset.append(reset)
