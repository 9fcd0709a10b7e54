"""How a batch refers to its members: by asyncio's own weak reference to the task, if it has one.

Every asyncio task is held weakly by asyncio itself from its creation (the set behind
``asyncio.all_tasks()``; that reference lives until the task dies). A batch keeps that reference
object instead of making one of its own. Making one cost 0.1-0.2 us a task on 3.13 (+4 % of a
trivial task) and gives the collector one more object a task to traverse; keeping asyncio's
made the 3.13 rows 3-7 % cheaper in instructions (docs/performance.md, "Speed tricks").

Only a reference whose callback is asyncio's own is kept. Holding another one alive would keep
its callback armed after its owner dropped it: a program's callback could then run when it
expected it never would. A future with no such reference (a plain future, an eager task that
finished at once, another library's future) gets ``weakref.ref(future)`` as before; a batch
takes one kind or the other for all its members.

A member's reference object is therefore not always ``weakref.ref(future)``. To find a live
future's position in a table keyed by ``id(member reference)``, ``position_in`` tries each of the
future's weak references: the batch's is among them for as long as the future lives.
"""

from __future__ import annotations

import operator
import weakref
from collections.abc import Sequence
from typing import Any

from asyncwarden import _compat

_getweakrefs = weakref.getweakrefs
_oldest = operator.itemgetter(-1)
_callback_of = operator.attrgetter("__callback__")


def _asyncio_callback() -> object:
    """The callback of the weak reference asyncio's task set makes for every task, or a marker
    no reference has (an asyncio that keeps its tasks otherwise)."""
    tasks = _compat.scheduled_task_set()
    if isinstance(tasks, weakref.WeakSet):
        return getattr(tasks, "_remove", _NOT_ASYNCIOS)
    return _NOT_ASYNCIOS


_NOT_ASYNCIOS = object()

# The weak references of an object list callback-less ones first and the others newest first:
# the last is the oldest with a callback, for a task the one asyncio made when it was created.
ASYNCIO_CALLBACK: object = _asyncio_callback()
_ONLY_ASYNCIOS = frozenset({ASYNCIO_CALLBACK})


def member_refs(futures: Sequence[Any]) -> list[weakref.ref[Any]]:
    """One weak reference per future, in order: asyncio's own for all of them, or new ones.

    Two C-level passes: the last of each future's references, then their callbacks.
    """
    try:
        refs = list(map(_oldest, map(_getweakrefs, futures)))
    except IndexError:  # a future nothing references weakly
        pass
    else:
        if _ONLY_ASYNCIOS.issuperset(map(_callback_of, refs)):
            return refs
    return list(map(weakref.ref, futures))


def member_ref(future: Any) -> weakref.ref[Any]:
    """``member_refs`` for one future (a TaskGroup's ``create_task`` writes it out inline)."""
    held: list[weakref.ref[Any]] = _getweakrefs(future)
    if held and held[-1].__callback__ is ASYNCIO_CALLBACK:
        return held[-1]
    return weakref.ref(future)


def position_in(table: dict[int, int], future: Any) -> int:
    """The position of a live ``future`` in a table keyed by ``id(member reference)``, or -1.

    The ids are those of references the batch holds, so no other live object shares one.
    """
    for ref in _getweakrefs(future):
        position = table.get(id(ref))
        if position is not None:
            return position
    return -1
