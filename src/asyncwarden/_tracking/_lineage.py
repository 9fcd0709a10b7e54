"""Which tasks a DataFrame or Series came from, linked weakly and without touching the frame.

Frames are unhashable, so the registry is keyed by ``id()`` with a weak reference whose callback
removes the entry when the frame dies. Nothing is written to the frame (no ``attrs``, no columns).
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from collections.abc import Iterable
from typing import Any

from asyncwarden import _observers
from asyncwarden._tracking import _frame_types
from asyncwarden._tracking._callsite import CallSite
from asyncwarden._tracking._provenance import Batch

# Filled when pandas is imported (``_patches._pandas``); empty means no frame can exist yet. The set
# lives in ``_frame_types`` so the asyncio patch reads it without importing this module.
FRAME_TYPES: set[type] = _frame_types.FRAME_TYPES

_MAX_LINKS = 200_000  # a bound, so a program that makes frames forever cannot grow this forever


# Not frozen: a frozen dataclass sets each field through object.__setattr__, and these are made
# per concat and per task result (0.9 -> 0.2 us each). Treated as immutable all the same.
@dataclasses.dataclass(slots=True, unsafe_hash=True)
class Source:
    """One task result that went into a frame."""

    batch: Batch
    position: int


@dataclasses.dataclass(slots=True, unsafe_hash=True)
class Link:
    """What asyncwarden knows about one frame."""

    sources: tuple[Source, ...]
    operation: str  # "task" (a task's own result), "derived" (made from one), "concat", "merge"...
    site: CallSite | None
    index_ranges: tuple[range, ...] = ()
    """concat: the RangeIndex bounds of the linked inputs, in input order (AW102 reads them)."""
    duplicated_partitions: tuple[Source, ...] = ()
    derived: Link | None = dataclasses.field(default=None, compare=False, repr=False)
    """The record of frames derived from this one by other pandas operations, made once."""


class _Ref(weakref.ref):  # type: ignore[type-arg]
    """The registry entry: a weak reference to the frame that carries its key and record.

    One object per linked frame (no tuple beside it) and one shared callback (no closure): a
    concat looks up every input, and each object reached is a likely cache miss.
    """

    __slots__ = ("key", "record")
    key: int
    record: Link


_links: dict[int, _Ref] = {}
# Re-entrant, as every lock of asyncwarden's: the collector may run a program's finalizer in the
# thread that holds it, between any two bytecodes from 3.12 on (at an allocation before), and a
# finalizer may concat frames or gather tasks and so come back to the same lock. A plain lock
# deadlocked there (tests/test_pandas_guard.py, the finalizer that concats, on 3.12).
_lock = threading.RLock()


def links_table() -> dict[int, _Ref]:
    """The table itself (cleared in place, never replaced): the pandas hook reads it per call."""
    return _links


def _forget(ref: _Ref) -> None:
    _links.pop(ref.key, None)


def link(frame: object, record: Link) -> None:
    """Attach ``record`` to ``frame`` until the frame is garbage-collected."""
    _attach(((frame, record),))


def link_task_results(batch: Batch, frames: Iterable[tuple[object, int]]) -> None:
    """Link each task result, a frame, to the batch and the task's position in it.

    One call per batch. Reached through an import in the function that linked and three calls
    per frame, a frame cost about 23,500 instructions (the collector's share included), 2.5 % of
    the benchmark's 200-partition ETL; now about 13,600 (3.11, cachegrind, docs/performance.md).
    """
    _attach((frame, Link((Source(batch, position),), "task", None)) for frame, position in frames)


def _attach(records: Iterable[tuple[object, Link]]) -> None:
    # The weak references (and, from link_task_results' generator, the records) are made before
    # the lock is taken: making them may run the collector, and with it the program's
    # finalizers, which may concat frames and so come back here (see _lock).
    refs = []
    for frame, record in records:
        try:
            ref = _Ref(frame, _forget)
        except TypeError:  # not weakly referenceable: cannot be followed
            continue
        ref.key = id(frame)
        ref.record = record
        refs.append(ref)
    with _lock:
        for ref in refs:
            if len(_links) >= _MAX_LINKS:
                _links.pop(next(iter(_links)))
            _links[ref.key] = ref


_frame_types.link_task_results = link_task_results


def link_derived(frame: object, record: Link) -> None:
    """``frame`` was made from a frame with ``record`` by a pandas operation: it keeps the source.

    Only a single task's frame passes its source on (``.assign``, ``.rename``, a filter, ``.loc``
    and chains of them make a frame that is still that partition). A combined frame does not:
    after ``.sort_values`` its rows no longer follow its sources' order, and AW101 on it was
    decided at its own concat.
    """
    if len(record.sources) != 1:
        return
    existing = _links.get(id(frame))
    if existing is not None and existing() is frame:
        return
    derived = record if record.operation == "derived" else record.derived
    if derived is None:
        derived = record.derived = Link(record.sources, "derived", record.site)
    link(frame, derived)


def get(frame: object) -> Link | None:
    ref = _links.get(id(frame))
    if ref is None or ref() is not frame:
        return None
    return ref.record


def get_many(frames: list[Any]) -> list[Link | None]:
    """``get`` of each frame: C-level passes while none is linked (1,000 frames per concat)."""
    refs = list(map(_links.get, map(id, frames)))
    if not any(refs):
        return [None] * len(refs)
    return [
        ref.record if ref is not None and ref() is frame else None
        for ref, frame in zip(refs, frames, strict=True)
    ]


def reset() -> None:
    with _lock:
        _links.clear()


@dataclasses.dataclass(frozen=True)
class LineageSource:
    """One task whose result is part of a frame."""

    batch_id: int
    batch_kind: str
    position: int
    batch_site: CallSite
    consumed_at: CallSite | None


@dataclasses.dataclass(frozen=True)
class Lineage:
    """Where a frame came from: its tasks, and the operation that made it."""

    operation: str
    sources: tuple[LineageSource, ...]
    site: CallSite | None

    @property
    def batches(self) -> tuple[int, ...]:
        """Batch ids in order of first appearance."""
        return tuple(dict.fromkeys(source.batch_id for source in self.sources))


def lineage(frame: object) -> Lineage | None:
    """Which batches, positions and call sites a DataFrame or Series came from, or None."""
    record = get(frame)
    if record is None:
        return None
    return Lineage(
        operation=record.operation,
        sources=tuple(
            LineageSource(s.batch.id, s.batch.kind, s.position, s.batch.site, s.batch.consumed_at)
            for s in record.sources
        ),
        site=record.site,
    )


_observers.on_reset.append(reset)
