"""The lifecycle rules (AW301-AW303): tasks left pending, abandoned, or cancelled and not awaited.

Checked where ``_patches._asyncio_shutdown`` looks (asyncio's shutdown path, loop close,
destroyed tasks, interpreter exit), and on ``wait()``'s pending set, followed to the end of the
task that called it (below). Findings are delivered through ``_findings._held``: in strict mode
nothing is raised inside asyncio's shutdown sequence.

When ``wait()`` returns pending tasks, the caller gets one done-callback (once per caller, however
many waits it makes) and each pending task one done-callback (once per task). Callbacks run in the
order their futures finished, so when the caller's callback runs, a pending task whose own callback
has not run yet had not finished when the caller did.

Such a task is handled if someone else awaits or tracks it at that moment (it has another
done-callback: a task awaiting it, gather, wait, a TaskGroup, ``set.discard``), or if it is
marked with ``allow_pending``. Otherwise it gets a verdict: AW303 if its cancellation was
requested, else AW302. The verdict is reported when the task finishes with nobody waiting for it
(a task that awaits it directly or through ``gather()``, or a later batch it joins, clears it), or
at shutdown if it is still pending then.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from asyncwarden import _observers
from asyncwarden._failopen import internal_error
from asyncwarden._findings import _held
from asyncwarden._tracking import _task_marks
from asyncwarden._tracking._callsite import UNKNOWN, CallSite, capture
from asyncwarden._tracking._outcomes import outcome_of
from asyncwarden._tracking._provenance import Batch, describe_kind

# Findings, rules and task views load with the first lifecycle finding, not with the asyncio hook
# (their dataclasses cost start-up time in every guarded program).
if TYPE_CHECKING:
    from asyncwarden._findings._finding import Finding
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
        # Neither marked nor weakly referenced: no asyncio task, so nothing will report it.
        with contextlib.suppress(TypeError):
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
    groups = _by_rule(pending)
    site = capture(1) if role != "exit" and groups else None
    for code, tasks in groups.items():
        views = _reported_views(tasks)
        title = _TITLES[code].format(
            tasks=plural(len(tasks), "task"),
            when=when.format(them="it" if len(tasks) == 1 else "them"),
        )
        _held.deliver(build(code, views, title, when=role, where=site), loop)


def left_by_cell(tasks: list[Any], cell: str) -> list[Finding]:
    """Findings for tasks a notebook cell started and left pending (the IPython extension).

    One per rule, as at a loop's shutdown; the tasks count as reported, so the kernel's
    shutdown does not list them again.
    """
    findings = []
    for code, group in _by_rule(tasks).items():
        views = _reported_views(group)
        title = (
            f"{plural(len(group), 'task')} started by {cell} "
            f"{'is' if len(group) == 1 else 'are'} still pending after it ended, "
            "neither awaited nor kept"
        )
        findings.append(build(code, views, title, when="cell end"))
    return findings


def _by_rule(tasks: list[Any]) -> dict[str, list[Any]]:
    """The tasks to report, by rule code in code order; a rule with no task is left out."""
    groups: dict[str, list[Any]] = {}
    for task in tasks:
        if not _task_marks.reportable(task) or _is_allowed(task):
            continue
        verdict = take_verdict(task)
        if verdict is None:
            verdict = "AW303" if _task_marks.cancel_requested(task) else "AW301"
        groups.setdefault(verdict, []).append(task)
    return dict(sorted(groups.items()))


def _reported_views(tasks: list[Any]) -> list[TaskView]:
    """The tasks' views in listing order; the tasks count as reported from now on."""
    views = sorted(map(_view, tasks), key=_listing_order)
    for task in tasks:
        _task_marks.mark(task).reported = True
    return views


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
    verdict = take_verdict(task)
    if verdict is None:
        verdict = "AW303" if _task_marks.cancel_requested(task) else "AW301"
    view = _view(task)
    _task_marks.mark(task).reported = True
    title = (
        f"task {view.name!r} ({view.coroutine}()) was destroyed while still pending: nothing "
        "kept a reference to it, so it never finished and its cleanup never ran"
    )
    _held.deliver(build(verdict, [view], title, when="destroyed"), loop)


# -- the finding ------------------------------------------------------------------------------


# A finding lists this many tasks in full; the rest are counted.
LISTED_TASKS = 10


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
    from asyncwarden._findings._codes import CODES
    from asyncwarden._findings._finding import Finding

    rule = CODES[code]
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


# -- wait()'s pending set, followed to the end of its caller (AW302, AW303) --------------------


# Verdicts not resolved yet; the batch observer does nothing while this is zero.
_unresolved = 0


