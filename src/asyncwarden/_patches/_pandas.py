"""The pandas half of the patch layer: concat, merge, DataFrame.merge, DataFrame.join.

Applied when the program imports pandas. Per call the guard looks up each input frame once
(O(number of frames), never O(rows)), never copies, mutates or annotates the user's data.
"""

from __future__ import annotations

import contextvars
import itertools
import operator
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from asyncwarden import _observers
from asyncwarden._failopen import internal_error
from asyncwarden._findings import _delivery
from asyncwarden._patches._replay import Replay
from asyncwarden._patches._wrapping import Switchable, is_patched, patch, patch_method
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
_F = TypeVar("_F", bound=Callable[..., Any])


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

_links = _lineage.links_table()


def _make_finalize(original: Callable[..., Any]) -> Callable[..., Any]:
    """``NDFrame.__finalize__``: pandas calls it on nearly every frame it derives from another.

    pandas uses it to carry ``attrs`` and ``flags`` from an input to a result (``assign``,
    ``rename``, ``astype``, filters, ``loc``/``iloc``, ``query``, ``fillna``, ``copy``, ...).
    When the input is a linked frame, the result is linked too (``_lineage.link_derived``), and
    a held concat result meets its first use (``_first_use``). A plain function, not a wrapt
    wrapper: it runs several times per pandas operation; with no linked input it costs a dict
    lookup.
    """
    links_get = _links.get
    held = _first_use.held

    def __finalize__(self: Any, other: Any, method: Any = None, **kwargs: Any) -> Any:
        result = original(self, other, method, **kwargs)
        ref = links_get(id(other))
        # A Series made from a linked frame (a column) carries no partition: only a held frame
        # needs a look then.
        if ref is not None and (type(self) is type(other) or held) and self is not other:
            used = _derived(self, other, ref)
            if used is not None:
                raise used  # strict mode: the first use of a held concat result
        return result

    return __finalize__


def _derived(frame: Any, other: Any, ref: Any) -> BaseException | None:
    try:
        if ref() is not other:
            return None
        if type(frame) is type(other):
            _lineage.link_derived(frame, ref.record)
        if not _first_use.held or not _first_use.is_held(other):
            return None
        site = _callsite.capture(1)
    except Exception as error:
        internal_error("pandas derived frame", error)
        return None
    return _first_use.confirm(other, site)


