"""Switching the guard on and off: ``install()``, ``uninstall()``, ``guarded()``.

asyncio and pandas are patched when the program imports them (wrapt post-import hooks), never
imported early by asyncwarden itself. wrapt has no way to unregister a hook, so each hook checks the
generation it was registered in and does nothing once the guard was uninstalled.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import threading
from collections.abc import Iterator
from types import ModuleType

import wrapt

from asyncwarden import _config, _failopen
from asyncwarden._config import Mode, Settings, parse_mode
from asyncwarden._patches import _wrapping

_lock = threading.RLock()
_generation = 0


# Patched the moment the program imports them, never imported by asyncwarden itself.
PATCHED_MODULES = ("asyncio", "pandas", "concurrent.futures", "distributed")


def _importing(name: str) -> bool:
    """Whether ``name``'s first import is still running (it is in sys.modules, half made)."""
    spec = getattr(sys.modules.get(name), "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


def _when_imported(module_name: str, apply: str) -> None:
    generation = _generation

    def hook(module: ModuleType) -> None:
        if generation != _generation or not _config.CONFIG.installed:
            return
        # asyncwarden's own modules import asyncio. Under `import pandas; import asyncio` their
        # import below would be what imports asyncio first, and asyncio's hook would then run
        # while one of them is half imported, fail, and leave asyncio unpatched. Importing
        # asyncio before any of them runs that hook now, from a clean state.
        if apply == "distributed" and (
            _importing("asyncio") or _importing("distributed.client") or not hasattr(module, "wait")
        ):
            return  # fired from inside its import, half made: left unpatched, never broken
        if apply == "concurrent.futures":
            if _importing("asyncio"):
                return  # asyncio imports it; asyncio's hook, once asyncio is whole, patches both
            # The hook runs at the end of the submodule's own import, before importlib binds it
            # to its package; asyncio, imported below, reads `concurrent.futures` as an
            # attribute. Bound now, as importlib binds it a moment later.
            sys.modules["concurrent"].futures = module  # type: ignore[attr-defined]
        try:
            import asyncio  # noqa: F401

            if apply == "asyncio":
                from asyncwarden._patches import _asyncio, _futures

                _asyncio.install()
                _futures.install()
            elif apply == "concurrent.futures":
                from asyncwarden._patches import _futures

                _futures.install()
            elif apply == "distributed":
                from asyncwarden._patches import _dask

                _dask.install(module)
            else:
                from asyncwarden._patches import _pandas

                _pandas.install(module)
        except Exception as error:
            _failopen.internal_error(f"patching {module_name}", error)
        try:
            from asyncwarden._sinks import _wiring

            _wiring.install()
        except Exception as error:
            _failopen.internal_error("installing the sinks", error)

    if "asyncwarden._activation._first_import" in sys.modules:
        from asyncwarden._activation import _first_import

        if _first_import.hold_hook(module_name, hook):
            return  # its first import is running (maybe in another thread): registered once run
    wrapt.register_post_import_hook(hook, module_name)


def install(mode: str | Mode = "warn", **options: object) -> None:
    """Switch the guard on. Idempotent: a second call only changes the mode.

    ``options`` override the other settings (``log``, ``trace_file``, ``task_spans``, ``repeat``).
    """
    global _generation
    chosen = parse_mode(mode, "mode")
    with _lock:
        config = _config.CONFIG
        config.settings = dataclasses.replace(config.settings, mode=chosen, **options)  # type: ignore[arg-type]
        if chosen is Mode.OFF:
            uninstall()
            return
        if _config.CONFIG.installed:
            if options and any(name in sys.modules for name in PATCHED_MODULES):
                from asyncwarden._sinks import _wiring  # the hooks ran already: re-read the options

                _wiring.install()
            return
        _config.CONFIG.installed = True
        _generation += 1
        for name in PATCHED_MODULES:
            _when_imported(name, name)


def install_from_settings(settings: Settings) -> None:
    with _lock:
        _config.CONFIG.settings = settings
    if settings.mode is not Mode.OFF:
        install(settings.mode)


def finish_start_up() -> None:
    """Switch on the guard the start-up hook read from the environment and left waiting.

    The hook (``_startup``) waits for the program's first import of a watched module; this runs
    then, or earlier when anything imports this module, so ``install()``, ``is_installed()`` and
    the rest see the guard the environment asked for.
    """
    if "asyncwarden._activation._first_import" not in sys.modules:
        return  # no start-up hook ran in this process
    from asyncwarden._activation import _first_import

    values = _first_import.take_pending()
    if values is not None:
        install_from_settings(Settings.from_values(values))


def uninstall() -> None:
    """Switch the guard off and put back the exact original objects. Idempotent."""
    global _generation
    with _lock:
        _generation += 1
        _config.CONFIG.installed = False
        _wrapping.restore_all()
        _config.CONFIG.settings = dataclasses.replace(_config.CONFIG.settings, mode=Mode.OFF)
        from asyncwarden._sinks import _wiring

        _wiring.uninstall()


def is_installed() -> bool:
    """Whether the guard is on."""
    return _config.CONFIG.installed


@contextlib.contextmanager
def guarded(mode: str | Mode = "warn", **options: object) -> Iterator[None]:
    """Switch the guard on for a block, then restore what was there before."""
    with _lock:
        before = (_config.CONFIG.installed, _config.CONFIG.settings)
    install(mode, **options)
    try:
        yield
    finally:
        was_installed, settings = before
        if was_installed:
            install(settings.mode)
            _config.CONFIG.settings = settings
        else:
            uninstall()
            _config.CONFIG.settings = settings


# Whoever imports this module first (the start-up hook at asyncio's or pandas' import, install(),
# is_installed(), the CLI, the pytest plugin) finds the guard the environment asked for.
finish_start_up()
