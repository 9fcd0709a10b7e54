"""How a batch refers to its members: by asyncio's own weak reference to the task, if it has one.

Every asyncio task is held weakly by asyncio itself from its creation (the set behind
``asyncio.all_tasks()``; that reference lives until the task dies). gather(), wait() and
as_completed() keep that reference object for their members instead of making one: on 3.13 a
reference of one's own cost +4 % of a trivial task, and the collector one more object a task to
traverse (timed, 10,000 tasks: wait 1.095 -> 1.054 on 3.13, 1.048 -> 1.031 on 3.11;
docs/performance.md, "Speed tricks"). A TaskGroup's ``create_task`` makes its own: looking up
asyncio's for one task at a time cost more than it saved.

Only a reference whose callback is asyncio's own is kept. Holding another one alive would keep
its callback armed after its owner dropped it: a program's callback could then run when it
expected it never would. When any future of a call has no such reference (a plain future, an
eager task that finished at once, another library's future), the call makes
``weakref.ref(future)`` for all of them, as before.

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
# The weak references of an object list callback-less ones first and the others newest first:
# the last is the oldest with a callback, for a task the one asyncio made when it was created.
_oldest = operator.itemgetter(-1)
_callback_of = operator.attrgetter("__callback__")
_NOT_ASYNCIOS = object()


def _asyncio_callback() -> object:
    """The callback of the weak reference asyncio's task set makes for every task, or a marker
    no reference has (an asyncio that keeps its tasks otherwise)."""
    tasks = _compat.scheduled_task_set()
    if isinstance(tasks, weakref.WeakSet):
        return getattr(tasks, "_remove", _NOT_ASYNCIOS)
    return _NOT_ASYNCIOS


_ONLY_ASYNCIOS = frozenset({_asyncio_callback()})


def member_refs(futures: Sequence[Any]) -> list[weakref.ref[Any]]:
    """One weak reference per future, in order: asyncio's own for all of them, or new ones.

    Two C-level passes: the last of each future's references, then their callbacks.
    """
    try:
        refs = list(map(_oldest, map(_getweakrefs, futures)))
        if _ONLY_ASYNCIOS.issuperset(map(_callback_of, refs)):
            return refs
    # A future nothing references weakly, or one whose only reference is a proxy (whose
    # attributes are the future's: it has no __callback__ of its own to read).
    except (IndexError, AttributeError):
        pass
    return list(map(weakref.ref, futures))


def position_in(table: dict[int, int], future: Any) -> int:
    """The position of a live ``future`` in a table keyed by ``id(member reference)``, or -1.

    The ids are those of references the batch holds, so no other live object shares one.
    """
    for ref in _getweakrefs(future):
        position = table.get(id(ref))
        if position is not None:
            return position
    return -1
