"""The asyncio half of the patch layer: wait, gather, as_completed, wait_for, TaskGroup.

Each wrapper does its bookkeeping inside ``try/except`` that fails open, then makes the original
call with the user's own objects. Work is per call, not per task, wherever asyncio allows it.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import itertools
import operator
import sys
import time
import types
import warnings
import weakref
from collections.abc import Callable, Collection, Iterable, Iterator
from itertools import repeat
from typing import Any, TypeVar

from asyncwarden import _compat, _observers, _state
from asyncwarden._failopen import internal_error
from asyncwarden._patches._wrapping import patch, patch_method
from asyncwarden._tracking import _frame_types, _provenance
from asyncwarden._tracking._callsite import _is_internal, capture
from asyncwarden._tracking._provenance import Batch

Future = asyncio.Future


def _task_stepping_codes() -> frozenset[object]:
    """Code of asyncio's frames that start a task's coroutine: the user's call, not asyncio's."""
    from asyncio import events, tasks

    codes: set[object] = {events.Handle._run.__code__}
    python_task = getattr(tasks, "_PyTask", None)
    for name, value in vars(python_task or object).items():
        if "step" in name and hasattr(value, "__code__"):
            codes.add(value.__code__)
    return frozenset(codes)


_TASK_STEPPING = _task_stepping_codes()


def _called_by_asyncio(depth: int = 2) -> bool:
    # Frame 0 is this function, 1 the wrapper; 2 is whoever called the patched API (3 when the
    # wrapper runs behind _call_between). A coroutine that is the top of a task
    # (run_until_complete(asyncio.wait(...))) is first run by the loop: that is the user's call.
    try:
        code = sys._getframe(depth).f_code
    except ValueError:
        return False
    return code not in _TASK_STEPPING and _is_internal(code.co_filename)


# -- frames asyncio looks past --------------------------------------------------------------


def _call_between(
    before: Callable[..., tuple[tuple[Any, ...], dict[str, Any], Any]],
    after: Callable[[Any, Any], Any],
    wrapped: Callable[..., Any],
    instance: object,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """The wrapper wrapt calls for gather and as_completed: ``before``, asyncio's own, ``after``.

    Rebuilt below with globals named like a module of asyncio. From 3.12 asyncio attaches its
    "There is no current event loop" DeprecationWarning to the first frame outside asyncio (the
    event loop policy walks up ``f_globals["__name__"]``); the frame that calls asyncio's own
    function is then this one, and must count as asyncio's, or the warning would name
    asyncwarden's line and a warnings filter on the caller's module would miss it. It uses
    nothing but its arguments, so its globals can be a two-entry dict.
    """
    args, kwargs, token = before(instance, args, kwargs)
    return after(wrapped(*args, **kwargs), token)


def _step_through(gen: Iterator[Any], watch: Callable[[Any], None]) -> Iterator[Any]:
    """3.10-3.12's as_completed generator, watched once its first step made its tasks and queue.

    Asyncio-named like ``_call_between``: the original generator's first step looks for the
    event loop, and its caller is this frame.
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


_call_between = _asyncio_named(_call_between)
_step_through = _asyncio_named(_step_through)


def _named_like_original(wrapper: Callable[..., Any]) -> Callable[..., Any]:
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


def _unchanged(
    instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any], Any]:
    return args, kwargs, kwargs


def _finish(batch: Batch, futures: Iterable[tuple[int, Future[Any]]]) -> bool:
    """Record what became of the members and link the frames they returned (True if any)."""
    batch.finished = time.time()
    linked = False
    for position, future in futures:
        linked |= _record(batch, position, future)
    return linked


def _record(batch: Batch, position: int, future: Future[Any]) -> bool:
    """Record what became of one member; True if it returned a frame (now linked)."""
    if future.cancelled():
        batch.outcomes[position] = (_provenance.CANCELLED, "")
    elif not future.done():
        batch.outcomes[position] = (_provenance.PENDING, "")
    elif (error := getattr(future, "_exception", None)) is not None:
        batch.outcomes[position] = (_provenance.FAILED, type(error).__name__)
    else:
        result = getattr(future, "_result", None)
        if type(result) in _frame_types.FRAME_TYPES:
            _frame_types.link_task_result(result, batch, position)
            return True
    return False


