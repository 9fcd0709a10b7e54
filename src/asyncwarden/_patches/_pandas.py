"""The pandas half of the patch layer: concat, merge, DataFrame.merge, DataFrame.join.

Applied when the program imports pandas. Per call the guard looks up each input frame once
(O(number of frames), never O(rows)), never copies, mutates or annotates the user's data.
"""

from __future__ import annotations

import contextvars
import itertools
import operator
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from asyncwarden import _observers
from asyncwarden._failopen import internal_error
from asyncwarden._findings import _delivery
from asyncwarden._patches import _pandas_derived
from asyncwarden._patches._pandas_derived import as_pandas_frame
from asyncwarden._patches._replay import Replay
from asyncwarden._patches._wrapping import patch
from asyncwarden._rules import _catalog, _first_use
from asyncwarden._tracking import _callsite, _lineage
from asyncwarden._tracking._combination import Combination, grouped_sources
from asyncwarden._tracking._lineage import Link, Source

# pandas' DataFrame.join calls merge/concat internally: only the outermost call is the user's.
_inside: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "asyncwarden_in_pandas", default=False
)

Wrapped = Callable[..., Any]
Wrapper = Callable[[Wrapped, Any, tuple[Any, ...], dict[str, Any]], Any]


_index_of = operator.attrgetter("index")
_range_of = operator.attrgetter("_range")
_sources_of = operator.attrgetter("sources")

# pandas.RangeIndex, set by ``install`` (this module is only used once pandas is imported).
_range_index: type = range  # a placeholder no index is an instance of


def _index_ranges(frames: list[Any]) -> tuple[range, ...]:
    """The inputs' RangeIndex bounds: what AW102 needs if the result is joined on its index.

    Only read here, in C-level passes (1,000 frames per concat make every per-frame Python step
    count); whether the labels repeat is worked out by the rule, on the rare join that asks.
    The frames are linked ones, so DataFrames or Series.
    """
    indexes = list(map(_index_of, frames))
    try:
        # RangeIndex keeps a plain range: 10x cheaper to read than len/start/stop/step. Other
        # index types have no ``_range``: then the RangeIndexes are picked out first.
        bounds = tuple(map(_range_of, indexes))
    except AttributeError:
        indexes = [i for i in indexes if type(i) is _range_index]
        try:
            bounds = tuple(map(_range_of, indexes))
        except AttributeError:
            bounds = ()
    if len(bounds) != len(indexes) or (bounds and type(bounds[0]) is not range):
        bounds = tuple(range(i.start, i.stop, i.step) for i in indexes)  # no plain range kept
    return bounds


def _concat_link(
    objs: list[Any],
    links: list[Link | None],
    kwargs: dict[str, Any],
    site: Any,
    groups: dict[Any, list[int]] | None = None,
    sources: tuple[Source, ...] | None = None,
) -> Link:
    if sources is None:
        sources = tuple(itertools.chain.from_iterable(map(_sources_of, filter(None, links))))
    duplicated: list[Source] = []
    # Per batch, a position listed twice is a partition concatenated twice; with the groups at
    # hand the common case (none) costs one set per batch, not a tuple per source.
    if groups is None or any(len(set(order)) != len(order) for order in groups.values()):
        seen: set[tuple[int, int]] = set()
        for source in sources:
            key = (source.batch.id, source.position)
            if key in seen:
                duplicated.append(source)
            seen.add(key)
    ranges: tuple[range, ...] = ()
    if not kwargs or (
        not kwargs.get("ignore_index")
        and kwargs.get("keys") is None
        and kwargs.get("axis", 0) in (0, "index")
    ):
        linked = objs if all(links) else list(itertools.compress(objs, links))
        ranges = _index_ranges(linked)
    return Link(sources, "concat", site, ranges, tuple(duplicated))