def on_wait_pending(batch: Batch, pending: set[Any]) -> None:
    """Observer: ``wait()`` in the current task returned ``pending``."""
    caller = asyncio.current_task()
    if caller is None:
        return
    caller_mark = _task_marks.mark(caller)
    if caller_mark.outstanding is None:
        caller_mark.outstanding = {}
        caller.add_done_callback(_caller_done)
    outstanding = caller_mark.outstanding
    # The patch layer just listed the pending set's positions in its iteration order.
    positions = batch.pending_positions
    if len(positions) != len(pending):
        positions = [-1] * len(pending)
    caller_ref = weakref.ref(caller)
    for task, position in zip(pending, positions, strict=False):
        if not _task_marks.is_task(task):
            continue
        task_mark = _task_marks.mark(task)
        if task_mark.allowed:
            continue
        returned = task_mark.returned
        if returned is None:
            returned = task_mark.returned = _task_marks.Returned()
            task.add_done_callback(_pending_done)
        else:
            _unresolve(returned)
            previous = returned.caller() if returned.caller is not None else None
            if previous is not None and previous is not caller:
                _forget_outstanding(previous, task)
        returned.batch = batch
        returned.position = position
        returned.caller = caller_ref
        returned.caller_finished = 0.0
        outstanding[id(task)] = weakref.ref(task)


def _forget_outstanding(caller: Any, task: Any) -> None:
    caller_mark = _task_marks.mark_of(caller)
    if caller_mark is not None and caller_mark.outstanding is not None:
        caller_mark.outstanding.pop(id(task), None)


def _unresolve(returned: _task_marks.Returned) -> None:
    global _unresolved
    if returned.verdict is not None:
        returned.verdict = None
        _unresolved -= 1


def _caller_done(caller: Any) -> None:
    global _unresolved
    try:
        caller_mark = _task_marks.mark_of(caller)
        if caller_mark is None or not caller_mark.outstanding:
            return
        outstanding, caller_mark.outstanding = caller_mark.outstanding, None
        finished = time.time()
        caller_name = caller.get_name()
        for ref in outstanding.values():
            task = ref()
            if task is None:
                continue
            task_mark = _task_marks.mark_of(task)
            returned = task_mark.returned if task_mark is not None else None
            if task_mark is None or returned is None or task_mark.allowed or task_mark.reported:
                continue
            if returned.caller is None or returned.caller() is not caller:
                continue  # another task waited for it since; that caller decides
            if _task_marks.has_other_callbacks(task):
                continue
            if task.done() and not task.cancelled():
                # It ended on its own right after the caller, before anyone could look: a later
                # `await` of a finished task cannot be observed, so this is not called abandoned.
                continue
            returned.verdict = "AW303" if _task_marks.cancel_requested(task) else "AW302"
            returned.caller_name = caller_name
            returned.caller_finished = finished
            _unresolved += 1
    except Exception as error:
        internal_error("lifecycle: wait() caller finished", error)


def _pending_done(task: Any) -> None:
    try:
        task_mark = _task_marks.mark_of(task)
        returned = task_mark.returned if task_mark is not None else None
        if task_mark is None or returned is None:
            return
        caller = returned.caller() if returned.caller is not None else None
        if caller is not None:
            _forget_outstanding(caller, task)
        verdict = returned.verdict
        if verdict is None:
            return
        _unresolve(returned)
        if task_mark.allowed or task_mark.reported or _task_marks.awaited_by_a_task(task):
            return
        task_mark.reported = True
        if task.cancelled():
            # 3.10 forgets a delivered cancellation request: the outcome still tells.
            verdict = "AW303"
        from asyncwarden._tracking import _task_view  # with the first finding: see _lifecycle._view

        view = _task_view.view(task)
        late = max(0.0, time.time() - returned.caller_finished)
        name = f"{task.get_name()!r} ({view.coroutine}())"
        if verdict == "AW303":
            title = (
                f"task {name} was cancelled but never awaited: it ended {late:.2f} s after "
                f"{returned.caller_name!r}, the task that got it from wait(), had finished"
            )
        else:
            title = (
                f"task {name}, returned pending by {describe_kind('wait')}, ran on and finished "
                f"{late:.2f} s after its caller {returned.caller_name!r} was done; nobody "
                f"awaited it"
            )
        finding = build(verdict, [view], title, when="caller finished", outcome=_outcome(task))
        _held.deliver(finding, task.get_loop())
    except Exception as error:
        internal_error("lifecycle: pending task finished", error)


def _outcome(task: Any) -> str:
    return outcome_of(task)[0]


def take_verdict(task: Any) -> str | None:
    """The unreported verdict on ``task`` (shutdown reports it now), cleared."""
    task_mark = _task_marks.mark_of(task)
    returned = task_mark.returned if task_mark is not None else None
    if returned is None or returned.verdict is None:
        return None
    verdict = returned.verdict
    _unresolve(returned)
    return verdict


def on_batch_started(batch: Batch) -> None:
    """Observer: a task with a verdict that joins a new batch is awaited after all."""
    if not _unresolved:
        return
    try:
        for ref in batch.members:
            task_mark = _task_marks.mark_of(ref())
            if task_mark is not None and task_mark.returned is not None:
                _unresolve(task_mark.returned)
    except Exception as error:
        internal_error("lifecycle: batch observer", error)


def _reset() -> None:
    global _unresolved
    _unresolved = 0


_observers.on_reset.append(_reset)
