"""Lifecycle findings (AW301-AW303), delivered so the event loop shuts down whole.

Findings are delivered as every finding is (``_delivery.error_of``). What that gives to raise (a
``FindingError`` in strict mode, or a warning the program turned into an error) is never raised
where the guard noticed the problem (a done-callback, asyncio's shutdown sequence, a finalizer):
it is held for the task's event loop and raised once that loop has shut down, by
``asyncio.run()``/``Runner.close()`` or ``loop.close()``. What is still held at interpreter exit
can only be printed.
"""

from __future__ import annotations

import sys
import threading
import weakref
from typing import TYPE_CHECKING, Any

from asyncwarden import _compat, _config, _observers
from asyncwarden._config import Mode

# Findings, rules and their delivery load with the first lifecycle finding, not with the asyncio
# hook (their dataclasses cost start-up time in every guarded program).
if TYPE_CHECKING:
    from asyncwarden._findings._finding import Finding


_lock = threading.RLock()
_held: weakref.WeakKeyDictionary[Any, list[BaseException]] = weakref.WeakKeyDictionary()
_late: list[BaseException] = []


def deliver(finding: Finding, loop: Any) -> None:
    """Report now; hold what is to be raised until ``loop`` has shut down."""
    if _config.CONFIG.settings.mode is Mode.OFF:
        return
    from asyncwarden._findings import _delivery

    error = _delivery.error_of(finding)  # FindingError (strict), or a warning made an error
    if error is not None:
        hold(error, loop)


def hold(error: BaseException, loop: Any) -> None:
    with _lock:
        try:
            if loop is not None and not loop.is_closed():
                _held.setdefault(loop, []).append(error)
                return
        except TypeError:  # a loop that cannot be weakly referenced
            pass
        _late.append(error)


def take_held(loop: Any) -> BaseException | None:
    """What was held for ``loop``, once, for the caller to raise; None if nothing (or failing).

    Call only after the loop shut down completely. Never raises: the caller raises what it
    gets in its own frame, outside asyncio's shutdown sequence.
    """
    try:
        with _lock:
            try:
                errors = _held.pop(loop, None)
            except TypeError:
                errors = None
        if not errors:
            return None
        if sys.exc_info()[1] is not None:
            # The program is already failing: its own error goes on, ours is only shown.
            _print(errors, "while the program was already failing")
            return None
        first = errors[0]
        for other in errors[1:]:
            _compat.add_note(first, f"{type(other).__name__}: {other}")
        return first.with_traceback(None)
    except Exception as error:
        from asyncwarden._failopen import internal_error

        internal_error("lifecycle: raising held findings", error)
        return None


def flush_at_exit() -> None:
    """Print what could not be raised: loops never closed, tasks destroyed after their loop."""
    with _lock:
        errors = [*_late, *(e for held in _held.values() for e in held)]
        _late.clear()
        _held.clear()
    if errors:
        _print(errors, "at interpreter exit, too late to change the exit status")


def _print(errors: list[BaseException], why: str) -> None:
    for error in errors:
        sys.stderr.write(f"asyncwarden: {type(error).__name__} {why}:\n{error}\n")


def reset() -> None:
    """Drop everything held (tests)."""
    with _lock:
        _held.clear()
        _late.clear()


_observers.on_reset.append(reset)
