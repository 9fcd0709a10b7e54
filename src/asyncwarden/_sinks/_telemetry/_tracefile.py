"""``ASYNCWARDEN_TRACE_FILE``: asyncwarden's own SDK providers, writing OTLP/JSON lines to a file.

The file is opened (created, appended to) when the guard starts, so a path that cannot be written
is reported at once, in one line, and the program runs on without it. Only a regular file is
accepted: a link at the path is not followed, and a FIFO, socket or device is refused without
waiting for a reader, so start-up never blocks on the path. A new file is made with mode 0600,
whatever the umask: it names the program's files and functions. The SDK is imported only when
the first span or metric is made. These providers are never made global: the application's own
``set_tracer_provider`` keeps working, and once it has set one, asyncwarden uses that instead.

No thread is started in the program's process: each span is written as it ends (the SDK's
``SimpleSpanProcessor``), and metrics are collected when a span is written a minute or more
after the last collection, at ``flush()`` and at exit. After ``os.fork()`` the child makes
providers of its own, whose resource carries its own ``process.pid``; what the parent's providers
still hold is never written by the child.

Lines are appended with one ``write`` each on an ``O_APPEND`` descriptor, so processes that share
the variable (workers, subprocesses) can share the file, as with the Collector's file exporter.
Both providers shut down at exit (the SDK's ``atexit`` hook), which writes the last metrics.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import threading
import time
import weakref
from typing import Any

from asyncwarden._failopen import internal_error

SDK_HINT = "pip install 'asyncwarden[otel]'"

# Metrics are collected when a span is written at least this long after the last collection (the
# SDK's periodic reader, without its thread, exports every 60 s by default).
METRICS_INTERVAL = 60.0

# Never blocks (a FIFO without a reader fails with ENXIO instead of waiting), never follows a link
# at the path itself (ELOOP), never becomes the controlling terminal, closed on exec.
_FLAGS = (
    os.O_WRONLY
    | os.O_APPEND
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
)
_KINDS = (
    (stat.S_ISLNK, "a symbolic link, which is not followed"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _say(line: str) -> None:
    with contextlib.suppress(Exception):  # stderr itself may be closed: nothing more to do
        sys.stderr.write(f"asyncwarden: {line}\n")


def _shown(path: str) -> str:
    """The path as the message echoes it: quoted, one line, and short even if the value is not."""
    return repr(path if len(path) <= 200 else path[:200] + "...")


class NotARegularFile(OSError):
    """The path names something other than a regular file: refused, never opened for writing."""


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_regular(path: str) -> int:
    """A descriptor appending to the regular file at ``path``, made with mode 0600 if new.

    Raises ``NotARegularFile`` for a link, FIFO, socket, device or directory at ``path``, and
    ``OSError``/``ValueError`` as ``os.open`` does.
    """
    try:
        # O_EXCL: a new file is known to be new, so its mode can be set exactly; with O_CREAT it
        # also refuses any link at the path, dangling or not.
        fd = os.open(path, _FLAGS | os.O_CREAT | os.O_EXCL, 0o600)
        created = True
    except FileExistsError:
        created = False
        try:
            fd = os.open(path, _FLAGS)
        except OSError:
            # ELOOP for a link, ENXIO for a FIFO without a reader: say what is there instead.
            # (A directory says so itself: EISDIR.)
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                mode = stat.S_IFREG
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise NotARegularFile(_kind(mode)) from None
            raise
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISREG(mode):
            if created:
                os.fchmod(fd, 0o600)  # the umask may have taken bits away
            os.set_blocking(fd, True)
            return fd
    except BaseException:
        os.close(fd)
        raise
    os.close(fd)  # a FIFO that had a reader, a device
    raise NotARegularFile(_kind(mode))


# Open trace files, for the fork handler below.
_open_files: weakref.WeakSet[TraceFile] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for trace_file in list(_open_files):
        trace_file.forked()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class TraceFile:
    """An open trace file and, once needed, the SDK providers that write to it."""

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self._fd = fd
        self._lock = threading.RLock()
        self._broken = False
        self._tracer_provider: Any = None
        self._meter_provider: Any = None
        self._metric_reader: Any = None
        self._metrics_due = 0.0
        self._sdk_missing = False
        self._superseded = False
        self._shared_resource: Any = None
        _open_files.add(self)

    def forked(self) -> None:
        """In a child after ``os.fork()``: the next span or metric makes this process's providers.

        The parent's providers stay behind, inert: their exporters write only in the process that
        made them (``_exporters``), so the child never writes the parent's metrics again or its
        spans under the parent's ``process.pid``. The lock may have been held by a thread that
        does not exist in the child.
        """
        self._lock = threading.RLock()
        self._tracer_provider = self._meter_provider = self._metric_reader = None
        self._shared_resource = None
        self._metrics_due = 0.0

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
        try:
            fd = open_regular(absolute)
        except NotARegularFile as error:
            _say(
                f"ASYNCWARDEN_TRACE_FILE={_shown(path)}: not a regular file ({error}); "
                "no trace file is written, the program runs on"
            )
            return None
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
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor

        from asyncwarden._sinks._telemetry._exporters import FileSpanExporter

        provider = TracerProvider(resource=self._resource())
        provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(self._write_spans)))
        return provider

    def _new_meter_provider(self) -> Any:
        from opentelemetry.sdk.metrics import MeterProvider

        from asyncwarden._sinks._telemetry._exporters import (
            FileMetricExporter,
            OnDemandMetricReader,
        )

        reader = OnDemandMetricReader(FileMetricExporter(self.write))
        provider = MeterProvider(metric_readers=[reader], resource=self._resource())
        self._metric_reader = reader
        self._metrics_due = time.monotonic() + METRICS_INTERVAL
        return provider

    def _write_spans(self, data: bytes) -> bool:
        """Write a line of spans; collect the metrics too when they are due."""
        written = self.write(data)
        reader = self._metric_reader
        if reader is not None and time.monotonic() >= self._metrics_due:
            self._metrics_due = time.monotonic() + METRICS_INTERVAL
            try:
                reader.collect()
            except Exception as error:
                internal_error("trace file: collecting metrics", error)
        return written

    def flush(self) -> None:
        """Write out the metrics collected so far (tests, and ``asyncwarden`` before exec).

        Spans are written as they end; nothing of theirs is held back.
        """
        for provider in (self._tracer_provider, self._meter_provider):
            if provider is not None:
                provider.force_flush()
