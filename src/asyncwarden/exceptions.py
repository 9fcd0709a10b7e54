"""Errors and warning categories. Public: users catch these and filter on them."""

from __future__ import annotations

# Not `from typing import TYPE_CHECKING`: the start-up hook imports this module, and typing costs
# it about 5 ms; mypy reads the name.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from asyncwarden._findings._finding import Finding


class AsyncWardenError(Exception):
    """Base of every error asyncwarden raises."""


class ConfigurationError(AsyncWardenError, ValueError):
    """A setting (environment variable or argument) has a value asyncwarden does not accept."""

    def __init__(self, variable: str, value: object, accepted: str) -> None:
        self.variable = variable
        self.value = value
        self.accepted = accepted
        super().__init__(f"{variable}={value!r} is not valid; accepted: {accepted}")


class FindingError(AsyncWardenError):
    """Raised in strict mode at the hazardous call; ``.finding`` says what and where."""

    def __init__(self, finding: Finding) -> None:
        self.finding = finding
        super().__init__(text_of(finding))


def text_of(finding: Finding) -> str:
    """``finding.render()``, or its first line if rendering fails (reported as internal error)."""
    try:
        return finding.render()
    except Exception as error:
        from asyncwarden._failopen import internal_error

        internal_error("render", error)
        return f"{finding.code} {finding.name}: {finding.title}"


class AsyncWardenWarning(UserWarning):
    """Base category of every finding emitted as a warning (warn mode)."""


class UnorderedConcatWarning(AsyncWardenWarning):
    """AW101: frames from an unordered collection combined out of submission order."""


class MergeFanoutWarning(AsyncWardenWarning):
    """AW102: a merge or join on keys that collide because of how partitions were combined."""


class IncompleteBatchWarning(AsyncWardenWarning):
    """AW201: a batch's results combined while members failed, were cancelled or are pending."""


class PendingAtShutdownWarning(AsyncWardenWarning):
    """AW301: tasks still pending when the event loop shut down."""


class AbandonedPendingWarning(AsyncWardenWarning):
    """AW302: tasks returned in ``pending`` by ``wait()`` and neither awaited nor cancelled."""


class CancelledNotAwaitedWarning(AsyncWardenWarning):
    """AW303: tasks whose cancellation was requested and never awaited."""
