"""``ASYNCWARDEN_TRACE_FILE``: asyncwarden's own SDK providers, writing OTLP/JSON lines to a file.

The file is opened (created, appended to) when the guard starts, so a path that cannot be written
is reported at once, in one line, and the program runs on without it. The SDK is imported only
when the first span or metric is made. These providers are never made global: the application's
own ``set_tracer_provider`` keeps working, and once it has set one, asyncwarden uses that instead.

Lines are appended with one ``write`` each on an ``O_APPEND`` descriptor, so processes that share
the variable (workers, subprocesses) can share the file, as with the Collector's file exporter.
Both providers shut down at exit (the SDK's ``atexit`` hook), which flushes what is buffered.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Any

SDK_HINT = "pip install 'asyncwarden[otel]'"


def _say(line: str) -> None:
    with contextlib.suppress(Exception):  # stderr itself may be closed: nothing more to do
        sys.stderr.write(f"asyncwarden: {line}\n")


def _shown(path: str) -> str:
    """The path as the message echoes it: quoted, one line, and short even if the value is not."""
    return repr(path if len(path) <= 200 else path[:200] + "...")


class TraceFile:
    """An open trace file and, once needed, the SDK providers that write to it."""

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self._fd = fd
        self._lock = threading.Lock()
        self._broken = False
        self._tracer_provider: Any = None
        self._meter_provider: Any = None
        self._sdk_missing = False
        self._superseded = False
        self._shared_resource: Any = None

    def superseded(self) -> None:
        """The application's own providers take asyncwarden's telemetry: say once the file won't."""
        if self._superseded:
            return
        self._superseded = True
        _say(
            f"ASYNCWARDEN_TRACE_FILE={_shown(self.path)} receives nothing more: the application "
            "configured OpenTelemetry (opentelemetry-instrument does), whose exporters now get "
            "asyncwarden's spans and metrics"
        )

    @classmethod
    def open(cls, path: str) -> TraceFile | None:
        """Open ``path`` for appending; on failure say so in one line and return None."""
        import importlib.util

        try:
            sdk = importlib.util.find_spec("opentelemetry.sdk")
        except (ImportError, ValueError):
            sdk = None
        if sdk is None:
            _say(
                f"ASYNCWARDEN_TRACE_FILE needs the OpenTelemetry SDK ({SDK_HINT}); "
                "no trace file is written, the program runs on"
            )
            return None
        absolute = os.path.abspath(path)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(absolute, flags, 0o644)
        except (OSError, ValueError) as error:  # ValueError: a NUL byte, from install()
            reason = getattr(error, "strerror", None) or type(error).__name__
            _say(
                f"ASYNCWARDEN_TRACE_FILE={_shown(path)}: cannot write the trace file ({reason}); "
                "no trace file is written, the program runs on"
            )
            return None
        return cls(absolute, fd)

    def write(self, data: bytes) -> bool:
        """Append ``data`` (whole lines); after the first failure, say it once and stop."""
        if self._broken:
            return False
        with self._lock:
            try:
                view = memoryview(data)
                while view:
                    written = os.write(self._fd, view)
                    view = view[written:]
                return True
            except OSError as error:
                self._broken = True
                _say(
                    f"writing the trace file {_shown(self.path)} failed ({error.strerror}); "
                    "the rest of this run is not written, the program runs on"
                )
                return False

    def _resource(self) -> Any:
        # One resource for traces and metrics: a reader groups a run's data by it.
        if self._shared_resource is None:
            self._shared_resource = self._new_resource()
        return self._shared_resource

    def _new_resource(self) -> Any:
        import uuid  # here, not at the top: uuid imports platform, 3 ms of every guarded start

        from opentelemetry.sdk.resources import Resource

        resource = Resource.create(
            {"service.instance.id": str(uuid.uuid4()), "process.pid": os.getpid()}
        )
        name = str(resource.attributes.get("service.name", ""))
        if name.startswith("unknown_service"):
            program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
            resource = resource.merge(Resource({"service.name": program or "python"}))
        return resource

    def tracer_provider(self) -> Any:
        """asyncwarden's private TracerProvider for this file (made on first use), or None."""
        if self._tracer_provider is None and not self._sdk_missing:
            with self._lock:
                if self._tracer_provider is None:
                    self._tracer_provider = self._make(self._new_tracer_provider)
        return self._tracer_provider

    def meter_provider(self) -> Any:
        """asyncwarden's private MeterProvider for this file (made on first use), or None."""
        if self._meter_provider is None and not self._sdk_missing:
            with self._lock:
                if self._meter_provider is None:
                    self._meter_provider = self._make(self._new_meter_provider)
        return self._meter_provider

    def _make(self, factory: Any) -> Any:
        try:
            return factory()
        except ImportError as error:
            self._sdk_missing = True
            _say(
                f"ASYNCWARDEN_TRACE_FILE needs the OpenTelemetry SDK ({SDK_HINT}): {error}; "
                "no trace file is written, the program runs on"
            )
            return None

    def _new_tracer_provider(self) -> Any:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        from asyncwarden._sinks._telemetry._exporters import FileSpanExporter

        provider = TracerProvider(resource=self._resource())
        provider.add_span_processor(BatchSpanProcessor(FileSpanExporter(self.write)))
        return provider

    def _new_meter_provider(self) -> Any:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        from asyncwarden._sinks._telemetry._exporters import FileMetricExporter

        reader = PeriodicExportingMetricReader(FileMetricExporter(self.write))
        return MeterProvider(metric_readers=[reader], resource=self._resource())

    def flush(self) -> None:
        """Write out what the providers buffered (tests, and ``asyncwarden`` before exec)."""
        for provider in (self._tracer_provider, self._meter_provider):
            if provider is not None:
                provider.force_flush()
