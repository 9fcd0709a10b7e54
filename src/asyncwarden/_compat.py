"""Every interpreter-version branch in one place, so the rest of the code reads straight."""

from __future__ import annotations

import sys

# Not `from typing import TYPE_CHECKING`: this module is imported at start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PY_3_11_PLUS = sys.version_info >= (3, 11)
PY_3_12_PLUS = sys.version_info >= (3, 12)
PY_3_13_PLUS = sys.version_info >= (3, 13)

# 3.10's asyncio.wait and as_completed accept bare coroutines and wrap them in tasks themselves.
WAIT_ACCEPTS_COROUTINES = not PY_3_11_PLUS

# 3.13 turned as_completed from a generator function into an iterator class.
AS_COMPLETED_IS_GENERATOR = not PY_3_13_PLUS

# 3.11 counts cancellation requests (Task.cancelling()). 3.10 only has _must_cancel, set while the
# request is not delivered yet, and a cancelled _fut_waiter once cancel() reached what it awaits.
TASK_COUNTS_CANCELLING = PY_3_11_PLUS


def cancel_requested(task: Any) -> bool:
    """Whether ``cancel()`` was called on a task that has not finished yet (read-only)."""
    if TASK_COUNTS_CANCELLING:
        return bool(task.cancelling())
    if getattr(task, "_must_cancel", False):
        return True
    waiter = getattr(task, "_fut_waiter", None)
    return waiter is not None and bool(waiter.cancelled())


def registered_tasks() -> list[Any]:
    """Every task asyncio tracks, on every loop (3.12 split the registry into two)."""
    from asyncio import tasks

    if PY_3_12_PLUS:
        return [*getattr(tasks, "_scheduled_tasks", ()), *getattr(tasks, "_eager_tasks", ())]
    return list(getattr(tasks, "_all_tasks", ()))


def add_note(error: BaseException, note: str) -> None:
    """``BaseException.add_note`` (3.11); 3.10 cannot show notes, so the note goes to stderr now."""
    if PY_3_11_PLUS:
        error.add_note(note)  # type: ignore[attr-defined]
    else:
        sys.stderr.write(note + "\n")


def signature_is(function: Any, expected: str) -> bool:
    """Whether ``function``'s signature reads exactly ``expected`` (``"(self, *, name=None)"``)."""
    import inspect

    try:
        return str(inspect.signature(function)) == expected
    except (TypeError, ValueError):
        return False


def task_contexts(task: Any) -> list[Any]:
    """The context a task runs its steps in (``get_context()``, 3.12), as a list.

    Before 3.12 a C task does not expose it; it is among the references the task reports to the
    garbage collector, with the context of its first done-callback if it has one.
    """
    if PY_3_12_PLUS:
        return [task.get_context()]
    context = getattr(task, "_context", None)  # a Python task
    if context is not None:
        return [context]
    import contextvars
    import gc

    return [r for r in gc.get_referents(task) if isinstance(r, contextvars.Context)]
