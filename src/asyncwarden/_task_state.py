"""What a live task looks like now, read without changing it: for the lifecycle findings.

Nothing here runs per task on a hot path. Marks are stored on the task itself (C tasks accept
attributes) rather than in weakly keyed registries: when the garbage collector destroys a pending
task, its weak references are cleared before asyncio reports it, and the mark must still be there.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import weakref
from types import FrameType
from typing import Any

from asyncwarden import _compat, _provenance
from asyncwarden._callsite import CallSite, _is_internal
from asyncwarden._provenance import Batch, TaskProvenance, coroutine_name, describe_kind

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


def _code_of(task: Any) -> Any:
    coro = task.get_coro()
    return getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)


def belongs_to_loop(task: Any) -> bool:
    """A task the event loop made for itself, and the program never handed to a batch."""
    code = _code_of(task)
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
        if _held_by_asyncio_frames(other, task):
            return True
    return False


def _held_by_asyncio_frames(other: Any, task: Any) -> bool:
    # wait() and 3.10-3.11's wait_for() keep what they wait for in locals of their own frames.
    for frame in reversed(_frames(other.get_coro())):
        filename = frame.f_code.co_filename
        if not filename.startswith(_LIBRARY_DIRS):
            if _is_internal(filename):
                continue  # asyncwarden's own wrapper frames sit between
            return False
        for value in frame.f_locals.values():
            if value is task:
                return True
            if isinstance(value, (set, frozenset, list, tuple)) and any(v is task for v in value):
                return True
    return False


def _site_of(frame: FrameType) -> CallSite:
    code = frame.f_code
    return CallSite(code.co_filename, frame.f_lineno, getattr(code, "co_qualname", code.co_name))


def _frames(coro: Any) -> list[FrameType]:
    """The frames of a coroutine and of what it awaits, outermost first."""
    frames: list[FrameType] = []
    current = coro
    for _ in range(100):  # a cycle of awaitables cannot be built, but a bound costs nothing
        frame = (
            getattr(current, "cr_frame", None)
            or getattr(current, "gi_frame", None)
            or getattr(current, "ag_frame", None)
        )
        if frame is None:
            break
        frames.append(frame)
        current = (
            getattr(current, "cr_await", None)
            or getattr(current, "gi_yieldfrom", None)
            or getattr(current, "ag_await", None)
        )
    return frames


@dataclasses.dataclass(frozen=True)
class TaskView:
    """One task, as a lifecycle finding lists it."""

    name: str
    coroutine: str
    created: CallSite | None
    """From ``_source_traceback``: only recorded in asyncio debug mode."""
    batch: Batch | None
    position: int
    returned_by: Batch | None
    """The ``wait()`` call that returned the task in ``pending``."""
    returned_position: int
    suspended: CallSite | None
    awaiting: str
    defined: CallSite | None
    started: float | None
    cancel_requested: bool
    provenance: TaskProvenance | None
    finished: str = ""
    """For a task that is done: ``cancelled``, ``failed (TypeName)`` or ``returned``."""
    coroutine_state: str = ""
    """``created`` (never ran), ``suspended``, ``running``, ``closed``; empty if unknown."""
    caller: str = ""
    """For a task wait() returned in pending: the task that called wait(), once it finished."""
    caller_finished: float | None = None

    def origin(self) -> CallSite | None:
        """The best user line to point at: where it was created, else the batch it came from."""
        if self.created is not None:
            return self.created
        for batch in (self.returned_by, self.batch):
            if batch is not None and batch.site.lineno:
                return batch.site
        return self.suspended or self.defined

    def lines(self, now: float) -> list[str]:
        lines = [f"task      {self.name!r}, coroutine {self.coroutine}()"]
        if self.created is not None:
            lines.append(f"  created   {_where(self.created)}")
        if self.batch is not None:
            lines.append(f"  batch     {_batch_text(self.batch, self.position)}")
        if self.returned_by is not None and self.returned_by is not self.batch:
            lines.append(
                f"  returned  in pending by {_batch_text(self.returned_by, self.returned_position)}"
            )
        if self.created is None and self.batch is None:
            lines.append("  created   not recorded (in no batch; PYTHONASYNCIODEBUG=1 records it)")
        if self.finished:
            lines.append(f"  finished  {self.finished}")
        elif self.suspended is not None:
            awaiting = f", awaiting {self.awaiting}" if self.awaiting else ""
            lines.append(f"  suspended {_where(self.suspended)}{awaiting}")
        elif self.defined is not None:
            why = {
                "created": " (not started yet)",
                "closed": " (the garbage collector closed the coroutine first: its line is lost)",
            }.get(self.coroutine_state, "")
            lines.append(f"  defined   {_where(self.defined)}{why}")
        if self.started is not None:
            verb = "ran" if self.finished else "running"
            lines.append(f"  {verb:<9} {max(0.0, now - self.started):.2f} s")
        if self.caller_finished is not None:
            lines.append(
                f"  abandoned by {self.caller!r}, which called wait() and finished "
                f"{max(0.0, now - self.caller_finished):.2f} s ago"
            )
        if self.cancel_requested and not self.finished:
            lines.append("  cancel    requested; nobody awaited the cancellation")
        return lines


def _where(site: CallSite) -> str:
    return f"{site.short()} in {site.function}"


def _batch_text(batch: Batch, position: int) -> str:
    where = f", input position {position}" if position >= 0 else ""
    return f"#{batch.id} {describe_kind(batch.kind)} at {_where(batch.site)}{where}"


def _created_at(task: Any) -> CallSite | None:
    traceback = getattr(task, "_source_traceback", None)
    if not traceback:
        return None
    for entry in reversed(traceback):
        if not _is_internal(entry.filename):
            return CallSite(entry.filename, entry.lineno or 0, entry.name)
    return None


def view(task: Any) -> TaskView:
    """Read what asyncwarden and asyncio know about a task, without consuming anything."""
    found = mark_of(task)
    returned = found.returned if found is not None else None
    origin = _provenance.registry.lookup(task)
    batch, position = origin if origin is not None else (None, -1)
    if batch is None and returned is not None:
        batch, position = returned.batch, returned.position
    coro = task.get_coro()
    frames = _frames(coro)
    user = [f for f in frames if not _is_internal(f.f_code.co_filename)]
    suspended = None
    awaiting = ""
    coroutine_state = _coroutine_state(coro)
    if user and coroutine_state != "created":
        suspended = _site_of(user[-1])
        if frames[-1] is not user[-1]:
            awaiting = getattr(frames[-1].f_code, "co_qualname", frames[-1].f_code.co_name) + "()"
    code = _code_of(task)
    defined = (
        CallSite(code.co_filename, code.co_firstlineno, getattr(code, "co_qualname", code.co_name))
        if code is not None
        else None
    )
    provenance = None
    if origin is not None:
        provenance = _provenance.provenance(task)
    return TaskView(
        name=task.get_name(),
        coroutine=coroutine_name(task) or "?",
        created=_created_at(task),
        batch=batch,
        position=position,
        returned_by=returned.batch if returned is not None else None,
        returned_position=returned.position if returned is not None else -1,
        suspended=suspended,
        awaiting=awaiting,
        defined=defined,
        started=batch.submitted if batch is not None else None,
        cancel_requested=cancel_requested(task),
        provenance=provenance,
        finished=_finished(task),
        coroutine_state=coroutine_state,
        caller=returned.caller_name if returned is not None else "",
        caller_finished=(returned.caller_finished or None) if returned is not None else None,
    )


def _finished(task: Any) -> str:
    if not task.done():
        return ""
    if task.cancelled():
        return "cancelled"
    error = getattr(task, "_exception", None)  # read, not retrieved: asyncio still logs it
    return f"failed ({type(error).__name__})" if error is not None else "returned"


def _coroutine_state(coro: Any) -> str:
    import inspect

    if not inspect.iscoroutine(coro):
        return ""
    return {
        inspect.CORO_CREATED: "created",
        inspect.CORO_SUSPENDED: "suspended",
        inspect.CORO_RUNNING: "running",
        inspect.CORO_CLOSED: "closed",
    }.get(inspect.getcoroutinestate(coro), "")
