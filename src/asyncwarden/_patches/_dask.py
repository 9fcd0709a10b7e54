"""The dask.distributed half of the patch layer: ``wait``, ``as_completed``, results, gather.

Applied by a post-import hook when the program imports ``distributed``; asyncwarden never
imports it. ``wait()`` and ``as_completed()`` make batches as concurrent.futures' do. A dask
result is fetched from the cluster, so a frame is linked where it reaches the program:
``Future.result()``, ``Client.gather()`` and ``as_completed(with_results=True)``. ``gather``
keeps input order: frames it returns in input order are silent, frames it returns in the order
a ``done`` set iterated (``client.gather(list(done))``) are not.
"""

from __future__ import annotations

import functools
import time
import weakref
from collections.abc import Callable
from typing import Any

from asyncwarden import _config, _observers
from asyncwarden._failopen import internal_error
from asyncwarden._patches import _asyncio_common as shared
from asyncwarden._patches import _rewait, _strict_order
from asyncwarden._patches._futures import blocking_wait, hide_own_frame, open_batch
from asyncwarden._patches._wrapping import patch
from asyncwarden._tracking import _frame_types, _outcomes, _provenance
from asyncwarden._tracking._callsite import add_internal_package
from asyncwarden._tracking._member_refs import position_in
from asyncwarden._tracking._provenance import Batch

LIBRARY = "distributed"

# distributed.Future, set by ``install``.
_future_type: type = type(None)


def _all_futures(items: list[Any]) -> bool:
    return bool(items) and all(issubclass(kind, _future_type) for kind in set(map(type, items)))


def _is_future(item: Any) -> bool:
    return isinstance(item, _future_type)


def _outcome(future: Any) -> tuple[str, str]:
    """A dask future's state, read from its status without fetching anything from the cluster."""
    status = future.status
    if status in ("pending", None):
        return (_outcomes.PENDING, "")
    if status == "cancelled":
        return (_outcomes.CANCELLED, "")
    if status in ("error", "lost"):
        error = getattr(getattr(future, "_state", None), "exception", None)
        return (_outcomes.FAILED, type(error).__name__ if error is not None else status)
    return (_outcomes.OK, "")


def _register(batch: Batch, items: list[Any]) -> shared.Positions:
    _provenance.registry.register_all(batch, items)
    if _observers.on_batch_started:
        _observers.batch_started(batch)
    return shared.Positions(items, None)


def _record_outcomes(batch: Batch, futures: Any, positions: shared.Positions) -> None:
    table = positions.table()
    for future in futures:
        outcome = _outcome(future)
        if outcome[0] != _outcomes.OK:
            batch.outcomes[table.get(future, -1)] = outcome


# -- wait -------------------------------------------------------------------------------------


