"""structlog events: what asyncwarden logs, and where it goes.

The route is chosen per event, so an application that configures logging after start-up is
still respected:

1. ``ASYNCWARDEN_LOG=off``: nowhere.
2. The application configured structlog (``structlog.is_configured()``): through its own
   processors, with ``structlog.get_logger("asyncwarden")``.
3. The application configured stdlib logging (a handler on the ``asyncwarden`` logger or an
   ancestor, the root logger included): the stdlib logger ``asyncwarden``, message in logfmt,
   the fields as a dict in ``record.asyncwarden``.
4. Neither: asyncwarden's own renderer. ``json``: one JSON object per line on stderr.
   ``console``: nothing, because a finding's terminal rendering is its warning block and the
   other events are debug detail.

structlog is imported on the first event that needs it, never at start-up.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from asyncwarden import _config, _observers
from asyncwarden._config import LogFormat
from asyncwarden._failopen import internal_error
from asyncwarden._sinks import _semconv as sc

if TYPE_CHECKING:
    from asyncwarden._findings._finding import Finding

LOGGER_NAME = "asyncwarden"

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}

Route = Callable[[str, str, dict[str, Any]], None]

# Loggers live as long as logging's manager: looked up once (getLogger takes logging's lock).
_logger = logging.getLogger(LOGGER_NAME)

_private_json: Any = None
_app_logger: Any = None
_logfmt: Any = None


class _Stderr:
    """A structlog logger that writes each rendered event as one line to the current stderr."""

    def msg(self, message: str) -> None:
        sys.stderr.write(message + "\n")

    debug = info = warning = warn = error = critical = fatal = exception = log = msg


def _add_logger_name(
    logger: object, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    event_dict["logger"] = LOGGER_NAME
    return event_dict


def _to_private_json(level: str, event: str, fields: dict[str, Any]) -> None:
    global _private_json
    if _private_json is None:
        import structlog

        _private_json = structlog.wrap_logger(
            _Stderr(),
            processors=[
                _add_logger_name,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.JSONRenderer(),
            ],
            wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
            context_class=dict,
            cache_logger_on_first_use=True,
        )
    getattr(_private_json, level)(event, **fields)


def _to_app_structlog(level: str, event: str, fields: dict[str, Any]) -> None:
    global _app_logger
    if _app_logger is None:
        import structlog

        _app_logger = structlog.get_logger(LOGGER_NAME)
    getattr(_app_logger, level)(event, **fields)


def _to_stdlib(level: str, event: str, fields: dict[str, Any]) -> None:
    global _logfmt
    logger = logging.getLogger(LOGGER_NAME)
    number = _LEVELS[level]
    if not logger.isEnabledFor(number):
        return
    if _logfmt is None:
        import structlog

        _logfmt = structlog.processors.LogfmtRenderer(key_order=["event"], bool_as_flag=False)
    text = _logfmt(None, level, {"event": event, **fields})
    logger.log(number, text, extra={"asyncwarden": {"event": event, **fields}})


def _structlog_keeps(structlog: Any, level: str) -> bool:
    """Whether the application's structlog keeps ``level``, asked of its wrapper class.

    A ``make_filtering_bound_logger`` class answers without a logger being built (through
    ``get_logger``'s proxy every event binds a new one, about 3 us even when it drops the event).
    Any other wrapper class decides for itself, when the event reaches it.
    """
    try:
        wrapper = structlog.get_config().get("wrapper_class")
        if getattr(wrapper, "__module__", None) != "structlog._native":
            return True
        return bool(wrapper.is_enabled_for(None, _LEVELS[level]))
    except Exception:  # another structlog than the one this was written against: let it decide
        return True


def route(level: str = "debug") -> Route | None:
    """Where events of ``level`` go now (see the module docstring), or None when nowhere.

    Asked before an event's fields are built: a stdlib logger that drops ``level`` costs the
    caller nothing more (once per batch and per concat/merge/join).
    """
    mode = _config.CONFIG.settings.log
    if mode is LogFormat.OFF:
        return None
    # Half imported while another thread imports it: not configured yet (and no attribute yet).
    structlog = sys.modules.get("structlog")
    is_configured = getattr(structlog, "is_configured", None)
    if is_configured is not None and is_configured():
        return _to_app_structlog if _structlog_keeps(structlog, level) else None
    if mode is not LogFormat.JSON:
        # Only stdlib logging is left: a level it drops needs no walk up the loggers' handlers
        # (isEnabledFor is cached by logging itself).
        if not _logger.isEnabledFor(_LEVELS[level]):
            return None
        return _to_stdlib if _logger.hasHandlers() else None
    if _logger.hasHandlers():
        return _to_stdlib if _logger.isEnabledFor(_LEVELS[level]) else None
    return _to_private_json


def send(target: Route, level: str, event: str, fields: dict[str, Any]) -> None:
    """Hand an event to the program's logging, which must not stop the program through us.

    Its processors, handlers and formatters are the program's code, and may raise anything:
    structlog's ``DropEvent`` from a stdlib formatter's chain, a ``BaseException`` of their own.
    Without the guard they would never have run for this event, so nothing they raise may reach
    the program: it is an internal error, reported once. Only ``KeyboardInterrupt``, the user's
    Ctrl-C arriving while the event is written, goes on.
    """
    try:
        target(level, event, fields)
    except KeyboardInterrupt:
        raise
    except BaseException as error:
        internal_error(f"logging the event {event}", error)


def emit(level: str, event: str, fields: dict[str, Any]) -> None:
    """Log one event at ``level`` ("debug", "info" or "warning") on the current route."""
    target = route(level)
    if target is not None:
        send(target, level, event, fields)


def finding_fields(finding: Finding) -> dict[str, Any]:
    """The fields of an ``asyncwarden.finding`` event: ``Finding.to_dict()``, the one source."""
    return finding.to_dict()


def sink(finding: Finding) -> None:
    """The finding sink: one ``asyncwarden.finding`` event per reported finding."""
    target = route("warning")
    if target is None:
        return
    fields = finding_fields(finding)
    if _observers.on_finding_logged:
        _observers.finding_logged(finding, fields)  # telemetry adds the ids of the finding's span
    send(target, "warning", sc.EVENT_FINDING, fields)


def reset() -> None:
    """Forget the loggers built so far (tests that reconfigure structlog)."""
    global _private_json, _app_logger, _logfmt
    _private_json = _app_logger = _logfmt = None


_observers.on_reset.append(reset)
