"""The wrappers of gather, wait and wait_for: their members are known when the call is made."""

from __future__ import annotations

import asyncio
import functools
import time
import warnings
from collections.abc import Callable
from itertools import repeat
from typing import Any

from asyncwarden import _compat, _config, _observers
from asyncwarden._failopen import internal_error
from asyncwarden._patches import _rewait, _strict_order
from asyncwarden._patches._asyncio_common import (
    Future,
    Positions,
    all_futures,
    called_by_asyncio,
    finish,
    materialize,
    register_in_order,
    settle,
)
from asyncwarden._patches._replay import Replay
from asyncwarden._tracking import _frame_types, _outcomes, _provenance
from asyncwarden._tracking._callsite import capture
from asyncwarden._tracking._provenance import Batch


def _gather_done(batch: Batch, outer: Future[Any]) -> None:
    try:
        if _gather_succeeded(batch, outer):
            if _observers.on_batch_finished:
                _observers.batch_finished(batch)
            return
        children = [ref() for ref in batch.members]
        finish(batch, ((i, c) for i, c in enumerate(children) if c is not None))
        if _observers.on_batch_finished:
            _observers.batch_finished(batch)
    except Exception as error:
        internal_error("gather completion", error)


def _gather_succeeded(batch: Batch, outer: Future[Any]) -> bool:
    """Record a gather whose every child returned (the common case) from its result list alone.

    The result list is in member order; nothing is recorded per member but the frames it holds.
    False leaves the batch to the general path (a failure, a cancellation, an exception returned).
    """
    if outer.cancelled() or _outcomes.error_of(outer) is not None:
        return False
    results = _outcomes.value_of(outer)
    if type(results) is not list or len(results) != len(batch.members):
        return False
    kinds = set(map(type, results))
    if any(issubclass(kind, BaseException) for kind in kinds):
        return False
    batch.finished = time.time()
    frame_types = _frame_types.FRAME_TYPES
    if not frame_types.isdisjoint(kinds):
        _frame_types.link_task_results(
            batch, [(r, p) for p, r in enumerate(results) if type(r) in frame_types]
        )
    return True


def after_gather(outer: Any, kwargs: dict[str, Any]) -> Any:
    """After asyncio's gather (behind ``call_between``): its children are the batch."""
    try:
        children = getattr(outer, "_children", None)
        if children and not called_by_asyncio(3):
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


def _register(batch: Batch, ordered: list[Any], every_future: bool) -> Positions | None:
    """wait()'s members, in ``ordered``'s order; None on 3.10 when coroutines are among them.

    Those become tasks only inside wait(): they are registered when it returns.
    """
    if every_future:
        return register_in_order(batch, ordered, ordered)
    if not _compat.WAIT_ACCEPTS_COROUTINES or not any(map(asyncio.iscoroutine, ordered)):
        return register_in_order(batch, ordered, (f for f in ordered if asyncio.isfuture(f)))
    return None


async def wait_wrapper(
    wrapped: Callable[..., Any], instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    batch = None
    items: list[Any] | None = None
    positions: Positions | None = None
    every_future = False
    try:
        if args and not called_by_asyncio():
            given = args[0]
            passed, items = materialize(given, tested=True)
            args = (passed, *args[1:])
            if items is not None:
                batch = Batch(
                    "wait",
                    capture(2),
                    {
                        "return_when": kwargs.get("return_when", asyncio.ALL_COMPLETED),
                        "timeout": kwargs.get("timeout"),
                    },
                )
                batch.size = len(items)
                ordered = items
                if isinstance(given, (set, frozenset)):
                    ordered = _rewait.by_creation(items) or items
                    batch.input_ordered = ordered is not items
                every_future = all_futures(ordered)
                positions = _rewait.register_and_follow(
                    batch, ordered, functools.partial(_register, batch, ordered, every_future)
                )
                if _observers.on_batch_started:
                    _observers.batch_started(batch)
    except Exception as error:
        internal_error("wait", error)
        batch = None
    steps = None
    # 3.10: only a call with coroutines among its items reaches wait's warning. Telling that from
    # tasks costs a Python-level isinstance check per item (collections.abc.Coroutine), 7 % of a
    # 10,000-task wait: done only when an item is not a future.
    if _compat.WAIT_ACCEPTS_COROUTINES and items is not None and not every_future:
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
            positions = register_in_order(batch, items, [*done, *pending])
        strict = _config.CONFIG.strict()
        if strict:
            done = _strict_order.done_out_of_order(done, positions)
        if pending:
            batch.pending_positions = list(map(positions.table().get, pending, repeat(-1)))
        linked = settle(batch, done, positions)
        if linked and batch.origin is not None:
            _rewait.link_to_origin(batch, done, positions)
        # The order the done set iterates in matters to a frame from it (AW101) and to
        # telemetry; nothing else reads it, and it costs a table of every member to know.
        if linked or strict or _observers.on_batch_finished or batch.origin is not None:
            batch.done_order = list(map(positions.table().get, done, repeat(-1)))
        _rewait.remember_pending(batch, done, pending)
        batch.finished = time.time()
        if _observers.on_batch_finished:
            _observers.batch_finished(batch)
        if pending and _observers.on_wait_pending:
            _observers.wait_pending(batch, pending)
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
    caller's line, the same tasks made in the same order, then asyncio's own ``wait_wrapper``). None
    leaves the whole call to asyncio: an argument it rejects with its own error, no coroutine,
    or a ``wait`` that is not asyncio's own (another library's wrapper must still run).
    """
    if getattr(wrapped, "__globals__", None) is not vars(asyncio.tasks):
        return None
    if len(args) != 1 or not kwargs.keys() <= {"timeout", "return_when"}:
        return None
    fs = args[0]
    if isinstance(fs, Replay):
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


async def wait_for_wrapper(
    wrapped: Callable[..., Any], instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    try:
        awaitable = args[0] if args else kwargs.get("fut")
        if asyncio.isfuture(awaitable) and not called_by_asyncio():
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
