"""Run by ``asyncwarden.pth`` at interpreter start-up, only when ``ASYNCWARDEN`` is set.

It must never raise: a bad value prints one line and leaves the guard off.

The settings are read at once (a bad value is reported before the program runs), but switching
the guard on waits for the program's first import of asyncio or pandas: a small finder on
``sys.meta_path`` watches for the two names, so a process that never imports them pays for
neither wrapt nor the rest of asyncwarden (the start-up budget, docs/performance.md). When one
of them has run, ``_activation`` registers wrapt's post-import hooks as ``install()`` does, and
wrapt fires them at once for a module already imported; the hook of a module whose first import
is still running (in another thread, say) is held until that import has run. Importing
``_activation`` by any other way (``install()``, ``is_installed()``, the CLI, the pytest plugin)
finishes the start-up too.
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

_WATCHED = ("asyncio", "pandas")
_lock = _thread.allocate_lock()
# The settings read at start-up while they wait for asyncio or pandas (at most one entry).
_pending: list[Values] = []


def _apply_warning_options() -> None:
    """Apply ``-W``/``PYTHONWARNINGS`` filters that name asyncwarden's categories.

    Python reads those options before site-packages is importable, so it rejects our categories
    ("Invalid -W option ignored"); this start-up hook runs later and applies them as written.
    """
    options = [o for o in sys.warnoptions if "asyncwarden." in o]
    if not options:
        return
    import re
    import warnings

    from asyncwarden import exceptions

    actions = ("default", "error", "ignore", "always", "module", "once")
    for option in options:
        action, message, category, module, lineno = [*option.split(":"), "", "", "", "", ""][:5]
        klass = getattr(exceptions, category.strip().rpartition(".")[2], None)
        chosen = [a for a in actions if a.startswith(action.strip() or "default")]
        if not (isinstance(klass, type) and issubclass(klass, Warning) and len(chosen) == 1):
            continue
        warnings.filterwarnings(
            chosen[0],  # type: ignore[arg-type]
            re.escape(message.strip()),
            klass,
            re.escape(module.strip()) + r"\Z" if module.strip() else "",
            int(lineno) if lineno.strip().isdigit() else 0,
        )


class _Finder:
    """Waits on ``sys.meta_path`` for the program's first import of asyncio or pandas.

    ``find_spec`` runs under the interpreter's global import lock, so it only finds the module
    (as wrapt's own finder does) and imports nothing: importing wrapt and the guard there could
    deadlock with another thread that is importing one of their modules. The work is done by
    ``_Loader`` once the module has run, under that module's own import lock only.
    """

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in _WATCHED or not _pending:
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
            _finish()
            _register(name, held)


_FINDER = _Finder()
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
        _could_not_start(error)


def take_pending() -> Values | None:
    """The settings waiting for asyncio or pandas, handed over once; stop watching imports."""
    with _lock:
        values = _pending.pop() if _pending else None
        for position, finder in enumerate(sys.meta_path):
            if finder is _FINDER:
                del sys.meta_path[position]
                break
    return values


def _finish() -> None:
    if not _pending:
        # Another thread's first import took the settings and is switching the guard on; waiting
        # for it here (on _activation's import lock) could close a cycle of module locks.
        return
    try:
        from asyncwarden._activation import _guard

        _guard.finish_start_up()
    except BaseException as error:
        _could_not_start(error)


def _could_not_start(error: BaseException) -> None:
    try:  # noqa: SIM105 (contextlib.suppress would add an import to every start-up)
        sys.stderr.write(
            f"asyncwarden: could not start ({type(error).__name__}: {error}); guard off\n"
        )
    except BaseException:
        pass


def _start() -> None:
    try:
        import os

        from asyncwarden import _environ

        _apply_warning_options()
        values, errors = _environ.read(os.environ)
        for error in errors:
            sys.stderr.write(f"asyncwarden: {error}; the setting falls back to its default\n")
        if values.get("mode", "off") == "off":
            return
        _pending.append(values)
        if "asyncio" in sys.modules or "pandas" in sys.modules:
            _finish()  # imported before this hook ran (another .pth file): patch them now
        else:
            sys.meta_path.insert(0, _FINDER)  # type: ignore[arg-type]
    except BaseException as error:
        _could_not_start(error)


_start()
