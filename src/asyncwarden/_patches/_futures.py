"""The concurrent.futures half of the patch layer: ``wait``, ``as_completed``, executor shutdown.

The same batches as asyncio's: a ``wait()`` or ``as_completed()`` call is a batch whose members
are the futures in the order they were passed, recorded after the original call returned, so a
call the original rejects is never touched. ``Executor.map`` and ``submit`` are not patched:
results read back in input order carry no hazard, and a per-future wrapper would cost every
program its budget.
"""

from __future__ import annotations

import concurrent.futures
import functools
import sys
import time
from collections.abc import Callable, Generator
from concurrent.futures import Future
from typing import Any

from asyncwarden import _config, _observers
from asyncwarden._failopen import internal_error
from asyncwarden._patches import _asyncio_common as shared
from asyncwarden._patches import _rewait, _strict_order
from asyncwarden._patches._asyncio_completed import completion_recorder
from asyncwarden._patches._asyncio_taskgroup import IndexOf
from asyncwarden._patches._wrapping import patch
from asyncwarden._rules import _executor_shutdown
from asyncwarden._tracking import _frame_types, _outcomes, _provenance
from asyncwarden._tracking._callsite import add_internal_package, capture, is_internal
from asyncwarden._tracking._provenance import Batch

LIBRARY = "concurrent.futures"


def _called_by_library(depth: int = 3) -> bool:
    # Frame 0 is this function, 1 the helper, 2 the wrapper; 3 called the patched function.
    try:
        return is_internal(sys._getframe(depth).f_code.co_filename)
    except ValueError:
        return False


def hide_own_frame(error: BaseException) -> None:
    """Drop the calling wrapper's own entry from ``error``'s traceback; re-raise with a bare
    ``raise`` after it, which adds no entry (3.11+; 3.10 re-raises what it caught).

    A wrapper's frame would otherwise be one more line in the program's traceback: dask's
    ``shorten_traceback`` keeps tracebacks short on purpose, and its own tests count the frames.
    """
    caller = sys._getframe(1)
    traceback = error.__traceback__
    if traceback is not None and traceback.tb_frame is caller:
        error.__traceback__ = traceback.tb_next


def _all_futures(items: list[Any]) -> bool:
    """Every item a ``concurrent.futures.Future`` hashed by identity (one check per type)."""
    return bool(items) and all(
        issubclass(kind, Future) and shared.identity_hashed(kind) for kind in set(map(type, items))
    )


Opened = tuple[Batch, list[Any]]


def open_batch(
    kind: str,
    args: tuple[Any, ...],
    options: dict[str, Any],
    library: str = LIBRARY,
    check_caller: bool = True,
) -> tuple[tuple[Any, ...], Opened | None]:
    """Read the input without consuming it; the batch's members are registered once the
    original call returned, so a call it rejects is never recorded."""
    if not args or (check_caller and _called_by_library()):
        return args, None
    passed, items = shared.materialize(args[0])
    if items is None:
        return args, None
    batch = Batch(kind, capture(3), options)
    batch.library = library
    batch.input_ordered = not isinstance(args[0], (set, frozenset))
    return (passed, *args[1:]), (batch, items)


def _register(batch: Batch, items: list[Any]) -> None:
    _provenance.registry.register_all(batch, items)
    if _executor_shutdown.following():
        _executor_shutdown.forget(items)  # the program takes them up again
    if _observers.on_batch_started:
        _observers.batch_started(batch)


# -- wait -------------------------------------------------------------------------------------