# Per-member work at the end of a batch is done in C (map over attribute getters) whenever every
# member succeeded: a Python loop over 10,000 members costs 3-5 % of the batch on its own.
_state_of = operator.attrgetter("_state")
_exception_of = operator.attrgetter("_exception")
_result_of = operator.attrgetter("_result")
_FINISHED = frozenset({"FINISHED"})


def _settle(
    batch: Batch,
    futures: Collection[Future[Any]],
    position_of: Callable[[Future[Any]], int],
    may_have_failed: bool = True,
) -> bool:
    """``_finish`` for ``futures``, without a Python loop when all of them succeeded.

    ``may_have_failed=False`` skips the pass over the exceptions: a TaskGroup that exited
    normally has no member that raised (any error would have made it raise).
    """
    try:
        succeeded = set(map(_state_of, futures)) <= _FINISHED and not (
            may_have_failed and any(map(_exception_of, futures))
        )
    except AttributeError:  # a future type without asyncio's private fields: the general path
        succeeded = False
    if not succeeded:
        return _finish(batch, ((position_of(f), f) for f in futures))
    batch.finished = time.time()
    if _frame_types.FRAME_TYPES and not _frame_types.FRAME_TYPES.isdisjoint(
        map(type, map(_result_of, futures))
    ):
        for future in futures:
            _frame_types.link_task_result(_result_of(future), batch, position_of(future))
        return True
    return False


# -- gather ---------------------------------------------------------------------------------


def _gather_done(batch: Batch, outer: Future[Any]) -> None:
    try:
        if _gather_succeeded(batch, outer):
            if _observers.on_batch_finished:
                _observers.batch_finished(batch)
            return
        children = [ref() for ref in batch.members]
        _finish(batch, ((i, c) for i, c in enumerate(children) if c is not None))
        if _observers.on_batch_finished:
            _observers.batch_finished(batch)
    except Exception as error:
        internal_error("gather completion", error)


def _gather_succeeded(batch: Batch, outer: Future[Any]) -> bool:
    """Record a gather whose every child returned (the common case) from its result list alone.

    The result list is in member order; nothing is recorded per member but the frames it holds.
    False leaves the batch to the general path (a failure, a cancellation, an exception returned).
    """
    if outer.cancelled() or getattr(outer, "_exception", None) is not None:
        return False
    results = getattr(outer, "_result", None)
    if type(results) is not list or len(results) != len(batch.members):
        return False
    kinds = set(map(type, results))
    if any(issubclass(kind, BaseException) for kind in kinds):
        return False
    batch.finished = time.time()
    if not _frame_types.FRAME_TYPES.isdisjoint(kinds):
        for position, result in enumerate(results):
            _frame_types.link_task_result(result, batch, position)
    return True


def _gather(outer: Any, kwargs: dict[str, Any]) -> Any:
    """After asyncio's gather (behind ``_call_between``): its children are the batch."""
    try:
        children = getattr(outer, "_children", None)
        if children and not _called_by_asyncio(3):
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
        self.failed = error is not None

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
    # Built backwards, so an awaitable listed twice keeps its first position; all in C.
    last = len(items) - 1
    return dict(zip(map(id, reversed(items)), range(last, -1, -1), strict=True))


_OBJECT_HASH: Any = object.__hash__
_OBJECT_EQ: Any = object.__eq__


def _identity_hashed(kind: type) -> bool:
    # Positions are looked up by the future itself (an id() would allocate an int per member).
    return kind.__hash__ is _OBJECT_HASH and kind.__eq__ is _OBJECT_EQ


def _all_futures(items: list[Any]) -> bool:
    """Whether every item is an asyncio future or task (one check per type, not per item)."""
    return all(
        issubclass(kind, asyncio.Future) and _identity_hashed(kind)
        for kind in set(map(type, items))
    )


def _position_of(positions: dict[int, int], future: Future[Any]) -> int | None:
    found = positions.get(id(future))
    if found is None:  # a task asyncio made from a coroutine we were given
        get_coro = getattr(future, "get_coro", None)
        if get_coro is not None:
            found = positions.get(id(get_coro()))
    return found


