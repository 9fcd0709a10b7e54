"""Run by ``asyncwarden.pth`` at interpreter start-up, only when ``ASYNCWARDEN`` is set.

It must never raise: a bad value prints one line and leaves the guard off.
"""

from __future__ import annotations


def _start() -> None:
    try:
        import sys

        from asyncwarden._config import Settings

        settings, errors = Settings.from_environ()
        for error in errors:
            sys.stderr.write(f"asyncwarden: {error}; the setting falls back to its default\n")
        from asyncwarden._activation import install_from_settings

        install_from_settings(settings)
    except BaseException as error:  # noqa: BLE001 - start-up must never take the program down
        try:
            import sys

            sys.stderr.write(f"asyncwarden: could not start ({type(error).__name__}: {error}); guard off\n")
        except BaseException:  # noqa: S110
            pass


_start()