def blocking_wait(
    library: str,
    options: Callable[[tuple[Any, ...], dict[str, Any]], dict[str, Any]],
    waited: Callable[[Batch, list[Any], Any], Any],
) -> Callable[..., Any]:
    """The wrapper of a blocking ``wait()`` (concurrent.futures', dask's): read the input, make
    the call, then ``waited(batch, items, result)`` records the batch and returns the result.

    The wrapper itself is the one stack frame between the program and the original: the depths
    ``open_batch`` and ``hide_own_frame`` count on.
    """

    def wait(
        wrapped: Callable[..., Any], instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        opened: Opened | None = None
        try:
            args, opened = open_batch("wait", args, options(args, kwargs), library)
        except Exception as error:
            internal_error(f"{library}.wait", error)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as error:
            hide_own_frame(error)
            raise
        if opened is None:
            return result
        try:
            return waited(*opened, result)
        except Exception as error:
            internal_error(f"{library}.wait result", error)
            return result

    return wait


def _wait_options(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    return {
        "return_when": kwargs.get("return_when", concurrent.futures.ALL_COMPLETED),
        "timeout": kwargs.get("timeout", args[1] if len(args) > 1 else None),
    }


def _no_frame_returned(items: list[Any]) -> bool:
    """Whether no future returned a frame: then no rule can ever ask about this batch.

    A frame is what links a concat or merge to its batch (AW101, AW201). One pass in C over the
    input list, none before pandas is imported: each pass over 10,000 fresh futures costs about
    1.5 % of a thread pool's submit and wait, and the list, in the order the futures were made,
    reads them about 3x faster than a set's hash order (cache misses).
    """
    try:
        return not _frame_types.FRAME_TYPES or _frame_types.FRAME_TYPES.isdisjoint(
            map(type, map(_outcomes.result_of, items))
        )
    except AttributeError:  # futures of another kind: the general path
        return False


def _waited(batch: Batch, items: list[Any], result: Any) -> Any:
    """Record the batch ``wait()`` returned; in strict mode, hand back a shuffled ``done``.

    A batch none of whose members returned a frame, with nothing left pending, is not kept: no
    frame can name it, so no rule will ever read it, and a reference per member would cost a
    thread pool's wait() more than its budget (docs/performance.md). ``provenance()`` does not
    know such futures (README, Limits).
    """
    done, not_done = result
    returned = _provenance.registry.returned_pending
    if (
        not not_done
        and not returned
        and not _config.CONFIG.strict()
        and not _observers.on_batch_finished
        and _no_frame_returned(items)
    ):
        return result
    if not _all_futures(items):
        return result
    batch.size = len(items)
    # A wait() on futures an earlier wait() returned pending works on their first batch.
    _rewait.register_and_follow(
        batch, items, functools.partial(_register, batch, items), _is_future, in_groups=False
    )
    positions = shared.Positions(items, None)
    strict = _config.CONFIG.strict()
    if strict:
        shuffled = _strict_order.done_out_of_order(done, positions)
        if shuffled is not done:
            done = shuffled
            result = type(result)(done, not_done)
    if not_done:
        table = positions.table()
        batch.pending_positions = [table.get(f, -1) for f in not_done]
        _executor_shutdown.follow(batch, not_done, table)
    linked = shared.settle(batch, done, positions)
    if linked and batch.origin is not None:
        _rewait.link_to_origin(batch, done, positions)
    if linked or strict or _observers.on_batch_finished or batch.origin is not None:
        table = positions.table()
        batch.done_order = [table.get(f, -1) for f in done]
    _rewait.remember_pending(batch, done, not_done)
    batch.finished = time.time()
    if _observers.on_batch_finished:
        _observers.batch_finished(batch)
    return result


def _is_future(item: Any) -> bool:
    return isinstance(item, Future)


# -- as_completed -----------------------------------------------------------------------------


def _as_completed(
    wrapped: Callable[..., Any], instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    opened: Opened | None = None
    try:
        args, opened = open_batch(
            "as_completed",
            args,
            {"timeout": kwargs.get("timeout", args[1] if len(args) > 1 else None)},
        )
    except Exception as error:
        internal_error("concurrent.futures.as_completed", error)
    try:
        generator = wrapped(*args, **kwargs)
    except BaseException as error:
        hide_own_frame(error)
        raise
    if opened is None:
        return generator
    try:
        batch, items = opened
        if not _all_futures(items):
            return generator
        batch.size = len(set(map(id, items)))
        _register(batch, items)
        # Positions from the batch's weak references: a table of the futures themselves would
        # keep every yielded future alive as long as the generator.
        record = completion_recorder(batch, IndexOf(batch))
        followed: Any = _yielded_in_order(generator, functools.partial(_recorded, record))
        followed.__name__ = generator.__name__
        followed.__qualname__ = generator.__qualname__
        return followed
    except Exception as error:
        internal_error("concurrent.futures.as_completed", error)
        return generator


def _recorded(record: Callable[[Any], None], future: Any) -> Any:
    record(future)
    return future


def _yielded_in_order(
    generator: Generator[Any, None, None], record: Callable[[Any], Any]
) -> Generator[Any, None, None]:
    """as_completed's generator, each future recorded as it is handed to the program.

    Holds no reference to a future it yielded (CPython's tests check that a yielded future
    dies when the program drops it): the box is emptied by the very expression that yields.
    """
    box: list[Any] = []
    take = generator.__next__
    try:
        while True:
            try:
                box.append(take())
            except StopIteration:
                return
            except BaseException as error:  # as_completed's TimeoutError, as if unwrapped
                hide_own_frame(error)
                raise
            yield record(box.pop())
    finally:
        generator.close()


# -- not_done futures at executor shutdown (AW302) ------------------------------------------------


def _shutdown(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    abandoned = None
    try:
        if _executor_shutdown.following():
            abandoned = _executor_shutdown.check(instance, capture(2))
    except Exception as error:
        internal_error("executor shutdown", error)
    try:
        result = wrapped(*args, **kwargs)
    except BaseException as error:
        hide_own_frame(error)
        raise
    if abandoned is not None:  # reported once the executor has shut down
        _executor_shutdown.report(abandoned)
    return result


def install() -> None:
    """Patch concurrent.futures' entry points and the shutdown of CPython's two pools."""
    from concurrent.futures import process, thread

    # Executor.__exit__ calls shutdown(): the user's line is the `with` block's.
    add_internal_package(concurrent.futures.__file__)
    patch((concurrent.futures,), "wait", blocking_wait(LIBRARY, _wait_options, _waited))
    patch((concurrent.futures,), "as_completed", _as_completed)
    patch((thread.ThreadPoolExecutor,), "shutdown", _shutdown)
    patch((process.ProcessPoolExecutor,), "shutdown", _shutdown)
