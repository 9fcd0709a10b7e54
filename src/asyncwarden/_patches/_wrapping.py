"""Patching in layers, the wrapt way: find the attribute, replace it, remember the original.

wrapt does not un-patch; this registry keeps every original and restores exactly those objects.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from typing import Any, SupportsIndex

import wrapt

Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]


def _resolve_name(name: str) -> Any:
    import pkgutil  # only when a patched callable is pickled

    return pkgutil.resolve_name


class _BoundFunctionWrapper(wrapt.BoundFunctionWrapper):  # type: ignore[misc]
    """A patched method read from an instance (``df.merge``): pickles as a bound method does."""

    def __reduce_ex__(self, protocol: SupportsIndex) -> Any:
        instance = self._self_instance
        if instance is None:  # read from the class (``DataFrame.merge``): the function itself
            return self._self_parent.__reduce_ex__(protocol)
        return getattr, (instance, self.__name__)

    def __copy__(self) -> Any:
        instance = self._self_instance
        return self if instance is None else getattr(instance, self.__name__)

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        instance = self._self_instance
        if instance is None:
            return self
        return getattr(copy.deepcopy(instance, memo), self.__name__)


class FunctionWrapper(wrapt.FunctionWrapper):  # type: ignore[misc]
    """wrapt's ``FunctionWrapper``, pickled by reference to where it was patched in.

    wrapt's proxies refuse to be pickled or copied until they say how (``__reduce_ex__``,
    ``__copy__``, ``__deepcopy__``). The original is
    pickled by reference, so the patched callable is too: by its place, ``"pandas:concat"``, which
    unpickles (``pkgutil.resolve_name``) to whatever that place holds in the reading process,
    patched or not. A pickle never names asyncwarden: a process without it reads it as well.
    (The original's own reference would not do: ``pandas.concat`` was patched, the
    ``pandas.core.reshape.concat.concat`` it names was not.)
    """

    __bound_function_wrapper__ = _BoundFunctionWrapper

    def __init__(self, wrapped: Any, wrapper: Wrapper, where: str) -> None:
        super().__init__(wrapped, wrapper)
        self._self_where = where

    def __reduce_ex__(self, protocol: SupportsIndex) -> Any:
        return _resolve_name(self._self_where), (self._self_where,)

    # A function is copied as itself, by copy and deepcopy alike.
    def __copy__(self) -> Any:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self


def _place(owner: object, name: str) -> str:
    """Where ``owner.name`` is found, as ``pkgutil.resolve_name`` reads it."""
    if isinstance(owner, type):
        return f"{owner.__module__}:{owner.__qualname__}.{name}"
    return f"{getattr(owner, '__name__', '')}:{name}"


_lock = threading.RLock()
# (owner, attribute, original) in the order they were applied.
_applied: list[tuple[object, str, object]] = []


def patch(owners: tuple[object, ...], name: str, wrapper: Wrapper) -> None:
    """Wrap ``owner.name`` on every owner with ``wrapper``; one wrapper per distinct object.

    An attribute another library already wrapped (OpenTelemetry's asyncio instrumentation wraps
    ``asyncio.gather`` but not ``asyncio.tasks.gather``) gets our wrapper stacked on top of theirs,
    so the user's call still passes through both; uninstall puts theirs back.
    """
    with _lock:
        made: dict[int, object] = {}
        for owner in owners:
            # Look in the owner's own namespace: a class attribute fetched with getattr is bound.
            current = (
                vars(owner).get(name) if isinstance(owner, type) else getattr(owner, name, None)
            )
            if current is None or getattr(current, "_self_wrapper", None) is wrapper:
                continue  # missing here, or already ours
            wrapped = made.get(id(current))
            if wrapped is None:
                wrapped = made[id(current)] = FunctionWrapper(current, wrapper, _place(owner, name))
            wrapt.apply_patch(owner, name, wrapped)
            _applied.append((owner, name, current))


def _replacement(
    owner: type, name: str, make: Callable[[Callable[..., Any]], Any]
) -> tuple[Any, Any] | None:
    """(original, ``make(original)`` dressed as the original), or None to leave ``name`` alone.

    None when ``name`` is not the owner's own attribute or is already one of ours.
    """
    original = vars(owner).get(name)
    if original is None or getattr(original, "__asyncwarden_original__", None) is not None:
        return None
    replacement = functools.update_wrapper(make(original), original)
    replacement.__asyncwarden_original__ = original  # type: ignore[attr-defined]
    return original, replacement


def patch_method(
    owner: type, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]
) -> None:
    """Replace a method that runs once per task by the plain function ``make(original)``.

    For per-task paths only (``TaskGroup.create_task``): a wrapt wrapper's call costs 1.2-2 us
    on CPython 3.11, more than all of asyncwarden's per-task bookkeeping (docs/performance.md).
    The function carries the original's name, docstring and ``__wrapped__`` (so its signature).
    """
    with _lock:
        made = _replacement(owner, name, make)
        if made is not None:
            original, replacement = made
            setattr(owner, name, replacement)
            _applied.append((owner, name, original))


class Switchable:
    """Methods replaced only while something needs them; the class's own methods otherwise.

    A Python function in front of a pandas method is one more frame and one more reference to
    ``self``: pandas warnings issued with a fixed ``stacklevel`` would name that frame, and
    pandas' chained-assignment checks (``sys.getrefcount(self)``) would miss. Methods that only
    matter while a frame is held (``_rules._first_use``) are therefore in place only then.
    ``restore_all`` (uninstall) switches every set off.
    """

    def __init__(self) -> None:
        self._entries: list[tuple[type, str, Any, Any]] = []
        with _lock:
            _switchables.append(self)

    def add(self, owner: type, name: str, make: Callable[[Callable[..., Any]], Any]) -> None:
        with _lock:
            made = _replacement(owner, name, make)
            if made is not None:
                self._entries.append((owner, name, *made))

    def switch(self, on: bool) -> None:
        """Put the replacements in place (``on``) or the originals back."""
        with _lock:
            for owner, name, original, replacement in self._entries:
                current = vars(owner).get(name)
                if on and current is original:
                    setattr(owner, name, replacement)
                elif not on and current is replacement:
                    setattr(owner, name, original)


_switchables: list[Switchable] = []


# Stands for "the class only inherited this attribute": restoring deletes the wrapper.
_INHERITED = object()


def patch_inherited(owner: type, name: str, wrapper: Wrapper) -> None:
    """Wrap a method ``owner`` inherits from a base that cannot be patched (a C or Cython type).

    The wrapper is set on ``owner`` itself; restoring deletes it, so the inherited method shows
    through again.
    """
    with _lock:
        if name in vars(owner):
            patch((owner,), name, wrapper)
            return
        original = getattr(owner, name)
        if isinstance(original, wrapt.FunctionWrapper):
            return
        wrapt.apply_patch(owner, name, FunctionWrapper(original, wrapper, _place(owner, name)))
        _applied.append((owner, name, _INHERITED))


def restore_all() -> None:
    """Put back every original object, most recent patch first."""
    with _lock:
        while _switchables:
            _switchables.pop().switch(False)
        while _applied:
            owner, name, original = _applied.pop()
            if original is _INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


def replacements() -> list[tuple[object, object]]:
    """(original, what replaced it) for each patch applied: for rebinding names bound earlier."""
    with _lock:
        found = []
        for owner, name, original in _applied:
            if original is _INHERITED:
                continue
            current = vars(owner).get(name) if isinstance(owner, type) else getattr(owner, name)
            if current is not original:
                found.append((original, current))
        return found


def is_patched() -> bool:
    with _lock:
        return bool(_applied)
