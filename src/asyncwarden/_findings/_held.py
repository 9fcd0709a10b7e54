"""Lifecycle findings (AW301-AW303): built from task views, delivered so the loop shuts down whole.

Findings are delivered as every finding is (``_delivery.deliver``). What ``deliver`` raises (a
``FindingError`` in strict mode, or a warning the program turned into an error) is never raised
where the guard noticed the problem (a done-callback, asyncio's shutdown sequence, a finalizer):
it is held for the task's event loop and raised once that loop has shut down, by
``asyncio.run()``/``Runner.close()`` or ``loop.close()``. What is still held at interpreter exit
can only be printed.
"""

from __future__ import annotations

import sys
import threading
import time
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from asyncwarden import _compat, _config, _observers
from asyncwarden._config import Mode
from asyncwarden._tracking._callsite import UNKNOWN, CallSite

# Findings, rules and their delivery load with the first lifecycle finding, not with the asyncio
# hook (their dataclasses cost start-up time in every guarded program).
if TYPE_CHECKING:
    from asyncwarden._findings._finding import Finding
    from asyncwarden._tracking._provenance import Batch
    from asyncwarden._tracking._task_view import TaskView

# A finding lists this many tasks in full; the rest are counted.
LISTED_TASKS = 10

_lock = threading.Lock()
_held: weakref.WeakKeyDictionary[Any, list[BaseException]] = weakref.WeakKeyDictionary()
_late: list[BaseException] = []


def build(
    code: str,
    views: Sequence[TaskView],
    title: str,
    *,
    when: str,
    where: CallSite | None = None,
    **details: object,
) -> Finding:
    """One finding about ``views``; the warning points at the first task's origin."""
    from asyncwarden._findings._finding import Finding
    from asyncwarden._rules._catalog import RULES

    rule = RULES[code]
    now = time.time()
    lines: list[str] = []
    for view in views[:LISTED_TASKS]:
        lines.extend(view.lines(now))
    if len(views) > LISTED_TASKS:
        lines.append(f"more      {len(views) - LISTED_TASKS} tasks not listed")
    sites: list[tuple[str, CallSite]] = []
    if where is not None and where is not UNKNOWN:
        sites.append((when, where))
    batches: dict[int, Batch] = {}
    for view in views:
        for batch in (view.batch, view.returned_by):
            if batch is not None:
                batches.setdefault(batch.id, batch)
    sites.extend((f"batch #{batch.id}", batch.site) for batch in batches.values())
    origin = next((v.origin() for v in views if v.origin() is not None), None)
    return Finding(
        code=code,
        name=rule.name,
        title=title,
        message="\n".join(lines),
        fix=rule.fix,
        site=origin or where or UNKNOWN,
        sites=tuple(sites),
        tasks=tuple(v.provenance for v in views if v.provenance is not None),
        batch_ids=tuple(batches),
        details={"tasks": len(views), "when": when, **details},
    )


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def deliver(finding: Finding, loop: Any) -> None:
    """Report now; hold what ``report`` raises until ``loop`` has shut down."""
    if _config.CONFIG.settings.mode is Mode.OFF:
        return
    from asyncwarden._findings import _delivery

    try:
        _delivery.deliver(finding)
    except Exception as error:  # FindingError (strict), or a warning turned into an error
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


def raise_held(loop: Any) -> None:
    """Raise, once, what was held for ``loop``: call only after the loop shut down completely."""
    with _lock:
        try:
            errors = _held.pop(loop, None)
        except TypeError:
            errors = None
    if not errors:
        return
    if sys.exc_info()[1] is not None:
        # The program is already failing: its own error goes on, ours is only shown.
        _print(errors, "while the program was already failing")
        return
    first = errors[0]
    for other in errors[1:]:
        _compat.add_note(first, f"{type(other).__name__}: {other}")
    raise first.with_traceback(None)


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
