"""How modules tell each other what happened: one list of observers per event.

The one way modules notify each other. Whoever has news calls the event's function here; whoever
wants it appends a callable to the event's list (telemetry, the lifecycle rules, the pytest
plugin's tests). A module never imports its listeners, so news travels up the layers without an
import pointing up.

Callers test the list first (``if _observers.on_batch_started: ...``), so with no observer the
cost is one truth test. Observers must not raise; each call is still guarded and fails open.
Each call walks a snapshot of its list, so an observer may add or remove observers
(telemetry's first-batch probe does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

from asyncwarden._failopen import internal_error

# The records that travel (Batch, Combination, Finding) are typed Any here: this module sits
# below every layer, and naming their types would tie it to the layers that define them.
Batch: TypeAlias = Any
Finding: TypeAlias = Any
Combination: TypeAlias = Any

# A batch was submitted (gather, wait, as_completed, wait_for, a TaskGroup's first task).
on_batch_started: list[Callable[[Batch], None]] = []
# A batch's members have finished, or its call returned (wait's pending members still run).
on_batch_finished: list[Callable[[Batch], None]] = []
# A concat, merge or join ran: (combination, start time, end time, findings, result object).
on_combined: list[Callable[[Combination, float, float, list[Finding], Any], None]] = []
# wait() in the current task returned these members in its pending set.
on_wait_pending: list[Callable[[Batch, set[Any]], None]] = []
# An event loop shut down with this many of the program's tasks pending (0 included).
on_pending_at_shutdown: list[Callable[[int], None]] = []
# Back to a fresh process (``_config.reset_defaults``, for tests): forget what was recorded.
on_reset: list[Callable[[], None]] = []
# A finding was delivered (not allowed), in warn or strict mode (before it is raised).
on_finding_delivered: list[Callable[[Finding], None]] = []
# Frames awaiting their first use (``_rules._first_use``): True when the first is held, False
# when none is left. Called under that module's lock, so the two can never cross.
on_holding: list[Callable[[bool], None]] = []
# A finding's log event is about to be written with these fields; observers may add fields.
on_finding_logged: list[Callable[[Finding, dict[str, Any]], None]] = []


def _notify(observers: list[Any], event: str, *args: Any) -> None:
    for observer in tuple(observers):
        try:
            observer(*args)
        except Exception as error:
            internal_error(f"observer {event}", error)


def batch_started(batch: Batch) -> None:
    _notify(on_batch_started, "batch_started", batch)


def batch_finished(batch: Batch) -> None:
    _notify(on_batch_finished, "batch_finished", batch)


def combined(
    combination: Combination, start: float, end: float, findings: list[Finding], result: Any
) -> None:
    _notify(on_combined, "combined", combination, start, end, findings, result)


def wait_pending(batch: Batch, pending: set[Any]) -> None:
    _notify(on_wait_pending, "wait_pending", batch, pending)


def pending_at_shutdown(count: int) -> None:
    _notify(on_pending_at_shutdown, "pending_at_shutdown", count)


def holding(now: bool) -> None:
    _notify(on_holding, "holding", now)


def reset() -> None:
    _notify(on_reset, "reset")


def finding_logged(finding: Finding, fields: dict[str, Any]) -> None:
    _notify(on_finding_logged, "finding_logged", finding, fields)


def finding_delivered(finding: Finding) -> None:
    _notify(on_finding_delivered, "finding_delivered", finding)
