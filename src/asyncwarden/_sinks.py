"""Which sinks receive findings: the structlog sink always, telemetry while it is useful."""

from __future__ import annotations

from asyncwarden import _report


def install() -> None:
    from asyncwarden import _log, _telemetry

    if _log.sink not in _report.sinks:
        _report.sinks.append(_log.sink)
    _telemetry.install()


def uninstall() -> None:
    from asyncwarden import _log, _telemetry

    if _log.sink in _report.sinks:
        _report.sinks.remove(_log.sink)
    _telemetry.uninstall()
