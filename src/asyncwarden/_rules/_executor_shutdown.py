"""AW302 for thread and process pools: ``wait()``'s not_done futures at their executor's shutdown.

The patch layer hands over the futures a ``concurrent.futures.wait()`` returned in ``not_done``
(``follow``) and asks, when an executor shuts down, which of them that executor still runs or
holds queued (``check``). Those the program took up again (a later ``wait()`` or
``as_completed()`` over them, or a thread waiting on them now), finished or cancelled are not
reported. Only futures known to be the executor's own are listed, and only for ``wait()`` calls
made in the thread that shuts the executor down: a miss, never a false alarm.
"""

from __future__ import annotations

import sys
import threading
import weakref
from typing import Any

from asyncwarden import _observers
from asyncwarden._failopen import internal_error
from asyncwarden._tracking import _provenance
from asyncwarden._tracking._callsite import CallSite
from asyncwarden._tracking._provenance import Batch

LIBRARY = "concurrent.futures"
LISTED = 10

# (future, batch, position), weakly, for futures wait() returned in not_done; bounded.
_not_done: list[tuple[weakref.ref[Any], Batch, int]] = []
_NOT_DONE_MAX = 10_000

# What one shutdown found: (future, batch, position, running then) and the shutdown's call site.
Abandoned = tuple[list[tuple[Any, Batch, int, bool]], CallSite]


def following() -> bool:
    """Whether any not_done future is followed (one truth test on the patch layer's path)."""
    return bool(_not_done)


def follow(batch: Batch, not_done: set[Any], table: dict[Any, int]) -> None:
    global _not_done
    if len(_not_done) + len(not_done) > _NOT_DONE_MAX:
        _not_done = [entry for entry in _not_done if _still_open(entry[0]())]
    for future in not_done:
        if len(_not_done) >= _NOT_DONE_MAX:
            break
        _not_done.append((weakref.ref(future), batch, table.get(future, -1)))


def _still_open(future: Any) -> bool:
    return future is not None and not future.done()


def forget(futures: list[Any]) -> None:
    """Stop following these futures: the program took them up again, or they were reported."""
    global _not_done
    ids = set(map(id, futures))
    _not_done = [e for e in _not_done if (f := e[0]()) is not None and id(f) not in ids]


def check(executor: Any, site: CallSite) -> Abandoned | None:
    """Before ``executor`` shuts down: the followed futures it still runs or holds, if any."""
    global _not_done
    alive: list[tuple[Any, Batch, int]] = [
        (f, b, p) for ref, b, p in _not_done if _still_open(f := ref())
    ]
    _not_done = [(weakref.ref(f), b, p) for f, b, p in alive]
    if not alive:
        return None
    owned = _executor_futures(executor)
    here = threading.get_ident()
    found = sorted(
        (
            (f, b, p, f.running())
            for f, b, p in alive
            if id(f) in owned and not getattr(f, "_waiters", None) and b.thread_id == here
        ),
        key=lambda entry: (entry[1].id, entry[2]),
    )
    if not found:
        return None
    forget([entry[0] for entry in found])  # reported once
    return found, site


def _executor_futures(executor: Any) -> set[int]:
    """ids of the futures ``executor`` runs or holds (CPython's pools, read without changing)."""
    owned: set[int] = set()
    pending = getattr(executor, "_pending_work_items", None)  # ProcessPoolExecutor
    if isinstance(pending, dict):
        owned.update(id(getattr(item, "future", None)) for item in list(pending.values()))
        return owned
    threads = getattr(executor, "_threads", None)  # ThreadPoolExecutor
    if threads is None:
        return owned
    from concurrent.futures import thread

    # A running work item is the `self` of _WorkItem.run on one of the pool's threads' stacks.
    run_code = thread._WorkItem.run.__code__
    stack_frames = sys._current_frames()
    for worker in list(threads):
        stack_frame = stack_frames.get(worker.ident) if worker.ident is not None else None
        while stack_frame is not None:
            if stack_frame.f_code is run_code:
                owned.add(id(getattr(stack_frame.f_locals.get("self"), "future", None)))
                break
            stack_frame = stack_frame.f_back
    owned.update(id(f) for f in _queued(getattr(executor, "_work_queue", None)))
    return owned


def _queued(queue: Any) -> list[Any]:
    """The futures of work items waiting in a thread pool's queue (a C SimpleQueue, which
    lists its items to the garbage collector and to nobody else)."""
    if queue is None:
        return []
    import gc
    from concurrent.futures import thread

    found: list[Any] = []
    for item in gc.get_referents(queue):
        works = item if isinstance(item, list) else (item,)
        found.extend(work.future for work in works if isinstance(work, thread._WorkItem))
    return found


def report(abandoned: Abandoned) -> None:
    """Deliver the finding, after the executor has shut down. Strict mode raises it here, unless
    the program is already failing (an error left the ``with`` block): then it is printed."""
    from asyncwarden._findings import _delivery

    try:
        finding = _finding(*abandoned)
    except Exception as error:
        internal_error("executor shutdown finding", error)
        return
    if sys.exc_info()[1] is None:
        _delivery.deliver(finding)
        return
    try:
        _delivery.deliver(finding)
    except Exception as error:
        sys.stderr.write(f"asyncwarden: {type(error).__name__}:\n{error}\n")


def _finding(running: list[tuple[Any, Batch, int, bool]], site: CallSite) -> Any:
    from asyncwarden._findings._codes import CODES, LIBRARY_FIXES
    from asyncwarden._findings._finding import Finding

    rule = CODES["AW302"]
    batches = list(dict.fromkeys(b for _, b, _, _ in running))
    lines = [
        f"future    {_provenance.describe_kind(b.kind, b.library)} #{b.id} input position "
        f"{p}, {'running' if was_running else 'queued'} when shutdown() was called"
        for _, b, p, was_running in running[:LISTED]
    ]
    if len(running) > LISTED:
        lines.append(f"more      {len(running) - LISTED} futures not listed")
    count = f"{len(running)} future{'s' if len(running) > 1 else ''}"
    return Finding(
        code="AW302",
        name=rule.name,
        title=(
            f"{count} that concurrent.futures.wait() returned in not_done, neither waited for "
            "nor cancelled, still unfinished when the executor shut down"
        ),
        message="\n".join(lines),
        fix=LIBRARY_FIXES.get(("AW302", LIBRARY), rule.fix),
        site=batches[0].site,
        sites=(
            ("executor shutdown", site),
            *((f"{_provenance.describe_kind(b.kind, b.library)} #{b.id}", b.site) for b in batches),
        ),
        tasks=tuple(
            t for f, *_ in running[:LISTED] if (t := _provenance.provenance(f)) is not None
        ),
        batch_ids=tuple(b.id for b in batches),
        details={"futures": len(running), "when": "executor shutdown"},
    )


def reset() -> None:
    """Follow nothing (tests)."""
    _not_done.clear()


_observers.on_reset.append(reset)
