"""Hooks for what watches the guard's work (telemetry), kept out of the patch layer's way.

The patch layer calls ``batch_started``/``batch_finished``/``combined`` only when a list is not
empty, so with no observer the cost is one truth test. Observers must not raise; each call is
still guarded and fails open. Each call walks a snapshot of its list, so an observer may add or
remove observers (telemetry's first-batch probe does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from asyncwarden._failopen import internal_error

if TYPE_CHECKING:
    from asyncwarden._findings._finding import Finding
    from asyncwarden._rules._catalog import Combination
    from asyncwarden._tracking._provenance import Batch

on_batch_started: list[Callable[[Batch], None]] = []
on_batch_finished: list[Callable[[Batch], None]] = []
# (combination, start time, end time, findings, result object)
on_combined: list[Callable[[Combination, float, float, list[Finding], Any], None]] = []


def batch_started(batch: Batch) -> None:
    for observer in tuple(on_batch_started):
        try:
            observer(batch)
        except Exception as error:
            internal_error("observer batch_started", error)


def batch_finished(batch: Batch) -> None:
    for observer in tuple(on_batch_finished):
        try:
            observer(batch)
        except Exception as error:
            internal_error("observer batch_finished", error)


def combined(
    combination: Combination, start: float, end: float, findings: list[Finding], result: Any
) -> None:
    for observer in tuple(on_combined):
        try:
            observer(combination, start, end, findings, result)
        except Exception as error:
            internal_error("observer combined", error)