class _Positions:
    """future -> first input position, for the futures of one wait() or as_completed() call.

    When every input is a future (``_all_futures``) the table is built on first use: a wait()
    whose members all returned something other than a frame never needs it (a 10,000-entry dict
    costs 1.4 % of such a wait, docs/performance.md).
    """

    __slots__ = ("_items", "_table")

    def __init__(self, items: list[Any], table: dict[Any, int] | None) -> None:
        self._items = items
        self._table = table

    def table(self) -> dict[Any, int]:
        if self._table is None:
            # Built backwards, so a future listed twice keeps its first position; all in C.
            last = len(self._items) - 1
            self._table = dict(zip(reversed(self._items), range(last, -1, -1), strict=True))
        return self._table

    def __call__(self, future: Future[Any]) -> int:
        return self.table().get(future, -1)


def _register_in_order(
    batch: Batch, items: list[Any], futures: Iterable[Future[Any]]
) -> _Positions:
    """Register ``futures`` at their input positions.

    ``futures is items`` says every input is a future (``_all_futures``): then they are the
    members, in order, and the work is done in C.
    """
    if futures is items:
        _provenance.registry.register_all(batch, items)
        return _Positions(items, None)
    positions = _positions(items)
    ordered: list[Future[Any] | None] = [None] * len(items)
    for future in futures:
        position = _position_of(positions, future)
        # A future type that redefines equality is not followed: see _identity_hashed.
        if position is not None and ordered[position] is None and _identity_hashed(type(future)):
            ordered[position] = future
    _provenance.registry.register(batch, ordered)
    return _Positions(items, {f: i for i, f in enumerate(ordered) if f is not None})


def _adversarial(done: set[Future[Any]], positions: _Positions) -> set[Future[Any]]:
    """A set with the same members whose iteration order is not the submission order.

    Set order is undefined, so any order is legal; strict mode picks one that a program relying
    on submission order cannot survive, so the hazard shows on every run, not one in six.
    """
    if not 2 <= len(done) <= 1024:
        return done
    position = positions.table()

    def ascending(candidate: set[Future[Any]]) -> bool:
        order = [position.get(f, -1) for f in candidate]
        return order == sorted(order)

    if not ascending(done):
        return done
    members = sorted(done, key=lambda f: position.get(f, -1))
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
    positions: _Positions | None = None
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
                if _all_futures(items):
                    positions = _register_in_order(batch, items, items)
                elif not _compat.WAIT_ACCEPTS_COROUTINES or not any(
                    map(asyncio.iscoroutine, items)
                ):
                    positions = _register_in_order(
                        batch, items, (f for f in items if asyncio.isfuture(f))
                    )
                if _observers.on_batch_started:
                    _observers.batch_started(batch)
    except Exception as error:
        internal_error("wait", error)
        batch = None
    steps = None
    if _compat.WAIT_ACCEPTS_COROUTINES and items is not None:
        try:
            steps = _wait_own_steps(wrapped, args, kwargs, items)
        except Exception as error:
            internal_error("wait", error)
    if steps is None:
        done, pending = await wrapped(*args, **kwargs)
    else:
        # 3.10's wait, from its warning on, at this frame: the warning names the caller's line.
        fs, loop = steps
        warnings.warn(_WAIT_COROUTINES_DEPRECATED, DeprecationWarning, stacklevel=2)
        asyncio_tasks = vars(asyncio.tasks)
        fs = {asyncio_tasks["ensure_future"](f, loop=loop) for f in fs}
        timeout = kwargs.get("timeout")
        return_when = kwargs.get("return_when", asyncio.ALL_COMPLETED)
        done, pending = await asyncio_tasks["_wait"](fs, timeout, return_when, loop)
    if batch is None or items is None:
        return done, pending
    try:
        if positions is None:  # 3.10 with coroutines: the tasks exist only now
            positions = _register_in_order(batch, items, [*done, *pending])
        strict = _state.strict()
        if strict:
            done = _adversarial(done, positions)
        if pending:
            batch.pending_positions = list(map(positions.table().get, pending, repeat(-1)))
        linked = _settle(batch, done, positions)
        # The order the done set iterates in matters to a frame from it (AW101) and to
        # telemetry; nothing else reads it, and it costs a table of every member to know.
        if linked or strict or _observers.on_batch_finished:
            batch.done_order = list(map(positions.table().get, done, repeat(-1)))
        batch.finished = time.time()
        if _observers.on_batch_finished:
            _observers.batch_finished(batch)
        if pending:
            _lifecycle_hook(batch, pending)
    except Exception as error:
        internal_error("wait result", error)
    return done, pending


