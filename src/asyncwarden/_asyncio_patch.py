"""The asyncio half of the patch layer: wait, gather, as_completed, wait_for, TaskGroup.

Each wrapper does its bookkeeping inside ``try/except`` that fails open, then makes the original
call with the user's own objects. Work is per call, not per task, wherever asyncio allows it.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from asyncwarden import _compat, _lineage, _observers, _provenance, _state
from asyncwarden._callsite import _is_internal, capture
from asyncwarden._failopen import internal_error
from asyncwarden._patching import patch
from asyncwarden._provenance import Batch, outcome_of

Future = asyncio.Future


def _called_by_asyncio() -> bool:
    # Frame 0 is this function, 1 the wrapper; 2 is whoever called the patched API.
    try:
        return _is_internal(sys._getframe(2).f_code.co_filename)
    except ValueError:
        return False


def _finish(batch: Batch, futures: Iterable[tuple[int, Future[Any]]]) -> None:
    """Record what became of the members and link the frames they returned."""
    batch.finished = time.time()
    outcomes = batch.outcomes
    link = _lineage.link_task_result
    for position, future in futures:
        if future.cancelled():
            outcomes[position] = (_provenance.CANCELLED, "")
            continue
        if not future.done():
            outcomes[position] = (_provenance.PENDING, "")
            continue
        error = getattr(future, "_exception", None)
        if error is not None:
            outcomes[position] = (_provenance.FAILED, type(error).__name__)
        else:
            link(getattr(future, "_result", None), batch, position)


# -- gather ---------------------------------------------------------------------------------


def _gather_done(batch: Batch, outer: Future[Any]) -> None:
    try:
        children = [ref() for ref in batch.members]
        _finish(batch, ((i, c) for i, c in enumerate(children) if c is not None))
        if _observers.on_batch_finished:
            _observers.batch_finished(batch)
    except Exception as error:
        internal_error("gather completion", error)


def _gather(
    wrapped: Callable[..., Any], instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    outer = wrapped(*args, **kwargs)
    try:
        children = getattr(outer, "_children", None)
        if children and not _called_by_asyncio():
            batch = Batch(
                "gather",
                capture(2),
                {"return_exceptions": bool(kwargs.get("return_exceptions", False))},
            )
            batch.size = len(children)
            _provenance.registry.register_all(batch, children)
            if _observers.on_batch_started:
                _observers.batch_started(batch)
            outer.add_done_callback(functools.partial(_gather_done, batch))
    except Exception as error:
        internal_error("gather", error)
    return outer


# -- wait -----------------------------------------------------------------------------------


class _Replay(Iterator[Any]):
    """Hands a consumed one-shot iterable back to asyncio, re-raising where it had failed."""

    def __init__(self, items: list[Any], error: BaseException | None) -> None:
        self._items = iter(items)
        self._error = error

    def __next__(self) -> Any:
        for item in self._items:
            return item
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        raise StopIteration


def _materialize(fs: Any) -> tuple[Any, list[Any] | None]:
    """Read the awaitables without consuming what the original call will read.

    Returns the object to pass on and the items in input order (None if they cannot be read).
    """
    if asyncio.isfuture(fs) or asyncio.iscoroutine(fs):
        return fs, None  # the original raises its own TypeError
    if isinstance(fs, (list, tuple, set, frozenset, dict)):
        return fs, list(fs)
    try:
        iterator = iter(fs)
    except TypeError:
        return fs, None
    if iterator is not fs:  # a re-iterable collection (dict view, deque, ...)
        return fs, list(fs)
    items: list[Any] = []
    error: BaseException | None = None
    try:
        items.extend(iterator)
    except BaseException as caught:  # replayed to asyncio exactly where it happened
        error = caught
    return (_Replay(items, error) if (error is not None or not items) else items), items


def _positions(items: list[Any]) -> dict[int, int]:
    """id(awaitable) -> first position in the input."""
    positions: dict[int, int] = {}
    for position, item in enumerate(items):
        positions.setdefault(id(item), position)
    return positions


def _position_of(positions: dict[int, int], future: Future[Any]) -> int | None:
    found = positions.get(id(future))
    if found is None:  # a task asyncio made from a coroutine we were given
        get_coro = getattr(future, "get_coro", None)
        if get_coro is not None:
            found = positions.get(id(get_coro()))
    return found


def _register_in_order(
    batch: Batch, items: list[Any], futures: Iterable[Future[Any]]
) -> dict[int, int]:
    """Register ``futures`` at their input positions; returns id(future) -> position."""
    positions = _positions(items)
    ordered: list[Future[Any] | None] = [None] * len(items)
    for future in futures:
        position = _position_of(positions, future)
        if position is not None and ordered[position] is None:
            ordered[position] = future
    _provenance.registry.register(batch, ordered)
    return {id(f): i for i, f in enumerate(ordered) if f is not None}


def _adversarial(done: set[Future[Any]], position: dict[int, int]) -> set[Future[Any]]:
    """A set with the same members whose iteration order is not the submission order.

    Set order is undefined, so any order is legal; strict mode picks one that a program relying
    on submission order cannot survive, so the hazard shows on every run, not one in six.
    """
    if not 2 <= len(done) <= 1024:
        return done

    def ascending(candidate: set[Future[Any]]) -> bool:
        order = [position.get(id(f), -1) for f in candidate]
        return order == sorted(order)

    if not ascending(done):
        return done
    members = sorted(done, key=lambda f: position.get(id(f), -1))
    for size in (8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192):
        for sequence in (members[::-1], members):
            # Growing the table with padding and removing it again changes which slot each
            # member hashes to, and so the iteration order, without touching the members.
            grown: set[object] = set(sequence)
            padding = [object() for _ in range(max(0, size * 3 // 5 - len(sequence)))]
            grown.update(padding)
            grown.difference_update(padding)
            candidate: set[Future[Any]] = grown  # type: ignore[assignment]
            if not ascending(candidate):
                return candidate
    return done


async def _wait(
    wrapped: Callable[..., Any], instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    batch = None
    items: list[Any] | None = None
    try:
        if args and not _called_by_asyncio():
            passed, items = _materialize(args[0])
            if items is not None:
                args = (passed, *args[1:])
                batch = Batch(
                    "wait",
                    capture(2),
                    {
                        "return_when": kwargs.get("return_when", asyncio.ALL_COMPLETED),
                        "timeout": kwargs.get("timeout"),
                    },
                )
                batch.size = len(items)
                batch.input_ordered = not isinstance(args[0], (set, frozenset))
                if not _compat.WAIT_ACCEPTS_COROUTINES or not any(map(asyncio.iscoroutine, items)):
                    _register_in_order(batch, items, (f for f in items if asyncio.isfuture(f)))
                if _observers.on_batch_started:
                    _observers.batch_started(batch)
    except Exception as error:
        internal_error("wait", error)
        batch = None
    done, pending = await wrapped(*args, **kwargs)
    if batch is None or items is None:
        return done, pending
    try:
        if not batch.members:  # 3.10 with coroutines: the tasks exist only now
            positions = _register_in_order(batch, items, [*done, *pending])
        else:
            positions = {
                id(f): i for i, f in enumerate(r() for r in batch.members) if f is not None
            }
        if _state.strict():
            done = _adversarial(done, positions)
        batch.done_order = [positions.get(id(f), -1) for f in done]
        batch.pending_positions = [positions.get(id(f), -1) for f in pending]
        _finish(batch, ((positions.get(id(f), -1), f) for f in done))
        batch.finished = time.time()
        if _observers.on_batch_finished:
            _observers.batch_finished(batch)
        if pending:
            _lifecycle_hook(batch, pending)
    except Exception as error:
        internal_error("wait result", error)
    return done, pending


def _lifecycle_hook(batch: Batch, pending: set[Future[Any]]) -> None:
    """Hand ``wait()``'s pending tasks to the lifecycle guard (AW302), when it is loaded."""
    hook = _pending_hooks[0] if _pending_hooks else None
    if hook is not None:
        hook(batch, pending)


