"""What depends on the Python version or on CPython's internals, in one place.

Each branch names the versions it serves and is taken once, at import: the functions below are
defined for the running interpreter, so the code that calls them reads straight and pays no
version test per call.
"""

from __future__ import annotations

import sys

# Not `from typing import TYPE_CHECKING`: this module is imported at start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import CodeType
    from typing import Any

PY_3_11_PLUS = sys.version_info >= (3, 11)
PY_3_12_PLUS = sys.version_info >= (3, 12)
PY_3_13_PLUS = sys.version_info >= (3, 13)

# 3.10's asyncio.wait and as_completed accept bare coroutines and wrap them in tasks themselves.
WAIT_ACCEPTS_COROUTINES = not PY_3_11_PLUS

# 3.10-3.12: as_completed is a generator function; 3.13 made it an iterator class.
AS_COMPLETED_IS_GENERATOR = not PY_3_13_PLUS

# 3.11 counts cancellation requests (Task.cancelling()). 3.10 only has _must_cancel, set while the
# request is not delivered yet, and a cancelled _fut_waiter once cancel() reached what it awaits.
TASK_COUNTS_CANCELLING = PY_3_11_PLUS

# TaskGroup.create_task as 3.11-3.13 spell it; a wrapper of exactly this shape skips *args packing.
TASK_GROUP_CREATE_TASK = "(self, coro, *, name=None, context=None)"


if PY_3_11_PLUS:

    def qualname(code: CodeType) -> str:
        """The code's qualified name (``Class.method``): ``co_qualname``, 3.11+."""
        return code.co_qualname  # type: ignore[attr-defined,no-any-return]

    def cancel_requested(task: Any) -> bool:
        """Whether ``cancel()`` was called on a task that has not finished yet (read-only)."""
        return bool(task.cancelling())

    def add_note(error: BaseException, note: str) -> None:
        """``BaseException.add_note``, 3.11+."""
        error.add_note(note)  # type: ignore[attr-defined]

    def task_group_class() -> Any:
        """``asyncio.TaskGroup``, 3.11+."""
        from asyncio import TaskGroup  # type: ignore[attr-defined]

        return TaskGroup

else:

    def qualname(code: CodeType) -> str:
        """3.10 has no ``co_qualname``: the bare name."""
        return code.co_name

    def cancel_requested(task: Any) -> bool:
        """3.10: a request not delivered yet, or one that reached what the task awaits."""
        if getattr(task, "_must_cancel", False):
            return True
        waiter = getattr(task, "_fut_waiter", None)
        return waiter is not None and bool(waiter.cancelled())

    def add_note(error: BaseException, note: str) -> None:
        """3.10 cannot show notes, so the note goes to stderr now."""
        sys.stderr.write(note + "\n")

    def task_group_class() -> Any:
        """3.10 has no TaskGroup."""
        return None


if PY_3_12_PLUS:

    def scheduled_task_set() -> Any:
        """The weak set asyncio keeps every task in from its creation (3.12+: eager tasks that
        finish at once never join it), or None."""
        from asyncio import tasks

        return getattr(tasks, "_scheduled_tasks", None)

    def registered_tasks() -> list[Any]:
        """Every task asyncio tracks, on every loop: 3.12 keeps two registries."""
        from asyncio import tasks

        return [*(scheduled_task_set() or ()), *getattr(tasks, "_eager_tasks", ())]

    def task_contexts(task: Any) -> list[Any]:
        """The context a task runs its steps in (``get_context()``, 3.12+), as a list."""
        return [task.get_context()]

else:

    def scheduled_task_set() -> Any:
        """The weak set asyncio keeps every task in from its creation (3.10-3.11), or None."""
        from asyncio import tasks

        return getattr(tasks, "_all_tasks", None)

    def registered_tasks() -> list[Any]:
        """Every task asyncio tracks, on every loop: one registry, 3.10-3.11."""
        return list(scheduled_task_set() or ())


if (3, 12) <= sys.version_info < (3, 12, 5):

    def coroutine_of(task: Any) -> Any:
        """The task's coroutine, or None once it finished eagerly (3.12.0-3.12.4).

        There ``get_coro()`` on an eager task that finished without suspending crashes the
        process (python/cpython#122332, fixed in 3.12.5); the C task's ``_coro`` reads None.
        """
        try:
            return task._coro
        except AttributeError:
            get_coro = getattr(task, "get_coro", None)
            return get_coro() if get_coro is not None else None

else:

    def coroutine_of(task: Any) -> Any:
        """The task's coroutine (``get_coro()``), or None: not a task, or it finished eagerly."""
        get_coro = getattr(task, "get_coro", None)
        return get_coro() if get_coro is not None else None

    def task_contexts(task: Any) -> list[Any]:
        """3.10-3.11: a C task does not expose its context.

        It is among the references the task reports to the garbage collector, with the context
        of its first done-callback if it has one.
        """
        context = getattr(task, "_context", None)  # a Python task
        if context is not None:
            return [context]
        import contextvars
        import gc

        return [r for r in gc.get_referents(task) if isinstance(r, contextvars.Context)]


if AS_COMPLETED_IS_GENERATOR:

    def as_completed_queue(iterator: Any) -> tuple[Any, Any]:
        """(completion queue, tasks) of an as_completed call, 3.10-3.12.

        Locals of the generator's frame, made by its first step: call after that step.
        """
        variables = iterator.gi_frame.f_locals
        return variables["done"], variables["todo"]

else:

    def as_completed_queue(iterator: Any) -> tuple[Any, Any]:
        """(completion queue, tasks) of an as_completed call: the iterator's fields, 3.13+."""
        return iterator._done, iterator._todo


def signature_is(function: Any, expected: str) -> bool:
    """Whether ``function``'s signature reads exactly ``expected`` (``"(self, *, name=None)"``)."""
    import inspect

    try:
        return str(inspect.signature(function)) == expected
    except (TypeError, ValueError):
        return False
