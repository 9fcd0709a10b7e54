"""The TaskGroup wrappers: create_task adds a member to the group's batch, the exit closes it."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from asyncwarden import _compat, _observers
from asyncwarden._failopen import internal_error
from asyncwarden._patches._asyncio_common import settle
from asyncwarden._tracking import _provenance
from asyncwarden._tracking._callsite import capture
from asyncwarden._tracking._member_refs import position_in
from asyncwarden._tracking._provenance import Batch

_groups: weakref.WeakKeyDictionary[Any, Batch] = weakref.WeakKeyDictionary()


new_ref = weakref.ref


def _no_group() -> None:
    return None


# The group create_task was last called on (weakly), its batch, and the ``append`` that adds a
# member to it (``_Registry.writer``): calls come in runs on one group, so per task the wrapper
# reads one tuple and makes C calls only. Reset when the group exits: a finished group's batch
# held here kept its dead references (10,000 for 10,000 tasks) alive until the next group,
# pinning memory the program's next allocations then found, or did not find, warm
# (docs/performance.md, "Fresh pages").
_last_group: tuple[Callable[[], Any], Batch | None, Any] = (_no_group, None, None)


def _group_batch(group: Any) -> tuple[Callable[[], Any], Batch | None, Any]:
    global _last_group
    batch = _groups.get(group)
    started = batch is None
    if batch is None:
        batch = _groups[group] = Batch("taskgroup", capture(2))
    append = _provenance.registry.writer(batch, group)
    if started and _observers.on_batch_started:
        _observers.batch_started(batch)
    _last_group = (weakref.ref(group), batch, append)
    return _last_group


def make_create_task(original: Callable[..., Any]) -> Callable[..., Any]:
    """``TaskGroup.create_task`` with the task registered as a member of the group's batch.

    A plain function, not a wrapt wrapper: it runs once per task, and a wrapt wrapper's call
    alone costs 1.2-2 us on CPython 3.11 (+12-20 % on 10,000 tasks, docs/performance.md). Where
    the signature is the known ``(self, coro, *, name=None, context=None)`` it is spelled out:
    packing ``*args, **kwargs`` costs another 0.4 us per task. Per task the bookkeeping is one
    weak reference appended to the batch's members, all in C calls.
    """
    if _compat.signature_is(original, _compat.TASK_GROUP_CREATE_TASK):

        def create_task(self: Any, coro: Any, *, name: Any = None, context: Any = None) -> Any:
            task = original(self, coro, name=name, context=context)
            try:
                group, _, append = _last_group
                if group() is not self:
                    group, _, append = _group_batch(self)
                # A reference of its own, not asyncio's (_member_refs): looking that one up per
                # task made the TaskGroup row 1-3 % slower, timed on 3.11 and 3.13.
                append(new_ref(task))
            except Exception as error:
                internal_error("TaskGroup.create_task", error)
            return task

        return create_task

    def create_task_any(self: Any, *args: Any, **kwargs: Any) -> Any:
        task = original(self, *args, **kwargs)
        try:
            group, _, append = _last_group
            if group() is not self:
                group, _, append = _group_batch(self)
            append(new_ref(task))
        except Exception as error:
            internal_error("TaskGroup.create_task", error)
        return task

    return create_task_any


async def aexit_wrapper(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    exited_normally = False
    try:
        result = await wrapped(*args, **kwargs)
        exited_normally = True
        return result
    finally:
        try:
            global _last_group
            batch = _groups.get(instance)
            if batch is not None and _last_group[1] is batch:
                _last_group = (_no_group, None, None)
            if batch is not None:
                _provenance.registry.close(batch)
                members = _alive(batch.members)
                settle(batch, members, IndexOf(batch), not exited_normally)
                if _observers.on_batch_finished:
                    _observers.batch_finished(batch)
        except Exception as error:
            internal_error("TaskGroup exit", error)


def _alive(refs: list[weakref.ref[Any]]) -> list[Any]:
    """The referents still alive. A comprehension: ``map(methodcaller("__call__"), ...)`` looks
    the method up per reference and took three times as long (1 ms for 10,000)."""
    return [member for ref in refs if (member := ref()) is not None]


class IndexOf:
    """Position of a member, found only when asked (when a member failed or returned a frame)."""

    def __init__(self, batch: Batch) -> None:
        self._batch = batch
        self._positions: dict[int, int] | None = None

    def __call__(self, future: Any) -> int:
        if self._positions is None:
            self._positions = self._batch.first_positions()
        return position_in(self._positions, future)
