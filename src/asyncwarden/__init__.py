"""asyncwarden: a runtime guard for asyncio + pandas pipelines.

Switch it on with ``ASYNCWARDEN=warn`` (or ``strict``), ``asyncwarden run -- COMMAND``, or
``asyncwarden.install()``. It records where every task came from and which tasks every frame came
from, and reports unordered, incomplete and stray task results as findings.
"""

from __future__ import annotations

from asyncwarden._activation import guarded, install, is_installed, uninstall
from asyncwarden._callsite import CallSite
from asyncwarden._config import Mode
from asyncwarden._findings import Finding
from asyncwarden._lifecycle import allow_pending
from asyncwarden._lineage import Lineage, LineageSource, lineage
from asyncwarden._provenance import TaskProvenance, provenance
from asyncwarden._report import allow
from asyncwarden._rules import RULES, Rule
from asyncwarden.exceptions import (
    AbandonedPendingWarning,
    AsyncWardenError,
    AsyncWardenWarning,
    CancelledNotAwaitedWarning,
    ConfigurationError,
    FindingError,
    IncompleteBatchWarning,
    MergeFanoutWarning,
    PendingAtShutdownWarning,
    UnorderedConcatWarning,
)

__version__ = "0.1.0"

__all__ = [
    "RULES",
    "AbandonedPendingWarning",
    "AsyncWardenError",
    "AsyncWardenWarning",
    "CallSite",
    "CancelledNotAwaitedWarning",
    "ConfigurationError",
    "Finding",
    "FindingError",
    "IncompleteBatchWarning",
    "Lineage",
    "LineageSource",
    "MergeFanoutWarning",
    "Mode",
    "PendingAtShutdownWarning",
    "Rule",
    "TaskProvenance",
    "UnorderedConcatWarning",
    "allow",
    "allow_pending",
    "guarded",
    "install",
    "is_installed",
    "lineage",
    "provenance",
    "uninstall",
]