class _ReadMapping(Mapping[Any, Any]):
    """A mapping's values, read once, handed to pandas in the mapping's place.

    pandas reads a mapping by key (``keys()``, then ``objs[key]``); a mapping that loads a
    partition per key must load it once. A key whose read failed raises the same error again.
    """

    def __init__(self, keys: list[Any], values: dict[Any, Any], failed: Any, error: Any) -> None:
        self._keys = keys
        self._values = values
        self._failed = failed
        self._error = error

    def __getitem__(self, key: Any) -> Any:
        if self._error is not None and key == self._failed:
            raise self._error
        return self._values[key]

    def __iter__(self) -> Any:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def _read_mapping(objs: Mapping[Any, Any], keys: Any) -> tuple[Any, list[Any]]:
    """Read a mapping the way pandas will (its keys, or the ``keys=`` given), each value once."""
    try:
        order = list(objs.keys() if keys is None else keys)
    except Exception:  # pandas' own call raises the same
        return objs, []
    values: dict[Any, Any] = {}
    for key in order:
        if key in values:
            continue
        try:
            values[key] = objs[key]
        except Exception as error:  # pandas raises it where it reads this key
            return _ReadMapping(order, values, key, error), list(values.values())
    return _ReadMapping(order, values, None, None), [values[key] for key in order]


# Containers whose iteration runs no code of the program's. Subclasses are not among them.
_PLAIN = frozenset({list, tuple, dict})


def _concat_inputs(objs: Any, keys: Any = None) -> tuple[Any, list[Any]]:
    """What to hand pandas, and the objects it will concatenate, each read exactly once.

    pandas (2.2 and 3.x) rejects a frame, a string or a scalar as ``objs`` with its own TypeError,
    and reads anything else once. A plain list, tuple or dict is read here without running any
    code of the program's. Anything else is read here, once, and pandas gets what was read: a
    list (or a replay that fails where reading failed), or for a mapping its values by key. An
    iterable that loads a partition per item must load it once, not once for the guard and once
    for pandas.
    """
    kind = type(objs)
    if kind in _PLAIN:  # the common case, before the slower ABC checks; only read
        return objs, (objs if kind is list else list(objs.values() if kind is dict else objs))
    if isinstance(objs, Mapping):
        if keys is not None and type(keys) not in _PLAIN and not hasattr(keys, "__len__"):
            return objs, []  # one-shot keys: pandas alone may read them
        return _read_mapping(objs, keys)
    if objs is None or isinstance(objs, (str, bytes, *_lineage.FRAME_TYPES)):
        return objs, []
    try:
        iterator = iter(objs)
    except TypeError:
        return objs, []
    items: list[Any] = []
    try:
        items.extend(iterator)
    except BaseException as error:  # pandas' own list() gets the same items, then this error
        return Replay(items, error), items
    return items, items


