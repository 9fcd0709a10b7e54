"""A bug inside asyncwarden must never reach user code: report it once and step aside."""

from __future__ import annotations

import sys
import threading

_reported: set[str] = set()
_lock = threading.RLock()
_PREFIX = "asyncwarden: internal error"


def internal_error(where: str, error: BaseException) -> None:
    """Log an internal error once per place; never raises."""
    try:
        with _lock:
            if where in _reported:
                return
            _reported.add(where)
        import traceback  # only on an error: it costs every guarded start 2 ms

        last = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
        origin = f" at {last[0].filename}:{last[0].lineno}" if last else ""
        sys.stderr.write(
            f"{_PREFIX} in {where}: {type(error).__name__}: {error}{origin} "
            "(the guard steps aside here; the program's own call proceeded)\n"
        )
    except BaseException:
        pass


def reset() -> None:
    """Forget which internal errors were reported (tests)."""
    with _lock:
        _reported.clear()