_pending_hooks: list[Callable[[Batch, set[Future[Any]]], None]] = []


# -- as_completed ---------------------------------------------------------------------------


def _member_done(batch: Batch, position: int, future: Future[Any]) -> None:
    try:
        batch.completion_order.append(position)
        outcome, _ = outcome_of(future)
        if outcome == _provenance.OK:
            _lineage.link_task_result(getattr(future, "_result", None), batch, position)
        if len(batch.completion_order) == batch.size:
            batch.finished = time.time()
            if _observers.on_batch_finished:
                _observers.batch_finished(batch)
    except Exception as error:
        internal_error("as_completed completion", error)


def _track_members(batch: Batch, items: list[Any], futures: Iterable[Future[Any]]) -> None:
    positions = _register_in_order(batch, items, futures)
    for ref in batch.members:
        future = ref()
        if future is None:
            continue
        future.add_done_callback(functools.partial(_member_done, batch, positions[id(future)]))


def _as_completed_generator(gen: Iterator[Any], batch: Batch, items: list[Any]) -> Iterator[Any]:
    # The original generator creates its tasks on the first next(); find them right after.
    try:
        first = next(gen)
    except StopIteration:
        return
    try:
        made = {id(t.get_coro()): t for t in asyncio.all_tasks()}
        futures = [made.get(id(item), item) for item in items]
        _track_members(batch, items, (f for f in futures if asyncio.isfuture(f)))
    except Exception as error:
        internal_error("as_completed", error)
    yield first
    yield from gen


