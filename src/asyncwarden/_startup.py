"""Run by ``asyncwarden.pth`` at interpreter start-up, only when ``ASYNCWARDEN`` (or
``ASYNCWARDEN_TRACE_FILE``) is set.

It must never raise: a bad value prints one line and leaves the guard off.

The settings are read at once (a bad value is reported before the program runs), but switching
the guard on waits for the program's first import of a module it patches (``_activation``'s
``_first_import`` watches for it). When one of them has run,
``_activation._guard`` registers wrapt's post-import hooks as ``install()`` does, and wrapt fires
them at once for a module already imported. Importing ``_activation._guard`` by any other way
(``install()``, ``is_installed()``, the CLI, the pytest plugin) finishes the start-up too.

This module stays at the package's top: every installed ``asyncwarden.pth`` names it.
"""

from __future__ import annotations

import sys

from asyncwarden._activation import _first_import


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


def _finish() -> None:
    if not _first_import.pending:
        # Another thread's first import took the settings and is switching the guard on; waiting
        # for it here (on _activation's import lock) could close a cycle of module locks.
        return
    try:
        from asyncwarden._activation import _guard

        _guard.finish_start_up()
    except BaseException as error:
        _first_import.could_not_start(error)


def _trace_file_unused(path: str) -> None:
    """At exit: the trace file was asked for, the guard never came on, the file is empty."""
    try:
        import os

        guard = sys.modules.get("asyncwarden._activation._guard")
        if guard is not None and guard.is_installed():
            return
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return
        sys.stderr.write(
            "asyncwarden: ASYNCWARDEN_TRACE_FILE is set but the guard never came on, so nothing "
            "was written: set ASYNCWARDEN=warn (opentelemetry-instrument switches it on only when "
            "OpenTelemetry's own set-up succeeds)\n"
        )
    except BaseException:
        pass


def _start() -> None:
    try:
        import os

        if "ASYNCWARDEN" not in os.environ:
            # Only the trace file is set: opentelemetry-instrument may switch the guard on later.
            # If nothing does, an empty file would be all the user gets; say why at exit.
            path = os.environ.get("ASYNCWARDEN_TRACE_FILE", "").strip()
            if path:
                import atexit

                atexit.register(_trace_file_unused, os.path.abspath(path))
            return

        from asyncwarden import _environ

        _apply_warning_options()
        values, errors = _environ.read(os.environ)
        for error in errors:
            sys.stderr.write(f"asyncwarden: {error}; the setting falls back to its default\n")
        if values.get("mode", "off") == "off":
            return
        _first_import.pending.append(values)
        _first_import.then = _finish
        if any(name in sys.modules for name in _first_import.WATCHED):
            _finish()  # imported before this hook ran (another .pth file): patch them now
        else:
            sys.meta_path.insert(0, _first_import.FINDER)  # type: ignore[arg-type]
    except BaseException as error:
        _first_import.could_not_start(error)


_start()
