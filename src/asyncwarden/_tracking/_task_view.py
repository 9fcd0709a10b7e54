"""One task as a lifecycle finding lists it: its batch, where it waits, how it ended.

Read from ``_task_marks``, the provenance registry and the task itself, without changing
the task. Loaded with the first lifecycle finding, not at start-up.
"""

from __future__ import annotations

import dataclasses
import os
from types import FrameType
from typing import Any

from asyncwarden import _compat
from asyncwarden._tracking import _provenance
from asyncwarden._tracking._callsite import CallSite, is_internal
from asyncwarden._tracking._outcomes import CANCELLED, FAILED, OK, outcome_of
from asyncwarden._tracking._provenance import Batch, TaskProvenance, coroutine_name, describe_kind
from asyncwarden._tracking._task_marks import cancel_requested, code_of, mark_of, stack_frames


def _site_of(stack_frame: FrameType) -> CallSite:
    code = stack_frame.f_code
    return CallSite(code.co_filename, stack_frame.f_lineno, _compat.qualname(code))


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
    in_thread: CallSite | None = None
    """For ``asyncio.to_thread(func, ...)``: the user's function the worker thread runs."""

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
        elif self.in_thread is not None:
            defined = f", defined at {self.in_thread.short()}" if self.in_thread.lineno else ""
            lines.append(
                f"  runs      {self.in_thread.function}() in a worker thread "
                f"(asyncio.to_thread){defined}"
            )
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
    return f"#{batch.id} {describe_kind(batch.kind, batch.library)} at {_where(batch.site)}{where}"


def _thread_target(stack: list[FrameType]) -> CallSite | None:
    """The function ``asyncio.to_thread()`` hands to the worker thread: its name and definition.

    to_thread's own lines are asyncio's; the user wrote the function. Only its name and where it
    is defined are read, never the arguments it was given.
    """
    for stack_frame in stack:
        code = stack_frame.f_code
        if code.co_name != "to_thread" or not code.co_filename.endswith(_THREADS_FILE):
            continue
        target = stack_frame.f_locals.get("func")
        for _ in range(10):  # functools.partial around partial: a bound costs nothing
            inner = getattr(target, "func", None)
            if inner is None or not callable(inner):
                break
            target = inner
        target = getattr(target, "__func__", target)  # a bound method's function
        function = getattr(target, "__code__", None)
        name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None)
        if function is not None:
            return CallSite(function.co_filename, function.co_firstlineno, str(name))
        if name is not None:  # a builtin: a name, no line
            return CallSite(getattr(target, "__module__", None) or "?", 0, str(name))
    return None


_THREADS_FILE = os.path.join("asyncio", "threads.py")


def _created_at(task: Any) -> CallSite | None:
    traceback = getattr(task, "_source_traceback", None)
    if not traceback:
        return None
    for entry in reversed(traceback):
        if not is_internal(entry.filename):
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
    coro = _compat.coroutine_of(task)
    stack = stack_frames(coro)
    user = [f for f in stack if not is_internal(f.f_code.co_filename)]
    in_thread = None if user else _thread_target(stack)
    suspended = None
    awaiting = ""
    coroutine_state = _coroutine_state(coro)
    if user and coroutine_state != "created":
        suspended = _site_of(user[-1])
        if stack[-1] is not user[-1]:
            awaiting = _compat.qualname(stack[-1].f_code) + "()"
    code = code_of(task)
    defined = (
        CallSite(code.co_filename, code.co_firstlineno, _compat.qualname(code))
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
        in_thread=in_thread,
    )


def _finished(task: Any) -> str:
    word, kind = outcome_of(task)
    return {OK: "returned", FAILED: f"failed ({kind})", CANCELLED: "cancelled"}.get(word, "")


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
