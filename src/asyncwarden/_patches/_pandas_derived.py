"""Frames derived from a task's frame, and the first use of a held concat result.

pandas hands nearly every frame it derives from another to ``NDFrame.__finalize__``; a hook
there links the result to the sources of the frame it came from (lineage through ``assign``,
``rename``, filters, ...). The methods that settle a held AW101 (``_rules._first_use``) by
clearing it (a sort, a reindex), handing it on (``assign``, ``set_index``, ...) or confirming it
(a write, a positional column) are on pandas' classes only while a result is held.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from asyncwarden import _observers
from asyncwarden._failopen import internal_error
from asyncwarden._patches._wrapping import Switchable, is_patched, patch_method
from asyncwarden._rules import _first_use
from asyncwarden._tracking import _callsite, _lineage

_F = TypeVar("_F", bound=Callable[..., Any])

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


def install(pandas: Any, pandas_dir: str) -> None:
    """Hook ``__finalize__`` and make the settling methods; called by ``_pandas.install``."""
    global _settlers
    from pandas.core.generic import NDFrame

    def own(
        make: Callable[[Callable[..., Any]], Callable[..., Any]], name: str
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        # These hooks sit between pandas' frames (pandas calls __finalize__ from inside its
        # operations): each counts as pandas' own, or pandas' warnings would name this module.
        return lambda original: as_pandas_frame(make(original), pandas_dir, name)

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


def as_pandas_frame(function: _F, pandas_dir: str, name: str) -> _F:
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
