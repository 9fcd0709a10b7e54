"""Which sinks receive findings. Telemetry sinks are loaded lazily by ``_telemetry``."""

from __future__ import annotations

from asyncwarden import _report


def install() -> None:
    from asyncwarden import _log

    if _log.sink not in _report.sinks:
        _report.sinks.append(_log.sink)


def uninstall() -> None:
    from asyncwarden import _log

    if _log.sink in _report.sinks:
        _report.sinks.remove(_log.sink)
