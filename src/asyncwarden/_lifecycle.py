"""The lifecycle guard (AW301-AW303). Installed with the asyncio patches."""

from __future__ import annotations

import weakref

_allowed_pending: weakref.WeakSet[object] = weakref.WeakSet()


def allow_pending(task: object) -> object:
    """Mark a task as intentionally long-lived: it is never reported as pending or abandoned.

    Returns the task, so it can wrap ``create_task``: ``t = allow_pending(create_task(...))``.
    """
    _allowed_pending.add(task)
    return task


def install() -> None:
    """Hook asyncio's shutdown path. Filled in by the lifecycle work."""