def _wait_options(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    return {"return_when": kwargs.get("return_when"), "timeout": kwargs.get("timeout")}


def _waited(batch: Batch, items: list[Any], result: Any) -> Any:
    # An asynchronous client hands back an awaitable: not followed (README, Limits).
    done = getattr(result, "done", None)
    not_done = getattr(result, "not_done", None)
    if type(done) is not set or type(not_done) is not set or not _all_futures(items):
        return result
    batch.size = len(items)
    # A wait() on futures an earlier wait() returned pending works on their first batch (a frame
    # fetched later is linked there, by the registry's first entry).
    positions = _rewait.register_and_follow(
        batch, items, functools.partial(_register, batch, items), _is_future, in_groups=False
    )
    strict = _config.CONFIG.strict()
    if strict:
        shuffled = _strict_order.done_out_of_order(done, positions)
        if shuffled is not done:
            done = shuffled
            result = type(result)(done, not_done)
    table = positions.table()
    batch.pending_positions = [table.get(f, -1) for f in not_done]
    _record_outcomes(batch, done, positions)
    batch.done_order = [table.get(f, -1) for f in done]
    _rewait.remember_pending(batch, done, not_done)
    batch.finished = time.time()
    if _observers.on_batch_finished:
        _observers.batch_finished(batch)
    return result


# -- as_completed -----------------------------------------------------------------------------

# as_completed object -> its batch; an object's futures can be added to it later (``add``).
_followed: weakref.WeakKeyDictionary[Any, Batch] = weakref.WeakKeyDictionary()


def _update(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """``as_completed.update`` (also reached through ``__init__`` and ``add``)."""
    # Not asked who called: as_completed's own __init__ and add() call it for the program.
    items: list[Any] | None = None
    try:
        if args:
            passed, items = shared.materialize(args[0])
            if items is not None:
                args = (passed, *args[1:])
    except Exception as error:
        internal_error("distributed.as_completed", error)
    try:
        result = wrapped(*args, **kwargs)
    except BaseException as error:
        hide_own_frame(error)
        raise
    if items is None:
        return result
    try:
        _follow(instance, items)
    except Exception as error:
        internal_error("distributed.as_completed", error)
    return result


def _follow(instance: Any, items: list[Any]) -> None:
    if not _all_futures(items):
        return
    batch = _followed.get(instance)
    started = batch is not None
    if batch is None:
        options = {"with_results": instance.with_results}
        opened = open_batch("as_completed", (items,), options, LIBRARY, check_caller=False)[1]
        if opened is None:
            return
        batch = _followed[instance] = opened[0]
        queue = instance.queue
        queue.put_nowait = _completion_recorder(batch, queue.put_nowait)
    _provenance.registry.register_all(batch, items)
    batch.size = len(batch.members)
    if not started and _observers.on_batch_started:
        _observers.batch_started(batch)


def _completion_recorder(batch: Batch, put: Callable[[Any], None]) -> Callable[[Any], None]:
    """Stands in for the as_completed object's own queue's ``put_nowait``: one member finished.

    Every member is recorded in completion order (a dask future costs a round trip to the
    scheduler; a table lookup more is nothing beside it), with its result when the object
    was made ``with_results=True``. Positions are read from the batch's weak references: the
    as_completed object lives as long as the program iterates it, and a future it has handed
    out must not outlive the program's last reference (it keeps its result on the cluster).
    """
    completed = batch.completed.append
    members = batch.members
    # id(member's weak reference) -> first position; members are added later by ``add``.
    positions: dict[int, int] = {}
    indexed = 0

    def put_nowait(item: Any) -> None:
        nonlocal indexed
        try:
            future, value = item if type(item) is tuple and len(item) == 2 else (item, None)
            if indexed != len(members):
                for index in range(indexed, len(members)):
                    positions.setdefault(id(members[index]), index)
                indexed = index + 1
            position = position_in(positions, future)
            completed(position)
            outcome = _outcome(future)
            if outcome[0] != _outcomes.OK:
                batch.outcomes[position] = outcome
            elif type(value) in _frame_types.FRAME_TYPES:
                shared.link_frame(value, batch, position)
            if len(batch.completed) >= batch.size:
                batch.finished = time.time()
                if _observers.on_batch_finished:
                    _observers.batch_finished(batch)
        except Exception as error:
            internal_error("distributed.as_completed completion", error)
        put(item)

    return put_nowait


# -- results ----------------------------------------------------------------------------------


def _link(future: Any, value: Any) -> None:
    """Link a frame fetched for ``future`` to the batch and position the future first joined."""
    if type(value) not in _frame_types.FRAME_TYPES:
        return
    found = _provenance.registry.lookup(future)
    if found is not None:
        shared.link_frame(value, *found)


def _result(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    try:
        value = wrapped(*args, **kwargs)
    except BaseException as error:
        hide_own_frame(error)
        raise
    if _frame_types.FRAME_TYPES and type(value) in _frame_types.FRAME_TYPES:
        try:
            _link(instance, value)
        except Exception as error:
            internal_error("distributed.Future.result", error)
    return value


def _gather(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    try:
        value = wrapped(*args, **kwargs)
    except BaseException as error:
        hide_own_frame(error)
        raise
    if not _frame_types.FRAME_TYPES or type(value) is not list:
        return value
    try:
        futures: Any = args[0] if args else kwargs.get("futures")
        if type(futures) in (list, tuple) and _all_futures(list(futures)):
            if len(value) != len(futures):  # errors="skip" left the failed ones out
                futures = [f for f in futures if f.status != "error"]
            if len(value) == len(futures):
                for future, result in zip(futures, value, strict=True):
                    _link(future, result)
    except Exception as error:
        internal_error("distributed Client.gather", error)
    return value


def install(module: Any) -> None:
    """Patch distributed's entry points; called by the post-import hook."""
    global _future_type
    from distributed import client

    _future_type = client.Future
    add_internal_package(module.__file__)
    _outcomes.OUTCOME_READERS[client.Future] = _outcome
    patch((module, client), "wait", blocking_wait(LIBRARY, _wait_options, _waited))
    patch((client.as_completed,), "update", _update)
    patch((client.Future,), "result", _result)
    patch((client.Client,), "gather", _gather)
