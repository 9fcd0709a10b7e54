"""Waiting for the program's first import of a module the guard patches, for the start-up hook.

A small finder on ``sys.meta_path`` watches for their names, so a process that never imports
them pays for neither wrapt nor the rest of asyncwarden (the start-up budget,
docs/performance.md). When one of them has run, ``then`` (set by ``_startup``) switches the
guard on; the post-import hook of a module whose first import is still running (in another thread,
say) is held until that import has run.
"""

from __future__ import annotations

import _thread
import sys

# Not `from typing import TYPE_CHECKING`: importing typing costs start-up time; mypy reads the name.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any

    from asyncwarden._environ import Values


# distributed imports asyncio and concurrent.futures itself: watched, its hook is held until its
# own import has run, instead of firing while it is half made.
WATCHED = ("asyncio", "pandas", "concurrent.futures", "distributed")
_lock = _thread.allocate_lock()
# The settings read at start-up while they wait for a watched import (at most one entry).
pending: list[Values] = []


def _nothing() -> None:
    pass


# What finishes the start-up once a watched module has run; ``_startup`` sets it (it imports the
# guard, which imports this module: a call, not an import, keeps the two apart).
then: Callable[[], None] = _nothing


class _Finder:
    """Waits on ``sys.meta_path`` for the program's first import of a watched module.

    ``find_spec`` runs under the interpreter's global import lock, so it only finds the module
    (as wrapt's own finder does) and imports nothing: importing wrapt and the guard there could
    deadlock with another thread that is importing one of their modules. The work is done by
    ``_Loader`` once the module has run, under that module's own import lock only.
    """

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in WATCHED or not pending:
            return None
        finders = sys.meta_path
        later = False
        for finder in list(finders):
            if not later:
                later = finder is self  # the finders before this one have passed already
                continue
            find = getattr(finder, "find_spec", None)
            spec: ModuleSpec | None = None if find is None else find(fullname, path, target)
            if spec is None:
                continue
            if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = _Loader(spec.loader)  # type: ignore[assignment]
            return spec
        return None


class _Loader:
    """The module's own loader; when the module has run, the guard finishes starting."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def __getattr__(self, name: str) -> Any:
        if name == "loader":  # a copy made without __init__: no recursion
            raise AttributeError(name)
        return getattr(self.loader, name)

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        create = getattr(self.loader, "create_module", None)
        return None if create is None else create(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        # The module keeps its own loader, as if asyncwarden had not been there.
        if getattr(module, "__loader__", None) is self:
            module.__loader__ = self.loader
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            spec.loader = self.loader
        name = module.__name__
        with _lock:
            _running.add(name)
        try:
            self.loader.exec_module(module)
        finally:
            with _lock:
                _running.discard(name)
                held = _held_hooks.pop(name, [])
            then()
            _register(name, held)


FINDER = _Finder()


# Watched modules whose first import is running now (in any thread), and the post-import hooks
# held for them until they have run: wrapt fires a hook at once for a module already in
# sys.modules, even one another thread is still importing.
_running: set[str] = set()


_held_hooks: dict[str, list[Callable[[ModuleType], object]]] = {}


def hold_hook(name: str, hook: Callable[[ModuleType], object]) -> bool:
    """Keep ``hook`` for ``name`` if its first import is running now; False if it is not.

    The import registers the hook with wrapt as soon as the module has run.
    """
    with _lock:
        if name not in _running:
            return False
        _held_hooks.setdefault(name, []).append(hook)
        return True


def _register(name: str, hooks: list[Callable[[ModuleType], object]]) -> None:
    if not hooks:
        return
    try:
        import wrapt

        for hook in hooks:
            wrapt.register_post_import_hook(hook, name)  # the module is in: wrapt runs it now
    except BaseException as error:
        could_not_start(error)


def take_pending() -> Values | None:
    """The settings waiting for a watched import, handed over once; stop watching imports."""
    with _lock:
        values = pending.pop() if pending else None
        for position, finder in enumerate(sys.meta_path):
            if finder is FINDER:
                del sys.meta_path[position]
                break
    return values


def could_not_start(error: BaseException) -> None:
    try:  # noqa: SIM105 (contextlib.suppress would add an import to every start-up)
        sys.stderr.write(
            f"asyncwarden: could not start ({type(error).__name__}: {error}); guard off\n"
        )
    except BaseException:
        pass
