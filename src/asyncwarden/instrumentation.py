"""``AsyncWardenInstrumentor``: asyncwarden as an OpenTelemetry instrumentation.

Registered under the ``opentelemetry_instrumentor`` entry point, so ``opentelemetry-instrument
python app.py`` switches the guard on (warn mode, unless ``ASYNCWARDEN`` says otherwise) next to
the other instrumentations, with its spans and metrics going to the providers the distro set up.
In code, like any instrumentation::

    from asyncwarden.instrumentation import AsyncWardenInstrumentor

    AsyncWardenInstrumentor().instrument(tracer_provider=provider, meter_provider=meters)

It subclasses ``opentelemetry-instrumentation``'s ``BaseInstrumentor``; without that package,
importing this module raises an ``ImportError`` that says what to install.
``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=asyncwarden`` leaves asyncwarden out, as for any other.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Collection
from typing import Any

__all__ = ["AsyncWardenInstrumentor"]


try:
    # mypy does not find the class through opentelemetry's namespace package (it reads Any)
    from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
        BaseInstrumentor,
    )
except ImportError as error:  # the instrumentation API is optional: say what to install
    raise ImportError(
        "asyncwarden.instrumentation needs the OpenTelemetry instrumentation API: "
        "pip install opentelemetry-instrumentation"
    ) from error


class AsyncWardenInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Switches the guard on and sends its spans and metrics through OpenTelemetry.

    ``instrument()`` accepts ``tracer_provider=`` and ``meter_provider=``; without them the global
    providers are used. The mode comes from ``ASYNCWARDEN`` when it is set (``off`` keeps the
    guard off), else warn.
    """

    _turned_on = False

    def instrumentation_dependencies(self) -> Collection[str]:
        # asyncio is the standard library and pandas is a dependency of asyncwarden itself.
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        from asyncwarden._activation import _guard
        from asyncwarden._config import Mode, Settings
        from asyncwarden._environ import MODE_VARIABLE
        from asyncwarden._sinks._telemetry import _control

        if not _guard.is_installed():
            settings, errors = Settings.from_environ()
            if MODE_VARIABLE not in os.environ:
                # The start-up hook only runs when ASYNCWARDEN is set, so nothing reported these.
                for error in errors:
                    sys.stderr.write(
                        f"asyncwarden: {error}; the setting falls back to its default\n"
                    )
                settings = dataclasses.replace(settings, mode=Mode.WARN)
            if settings.mode is not Mode.OFF:
                _guard.install_from_settings(settings)
                type(self)._turned_on = True
        _control.use_providers(kwargs.get("tracer_provider"), kwargs.get("meter_provider"))

    def _uninstrument(self, **kwargs: Any) -> None:
        from asyncwarden._activation import _guard
        from asyncwarden._sinks._telemetry import _control

        _control.use_providers(None, None)
        if type(self)._turned_on:
            type(self)._turned_on = False
            _guard.uninstall()
