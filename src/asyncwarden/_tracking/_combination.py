"""One concat/merge/join call as the rules and telemetry see it: its inputs' lineage, grouped by
batch. The pandas patch makes it; the combination rules and the combine span read it."""

from __future__ import annotations

import dataclasses
import itertools
import operator
from collections.abc import Sequence

from asyncwarden._tracking._callsite import CallSite
from asyncwarden._tracking._lineage import Link, Source
from asyncwarden._tracking._provenance import Batch


# Not frozen: a frozen dataclass sets each field through object.__setattr__, and two are made per
# concat (1.3 us each -> 0.3). Treated as immutable all the same.
@dataclasses.dataclass(slots=True, unsafe_hash=True)
class Combination:
    """One concat/merge/join call, as the rules see it: the inputs' lineage, never their data."""

    operation: str  # "concat", "merge" or "join"
    site: CallSite
    inputs: Sequence[Link | None]
    keyed: bool = False
    """concat got ``keys=`` or a mapping: each frame stays labelled with its input."""
    index_used: tuple[bool, ...] = ()
    """merge/join: whether each side is joined on its index."""
    rows: tuple[int, ...] = ()
    rows_out: int | None = None
    groups: dict[Batch, list[int]] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )
    """``grouped(inputs)``, computed once for every rule and observer that reads it."""

    def __post_init__(self) -> None:
        if not self.groups:
            self.groups = grouped(self.inputs)

    def with_rows(self, rows: tuple[int, ...], rows_out: int | None) -> Combination:
        """This combination with the row counts known after the call; the groups are kept."""
        return Combination(
            self.operation,
            self.site,
            self.inputs,
            self.keyed,
            self.index_used,
            rows,
            rows_out,
            self.groups,
        )


_sources_of = operator.attrgetter("sources")
_batch_of = operator.attrgetter("batch")
_position_of = operator.attrgetter("position")


def grouped(inputs: Sequence[Link | None]) -> dict[Batch, list[int]]:
    """Per batch, the positions of its task results in the order the inputs list them."""
    return grouped_sources(
        tuple(itertools.chain.from_iterable(map(_sources_of, filter(None, inputs))))
    )


def grouped_sources(sources: Sequence[Source]) -> dict[Batch, list[int]]:
    """``grouped`` of the inputs' sources, already listed in input order."""
    if not sources:
        return {}
    # The common case, every source from one batch, in C-level passes (1,000 frames per concat).
    batches = list(map(_batch_of, sources))
    if batches.count(batches[0]) == len(batches):  # Batch compares by identity
        return {batches[0]: list(map(_position_of, sources))}
    groups: dict[Batch, list[int]] = {}
    for batch, position in zip(batches, map(_position_of, sources), strict=True):
        # Not setdefault(batch, []): that makes a list per source (1,000 per concat).
        order = groups.get(batch)
        if order is None:
            order = groups[batch] = []
        order.append(position)
    return groups
