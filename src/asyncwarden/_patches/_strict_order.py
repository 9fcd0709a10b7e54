"""Strict mode's ``done`` set: the same members, iterating in an order that is not submission order.

A set's iteration order is the order of the slots its members occupy in its hash table. Growing
the table or changing the insertion order cannot reorder two members whose hashes put them in
neighbouring slots in every table size (two tasks allocated one after the other often do). What
always works is displacing a member: with the slots its probe sequence visits taken by stand-ins
(small ints, which hash to themselves, so each lands exactly on the slot chosen for it), the
member with the lower position is pushed past the other one. The stand-ins are then discarded one
by one (a bulk ``difference_update`` may rebuild the table when many are gone), leaving the
members where they landed in a plain ``set``.

The probe sequence is CPython's (``Objects/setobject.c``: nine linear probes, then
``i = i * 5 + 1 + perturb`` with ``perturb >>= 5``, the same in 3.10-3.13). The layout is only a
plan: every candidate is checked by iterating it, and the caller keeps the original set if none
passes (a miss, never a wrong answer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asyncwarden._patches._asyncio_common import Positions

_LINEAR_PROBES = 9
_PERTURB_SHIFT = 5
_SIZE_T = (1 << 64) - 1
_LARGEST_TABLE = 1 << 16
_MAX_MEMBERS = 4096


def _probes(hash_value: int, mask: int) -> Iterator[int]:
    """The slots CPython's set looks at, in order, to place an entry with this hash."""
    perturb = hash_value & _SIZE_T
    slot = hash_value & mask
    while True:
        if slot + _LINEAR_PROBES <= mask:
            yield from range(slot, slot + _LINEAR_PROBES + 1)
        else:
            yield slot
        perturb >>= _PERTURB_SHIFT
        slot = (slot * 5 + 1 + perturb) & mask


def _stand_ins(first: object, second: object, size: int, room: int) -> list[int] | None:
    """Slots to fill so that ``second``, added before ``first``, iterates before it.

    ``set(dict)`` of k keys sizes its table to the power of two above 2k once 5k >= 21, so a
    table of ``size`` slots (above 8) needs at least ``size // 4`` (and 5) stand-ins: the rest
    are taken from the top slots, which can only push ``first`` further along.
    """
    mask = size - 1
    landing = hash(second) & mask  # its home slot: no stand-in takes it
    needed = 0 if size == 8 else max(5, size // 4)
    chosen = [slot for slot in range(mask, -1, -1) if slot != landing][:needed]
    taken = set(chosen)
    taken.add(landing)
    for visited, slot in enumerate(_probes(hash(first), mask)):
        if slot in taken:
            if visited > 8 * size:
                return None
            continue
        if slot > landing:
            return chosen
        taken.add(slot)
        chosen.append(slot)
        if len(chosen) > room:
            return None
    return None  # pragma: no cover - the probe sequence is endless


def _candidates(members: Sequence[Any]) -> Iterator[set[Any]]:
    count = len(members)
    size = 8
    while size <= _LARGEST_TABLE:
        # A set resizes once 5 * fill reaches 3 * mask: members and stand-ins must stay below.
        fits = 4 if size == 8 else (3 * (size - 1) - 1) // 5
        room = fits - count
        if room >= 0:
            first = members[0]
            for index in range(1, count):
                stand_ins = _stand_ins(first, members[index], size, room)
                if stand_ins is None:
                    continue
                candidate = set(dict.fromkeys(stand_ins))
                candidate.add(members[index])
                candidate.add(first)
                candidate.update(members[1:])
                for stand_in in stand_ins:
                    candidate.discard(stand_in)
                yield candidate
        size *= 2


def out_of_order(done: set[Any], position: Callable[[Any], int]) -> set[Any]:
    """``done``, or a new ``set`` of the same members whose iteration order is not ascending.

    ``position`` gives each member's submission position. Sets of one member, or of more than a
    few thousand, are returned unchanged.
    """
    if not 2 <= len(done) <= _MAX_MEMBERS:
        return done
    order = list(map(position, done))
    if order != sorted(order):
        return done
    members = sorted(done, key=position)
    for candidate in _candidates(members):
        order = list(map(position, candidate))
        if order != sorted(order) and len(candidate) == len(done):
            return candidate
    return done


def done_out_of_order(done: set[Any], positions: Positions) -> set[Any]:
    """A set with the same members whose iteration order is not the submission order.

    Set order is undefined, so any order is legal; strict mode picks one that a program relying
    on submission order cannot survive, so the hazard shows on every run, for every size.
    """
    if len(done) < 2:
        return done
    table = positions.table()
    return out_of_order(done, lambda future: table.get(future, -1))