def _as_completed(
    wrapped: Callable[..., Any], instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    batch = None
    items: list[Any] | None = None
    try:
        if args and not _called_by_asyncio():
            passed, items = _materialize(args[0])
            if items is not None:
                args = (passed, *args[1:])
                batch = Batch("as_completed", capture(2), {"timeout": kwargs.get("timeout")})
                batch.size = len(set(map(id, items)))
                batch.input_ordered = not isinstance(args[0], (set, frozenset))
                if _observers.on_batch_started:
                    _observers.batch_started(batch)
    except Exception as error:
        internal_error("as_completed", error)
        batch = None
    result = wrapped(*args, **kwargs)
    if batch is None or items is None:
        return result
    try:
        if _compat.AS_COMPLETED_IS_GENERATOR:
            if all(map(asyncio.isfuture, items)):
                _track_members(batch, items, items)
            else:
                return _as_completed_generator(result, batch, items)
        else:
            todo = getattr(result, "_todo", ())
            by_coro = {id(t.get_coro()): t for t in todo if hasattr(t, "get_coro")}
            futures = [item if asyncio.isfuture(item) else by_coro.get(id(item)) for item in items]
            _track_members(batch, items, (f for f in futures if f is not None))
    except Exception as error:
        internal_error("as_completed", error)
    return result


# -- wait_for -------------------------------------------------------------------------------


async def _wait_for(
    wrapped: Callable[..., Any], instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    try:
        awaitable = args[0] if args else kwargs.get("fut")
        if asyncio.isfuture(awaitable) and not _called_by_asyncio():
            batch = Batch(
                "wait_for",
                capture(2),
                {"timeout": args[1] if len(args) > 1 else kwargs.get("timeout")},
            )
            batch.size = 1
            _provenance.registry.register_all(batch, (awaitable,))
    except Exception as error:
        internal_error("wait_for", error)
    return await wrapped(*args, **kwargs)


# -- TaskGroup ------------------------------------------------------------------------------

_groups: weakref.WeakKeyDictionary[Any, Batch] = weakref.WeakKeyDictionary()


def _create_task(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    task = wrapped(*args, **kwargs)
    try:
        batch = _groups.get(instance)
        if batch is None:
            batch = _groups[instance] = Batch("taskgroup", capture(2))
            if _observers.on_batch_started:
                _observers.batch_started(batch)
        batch.size += 1
        _provenance.registry.register_all(batch, (task,))
    except Exception as error:
        internal_error("TaskGroup.create_task", error)
    return task


async def _aexit(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    try:
        return await wrapped(*args, **kwargs)
    finally:
        try:
            batch = _groups.get(instance)
            if batch is not None:
                members = [(i, r()) for i, r in enumerate(batch.members)]
                _finish(batch, ((i, f) for i, f in members if f is not None))
                if _observers.on_batch_finished:
                    _observers.batch_finished(batch)
        except Exception as error:
            internal_error("TaskGroup exit", error)


def install() -> None:
    """Patch asyncio's entry points under every name users reach them by."""
    from asyncio import tasks

    patch((tasks, asyncio), "gather", _gather)
    patch((tasks, asyncio), "wait", _wait)
    patch((tasks, asyncio), "as_completed", _as_completed)
    patch((tasks, asyncio), "wait_for", _wait_for)
    task_group = getattr(asyncio, "TaskGroup", None)  # 3.11+
    if task_group is not None:
        patch((task_group,), "create_task", _create_task)
        patch((task_group,), "__aexit__", _aexit)
