"""structlog events. Minimal for now: one ``finding`` event per finding."""

from __future__ import annotations

from typing import Any

from asyncwarden import _state
from asyncwarden._config import LogFormat
from asyncwarden._findings import Finding

_logger: Any = None


def _get_logger() -> Any:
    global _logger
    if _logger is None:
        import structlog

        _logger = structlog.get_logger("asyncwarden")
    return _logger


def sink(finding: Finding) -> None:
    if _state.settings.log is LogFormat.OFF:
        return
    if _state.settings.log is LogFormat.CONSOLE:
        return  # the warning (or the error) is the terminal rendering of a finding
    _get_logger().warning(
        "asyncwarden.finding",
        rule=finding.code,
        name=finding.name,
        title=finding.title,
        site=str(finding.site),
        batches=list(finding.batch_ids),
    )
