"""``AsyncWardenInstrumentor``: asyncwarden as an OpenTelemetry instrumentation.

Registered under the ``opentelemetry_instrumentor`` entry point, so ``opentelemetry-instrument
python app.py`` switches the guard on (warn mode, unless ``ASYNCWARDEN`` says otherwise) next to
the other instrumentations, with its spans and metrics going to the providers the distro set up.
In code, like any instrumentation::

    from asyncwarden.instrumentation import AsyncWardenInstrumentor

    AsyncWardenInstrumentor().instrument(tracer_provider=provider, meter_provider=meters)

It follows ``opentelemetry-instrumentation``'s ``BaseInstrumentor`` and subclasses it when that
package is installed; without it, a stand-in of the same shape keeps this module importable.
``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=asyncwarden`` leaves asyncwarden out, as for any other.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

__all__ = ["AsyncWardenInstrumentor"]


class _StandInInstrumentor:
    """The shape of ``BaseInstrumentor`` (a singleton with ``instrument``/``uninstrument``)."""

    _instance: Any = None
    _is_instrumented_by_opentelemetry = False

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls._instance is None:
            cls._instance = object.__new__(cls)
        return cls._instance

    @property
    def is_instrumented_by_opentelemetry(self) -> bool:
        return self._is_instrumented_by_opentelemetry

    def instrumentation_dependencies(self) -> Collection[str]:
        raise NotImplementedError

    def _instrument(self, **kwargs: Any) -> Any:
        raise NotImplementedError

    def _uninstrument(self, **kwargs: Any) -> Any:
        raise NotImplementedError

    def instrument(self, **kwargs: Any) -> Any:
        if self._is_instrumented_by_opentelemetry:
            return None
        kwargs.pop("skip_dep_check", None)
        kwargs.pop("raise_exception_on_conflict", None)
        result = self._instrument(**kwargs)
        self._is_instrumented_by_opentelemetry = True
        return result

    def uninstrument(self, **kwargs: Any) -> Any:
        if not self._is_instrumented_by_opentelemetry:
            return None
        result = self._uninstrument(**kwargs)
        self._is_instrumented_by_opentelemetry = False
        return result


if TYPE_CHECKING:  # typed against the shape, whether or not the package is installed
    BaseInstrumentor = _StandInInstrumentor
else:
    try:
        from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
    except ImportError:  # opentelemetry-instrumentation is optional
        BaseInstrumentor = _StandInInstrumentor


class AsyncWardenInstrumentor(BaseInstrumentor):
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
        from asyncwarden._config import MODE_VARIABLE, Mode, Settings
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