def _concat(
    wrapped: Wrapped, instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    if _inside.get():
        return wrapped(*args, **kwargs)
    findings: list[Any] = []
    record: Link | None = None
    combination = None
    values: list[Any] = []
    try:
        objs = args[0] if args else kwargs.get("objs")
        keyed = kwargs.get("keys") is not None or (
            type(objs) is not list and isinstance(objs, Mapping)
        )
        passed, values = _concat_inputs(objs, kwargs.get("keys"))
        if passed is not objs:
            if args:
                args = (passed, *args[1:])
            else:
                kwargs = {**kwargs, "objs": passed}
        links = _lineage.get_many(values)
        if any(links):
            site = _callsite.capture(2)
            # Listed once, for the rules' grouping and the result's lineage alike.
            sources = tuple(itertools.chain.from_iterable(map(_sources_of, filter(None, links))))
            groups = grouped_sources(sources)
            combination = Combination("concat", site, links, keyed=keyed, groups=groups)
            findings = _catalog.check_combination(combination)
            for batch, order in groups.items():
                if batch.consumed_order is None:
                    batch.consumed_order, batch.consumed_at = order, site
            record = _concat_link(values, links, kwargs, site, groups, sources)
    except Exception as error:
        internal_error("pandas.concat", error)
        findings, record, values = [], None, []
    if _first_use.held and (used := _confirm_inputs(values)) is not None:
        raise used  # strict mode: outside the fail-open block
    start = time.time()
    token = _inside.set(True)
    try:
        result = wrapped(*args, **kwargs)
    finally:
        _inside.reset(token)
    if record is not None and combination is not None:
        try:
            _lineage.link(result, record)
            held = _hold_unordered(result, findings)
            if held is not None:
                findings = held.others
            if _observers.on_combined:
                # Row counts are index lengths, never read from the data; when every input
                # has a RangeIndex its bounds, already read, give them without a call per frame.
                ranges = record.index_ranges
                rows = map(len, ranges if len(ranges) == len(values) else values)
                # Filled in on the combination itself: the rules have run, nothing else holds it.
                combination.rows, combination.rows_out = tuple(rows), len(result)
                if held is None:
                    _observers.combined(combination, start, time.time(), findings, result)
                else:  # the combine span goes out when the hold is settled, with its outcome
                    held.combination, held.start, held.end = combination, start, time.time()
        except Exception as error:
            internal_error("pandas.concat result", error)
    if findings and (finding_error := _delivery.first_error(findings)) is not None:
        raise finding_error
    return result


def _hold_unordered(result: Any, findings: list[Any]) -> _first_use.Held | None:
    """Hold AW101 on the concat's result until its first use (``_first_use``); None if none."""
    unordered = [f for f in findings if f.code == "AW101" and not _delivery.is_allowed(f.code)]
    if not unordered:
        return None
    held = _first_use.Held(unordered, others=[f for f in findings if f not in unordered])
    return held if _first_use.hold(result, held) else None


def _confirm_inputs(frames: list[Any]) -> BaseException | None:
    """A held frame taken into a concat, merge or join: that is its first use."""
    site = None
    found = None
    for frame in frames:
        if _first_use.is_held(frame):
            site = site or _callsite.capture(1)
            found = _first_use.confirm(frame, site) or found
    return found


def _merge_sides(
    operation: str, args: tuple[Any, ...], kwargs: dict[str, Any], instance: Any
) -> tuple[Any, Any, tuple[bool, bool]]:
    if operation == "merge" and instance is None:  # pd.merge(left, right, ...)
        left = args[0] if args else kwargs.get("left")
        right = args[1] if len(args) > 1 else kwargs.get("right")
    else:  # df.merge(right, ...) / df.join(other, ...)
        left = instance
        right = args[0] if args else kwargs.get("right", kwargs.get("other"))
    if operation == "join":
        on = kwargs.get("on") if "on" in kwargs else (args[1] if len(args) > 1 else None)
        index_used = (on is None, True)
    else:
        index_used = (bool(kwargs.get("left_index")), bool(kwargs.get("right_index")))
    return left, right, index_used


def _combine(operation: str) -> Callable[[Wrapped, Any, tuple[Any, ...], dict[str, Any]], Any]:
    def wrapper(
        wrapped: Wrapped, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if _inside.get():
            return wrapped(*args, **kwargs)
        combination = None
        links: list[Link | None] = []
        try:
            left, right, index_used = _merge_sides(operation, args, kwargs, instance)
            links = [_lineage.get(left), _lineage.get(right)]
            if any(links):
                combination = Combination(
                    operation,
                    _callsite.capture(2),
                    links,
                    index_used=index_used,
                    rows=(len(left), len(right)),
                )
        except Exception as error:
            internal_error(f"pandas {operation}", error)
            combination = None
            left = right = None
        if _first_use.held and (used := _confirm_inputs([left, right])) is not None:
            raise used  # strict mode: outside the fail-open block
        start = time.time()
        token = _inside.set(True)
        try:
            result = wrapped(*args, **kwargs)
        finally:
            _inside.reset(token)
        findings: list[Any] = []
        if combination is not None:
            try:
                combination = combination.with_rows(combination.rows, len(result))
                findings = _catalog.check_combination(combination)
                sources = tuple(s for r in links if r is not None for s in r.sources)
                _lineage.link(result, Link(sources, operation, combination.site))
                if _observers.on_combined:
                    _observers.combined(combination, start, time.time(), findings, result)
            except Exception as error:
                internal_error(f"pandas {operation} result", error)
                findings = []
        if findings and (finding_error := _delivery.first_error(findings)) is not None:
            raise finding_error
        return result

    return wrapper


# -- lineage through transformations, and the first use of a held concat result ------------


def install(pandas: Any) -> None:
    """Patch pandas' public entry points; called by the post-import hook."""
    from pandas.core.frame import DataFrame

    global _range_index
    _range_index = pandas.RangeIndex
    pandas_dir = os.path.dirname(os.path.abspath(pandas.__file__))
    _callsite.add_internal_package(pandas.__file__)
    _lineage.FRAME_TYPES.update({pandas.DataFrame, pandas.Series})
    patch((pandas,), "concat", as_pandas_frame(_concat, pandas_dir, "concat"))
    patch((pandas,), "merge", as_pandas_frame(_combine("merge"), pandas_dir, "merge"))
    patch((DataFrame,), "merge", as_pandas_frame(_combine("merge"), pandas_dir, "merge"))
    patch((DataFrame,), "join", as_pandas_frame(_combine("join"), pandas_dir, "join"))
    _pandas_derived.install(pandas, pandas_dir)