def _settling(
    settle: Callable[[Any], BaseException | None],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A method the program calls that clears or confirms a held frame before it runs."""

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            if _first_use.held and _first_use.is_held(self) and _by_the_program():
                used = settle(self)
                if used is not None:
                    raise used  # strict mode: before the write or export happens
            return original(self, *args, **kwargs)

        return method

    return make


def _confirm_here(frame: Any) -> BaseException | None:
    return _first_use.confirm(frame, _callsite.capture(1))


def _make_setitem(original: Callable[..., Any]) -> Callable[..., Any]:
    """``frame[column] = values`` numbers the rows as they are when ``values`` is positional.

    A list, range, array or Index is laid along the rows in their current order
    (``lines["line"] = lines.index + 1``): a use of the order. A scalar is the same everywhere
    and a Series is aligned by label: neither is.
    """

    def __setitem__(self: Any, key: Any, value: Any) -> Any:
        if _first_use.held and _first_use.is_held(self) and _positional(value):
            used = _first_use.confirm(self, _callsite.capture(1))
            if used is not None:
                raise used
        return original(self, key, value)

    return __setitem__


def _positional(value: Any) -> bool:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        return False
    return type(value) not in _lineage.FRAME_TYPES


def _by_the_program() -> bool:
    """Whether the patched method was called by the program, not by pandas on its own behalf.

    pandas calls ``copy``, ``reindex`` and others inside its operations (``reset_index`` copies
    first): only the program's own call clears or hands on a hold. Frame 0 is this function,
    1 the patched method, 2 its caller.
    """
    return not _callsite.is_internal(sys._getframe(2).f_code.co_filename)


def _handing_on(original: Callable[..., Any]) -> Callable[..., Any]:
    """A row-wise step that keeps every row where it was hands a hold on to the frame it returns.

    ``pd.concat(frames).assign(v=...).sort_values(key)`` and ``set_index(key).sort_index()``
    re-index before anything reads the order; the step in between does not read it either.
    """

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not (_first_use.held and _first_use.is_held(self) and _by_the_program()):
            return original(self, *args, **kwargs)
        record = _first_use.take(self)
        result = original(self, *args, **kwargs)
        if record is not None:
            target = self if result is None else result  # inplace=True
            if not _first_use.hold(target, record):
                used = _first_use.hold_failed(record)
                if used is not None:
                    raise used
        return result

    return method


def _make_groupby(original: Callable[..., Any]) -> Callable[..., Any]:
    """``groupby`` with its default ``sort=True`` orders groups by key: the program re-indexed."""

    def groupby(self: Any, *args: Any, **kwargs: Any) -> Any:
        if (
            _first_use.held
            and _first_use.is_held(self)
            and kwargs.get("sort", True) is not False
            and _by_the_program()
        ):
            _first_use.clear(self)
        return original(self, *args, **kwargs)

    return groupby


# Row-wise steps that keep each row where it was: a hold on the frame moves to their result.
_HANDING_ON = (
    "set_index",
    "assign",
    "rename",
    "astype",
    "drop",
    "fillna",
    "dropna",
    "query",
    "replace",
    "copy",
)
# Re-indexing by the program: the rows are put in an order of its own making.
_CLEARING = ("sort_values", "sort_index", "reindex")
# Uses that read the rows in the order they are in, without making a frame pandas finalizes.
_CONFIRMING = (
    "to_csv",
    "to_parquet",
    "to_json",
    "to_excel",
    "to_sql",
    "to_feather",
    "to_pickle",
    "to_string",
    "to_dict",
    "to_records",
    "to_numpy",
    "itertuples",
    "iterrows",
)


# The methods that settle a held frame, in place only while a frame is held (``Switchable``).
_settlers = Switchable()


def _switch_settlers(on: bool) -> None:
    _settlers.switch(on and is_patched())


def _patch_first_use(pandas: Any, pandas_dir: str) -> None:
    global _settlers
    from pandas.core.generic import NDFrame

    def own(
        make: Callable[[Callable[..., Any]], Callable[..., Any]], name: str
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        # These hooks sit between pandas' frames (pandas calls __finalize__ from inside its
        # operations): each counts as pandas' own, or pandas' warnings would name this module.
        return lambda original: _as_pandas_frame(make(original), pandas_dir, name)

    # Always in place: lineage follows every derived frame. It runs after pandas' own work, on
    # the result, so it adds no reference to a frame pandas counts references of.
    patch_method(NDFrame, "__finalize__", own(_make_finalize, "__finalize__"))
    _settlers.switch(False)
    _settlers = settlers = Switchable()
    for name in _HANDING_ON:
        _add_where_defined(settlers, pandas.DataFrame, name, own(_handing_on, name))
    for cls in (pandas.DataFrame, pandas.Series):
        _add_where_defined(settlers, cls, "groupby", own(_make_groupby, "groupby"))
    settlers.add(pandas.DataFrame, "__setitem__", own(_make_setitem, "__setitem__"))
    for cls in (pandas.DataFrame, pandas.Series):
        for name in _CLEARING:
            _add_where_defined(settlers, cls, name, own(_settling(_first_use.clear), name))
        for name in _CONFIRMING:
            _add_where_defined(settlers, cls, name, own(_settling(_confirm_here), name))
    if _switch_settlers not in _observers.on_holding:
        _observers.on_holding.append(_switch_settlers)
    _switch_settlers(bool(_first_use.held))


def _add_where_defined(
    settlers: Switchable,
    cls: type,
    name: str,
    make: Callable[[Callable[..., Any]], Callable[..., Any]],
) -> None:
    for owner in cls.__mro__:
        if name in vars(owner):
            if owner.__module__.split(".")[0] == "pandas":
                settlers.add(owner, name, make)
            return


def _as_pandas_frame(function: _F, pandas_dir: str, name: str) -> _F:
    """Make the wrapper's frame count as pandas' own, and read as the patched ``name``.

    pandas points its warnings at the first frame outside its folder (``find_stack_level``, a
    prefix test on the file name); the wrapper's frame would take the user's place there. Its
    code object names this module's real file through pandas' folder
    (``.../pandas/../asyncwarden/...``): pandas counts the frame as its own, so its warnings still
    name the user's line, and a traceback (a strict-mode ``FindingError`` is raised in this frame)
    shows a file that exists, with its source line, in a function named like pandas' own.
    """
    code = function.__code__
    real = os.path.realpath(code.co_filename)
    try:
        filename = os.path.join(pandas_dir, os.path.relpath(real, os.path.realpath(pandas_dir)))
    except ValueError:  # on another drive (Windows): no path through pandas' folder
        filename = real
    function.__code__ = code.replace(co_filename=filename, co_name=name)
    return function


def install(pandas: Any) -> None:
    """Patch pandas' public entry points; called by the post-import hook."""
    from pandas.core.frame import DataFrame

    global _range_index
    _range_index = pandas.RangeIndex
    pandas_dir = os.path.dirname(os.path.abspath(pandas.__file__))
    _callsite.add_internal_package(pandas.__file__)
    _lineage.FRAME_TYPES.update({pandas.DataFrame, pandas.Series})
    patch((pandas,), "concat", _as_pandas_frame(_concat, pandas_dir, "concat"))
    patch((pandas,), "merge", _as_pandas_frame(_combine("merge"), pandas_dir, "merge"))
    patch((DataFrame,), "merge", _as_pandas_frame(_combine("merge"), pandas_dir, "merge"))
    patch((DataFrame,), "join", _as_pandas_frame(_combine("join"), pandas_dir, "join"))
    _patch_first_use(pandas, pandas_dir)
