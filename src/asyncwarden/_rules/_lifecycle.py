"""The lifecycle rules (AW301-AW303): tasks left pending, abandoned, or cancelled and not awaited.

Checked where ``_patches._asyncio_shutdown`` looks (asyncio's shutdown path, loop close,
destroyed tasks, interpreter exit) and on ``wait()``'s pending set, followed to the end of its
caller (``_abandoned``). In strict mode nothing is raised inside asyncio's shutdown sequence
(``_findings._held``)."""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING, Any

from asyncwarden import _observers
from asyncwarden._findings import _held
from asyncwarden._rules import _abandoned
from asyncwarden._tracking import _task_marks
from asyncwarden._tracking._callsite import capture

if TYPE_CHECKING:
    from asyncwarden._tracking._task_view import TaskView


DESTROYED_PENDING = "Task was destroyed but it is pending!"


_allowed_pending: weakref.WeakSet[object] = weakref.WeakSet()


def allow_pending(task: object) -> object:
    """Mark a task as intentionally long-lived: it is never reported as pending or abandoned.

    Returns the task, so it can wrap ``create_task``: ``t = allow_pending(create_task(...))``.
    """
    try:
        _task_marks.mark(task).allowed = True
    except (AttributeError, TypeError):  # an object without attributes: remember it weakly
        _allowed_pending.add(task)
    return task


def _is_allowed(task: object) -> bool:
    try:
        return task in _allowed_pending
    except TypeError:
        return False


_TITLES = {
    "AW301": "{tasks} still pending {when}",
    "AW302": "{tasks} that wait() returned in pending, abandoned by the task that called wait(), "
    "still pending {when}",
    "AW303": "{tasks} whose cancellation was requested and never awaited, still pending {when}",
}


def check_pending(loop: Any, when: str, role: str) -> None:
    """Report the program's tasks still pending on ``loop``, one finding per rule."""
    pending = [t for t in asyncio.all_tasks(loop) if not _task_marks.belongs_to_loop(t)]
    if role in ("shutdown", "loop.close()") and _observers.on_pending_at_shutdown:
        # Once per shutdown, 0 included: telemetry's asyncwarden.tasks.pending_at_shutdown.
        _observers.pending_at_shutdown(len(pending))
    groups: dict[str, list[Any]] = {"AW301": [], "AW302": [], "AW303": []}
    for task in pending:
        if not _task_marks.reportable(task) or _is_allowed(task):
            continue
        verdict = _abandoned.take_verdict(task)
        if verdict is None:
            verdict = "AW303" if _task_marks.cancel_requested(task) else "AW301"
        groups[verdict].append(task)
    site = capture(1) if role != "exit" and any(groups.values()) else None
    for code, tasks in groups.items():
        if not tasks:
            continue
        views = sorted(map(_view, tasks), key=_listing_order)
        for task in tasks:
            _task_marks.mark(task).reported = True
        title = _TITLES[code].format(
            tasks=_held.plural(len(tasks), "task"),
            when=when.format(them="it" if len(tasks) == 1 else "them"),
        )
        _held.deliver(_held.build(code, views, title, when=role, where=site), loop)


def _view(task: Any) -> TaskView:
    """What asyncwarden and asyncio know about a task, read without consuming anything.

    ``_task_view`` loads with the first lifecycle finding: its record is a dataclass, whose
    creation would cost every guarded asyncio program about 1 ms at start-up.
    """
    from asyncwarden._tracking import _task_view

    return _task_view.view(task)


def _listing_order(view: TaskView) -> tuple[bool, int, int, str]:
    # Tasks from batches first, in batch and input order; then by name. The warning points at
    # the first one, so the same program always warns at the same line.
    batch = view.returned_by or view.batch
    position = view.returned_position if view.returned_by else view.position
    return (batch is None, batch.id if batch else 0, position, view.name)


def destroyed(loop: Any, task: Any) -> None:
    """asyncio destroyed a task that was still pending: report it unless it is accounted for."""
    if task is None or not _task_marks.is_task(task) or _is_allowed(task):
        return
    task_mark = _task_marks.mark_of(task)
    if task_mark is not None and (task_mark.allowed or task_mark.reported):
        return
    if _task_marks.belongs_to_loop(task):
        return
    verdict = _abandoned.take_verdict(task)
    if verdict is None:
        verdict = "AW303" if _task_marks.cancel_requested(task) else "AW301"
    view = _view(task)
    _task_marks.mark(task).reported = True
    title = (
        f"task {view.name!r} ({view.coroutine}()) was destroyed while still pending: nothing "
        "kept a reference to it, so it never finished and its cleanup never ran"
    )
    _held.deliver(_held.build(verdict, [view], title, when="destroyed"), loop)
