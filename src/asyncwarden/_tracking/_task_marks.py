"""What a live task looks like now, read without changing it: for the lifecycle findings.

Nothing here runs per task on a hot path. Marks are stored on the task itself (C tasks accept
attributes) rather than in weakly keyed registries: when the garbage collector destroys a pending
task, its weak references are cleared before asyncio reports it, and the mark must still be there.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from types import FrameType
from typing import Any

from asyncwarden import _compat
from asyncwarden._tracking import _provenance
from asyncwarden._tracking._callsite import is_internal
from asyncwarden._tracking._provenance import Batch

MARK = "_asyncwarden_lifecycle"

# Tasks whose coroutine is defined here are the event loop's own (shutdown helpers, happy
# eyeballs, uvloop.run's wrapper), unless the program put them into a batch itself.
_LIBRARY_DIRS: tuple[str, ...] = (os.path.dirname(asyncio.__file__) + os.sep,)


def add_library(module_file: str | None) -> None:
    """Treat coroutines defined in another event-loop package (uvloop) as the loop's own."""
    global _LIBRARY_DIRS
    prefix = os.path.dirname(os.path.abspath(module_file or "")) + os.sep
    if prefix not in _LIBRARY_DIRS:
        _LIBRARY_DIRS = (*_LIBRARY_DIRS, prefix)


class Returned:
    """A task ``wait()`` returned in ``pending``: which call, which caller, and the verdict."""

    __slots__ = ("batch", "caller", "caller_finished", "caller_name", "position", "verdict")

    def __init__(self) -> None:
        self.batch: Batch | None = None
        self.position = -1
        self.caller: weakref.ref[asyncio.Task[Any]] | None = None
        self.caller_name = ""
        self.caller_finished = 0.0
        # "AW302"/"AW303" once the caller finished while this task was still unaccounted for.
        self.verdict: str | None = None


class Mark:
    """asyncwarden's notes on one task."""

    __slots__ = ("allowed", "outstanding", "reported", "returned")

    def __init__(self) -> None:
        self.allowed = False
        self.reported = False
        self.returned: Returned | None = None
        # For a task that called wait(): id -> pending task wait() returned and not yet finished.
        self.outstanding: dict[int, weakref.ref[asyncio.Task[Any]]] | None = None


def mark_of(task: object) -> Mark | None:
    return getattr(task, MARK, None)


def mark(task: object) -> Mark:
    """The task's mark, made on first use."""
    found: Mark | None = getattr(task, MARK, None)
    if found is None:
        found = Mark()
        setattr(task, MARK, found)
    return found


def is_task(future: object) -> bool:
    return asyncio.isfuture(future) and hasattr(future, "get_coro")


def code_of(task: Any) -> Any:
    coro = _compat.coroutine_of(task)
    return getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)


def belongs_to_loop(task: Any) -> bool:
    """A task the event loop made for itself, and the program never handed to a batch."""
    code = code_of(task)
    if code is None or not code.co_filename.startswith(_LIBRARY_DIRS):
        return False
    found = mark_of(task)
    return (found is None or found.returned is None) and _provenance.registry.lookup(task) is None


def reportable(task: Any) -> bool:
    """Pending, not marked as intentionally long-lived, not reported yet, not the loop's own."""
    if task.done():
        return False
    found = mark_of(task)
    if found is not None and (found.allowed or found.reported):
        return False
    return not belongs_to_loop(task)


def cancel_requested(task: Any) -> bool:
    if task.done():
        return bool(task.cancelled())
    return _compat.cancel_requested(task)


def has_other_callbacks(task: Any) -> bool:
    """Someone awaits or tracks the task: a task, gather, wait(), a TaskGroup, any callback.

    asyncwarden's own callbacks (this guard's, the patch layer's, telemetry's) do not count.
    """
    for entry in getattr(task, "_callbacks", None) or ():
        callback = entry[0] if isinstance(entry, tuple) else entry
        function = getattr(callback, "func", callback)  # through functools.partial
        if not str(getattr(function, "__module__", "")).startswith("asyncwarden"):
            return True
    return False


def awaited_by_a_task(task: Any) -> bool:
    """Whether a pending task is waiting on ``task`` now: directly, through ``gather()``, or
    inside one of asyncio's waiting coroutines (``wait()``, ``wait_for()``) that holds it.

    Called from ``task``'s first done-callback, before the waiters' own callbacks ran, so their
    ``_fut_waiter`` still points at what they were waiting for.
    """
    for other in asyncio.all_tasks(task.get_loop()):
        waiter = getattr(other, "_fut_waiter", None)
        if waiter is None:
            continue
        if waiter is task:
            return True
        children = getattr(waiter, "_children", None)
        if children and any(child is task for child in children):
            return True
        if _held_by_asyncio_stack_frames(other, task):
            return True
    return False


def _held_by_asyncio_stack_frames(other: Any, task: Any) -> bool:
    # wait() and 3.10-3.11's wait_for() keep what they wait for in locals of their own stack frames.
    for stack_frame in reversed(stack_frames(_compat.coroutine_of(other))):
        filename = stack_frame.f_code.co_filename
        if not filename.startswith(_LIBRARY_DIRS):
            if is_internal(filename):
                continue  # asyncwarden's own wrapper stack frames sit between
            return False
        for value in stack_frame.f_locals.values():
            if value is task:
                return True
            if isinstance(value, (set, frozenset, list, tuple)) and any(v is task for v in value):
                return True
    return False


def stack_frames(coro: Any) -> list[FrameType]:
    """The stack frames of a coroutine and of what it awaits, outermost first."""
    found: list[FrameType] = []
    current = coro
    for _ in range(100):  # a cycle of awaitables cannot be built, but a bound costs nothing
        stack_frame = (
            getattr(current, "cr_frame", None)
            or getattr(current, "gi_frame", None)
            or getattr(current, "ag_frame", None)
        )
        if stack_frame is None:
            break
        found.append(stack_frame)
        current = (
            getattr(current, "cr_await", None)
            or getattr(current, "gi_yieldfrom", None)
            or getattr(current, "ag_await", None)
        )
    return found
