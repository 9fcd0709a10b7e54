"""One batch across re-waits: a wait() or as_completed() on tasks that already belong to a batch.

``while pending: done, pending = await asyncio.wait(pending, return_when=FIRST_COMPLETED)`` works
on one batch, the one the tasks were submitted in, not on a new batch per call. The same holds for
as_completed() over the pending tasks of a wait(), or over an open TaskGroup's tasks. Such a call
keeps a batch of its own (telemetry, AW302 follow it) that points at the origin batch: the frames
it hands out are linked to their positions there, and the order it hands them out in joins the
origin's scheduled order (``Batch.scheduled_order``), which AW101 reads.

asyncio's, concurrent.futures' and dask's wait() all re-wait the same way: ``register_and_follow``
when the call is made, ``remember_pending`` when it returns.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from asyncwarden._patches._asyncio_common import Future, link_frame
from asyncwarden._tracking import _frame_types, _outcomes, _provenance
from asyncwarden._tracking._member_refs import position_in
from asyncwarden._tracking._provenance import Batch

_new_ref = weakref.ref

T = TypeVar("T")


def by_creation(items: list[Any]) -> list[Any] | None:
    """Tasks handed over in a set, in the order they were created, when their names tell it.

    A task asyncio names itself is ``Task-<n>``, n counting up as tasks are created. A set has no
    order of its own: the order the program created the tasks in is their submission order.
    None when any item is not such a task (a name the program chose, a bare future).
    """
    numbered: list[tuple[int, int]] = []
    for index, item in enumerate(items):
        get_name = getattr(item, "get_name", None)
        name = get_name() if get_name is not None else None
        if type(name) is not str or not name.startswith("Task-") or not name[5:].isdigit():
            return None
        numbered.append((int(name[5:]), index))
    numbered.sort()
    return [items[index] for _, index in numbered]


def origin_of(
    items: list[Any], is_future: Callable[[Any], bool] = asyncio.isfuture
) -> tuple[Batch, list[int]] | None:
    """The batch these futures were submitted in, and each one's position there.

    Only futures returned pending by an earlier wait() and the tasks of a TaskGroup that has not
    exited belong to a batch this can find. None (the common case, costing one or two truth
    tests) when none of them does. A future new to that batch gets position -1. ``is_future``
    tells the futures of the calling library (asyncio's, concurrent.futures', dask's).
    """
    registry = _provenance.registry
    returned = registry.returned_pending
    if not returned and not registry.open_groups():
        return None
    futures = [item if is_future(item) else None for item in items]
    found: list[tuple[Batch, int] | None] = []
    if returned:
        found = [returned.get(_new_ref(f)) if f is not None else None for f in futures]
    origin = next((entry[0] for entry in found if entry is not None), None)
    table: dict[int, int] | None = None
    if origin is None:
        for group in registry.open_groups():
            table = group.first_positions()
            if any(f is not None and position_in(table, f) >= 0 for f in futures):
                origin = group
                break
        else:
            return None
    positions: list[int] = []
    for index, future in enumerate(futures):
        entry = found[index] if found else None
        if entry is not None and entry[0] is origin:
            positions.append(entry[1])
            continue
        if table is None:
            table = origin.first_positions()
        positions.append(position_in(table, future) if future is not None else -1)
    return origin, positions


def join_origin(
    batch: Batch,
    origin: Batch,
    positions: list[int],
    items: list[Any],
    is_future: Callable[[Any], bool] = asyncio.isfuture,
) -> None:
    """Make ``batch`` (this call) a follower of ``origin``; new futures join the origin."""
    new = [i for i, p in enumerate(positions) if p < 0 and is_future(items[i])]
    if new and origin.kind in ("wait", "as_completed"):
        start = len(origin.members)
        _provenance.registry.register(origin, [items[i] for i in new])
        origin.size = len(origin.members)
        for offset, index in enumerate(new):
            positions[index] = start + offset
    batch.origin = origin
    # Per position of this call's members (first positions, as _register_in_order keeps them).
    first: dict[int, int] = {}
    for index, item in enumerate(items):
        first.setdefault(id(item), index)
    batch.origin_positions = [-1] * len(batch.members)
    for index, item in enumerate(items):
        if first[id(item)] == index and index < len(batch.origin_positions):
            batch.origin_positions[index] = positions[index]
    origin.followers.append(batch)


def register_and_follow(
    batch: Batch,
    items: list[Any],
    register: Callable[[], T],
    is_future: Callable[[Any], bool] = asyncio.isfuture,
    *,
    in_groups: bool = True,
) -> T:
    """``register()`` this call's members; if they belong to a batch already, follow that one.

    ``is_future`` tells the calling library's futures; ``in_groups`` whether they can be an open
    TaskGroup's tasks (asyncio's only): when not, a call with nothing returned pending before
    skips the search entirely. Returns what ``register`` returned.
    """
    origin = (
        origin_of(items, is_future) if in_groups or _provenance.registry.returned_pending else None
    )
    registered = register()
    if origin is not None:
        join_origin(batch, origin[0], origin[1], items, is_future)
    return registered


def link_to_origin(batch: Batch, futures: Iterable[Future[Any]], position_of: Any) -> None:
    """Frames of a follower's members are linked to their positions in the origin batch."""
    origin = batch.origin
    if origin is None or not _frame_types.FRAME_TYPES:
        return
    mapped = batch.origin_positions
    for future in futures:
        result = _outcomes.value_of(future)
        if type(result) in _frame_types.FRAME_TYPES and not future.cancelled():
            position = position_of(future)
            if 0 <= position < len(mapped) and mapped[position] >= 0:
                link_frame(result, origin, mapped[position])


def remember_pending(batch: Batch, done: set[Any], pending: set[Any]) -> None:
    """Keep where wait()'s pending members came from, for a later wait() on them.

    One truth test when nothing is pending now and nothing was before.
    """
    returned = _provenance.registry.returned_pending
    if not pending and not returned:
        return
    for future in done:
        returned.pop(_new_ref(future), None)
    if not pending:
        return
    origin = batch.origin or batch
    mapped = batch.origin_positions if batch.origin is not None else None
    for future, position in zip(pending, batch.pending_positions, strict=False):
        if mapped is not None:
            position = mapped[position] if 0 <= position < len(mapped) else -1
        if position >= 0:
            returned[_new_ref(future)] = (origin, position)
    if len(returned) > 20_000:  # finished or dropped tasks nobody waited for again
        # list() first: a pool's wait() may run in several threads at once.
        for ref in [r for r in list(returned) if (f := r()) is None or f.done()]:
            returned.pop(ref, None)
