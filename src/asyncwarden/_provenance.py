"""Where each task came from: batches, their members, and the public ``TaskProvenance`` record.

Per-task work is kept to a weak reference and a dict entry; everything else is recorded per batch
and turned into frozen records only when asked. Nothing here keeps a task or a result alive.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from itertools import repeat
from typing import Any

from asyncwarden._callsite import CallSite

_batch_ids = itertools.count(1)

# Outcome words used in records, messages and telemetry.
OK = "ok"
FAILED = "failed"
CANCELLED = "cancelled"
PENDING = "pending"

UNORDERED_KINDS = frozenset({"wait", "as_completed"})


class Batch:
    """One wait/gather/as_completed/wait_for call or one TaskGroup, as asyncwarden saw it."""

    __slots__ = (
        "__weakref__",
        "completion_order",
        "consumed_at",
        "consumed_order",
        "done_order",
        "finished",
        "id",
        "input_ordered",
        "kind",
        "loop_id",
        "members",
        "observed",
        "options",
        "outcomes",
        "parent",
        "pending_positions",
        "reported",
        "site",
        "size",
        "submitted",
        "thread_id",
    )

    def __init__(self, kind: str, site: CallSite, options: dict[str, Any] | None = None) -> None:
        self.id = next(_batch_ids)
        self.kind = kind
        self.site = site
        self.options = options or {}
        self.submitted = time.time()
        self.finished: float | None = None
        self.size = 0
        self.input_ordered = True
        self.members: list[weakref.ref[asyncio.Future[Any]]] = []
        # position -> (outcome word, type name); filled when the batch is seen to complete.
        self.outcomes: dict[int, tuple[str, str]] = {}
        self.done_order: list[int] | None = None
        self.pending_positions: list[int] = []
        self.completion_order: list[int] = []
        self.consumed_at: CallSite | None = None
        # Input positions in the order the results first reached a concat/merge/join.
        self.consumed_order: list[int] | None = None
        self.reported: set[str] = set()
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
        kind = describe_kind(self.kind)
        return f"batch #{self.id} ({kind} at {self.site.short()}, {self.size} tasks)"


def describe_kind(kind: str) -> str:
    return "TaskGroup" if kind == "taskgroup" else f"asyncio.{kind}()"


def outcome_of(future: asyncio.Future[Any]) -> tuple[str, str]:
    """Read a future's state without consuming its exception (``exception()`` marks it seen)."""
    if not future.done():
        return (PENDING, "")
    if future.cancelled():
        return (CANCELLED, "")
    error = getattr(future, "_exception", None)
    if error is not None:
        return (FAILED, type(error).__name__)
    return (OK, type(getattr(future, "_result", None)).__name__)


# A reference that is already dead: the member slot of an input position with no future.
NO_MEMBER: weakref.ref[Any] = weakref.ref(set())


class _Registry:
    """task -> batch, weakly keyed: an entry disappears with its task.

    Per task this costs one weak reference (shared with ``Batch.members``) and one dict entry:
    the position within the batch is not stored but found from ``Batch.members`` when asked
    (``lookup``), which saves two objects per task on the hot path (docs/performance.md).
    """

    def __init__(self) -> None:
        self.entries: dict[weakref.ref[Any], Batch] = {}
        # The weakref callback is the dict's own C method: no Python frame runs when a task dies.
        self._forget = self.entries.pop
        # batch -> {id(member): first position}, built on the first lookup into the batch.
        self._positions: weakref.WeakKeyDictionary[Batch, dict[int, int]] = (
            weakref.WeakKeyDictionary()
        )

    def register(self, batch: Batch, futures: Iterable[asyncio.Future[Any] | None]) -> None:
        """Add ``futures`` as the batch's next members; None marks a position with no future."""
        setdefault = self.entries.setdefault
        refs: list[weakref.ref[Any]] = []
        for future in futures:
            if future is None:
                refs.append(NO_MEMBER)
                continue
            ref = weakref.ref(future, self._forget)
            # The first batch a task joined is its origin; a later gather does not rewrite it.
            refs.append(ref if self._inserted(setdefault, ref, batch) else weakref.ref(future))
        batch.members.extend(refs)

    def _inserted(self, setdefault: Any, ref: weakref.ref[Any], batch: Batch) -> bool:
        before = len(self.entries)
        setdefault(ref, batch)
        return len(self.entries) > before

    def register_all(self, batch: Batch, futures: Iterable[asyncio.Future[Any]]) -> None:
        """``register`` for a sequence with no gaps: the hot path of gather, kept in C calls."""
        futures = futures if isinstance(futures, (list, tuple)) else list(futures)
        entries = self.entries
        refs = list(map(weakref.ref, futures, repeat(self._forget)))
        # One C pass that inserts and reads back: the table of a 10,000-task registry is larger
        # than the CPU's cache, so each pass over it costs a cache miss per task.
        before = len(entries)
        owners = list(map(entries.setdefault, refs, repeat(batch)))
        if len(entries) - before != len(refs):
            # A task already registered (by an earlier batch, or listed twice in this call:
            # this is called once per batch) keeps its first entry. A reference whose callback
            # pops would find no key when the task dies while this batch lives on, and print
            # "Exception ignored in: <weakref>" KeyError: such a member gets a reference with
            # no callback.
            seen: set[int] = set()
            for i, future in enumerate(futures):
                if owners[i] is not batch or id(future) in seen:
                    refs[i] = weakref.ref(future)
                seen.add(id(future))
        batch.members.extend(refs)

    def register_one(self, batch: Batch, future: asyncio.Future[Any]) -> None:
        """``register_all`` for one future (``TaskGroup.create_task``, once per task)."""
        ref = weakref.ref(future, self._forget)
        entries = self.entries
        if ref in entries:
            ref = weakref.ref(future)  # already registered: see register_all
        else:
            entries[ref] = batch
        batch.members.append(ref)

    def writer(
        self, batch: Batch
    ) -> tuple[Callable[[Any], Any], dict[weakref.ref[Any], Batch], Callable[[Any], None]]:
        """What ``register_one`` uses, for a caller that writes it out inline (once per task).

        ``(forget, entries, append)``: the member is ``ref = weakref.ref(future, forget)``; if
        ``ref in entries`` it is replaced by a reference with no callback (see
        ``register_all``), else ``entries[ref] = batch``; then ``append(ref)``.
        """
        return self._forget, self.entries, batch.members.append

    def lookup(self, future: object) -> tuple[Batch, int] | None:
        """The batch a task or future first joined, and its position there."""
        try:
            batch = self.entries.get(weakref.ref(future))
        except TypeError:  # not weakly referenceable: never one of ours
            return None
        if batch is None:
            return None
        return batch, self.position(batch, future)

    def position(self, batch: Batch, future: object) -> int:
        """The first position of ``future`` among the batch's members (-1 if not a member)."""
        index = self._positions.get(batch)
        found = index.get(id(future)) if index is not None else None
        if found is None or batch.member(found) is not future:
            members = batch.members
            index = {}
            for i in range(len(members) - 1, -1, -1):  # backwards: the first position wins
                member = members[i]()
                if member is not None:
                    index[id(member)] = i
            self._positions[batch] = index
            found = index.get(id(future), -1)
        return found


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


def coroutine_name(future: object) -> str | None:
    get_coro = getattr(future, "get_coro", None)
    coro = get_coro() if get_coro is not None else None
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
    if batch.done_order is not None:
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
    )
