"""The asyncio half of the patch layer: wait, gather, as_completed, wait_for, TaskGroup.

Each wrapper does its bookkeeping inside ``try/except`` that fails open, then makes the original
call with the user's own objects. Work is per call, not per task, wherever asyncio allows it.
"""

from __future__ import annotations

import asyncio
import functools

from asyncwarden import _compat
from asyncwarden._patches._asyncio_common import call_between, named_like_original, unchanged
from asyncwarden._patches._asyncio_completed import after_as_completed, before_as_completed
from asyncwarden._patches._asyncio_taskgroup import aexit_wrapper, make_create_task
from asyncwarden._patches._asyncio_wait import after_gather, wait_for_wrapper, wait_wrapper
from asyncwarden._patches._wrapping import patch, patch_method


def install() -> None:
    """Patch asyncio's entry points under every name users reach them by, and its shutdown."""
    from asyncio import tasks

    from asyncwarden._patches import _asyncio_shutdown

    patch((tasks, asyncio), "gather", functools.partial(call_between, unchanged, after_gather))
    patch((tasks, asyncio), "wait", named_like_original(wait_wrapper))
    as_completed = functools.partial(call_between, before_as_completed, after_as_completed)
    patch((tasks, asyncio), "as_completed", as_completed)
    patch((tasks, asyncio), "wait_for", named_like_original(wait_for_wrapper))
    task_group = _compat.task_group_class()
    if task_group is not None:
        patch_method(task_group, "create_task", make_create_task)
        patch((task_group,), "__aexit__", aexit_wrapper)
    _asyncio_shutdown.install()
