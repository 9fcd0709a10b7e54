"""What every asyncio wrapper shares: whose call it is, reading the input without consuming it,
registering members at their positions, and recording what became of them."""

from __future__ import annotations

import asyncio
import builtins
import sys
import time
import types
from collections.abc import Callable, Collection, Iterable, Iterator
from typing import Any, TypeVar

from asyncwarden import _compat
from asyncwarden._patches._replay import Replay
from asyncwarden._tracking import _frame_types, _outcomes, _provenance
from asyncwarden._tracking._callsite import is_internal
from asyncwarden._tracking._provenance import Batch, first_positions

Future = asyncio.Future


def _task_stepping_codes() -> frozenset[object]:
    """Code of asyncio's stack frames that start a task's coroutine: the user's call, not
    asyncio's."""
    from asyncio import events, tasks

    codes: set[object] = {events.Handle._run.__code__}
    python_task = getattr(tasks, "_PyTask", None)
    for name, value in vars(python_task or object).items():
        if "step" in name and hasattr(value, "__code__"):
            codes.add(value.__code__)
    return frozenset(codes)


_TASK_STEPPING = _task_stepping_codes()


def called_by_asyncio(depth: int = 2) -> bool:
    # Frame 0 is this function, 1 the wrapper; 2 is whoever called the patched API (3 when the
    # wrapper runs behind call_between). A coroutine that is the top of a task
    # (run_until_complete(asyncio.wait(...))) is first run by the loop: that is the user's call.
    try:
        code = sys._getframe(depth).f_code
    except ValueError:
        return False
    return code not in _TASK_STEPPING and is_internal(code.co_filename)


