"""Where spans and metrics go: which tracer and meter asyncwarden uses, if any.

In order of precedence:

1. Providers handed to ``AsyncWardenInstrumentor().instrument(tracer_provider=...,
   meter_provider=...)``, as OpenTelemetry's instrumentations accept them.
2. The application's global providers, once it has set real ones. The API hands out proxy
   providers (``ProxyTracerProvider``, the metrics API's ``_ProxyMeterProvider``) until
   ``set_tracer_provider``/``set_meter_provider`` is called, and a ``NoOp*Provider`` means "off":
   any other provider counts as configured. The API is not even imported to find out: if
   ``opentelemetry.trace`` is not in ``sys.modules`` (and ``OTEL_PYTHON_TRACER_PROVIDER`` is unset),
   nobody can have set a provider.
3. asyncwarden's own providers writing ``ASYNCWARDEN_TRACE_FILE``.

Resolved per batch (one dictionary lookup and an ``isinstance`` when nothing is configured), so a
provider set after start-up is picked up; the tracer, meter and instruments are cached per
provider.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from typing import TYPE_CHECKING, Any

from asyncwarden._sinks import _semconv as sc

if TYPE_CHECKING:  # loaded only when ASYNCWARDEN_TRACE_FILE is set (_telemetry opens it)
    from asyncwarden._sinks._telemetry._tracefile import TraceFile

explicit_tracer_provider: Any = None
explicit_meter_provider: Any = None
trace_file: TraceFile | None = None

# Bucket boundaries advised to the SDK (the defaults suit milliseconds, not seconds or counts).
DURATION_BUCKETS = (
    0.001,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
SIZE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 100000)

_lock = threading.RLock()
_tracer_cache: tuple[Any, Any] | None = None
_instrument_cache: tuple[Any, Instruments] | None = None


def _version() -> str:
    return str(getattr(sys.modules.get("asyncwarden"), "__version__", ""))


def _is_configured(provider: Any, placeholders: tuple[str, ...]) -> bool:
    return type(provider).__name__ not in placeholders


def app_tracer_provider() -> Any:
    """The application's global TracerProvider if it set a real one, else None."""
    # The module from sys.modules, not a from-import: that runs importlib's _handle_fromlist in
    # Python on every call, and this is asked per batch and per concat/merge/join.
    trace: Any = sys.modules.get("opentelemetry.trace")
    if trace is None:
        if "OTEL_PYTHON_TRACER_PROVIDER" not in os.environ:
            return None
        from opentelemetry import trace
    provider = trace.get_tracer_provider()
    if _is_configured(provider, ("ProxyTracerProvider", "NoOpTracerProvider")):
        return provider
    return None


def app_meter_provider() -> Any:
    """The application's global MeterProvider if it set a real one, else None."""
    metrics: Any = sys.modules.get("opentelemetry.metrics")
    if metrics is None:
        if "OTEL_PYTHON_METER_PROVIDER" not in os.environ:
            return None
        from opentelemetry import metrics
    provider = metrics.get_meter_provider()
    if _is_configured(provider, ("_ProxyMeterProvider", "NoOpMeterProvider")):
        return provider
    return None


def tracer_provider() -> Any:
    if explicit_tracer_provider is not None:
        return explicit_tracer_provider
    provider = app_tracer_provider()
    if trace_file is not None:
        if provider is None:
            provider = trace_file.tracer_provider()
        else:
            trace_file.superseded()
    return provider


def meter_provider() -> Any:
    if explicit_meter_provider is not None:
        return explicit_meter_provider
    provider = app_meter_provider()
    if trace_file is not None:
        if provider is None:
            provider = trace_file.meter_provider()
        else:
            trace_file.superseded()
    return provider


def tracing_possible() -> bool:
    """Whether a tracer would be found, without making asyncwarden's own providers."""
    return (
        explicit_tracer_provider is not None
        or trace_file is not None
        or app_tracer_provider() is not None
    )


def configured() -> bool:
    """Whether spans or metrics have somewhere to go now (without making the file providers)."""
    return (
        explicit_tracer_provider is not None
        or explicit_meter_provider is not None
        or trace_file is not None
        or app_tracer_provider() is not None
        or app_meter_provider() is not None
    )


def tracer() -> Any:
    """The tracer to use now, or None when spans would go nowhere."""
    global _tracer_cache
    provider = tracer_provider()
    if provider is None:
        return None
    cached = _tracer_cache
    if cached is not None and cached[0] is provider:
        return cached[1]
    # The SDK's get_tracer adds an entry to warnings.filters each time it is called (to silence
    # its own deprecation warning): a guard that changed the program's warning filters would show
    # through (CPython's regression tests report it as a changed environment).
    with warnings.catch_warnings():
        made = provider.get_tracer(sc.INSTRUMENTATION_NAME, _version())
    _tracer_cache = (provider, made)
    return made


class Instruments:
    """The four instruments, made once per MeterProvider."""

    def __init__(self, meter: Any) -> None:
        self.findings = meter.create_counter(
            sc.METRIC_FINDINGS, unit="{finding}", description="Findings reported, by rule code"
        )
        self.batch_duration = _histogram(
            meter,
            sc.METRIC_BATCH_DURATION,
            "s",
            "Time from a batch's submission to its end (all done, timeout or first result)",
            DURATION_BUCKETS,
        )
        self.batch_size = _histogram(
            meter, sc.METRIC_BATCH_SIZE, "{task}", "Tasks per batch", SIZE_BUCKETS
        )
        self.pending_at_shutdown = meter.create_counter(
            sc.METRIC_PENDING_AT_SHUTDOWN,
            unit="{task}",
            description="Tasks still pending when an event loop shut down",
        )


def _histogram(
    meter: Any, name: str, unit: str, description: str, buckets: tuple[float, ...]
) -> Any:
    try:
        return meter.create_histogram(
            name,
            unit=unit,
            description=description,
            explicit_bucket_boundaries_advisory=list(buckets),
        )
    except TypeError:  # an API older than the advisory parameter
        return meter.create_histogram(name, unit=unit, description=description)


def instruments() -> Instruments | None:
    """The instruments to record on now, or None when metrics would go nowhere."""
    global _instrument_cache
    provider = meter_provider()
    if provider is None:
        return None
    cached = _instrument_cache
    if cached is not None and cached[0] is provider:
        return cached[1]
    with _lock:
        cached = _instrument_cache
        if cached is not None and cached[0] is provider:
            return cached[1]
        made = Instruments(provider.get_meter(sc.INSTRUMENTATION_NAME, _version()))
        _instrument_cache = (provider, made)
        return made


def forget() -> None:
    """Drop cached tracers and instruments (a provider was replaced)."""
    global _tracer_cache, _instrument_cache
    _tracer_cache = None
    _instrument_cache = None
