"""asyncwarden: a runtime guard for asyncio + pandas pipelines.

Switch it on with ``ASYNCWARDEN=warn`` (or ``strict``), ``asyncwarden run -- COMMAND``, or
``asyncwarden.install()``. It records where every task came from and which tasks every frame came
from, and reports unordered, incomplete and stray task results as findings.

PYTEST_DONT_REWRITE: with ``ASYNCWARDEN`` set this package is imported at interpreter start-up,
before pytest could rewrite asserts in it (it has none); the marker spares every guarded pytest
run a PytestAssertRewriteWarning.
"""

from __future__ import annotations

# Not `from typing import TYPE_CHECKING`: importing typing costs start-up time; mypy reads the name.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

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

# The start-up hook imports this package in every process where ASYNCWARDEN is set, so the
# public names load on first use: switching the guard on must not pay for what it may never use.
_LOCATIONS = {
    "guarded": "_activation",
    "install": "_activation",
    "is_installed": "_activation",
    "uninstall": "_activation",
    "CallSite": "_callsite",
    "Mode": "_config",
    "Finding": "_findings",
    "allow_pending": "_lifecycle",
    "Lineage": "_lineage",
    "LineageSource": "_lineage",
    "lineage": "_lineage",
    "TaskProvenance": "_provenance",
    "provenance": "_provenance",
    "allow": "_report",
    "RULES": "_rules",
    "Rule": "_rules",
}


_NO_ASYNCIO = frozenset({"_activation", "_config", "exceptions"})


def __getattr__(name: str) -> Any:
    module = _LOCATIONS.get(name, "exceptions" if name in __all__ else None)
    if module is None:
        raise AttributeError(f"module 'asyncwarden' has no attribute {name!r}")
    if module not in _NO_ASYNCIO:
        # These modules import asyncio. Were one of them the first to do so, asyncio's
        # post-import hook would patch while it is half imported, fail, and leave the guard off
        # (`from asyncwarden import provenance` before `import asyncio`, under ASYNCWARDEN=warn).
        import asyncio  # noqa: F401
    import importlib

    value = getattr(importlib.import_module(f"asyncwarden.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