def call_between(
    before: Callable[..., tuple[tuple[Any, ...], dict[str, Any], Any]],
    after: Callable[[Any, Any], Any],
    wrapped: Callable[..., Any],
    instance: object,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """The wrapper wrapt calls for gather and as_completed: ``before``, asyncio's own, ``after``.

    Rebuilt below with globals named like a module of asyncio. From 3.12 asyncio attaches its
    "There is no current event loop" DeprecationWarning to the first stack frame outside asyncio
    (the event loop policy walks up ``f_globals["__name__"]``); the stack frame that calls
    asyncio's own function is then this one, and must count as asyncio's, or the warning would name
    asyncwarden's line and a warnings filter on the caller's module would miss it. It uses
    nothing but its arguments, so its globals can be a two-entry dict.
    """
    args, kwargs, token = before(instance, args, kwargs)
    return after(wrapped(*args, **kwargs), token)


def step_through(gen: Iterator[Any], watch: Callable[[Any], None]) -> Iterator[Any]:
    """3.10-3.12's as_completed generator, watched once its first step made its tasks and queue.

    Asyncio-named like ``call_between``: the original generator's first step looks for the
    event loop, and its caller is this stack frame.
    """
    try:
        first = next(gen)
    except StopIteration:
        return
    watch(gen)
    yield first
    yield from gen


_CallableT = TypeVar("_CallableT", bound=Callable[..., Any])


def _asyncio_named(function: _CallableT) -> _CallableT:
    namespace = {"__name__": "asyncio.asyncwarden", "__builtins__": builtins}
    code = function.__code__  # type: ignore[attr-defined]
    return types.FunctionType(code, namespace, code.co_name)  # type: ignore[return-value]


call_between = _asyncio_named(call_between)


step_through = _asyncio_named(step_through)


def named_like_original(wrapper: Callable[..., Any]) -> Callable[..., Any]:
    """For async wrappers: the coroutine handed back carries the name of asyncio's own.

    It is the name in "RuntimeWarning: coroutine 'wait' was never awaited" and in the repr of
    a task awaiting it; the wrapper's own name there would be asyncwarden showing through.
    """

    def call(
        wrapped: Callable[..., Any], instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        coroutine = wrapper(wrapped, instance, args, kwargs)
        coroutine.__name__ = wrapped.__name__
        coroutine.__qualname__ = wrapped.__qualname__
        return coroutine

    return call


def unchanged(
    instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any], Any]:
    return args, kwargs, kwargs


def finish(batch: Batch, futures: Iterable[tuple[int, Future[Any]]]) -> bool:
    """Record what became of the members and link the frames they returned (True if any)."""
    batch.finished = time.time()
    linked = False
    for position, future in futures:
        linked |= record(batch, position, future)
    return linked


def record(batch: Batch, position: int, future: Future[Any]) -> bool:
    """Record what became of one member; True if it returned a frame (now linked)."""
    word, kind = _outcomes.outcome_of(future)
    if word != _outcomes.OK:
        batch.outcomes[position] = (word, kind if word == _outcomes.FAILED else "")
        return False
    result = _outcomes.value_of(future)
    if type(result) in _frame_types.FRAME_TYPES:
        link_frame(result, batch, position)
        return True
    return False


def settle(
    batch: Batch,
    futures: Collection[Future[Any]],
    position_of: Callable[[Future[Any]], int],
    may_have_failed: bool = True,
) -> bool:
    """``finish`` for ``futures``, without a Python loop when all of them succeeded.

    ``may_have_failed=False`` skips the pass over the exceptions: a TaskGroup that exited
    normally has no member that raised (any error would have made it raise).
    """
    if not _outcomes.all_returned(futures, may_have_failed):
        return finish(batch, ((position_of(f), f) for f in futures))
    batch.finished = time.time()
    frame_types = _frame_types.FRAME_TYPES
    if frame_types and not frame_types.isdisjoint(map(type, map(_outcomes.result_of, futures))):
        result_of = _outcomes.result_of
        _frame_types.link_task_results(
            batch,
            [(r, position_of(f)) for f in futures if type(r := result_of(f)) in frame_types],
        )
        return True
    return False


# Containers whose iteration runs no code of the program's: read as they are, passed on as they
# are. Subclasses are not among them: their __iter__ may be the program's own.
_PLAIN_CONTAINERS = frozenset({list, tuple, set, frozenset, dict})


def materialize(fs: Any, tested: bool = False) -> tuple[Any, list[Any] | None]:
    """Read the awaitables once; return what to hand asyncio and the items in input order.

    The items are None if they cannot be read (asyncio then raises its own error). Anything but
    a plain container is read here, exactly once: a collection whose ``__iter__`` starts jobs
    would otherwise start them twice, once for the guard and once for asyncio. asyncio gets what
    was read: the list of items, or a replay that ends as reading did (an error; or nothing, from
    an object that is not empty by ``bool()``, such as a generator).

    ``tested``: the call tests its argument (``if not fs``) before reading it, as ``wait()`` does.
    An empty one is then not read at all, and asyncio gets an empty list to say so.
    """
    if type(fs) in _PLAIN_CONTAINERS:
        return fs, list(fs)
    if asyncio.isfuture(fs) or asyncio.iscoroutine(fs):
        return fs, None  # the original raises its own TypeError
    if tested:
        try:
            empty = not fs
        except Exception:
            return fs, None  # the original's own test raises it
        if empty:
            return [], None
    try:
        iterator = iter(fs)
    except TypeError:
        return fs, None
    items: list[Any] = []
    error: BaseException | None = None
    try:
        items.extend(iterator)
    except BaseException as caught:  # replayed to asyncio exactly where it happened
        error = caught
    if error is None and (items or not tested):
        return items, items
    return Replay(items, error), items


_OBJECT_HASH: Any = object.__hash__


_OBJECT_EQ: Any = object.__eq__


def identity_hashed(kind: type) -> bool:
    # Positions are looked up by the future itself (an id() would allocate an int per member).
    return kind.__hash__ is _OBJECT_HASH and kind.__eq__ is _OBJECT_EQ


def all_futures(items: list[Any]) -> bool:
    """Whether every item is an asyncio future or task (one check per type, not per item)."""
    return all(
        issubclass(kind, asyncio.Future) and identity_hashed(kind) for kind in set(map(type, items))
    )


def _position_of(positions: dict[int, int], future: Future[Any]) -> int | None:
    found = positions.get(id(future))
    if found is None:  # a task asyncio made from a coroutine we were given
        coro = _compat.coroutine_of(future)
        if coro is not None:
            found = positions.get(id(coro))
    return found


class Positions:
    """future -> first input position, for the futures of one wait() or as_completed() call.

    When every input is a future (``all_futures``) the table is built on first use: a wait()
    whose members all returned something other than a frame never needs it (a 10,000-entry dict
    costs 1.4 % of such a wait, docs/performance.md).
    """

    __slots__ = ("_items", "_table")

    def __init__(self, items: list[Any], table: dict[Any, int] | None) -> None:
        self._items = items
        self._table = table

    def table(self) -> dict[Any, int]:
        if self._table is None:
            self._table = first_positions(self._items)
        return self._table

    def __call__(self, future: Future[Any]) -> int:
        return self.table().get(future, -1)


def register_in_order(batch: Batch, items: list[Any], futures: Iterable[Future[Any]]) -> Positions:
    """Register ``futures`` at their input positions.

    ``futures is items`` says every input is a future (``all_futures``): then they are the
    members, in order, and the work is done in C.
    """
    if futures is items:
        _provenance.registry.register_all(batch, items)
        return Positions(items, None)
    positions = first_positions(items, id)  # id(awaitable): coroutines may be unhashable
    ordered: list[Future[Any] | None] = [None] * len(items)
    for future in futures:
        position = _position_of(positions, future)
        # A future type that redefines equality is not followed: see identity_hashed.
        if position is not None and ordered[position] is None and identity_hashed(type(future)):
            ordered[position] = future
    _provenance.registry.register(batch, ordered)
    return Positions(items, {f: i for i, f in enumerate(ordered) if f is not None})


def link_frame(result: object, batch: Batch, position: int) -> None:
    """Link a task's result, a frame, to its batch and position."""
    _frame_types.link_task_results(batch, ((result, position),))