# 3.10's asyncio.wait() warns, word for word, when it is handed coroutines.
_WAIT_COROUTINES_DEPRECATED = (
    "The explicit passing of coroutine objects to asyncio.wait() is deprecated since Python 3.8, "
    "and scheduled for removal in Python 3.11."
)
_RETURN_WHEN = (asyncio.FIRST_COMPLETED, asyncio.FIRST_EXCEPTION, asyncio.ALL_COMPLETED)


def _wait_own_steps(
    wrapped: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], items: list[Any]
) -> tuple[set[Any], asyncio.AbstractEventLoop] | None:
    """3.10: whether this call reaches wait's coroutine warning; then wait's set and loop.

    3.10's wait warns with ``stacklevel=2``: called from this wrapper, the warning would name the
    wrapper's line, and a filter on the caller's module would miss it. When the call gets that
    far, the wrapper takes wait's remaining steps itself (the same set, the warning at the
    caller's line, the same tasks made in the same order, then asyncio's own ``_wait``). None
    leaves the whole call to asyncio: an argument it rejects with its own error, no coroutine,
    or a ``wait`` that is not asyncio's own (another library's wrapper must still run).
    """
    if getattr(wrapped, "__globals__", None) is not vars(asyncio.tasks):
        return None
    if len(args) != 1 or not kwargs.keys() <= {"timeout", "return_when"}:
        return None
    fs = args[0]
    if isinstance(fs, _Replay):
        if fs.failed:
            return None
        fs = items  # the same items in the same order, and the replay stays unread
    if asyncio.isfuture(fs) or asyncio.iscoroutine(fs):
        return None
    if kwargs.get("return_when", asyncio.ALL_COMPLETED) not in _RETURN_WHEN:
        return None
    loop = asyncio.events._get_running_loop()
    if loop is None:
        return None
    fs = set(fs)
    if not any(map(asyncio.iscoroutine, fs)):
        return None
    return fs, loop


def _lifecycle_hook(batch: Batch, pending: set[Future[Any]]) -> None:
    """Hand ``wait()``'s pending tasks to the lifecycle guard (AW302), when it is loaded."""
    hook = _pending_hooks[0] if _pending_hooks else None
    if hook is not None:
        hook(batch, pending)


_pending_hooks: list[Callable[[Batch, set[Future[Any]]], None]] = []


# -- as_completed ---------------------------------------------------------------------------


def _completion_recorder(
    batch: Batch, positions: _Positions, put: Callable[[Any], None]
) -> Callable[[Any], None]:
    """Stands in for as_completed's own queue's ``put_nowait``: one member finished.

    as_completed already gives every member a done-callback that puts it on a private queue, in
    completion order. Recording there costs one Python call per member; a done-callback of our
    own would cost a second round through the event loop per member (+40 % on 10,000 tasks,
    docs/performance.md). The queue is asyncio's, never the program's.

    A member that returned something other than a frame costs three reads of asyncio's own
    fields and a count. Only members that failed, were cancelled or returned a frame are
    recorded, in completion order: the order of frames is what AW101 cites. Telemetry, which
    reports the completion order of every member, gets every member recorded.
    """
    completed = batch.completed.append
    count = itertools.count(1).__next__
    size = batch.size
    frame_types = _frame_types.FRAME_TYPES  # one set, filled in place when pandas is patched
    every_member = bool(_observers.on_batch_finished)

    def put_nowait(future: Any) -> None:
        if future is not None:  # None is the timeout's sentinel
            try:
                try:
                    plain = (
                        future._exception is None
                        and future._state == "FINISHED"
                        and type(future._result) not in frame_types
                    )
                except AttributeError:  # a future type without asyncio's private fields
                    plain = False
                if every_member or not plain:
                    completed(_new_ref(future))
                    if not plain:
                        _record(batch, positions(future), future)
                if count() == size:
                    batch.finished = time.time()
                    if _observers.on_batch_finished:
                        _observers.batch_finished(batch)
            except Exception as error:
                internal_error("as_completed completion", error)
        put(future)

    return put_nowait


def _watch_completions(batch: Batch, items: list[Any], queue: Any, todo: Iterable[Any]) -> None:
    """Register the members and follow as_completed's own completion queue."""
    if _all_futures(items):
        futures: Iterable[Any] = items
    else:
        made = {id(t.get_coro()): t for t in todo if hasattr(t, "get_coro")}
        futures = [item if asyncio.isfuture(item) else made.get(id(item)) for item in items]
        futures = (f for f in futures if f is not None)
    positions = _register_in_order(batch, items, futures)
    queue.put_nowait = _completion_recorder(batch, positions, queue.put_nowait)


