"""Telemetry: OpenTelemetry spans, span events and metrics, and structlog events.

Exports ``install``/``uninstall``/``refresh`` (called by ``_sinks._wiring``), ``use_providers``
(the instrumentor) and ``flush``. What telemetry hears about, it hears as an observer
(``_observers``): batches, combinations, shutdowns, findings' log events.

Zero cost unless useful: the observers and the finding sink are registered only while telemetry
has somewhere to go: an OpenTelemetry provider (the application's, or one handed to the
instrumentor), ``ASYNCWARDEN_TRACE_FILE``, or ``ASYNCWARDEN_LOG=json``. Providers are usually set
after start-up, so the decision is taken again

- when the application calls ``set_tracer_provider``/``set_meter_provider`` (wrapped the wrapt
  way, restored on uninstall; a post-import hook, so the API is never imported by us),
- at the first batch, by a one-shot probe that removes itself,
- when the instrumentor runs.

This module imports neither structlog nor OpenTelemetry: its import is part of start-up.
"""

from __future__ import annotations

import threading
from typing import Any

from asyncwarden import _config, _observers
from asyncwarden._config import LogFormat
from asyncwarden._failopen import internal_error
from asyncwarden._findings import _delivery

_lock = threading.RLock()
_active = False
_installed = False
_generation = 0
_file_path: str | None = None  # the ASYNCWARDEN_TRACE_FILE value already tried
_registered: tuple[tuple[list[Any], Any], ...] = ()  # (hook list, hook) while active


def _observe_module() -> Any:
    from asyncwarden._sinks._telemetry import _observe

    return _observe


def _batch_spans_module() -> Any:
    from asyncwarden._sinks._telemetry import _batch_spans

    return _batch_spans


def _backend_module() -> Any:
    from asyncwarden._sinks._telemetry import _backend

    return _backend


def useful() -> bool:
    """Whether telemetry has anywhere to go now."""
    if _config.CONFIG.settings.log is LogFormat.JSON:
        return True
    return bool(_backend_module().configured())


def _add(hooks: list[Any], hook: Any, before: Any = None) -> None:
    if hook in hooks:
        return
    if before is not None and before in hooks:
        hooks.insert(hooks.index(before), hook)
    else:
        hooks.append(hook)


def _remove(hooks: list[Any], hook: Any) -> None:
    while hook in hooks:
        hooks.remove(hook)


def _activate() -> None:
    global _active, _registered
    from asyncwarden._sinks import _log
    from asyncwarden._sinks._telemetry import _combine_spans

    observe = _observe_module()
    batch_spans = _batch_spans_module()
    _registered = (
        (_observers.on_batch_started, batch_spans.batch_started),
        (_observers.on_batch_finished, batch_spans.batch_finished),
        (_observers.on_combined, _combine_spans.combined),
        (_delivery.sinks, observe.finding_sink),
        (_observers.on_pending_at_shutdown, observe.pending_at_shutdown),
        (_observers.on_finding_logged, observe.add_span_ids),
    )
    _add(_observers.on_batch_started, batch_spans.batch_started)
    _add(_observers.on_batch_finished, batch_spans.batch_finished)
    _add(_observers.on_combined, _combine_spans.combined)
    # Before the log sink: a finding's span exists by the time its log event is written.
    _add(_delivery.sinks, observe.finding_sink, before=_log.sink)
    _add(_observers.on_pending_at_shutdown, observe.pending_at_shutdown)
    _add(_observers.on_finding_logged, observe.add_span_ids)
    _active = True


def _deactivate() -> None:
    global _active, _registered
    for hooks, hook in _registered:
        _remove(hooks, hook)
    _registered = ()
    _active = False


def _probe(batch: Any) -> None:
    """The first batch: decide again, now that the program had time to configure things."""
    _remove(_observers.on_batch_started, _probe)
    refresh()
    if _active:
        _batch_spans_module().batch_started(batch)


def refresh() -> None:
    """Register or remove the observers, as telemetry is useful or not now."""
    with _lock:
        if not _installed:
            return
        _open_trace_file()
        if useful():
            _remove(_observers.on_batch_started, _probe)
            _backend_module().forget()
            _activate()
        else:
            _deactivate()


def _open_trace_file() -> None:
    global _file_path
    path = _config.CONFIG.settings.trace_file
    if path == _file_path:
        return
    _file_path = path
    backend = _backend_module()
    if not path:
        backend.trace_file = None
        return
    from asyncwarden._sinks._telemetry._tracefile import TraceFile

    backend.trace_file = TraceFile.open(path)


def _hook_provider_setters(generation: int) -> None:
    import wrapt

    def setter(
        wrapped: Any, instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        result = wrapped(*args, **kwargs)
        try:
            if generation == _generation:
                refresh()
        except Exception as error:
            internal_error("telemetry refresh", error)
        return result

    def hook(attribute: str) -> Any:
        def patch_module(module: Any) -> None:
            if generation != _generation or not _installed:
                return
            try:
                from asyncwarden._patches._wrapping import patch

                patch((module,), attribute, setter)
            except Exception as error:
                internal_error(f"telemetry hook {attribute}", error)

        return patch_module

    wrapt.register_post_import_hook(hook("set_tracer_provider"), "opentelemetry.trace")
    wrapt.register_post_import_hook(hook("set_meter_provider"), "opentelemetry.metrics")


def install() -> None:
    """Start watching for somewhere to send telemetry (idempotent; called by ``_sinks._wiring``)."""
    global _installed, _generation
    with _lock:
        if not _installed:
            _installed = True
            _generation += 1
            _hook_provider_setters(_generation)
        refresh()
        if not _active:
            _add(_observers.on_batch_started, _probe)


def uninstall() -> None:
    """Stop: remove observers, sink and probe. The trace file stays open to flush at exit."""
    global _installed, _generation
    with _lock:
        _installed = False
        _generation += 1
        _remove(_observers.on_batch_started, _probe)
        _deactivate()


def use_providers(tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Send spans and metrics to these providers rather than the global ones (None: global)."""
    backend = _backend_module()
    backend.explicit_tracer_provider = tracer_provider
    backend.explicit_meter_provider = meter_provider
    backend.forget()
    refresh()


def flush() -> None:
    """Write out what asyncwarden's own trace-file providers have buffered."""
    if _file_path is None:
        return
    trace_file = _backend_module().trace_file
    if trace_file is not None:
        trace_file.flush()


def is_active() -> bool:
    """Whether the observers are registered."""
    return _active
