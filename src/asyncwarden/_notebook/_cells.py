"""Tasks a cell left behind: created by the cell, pending when it ended, neither awaited nor kept.

A kernel's event loop never shuts down, so AW301 would only speak at the kernel's exit, far from
the cell that started the task. Each cell run sets a context variable; every task copies the
context it was created in, so a task the cell's code started (directly, or through tasks it
started) carries that cell's value, while tasks of earlier cells and of the kernel do not.

"Kept" is judged by who refers to the task, at the end of the cell only and only for tasks
nothing awaits: anything but asyncio's own scheduling and IPython's output history (the task
shown as the cell's result) counts as kept. An unknown referrer means kept: a miss, never a
false alarm.
"""

from __future__ import annotations

import contextvars
import gc
import re
import sys
from typing import Any

from asyncwarden import _compat
from asyncwarden._tracking import _task_marks

_cell: contextvars.ContextVar[object | None] = contextvars.ContextVar(
    "asyncwarden_cell", default=None
)

# asyncio's C tasks schedule themselves through these wrappers (3.10, 3.11), which hold the task.
_SCHEDULING_TYPES = frozenset({"TaskStepMethWrapper", "TaskWakeupMethWrapper"})
# The same, as bound methods: the C task's wake-up, and the Python task's step and wake-up.
_SCHEDULING_METHODS = frozenset({"task_wakeup", "task_step", "__step", "__wakeup"})
_OUTPUT_NAMES = re.compile(r"_{1,3}|_\d+")


def start() -> object:
    """Mark what the cell about to run creates; returns the mark."""
    token = object()
    _cell.set(token)
    return token


def end() -> None:
    _cell.set(None)


def _created_by(task: Any, token: object) -> bool:
    return any(context.get(_cell) is token for context in _compat.task_contexts(task))


def _candidates(token: object) -> list[Any]:
    found = []
    for task in _compat.registered_tasks():
        if task.done() or not _created_by(task, token):
            continue
        if not _task_marks.reportable(task) or _task_marks.has_other_callbacks(task):
            continue
        found.append(task)
    return found


def _is_output_history(shell: Any, referrer: object, task: Any) -> bool:
    """Whether ``referrer`` holds the task only because IPython showed it as a cell's result.

    The displayhook puts a result in ``Out``, in ``_``/``__``/``___``/``_N`` (in the user's
    namespace, its hidden twin and the displayhook itself) and in the cell's ExecutionResult.
    """
    user_ns = getattr(shell, "user_ns", None)
    history = user_ns.get("Out") if isinstance(user_ns, dict) else None
    if not isinstance(history, dict) or not any(value is task for value in history.values()):
        return False
    if referrer is history:
        return True
    if type(referrer).__name__ == "ExecutionResult":  # its own result, in its dict or inline
        return getattr(referrer, "result", None) is task
    # The displayhook keeps ``_`` as an attribute: from 3.13 the object itself is the referrer.
    fields = referrer if isinstance(referrer, dict) else getattr(referrer, "__dict__", None)
    if not isinstance(fields, dict):
        return False
    names = [name for name, value in fields.items() if value is task]
    if not names:
        return False
    if all(isinstance(name, str) and _OUTPUT_NAMES.fullmatch(name) for name in names):
        return True
    return names == ["result"] and type(fields.get("info")).__name__ == "ExecutionInfo"


def _scheduling(referrer: object, task: Any) -> bool:
    """asyncio's own hold on a pending task: its next step, or its wake-up on what it awaits.

    Only these methods: ``loop.call_later(60, task.cancel)`` is the program keeping the task.
    """
    if type(referrer).__name__ in _SCHEDULING_TYPES:
        return True
    return getattr(referrer, "__self__", None) is task and (
        getattr(referrer, "__name__", None) in _SCHEDULING_METHODS
    )


def left_behind(token: object, shell: Any) -> list[Any]:
    """The cell's tasks still pending, that nothing awaits and nothing but asyncio refers to."""
    candidates = _candidates(token)
    if not candidates:
        return []
    ours = {id(candidates)}
    frame = sys._getframe()
    while frame is not None:
        ours.add(id(frame))
        frame = frame.f_back  # type: ignore[assignment]
    abandoned = []
    for task in candidates:
        referrers = gc.get_referrers(task)
        ours.add(id(referrers))
        # A plain loop: a generator expression would hold ``task`` in a closure cell, a referrer.
        kept = False
        for referrer in referrers:
            if id(referrer) in ours or _scheduling(referrer, task):
                continue
            if not _is_output_history(shell, referrer, task):
                kept = True
                break
        del referrers
        if not kept:
            abandoned.append(task)
    return abandoned