def _watch_generator(batch: Batch, items: list[Any], gen: Any) -> None:
    # The original generator makes its queue and its tasks on the first next(); hook them then,
    # before the event loop can run a single completion callback.
    try:
        variables = gen.gi_frame.f_locals
        _watch_completions(batch, items, variables["done"], variables["todo"])
    except Exception as error:
        internal_error("as_completed", error)


def _as_completed_before(
    instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any], Any]:
    """Before asyncio's as_completed (behind ``_call_between``): read the input, open a batch."""
    batch = None
    items: list[Any] | None = None
    try:
        if args and not _called_by_asyncio(3):
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
    return args, kwargs, (batch, items)


def _as_completed(result: Any, token: tuple[Batch | None, list[Any] | None]) -> Any:
    """After asyncio's as_completed: follow the members' completions."""
    batch, items = token
    if batch is None or items is None:
        return result
    try:
        if _compat.AS_COMPLETED_IS_GENERATOR:
            watched: Any = _step_through(result, functools.partial(_watch_generator, batch, items))
            watched.__name__, watched.__qualname__ = result.__name__, result.__qualname__
            return watched
        _watch_completions(batch, items, result._done, result._todo)
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
_new_ref = weakref.ref


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


def _make_create_task(original: Callable[..., Any]) -> Callable[..., Any]:
    """``TaskGroup.create_task`` with the task registered as a member of the group's batch.

    A plain function, not a wrapt wrapper: it runs once per task, and a wrapt wrapper's call
    alone costs 1.2-2 us on CPython 3.11 (+12-20 % on 10,000 tasks, docs/performance.md). Where
    the signature is the known ``(self, coro, *, name=None, context=None)`` it is spelled out:
    packing ``*args, **kwargs`` costs another 0.4 us per task. Per task the bookkeeping is one
    weak reference appended to the batch's members, all in C calls.
    """
    if _compat.signature_is(original, "(self, coro, *, name=None, context=None)"):

        def create_task(self: Any, coro: Any, *, name: Any = None, context: Any = None) -> Any:
            # Keywords only when given: passing them costs the call about 0.05 us per task.
            if name is None and context is None:
                task = original(self, coro)
            else:
                task = original(self, coro, name=name, context=context)
            try:
                group, _, append = _last_group
                if group() is not self:
                    group, _, append = _group_batch(self)
                append(_new_ref(task))
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
            append(_new_ref(task))
        except Exception as error:
            internal_error("TaskGroup.create_task", error)
        return task

    return create_task_any


async def _aexit(
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
                _settle(batch, members, _IndexOf(batch), not exited_normally)
                if _observers.on_batch_finished:
                    _observers.batch_finished(batch)
        except Exception as error:
            internal_error("TaskGroup exit", error)


def _alive(refs: list[weakref.ref[Any]]) -> list[Any]:
    """The referents still alive. A comprehension: ``map(methodcaller("__call__"), ...)`` looks
    the method up per reference and took three times as long (1 ms for 10,000)."""
    return [member for ref in refs if (member := ref()) is not None]


class _IndexOf:
    """Position of a member, found only when asked (when a member failed or returned a frame)."""

    def __init__(self, batch: Batch) -> None:
        self._batch = batch
        self._positions: dict[int, int] | None = None

    def __call__(self, future: Any) -> int:
        if self._positions is None:
            self._positions = self._batch.first_positions()
        return self._positions.get(id(_new_ref(future)), -1)


def install() -> None:
    """Patch asyncio's entry points under every name users reach them by."""
    from asyncio import tasks

    patch((tasks, asyncio), "gather", functools.partial(_call_between, _unchanged, _gather))
    patch((tasks, asyncio), "wait", _named_like_original(_wait))
    as_completed = functools.partial(_call_between, _as_completed_before, _as_completed)
    patch((tasks, asyncio), "as_completed", as_completed)
    patch((tasks, asyncio), "wait_for", _named_like_original(_wait_for))
    task_group = getattr(asyncio, "TaskGroup", None)  # 3.11+
    if task_group is not None:
        patch_method(task_group, "create_task", _make_create_task)
        patch((task_group,), "__aexit__", _aexit)
