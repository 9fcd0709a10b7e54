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

    from asyncwarden._activation._guard import guarded, install, is_installed, uninstall
    from asyncwarden._config import Mode
    from asyncwarden._findings._delivery import allow, on_finding
    from asyncwarden._findings._finding import Finding
    from asyncwarden._rules._catalog import RULES, Rule
    from asyncwarden._rules._lifecycle import allow_pending
    from asyncwarden._tracking._callsite import CallSite
    from asyncwarden._tracking._lineage import Lineage, LineageSource, lineage
    from asyncwarden._tracking._provenance import TaskProvenance, provenance
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
    "on_finding",
    "provenance",
    "uninstall",
]

# The start-up hook imports this package in every process where ASYNCWARDEN is set, so the
# public names load on first use: switching the guard on must not pay for what it may never use.
_LOCATIONS = {
    "guarded": "_activation._guard",
    "install": "_activation._guard",
    "is_installed": "_activation._guard",
    "uninstall": "_activation._guard",
    "CallSite": "_tracking._callsite",
    "Mode": "_config",
    "Finding": "_findings._finding",
    "allow_pending": "_rules._lifecycle",
    "Lineage": "_tracking._lineage",
    "LineageSource": "_tracking._lineage",
    "lineage": "_tracking._lineage",
    "TaskProvenance": "_tracking._provenance",
    "provenance": "_tracking._provenance",
    "allow": "_findings._delivery",
    "on_finding": "_findings._delivery",
    "RULES": "_rules._catalog",
    "Rule": "_rules._catalog",
    # IPython's convention for `%load_ext asyncwarden`; not in __all__ (users never call them).
    "load_ipython_extension": "_notebook",
    "unload_ipython_extension": "_notebook",
}


_NO_ASYNCIO = frozenset({"_activation._guard", "_config", "exceptions"})


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
