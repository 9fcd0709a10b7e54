"""Where each task came from: batches, their members, and the public ``TaskProvenance`` record.

Per-task work is kept to one weak reference; everything else is recorded per batch and turned into
frozen records only when asked. Nothing here keeps a task or a result alive.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import itertools
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from asyncwarden import _compat, _observers
from asyncwarden._tracking._callsite import CallSite
from asyncwarden._tracking._member_refs import member_refs
from asyncwarden._tracking._outcomes import OK, PENDING, outcome_of

_batch_ids = itertools.count(1)

# Outcome words used in records, messages and telemetry.
UNORDERED_KINDS = frozenset({"wait", "as_completed"})


def first_positions(
    items: Sequence[Any], key: Callable[[Any], Any] | None = None
) -> dict[Any, int]:
    """item (or ``key(item)``) -> the first position it holds in ``items``.

    The one builder of this table (a batch's members, a wait()'s or as_completed()'s input):
    built backwards, so an item listed twice keeps its first position, and all in C.
    """
    last = len(items) - 1
    backwards = reversed(items) if key is None else map(key, reversed(items))
    return dict(zip(backwards, range(last, -1, -1), strict=True))


class Batch:
    """One wait/gather/as_completed/wait_for call or one TaskGroup, as asyncwarden saw it."""

    __slots__ = (
        "__weakref__",
        "_size",
        "completed",
        "consumed_at",
        "consumed_order",
        "done_order",
        "finished",
        "first_live",
        "followers",
        "id",
        "input_ordered",
        "kind",
        "library",
        "loop_id",
        "members",
        "observed",
        "options",
        "origin",
        "origin_positions",
        "outcomes",
        "parent",
        "pending_positions",
        "reported",
        "site",
        "submitted",
        "thread_id",
    )

    def __init__(self, kind: str, site: CallSite, options: dict[str, Any] | None = None) -> None:
        self.id = next(_batch_ids)
        self.kind = kind
        # Whose call this was: "asyncio", "concurrent.futures" or "distributed". The rules read
        # ``kind`` only: a wait() is a wait() whichever library returned its sets.
        self.library = "asyncio"
        self.site = site
        self.options = options or {}
        self.submitted = time.time()
        self.finished: float | None = None
        self._size = 0
        self.first_live = 0  # members before this one are known to be dead (_Registry._sweep)
        self.input_ordered = True
        self.members: list[weakref.ref[asyncio.Future[Any]]] = []
        # position -> (outcome word, type name); filled when the batch is seen to complete.
        self.outcomes: dict[int, tuple[str, str]] = {}
        self.done_order: list[int] | None = None
        self.pending_positions: list[int] = []
        # as_completed: positions of members in the order they completed: those that failed,
        # were cancelled or returned a frame, or all of them when telemetry is on.
        self.completed: list[int] = []
        self.consumed_at: CallSite | None = None
        # Input positions in the order the results first reached a concat/merge/join.
        self.consumed_order: list[int] | None = None
        self.reported: set[str] = set()
        # A wait() or as_completed() on tasks that already belong to a batch (the pending set of
        # an earlier wait(), an open TaskGroup's tasks) works on that batch, the one the tasks
        # were submitted in: ``origin``, with this call's positions mapped to its positions.
        # The origin lists such later calls in ``followers``, in the order they were made.
        self.origin: Batch | None = None
        self.origin_positions: list[int] = []
        self.followers: list[Batch] = []
        # Free for observers (telemetry keeps its span context here); never read by the rules.
        self.observed: Any = None
        self.thread_id = threading.get_ident()
        try:
            parent = asyncio.current_task()
        except RuntimeError:
            parent = None
        self.parent = parent.get_name() if parent is not None else None
        try:
            self.loop_id: int | None = id(asyncio.get_running_loop())
        except RuntimeError:
            self.loop_id = None

    @property
    def size(self) -> int:
        """Members submitted; a TaskGroup's grows with each ``create_task``, counted when asked."""
        return len(self.members) if self.kind == "taskgroup" else self._size

    @size.setter
    def size(self, value: int) -> None:
        self._size = value

    def first_positions(self) -> dict[int, int]:
        """id(member reference) -> the member's first position.

        A future listed twice in one batch has one reference object there. A live future's
        position: ``_member_refs.position_in(table, future)``.
        """
        return first_positions(self.members, id)

    @property
    def completion_order(self) -> list[int]:
        """Input positions of the recorded members (``completed``) in completion order."""
        return list(self.completed)

    def thread_name(self) -> str | None:
        """The name of the thread that made the call, if it is still running."""
        for thread in threading.enumerate():
            if thread.ident == self.thread_id:
                return thread.name
        return None

    def scheduled_order(self) -> list[int]:
        """Positions in the order the scheduler handed the members out, across re-waits.

        The order ``wait()``'s done sets iterated in (one call after the other) or the order
        ``as_completed()`` yielded in. Empty for a batch whose order the program chose (gather,
        TaskGroup, wait_for) and that no later wait() or as_completed() took up.
        """
        order: list[int] = []
        for call in (self, *self.followers):
            if call.kind == "wait":
                own = call.done_order or []
            elif call.kind == "as_completed":
                own = call.completion_order
            else:
                continue
            if call is not self:
                mapped = call.origin_positions
                own = [mapped[p] if 0 <= p < len(mapped) else -1 for p in own]
            order.extend(own)
        return order

    def member(self, position: int) -> asyncio.Future[Any] | None:
        ref = self.members[position] if 0 <= position < len(self.members) else None
        return ref() if ref is not None else None

    def outcome(self, position: int) -> tuple[str, str]:
        """What became of the member at ``position``: recorded, or read from the live task now."""
        future = self.member(position)
        if future is not None:
            return outcome_of(future)
        return self.outcomes.get(position, (OK, ""))

    def describe(self) -> str:
        kind = describe_kind(self.kind, self.library)
        return f"batch #{self.id} ({kind} at {self.site.short()}, {self.size} tasks)"


def describe_kind(kind: str, library: str = "asyncio") -> str:
    return "TaskGroup" if kind == "taskgroup" else f"{library}.{kind}()"


# A reference that is already dead: the member slot of an input position with no future.
NO_MEMBER: weakref.ref[Any] = weakref.ref(set())


class _Registry:
    """The batches that may still have live members, and task -> batch found when asked.

    Registering a member keeps one weak reference (in ``Batch.members``; asyncio's own where it
    has one, ``_member_refs``) and nothing else.
    No table is written per task: an entry per task in one shared dict cost 5 % of a 10,000-task
    wait or TaskGroup (docs/performance.md). Lookups are rare (``provenance()``, the lifecycle
    reports), so they pay instead: the first lookup after new members arrived indexes them.

    Batches are dropped once every member has died: each new batch looks at the two oldest,
    so a finished batch is kept only until the next batches come by (``_sweep``).
    """

    def __init__(self) -> None:
        self._batches: collections.deque[Batch] = collections.deque()
        # TaskGroups still open (batch -> the group, weakly): their members grow after the
        # batch was registered. A group that died without exiting counts as closed.
        self._open: dict[Batch, weakref.ref[Any]] = {}
        self._changes = 0
        self._lock = threading.RLock()
        # Guarded by _lock: member reference -> (first batch, first position).
        self._index: dict[weakref.ref[Any], tuple[Batch, int]] = {}
        self._indexed: dict[Batch, int] = {}  # batch -> members indexed so far
        self._indexed_at = 0  # the value of _changes the index has caught up with
        self._stale = False  # a batch the index holds was dropped: rebuild before use
        # wait()'s pending members, reference -> (origin batch, position): a later wait() or
        # as_completed() on them works on that batch. Filled and read only when wait() returns
        # pending tasks, so a wait() that returns everything never pays for it.
        self.returned_pending: dict[weakref.ref[Any], tuple[Batch, int]] = {}

    # -- registering (hot path: no lock, C calls only) ------------------------------------------

    def register(self, batch: Batch, futures: Iterable[asyncio.Future[Any] | None]) -> None:
        """Add ``futures`` as the batch's next members; None marks a position with no future."""
        refs = [NO_MEMBER if f is None else weakref.ref(f) for f in futures]
        self._add(batch, refs)

    def register_all(self, batch: Batch, futures: Sequence[asyncio.Future[Any]]) -> None:
        """``register`` for futures with no gaps (gather's children, wait's futures), in C."""
        self._add(batch, member_refs(futures))

    def writer(self, batch: Batch, group: object) -> Callable[[weakref.ref[Any]], None]:
        """For an open TaskGroup: the ``append`` that adds ``weakref.ref(task)`` as a member.

        Written out inline by ``TaskGroup.create_task``, once per task; ``close`` ends it.
        """
        if batch not in self._open:
            self._open[batch] = weakref.ref(group)
            self._add(batch, [])
        return batch.members.append

    def open_groups(self) -> list[Batch]:
        """Batches of TaskGroups that have not exited."""
        return list(self._open)

    def close(self, batch: Batch) -> None:
        """The TaskGroup exited: its members are final."""
        self._open.pop(batch, None)
        self._changes += 1

    def _add(self, batch: Batch, refs: list[weakref.ref[Any]]) -> None:
        new = not batch.members
        batch.members.extend(refs)
        if new:
            # Under the lock (once per batch, not per task): a lookup in another thread must
            # never see the queue with a live batch popped by the sweep and not yet put back.
            with self._lock:
                self._sweep()  # before the new batch joins the queue: it is not looked at yet
                self._batches.append(batch)
        # Counted only once the members can be found: a lookup that read the new count before
        # the batch was queued would index without it and, the count unchanged, never look again.
        self._changes += 1

    def _sweep(self) -> None:
        """Look at the two oldest batches: drop one with no live member, requeue the others."""
        batches = self._batches
        for _ in range(2):
            try:
                oldest = batches.popleft()
            except IndexError:
                return
            group = self._open.get(oldest)
            if group is not None and group() is None:
                self._open.pop(oldest, None)  # the group died without exiting
                group = None
            if group is not None or _has_live_member(oldest):
                batches.append(oldest)
            elif oldest in self._indexed:
                self._stale = True

    # -- lookups ------------------------------------------------------------------------------

    def lookup(self, future: object) -> tuple[Batch, int] | None:
        """The batch a task or future first joined, and its first position there."""
        try:
            # Live weak references compare and hash as their referents: this one finds the
            # member's reference, whichever object that is.
            ref = weakref.ref(future)
        except TypeError:  # not weakly referenceable: never one of ours
            return None
        with self._lock:
            if self._stale:
                self._stale = False
                self._index, self._indexed, self._indexed_at = {}, {}, self._changes - 1
            if self._indexed_at != self._changes:
                self._indexed_at = self._changes
                self._catch_up(list(self._batches))
            found = self._index.get(ref)
            if found is None and self._open:
                self._catch_up(list(self._open))
                found = self._index.get(ref)
        return found

    def _catch_up(self, batches: list[Batch]) -> None:
        index, indexed = self._index, self._indexed
        for batch in batches:
            members = batch.members
            start = indexed.get(batch, 0)
            indexed[batch] = len(members)
            for position in range(start, len(members)):
                ref = members[position]
                if ref() is None:
                    continue  # a dead reference may never have been hashed: it cannot be
                known = index.get(ref)
                # The first batch a task joined is its origin, whatever order they are indexed in.
                if known is None or known[0].id > batch.id:
                    index[ref] = (batch, position)

    def batches(self) -> list[Batch]:
        """The batches kept now (tests and benchmarks: nothing is kept for dead tasks)."""
        return list(self._batches)

    def live_tasks(self) -> int:
        """Members of the kept batches still alive (tests and benchmarks: none keeps a task)."""
        return sum(ref() is not None for batch in self.batches() for ref in batch.members)


def _has_live_member(batch: Batch) -> bool:
    members = batch.members
    # Members only ever die: the first live one moves forward, never back.
    for position in range(batch.first_live, len(members)):
        if members[position]() is not None:
            batch.first_live = position
            return True
    batch.first_live = len(members)
    return False


registry = _Registry()


def reset() -> None:
    """Forget every batch (tests, uninstall); old weakref callbacks pop from the old dict."""
    global registry
    registry = _Registry()


@dataclasses.dataclass(frozen=True)
class TaskProvenance:
    """Where a task came from and what became of it, as asyncwarden recorded it."""

    batch_id: int
    batch_kind: str
    position: int
    call_site: CallSite
    parent_task: str | None
    name: str | None
    coroutine: str | None
    submitted: float
    finished: float | None
    outcome: str
    outcome_type: str
    returned_in: str | None
    """For ``wait()``: ``"done"`` or ``"pending"``, the set the task was returned in."""
    library: str = "asyncio"
    """Whose call made the batch: ``"asyncio"``, ``"concurrent.futures"`` or ``"distributed"``."""
    thread: str | None = None
    """The name of the thread that made the call (a thread pool's futures: the waiting thread)."""


def coroutine_name(future: object) -> str | None:
    coro = _compat.coroutine_of(future)
    if coro is None:
        return None
    return getattr(coro, "__qualname__", None) or type(coro).__name__


def provenance(task: object) -> TaskProvenance | None:
    """The provenance of a task or future asyncwarden saw in a batch, or None."""
    found = registry.lookup(task)
    if found is None:
        return None
    batch, position = found
    outcome, outcome_type = outcome_of(task)  # type: ignore[arg-type]
    returned_in = None
    if batch.kind == "wait" and batch.finished is not None:
        returned_in = "pending" if position in batch.pending_positions else "done"
    get_name = getattr(task, "get_name", None)
    return TaskProvenance(
        batch_id=batch.id,
        batch_kind=batch.kind,
        position=position,
        call_site=batch.site,
        parent_task=batch.parent,
        name=get_name() if get_name is not None else None,
        coroutine=coroutine_name(task),
        submitted=batch.submitted,
        finished=batch.finished if outcome != PENDING else None,
        outcome=outcome,
        outcome_type=outcome_type,
        returned_in=returned_in,
        library=batch.library,
        thread=batch.thread_name(),
    )


_observers.on_reset.append(reset)
