"""Which sinks receive findings: the structlog sink always, telemetry while it is useful."""

from __future__ import annotations

from asyncwarden._findings import _delivery


def install() -> None:
    from asyncwarden._sinks import _log
    from asyncwarden._sinks._telemetry import _control

    if _log.sink not in _delivery.sinks:
        _delivery.sinks.append(_log.sink)
    _control.install()


def uninstall() -> None:
    from asyncwarden._sinks import _log
    from asyncwarden._sinks._telemetry import _control

    if _log.sink in _delivery.sinks:
        _delivery.sinks.remove(_log.sink)
    _control.uninstall()
