"""The wrapper of as_completed: members are recorded as asyncio's own queue receives them."""

from __future__ import annotations

import asyncio
import collections
import functools
import itertools
import time
from collections.abc import Callable, Collection, Iterable
from typing import Any

from asyncwarden import _compat, _observers
from asyncwarden._failopen import internal_error
from asyncwarden._patches import _rewait
from asyncwarden._patches._asyncio_common import (
    all_futures,
    called_by_asyncio,
    materialize,
    record,
    register_in_order,
    step_through,
)
from asyncwarden._patches._asyncio_taskgroup import IndexOf
from asyncwarden._tracking import _frame_types, _outcomes
from asyncwarden._tracking._callsite import capture
from asyncwarden._tracking._provenance import Batch


class CompletionStorage(collections.deque):  # type: ignore[type-arg]
    """as_completed's own queue keeps its items here: each one asyncio puts is recorded first.

    as_completed already gives every member a done-callback that puts it on a private queue, in
    completion order. Recording there costs one Python call per member; a done-callback of our
    own would cost a second round through the event loop per member (+40 % on 10,000 tasks,
    docs/performance.md). The queue is asyncio's, never the program's.

    The queue's storage is swapped, not its ``put_nowait``: an attribute of its own on the
    queue made every attribute read in the Queue's methods take the slow path (3.12, cachegrind:
    +2,325 instructions a member; docs/performance.md, "Speed tricks").
    """

    __slots__ = ("record",)
    record: Callable[[Any], None]

    def append(self, item: Any) -> None:
        self.record(item)
        _append(self, item)


_append = collections.deque.append


def completion_recorder(
    batch: Batch,
    positions: Callable[[Any], int],
    unhook: Callable[[], None] | None = None,
) -> Callable[[Any], None]:
    """Records one member that finished (as_completed's ``CompletionStorage``; a thread pool's
    ``as_completed`` as it hands a future out).

    A member costs one read of asyncio's own fields when it returned something, three when it
    returned None (it may have failed or been cancelled). Only members that failed, were
    cancelled or returned a frame are recorded, in completion order: the order of frames is what
    AW101 cites. Telemetry, which reports the completion order of every member, gets every
    member recorded. Members are counted up to the batch's size; ``unhook`` runs once no member
    is left to arrive (the last one did, or the timeout's sentinel came): it takes the recorder
    off the queue's storage.
    """
    completed = batch.completed.append
    count = itertools.count(1).__next__
    size = batch.size
    frame_types = _frame_types.FRAME_TYPES  # one set, filled in place when pandas is patched
    every_member = bool(_observers.on_batch_finished)

    def record_member(future: Any) -> None:
        if future is None:  # the timeout's sentinel: asyncio took its callbacks off the rest
            if unhook is not None:
                unhook()
        else:
            try:
                try:
                    result = _outcomes.result_of(future)
                    if result is None:
                        plain = (
                            _outcomes.exception_of(future) is None
                            and _outcomes.state_of(future) == _outcomes.FINISHED_STATE
                        )
                    else:
                        plain = type(result) not in frame_types
                except AttributeError:  # a future type without asyncio's private fields
                    plain = False
                if every_member or not plain:
                    position = positions(future)
                    completed(position)
                    if not plain:
                        record(batch, position, future)
                        if batch.origin is not None:
                            _rewait.link_to_origin(batch, (future,), positions)
                if count() == size:
                    if unhook is not None:
                        unhook()
                    batch.finished = time.time()
                    if _observers.on_batch_finished:
                        _observers.batch_finished(batch)
            except Exception as error:
                internal_error("as_completed completion", error)

    return record_member


def _watch_completions(batch: Batch, items: list[Any], queue: Any, todo: Collection[Any]) -> None:
    """Register the members and follow as_completed's own completion queue."""
    # asyncio's own count of the distinct members: counting them ourselves, by identity, before
    # the call cost about 1,000 instructions a task (3.11, cachegrind; 2 % of a trivial task).
    batch.size = len(todo)
    if all_futures(items):
        futures: Iterable[Any] = items
    else:
        made = {id(_compat.coroutine_of(t)): t for t in todo if hasattr(t, "get_coro")}
        futures = [item if asyncio.isfuture(item) else made.get(id(item)) for item in items]
        futures = (f for f in futures if f is not None)
    ordered = items
    if not batch.input_ordered and futures is items:
        ordered = _rewait.by_creation(items) or items
        batch.input_ordered = ordered is not items
        futures = ordered
    _rewait.register_and_follow(batch, ordered, lambda: register_in_order(batch, ordered, futures))
    # Positions from the batch's weak references: the recorder holds no member (a table of the
    # input would hold them all while the queue lives). It holds the storage, and the storage
    # holds it: a cycle until the last member arrives and it takes itself off (+2 to +4 us per
    # task on 3.11 while members stayed alive until the garbage collector ran: asyncio.run's
    # shutdown walked them and the collector moved them through its generations).
    storage = CompletionStorage(queue._queue)
    storage.record = completion_recorder(batch, IndexOf(batch), functools.partial(_unhook, storage))
    queue._queue = storage


def _unhook(storage: CompletionStorage) -> None:
    storage.record = _pass


def _pass(item: Any) -> None:
    pass


def _watch_generator(batch: Batch, items: list[Any], gen: Any) -> None:
    # The original generator makes its queue and its tasks on the first next(); hook them then,
    # before the event loop can run a single completion callback.
    try:
        _watch_completions(batch, items, *_compat.as_completed_queue(gen))
    except Exception as error:
        internal_error("as_completed", error)


def before_as_completed(
    instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any], Any]:
    """Before asyncio's as_completed (behind ``call_between``): read the input, open a batch."""
    batch = None
    items: list[Any] | None = None
    try:
        if args and not called_by_asyncio(3):
            given = args[0]
            passed, items = materialize(given)
            if items is not None:
                args = (passed, *args[1:])
                batch = Batch("as_completed", capture(2), {"timeout": kwargs.get("timeout")})
                batch.input_ordered = not isinstance(given, (set, frozenset))
                if _observers.on_batch_started:
                    _observers.batch_started(batch)
    except Exception as error:
        internal_error("as_completed", error)
        batch = None
    return args, kwargs, (batch, items)


def after_as_completed(result: Any, token: tuple[Batch | None, list[Any] | None]) -> Any:
    """After asyncio's as_completed: follow the members' completions."""
    batch, items = token
    if batch is None or items is None:
        return result
    try:
        if _compat.AS_COMPLETED_IS_GENERATOR:
            watched: Any = step_through(result, functools.partial(_watch_generator, batch, items))
            watched.__name__, watched.__qualname__ = result.__name__, result.__qualname__
            return watched
        _watch_completions(batch, items, *_compat.as_completed_queue(result))
    except Exception as error:
        internal_error("as_completed", error)
    return result
