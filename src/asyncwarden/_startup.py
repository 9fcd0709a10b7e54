"""Run by ``asyncwarden.pth`` at interpreter start-up, only when ``ASYNCWARDEN`` is set.

It must never raise: a bad value prints one line and leaves the guard off.
"""

from __future__ import annotations


def _apply_warning_options() -> None:
    """Apply ``-W``/``PYTHONWARNINGS`` filters that name asyncwarden's categories.

    Python reads those options before site-packages is importable, so it rejects our categories
    ("Invalid -W option ignored"); this start-up hook runs later and applies them as written.
    """
    import sys

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


def _start() -> None:
    try:
        import sys

        from asyncwarden._config import Settings

        _apply_warning_options()
        settings, errors = Settings.from_environ()
        for error in errors:
            sys.stderr.write(f"asyncwarden: {error}; the setting falls back to its default\n")
        if settings.mode.value != "off":
            from asyncwarden._activation import install_from_settings

            install_from_settings(settings)
    except BaseException as error:
        try:
            import sys

            sys.stderr.write(
                f"asyncwarden: could not start ({type(error).__name__}: {error}); guard off\n"
            )
        except BaseException:
            pass


_start()
