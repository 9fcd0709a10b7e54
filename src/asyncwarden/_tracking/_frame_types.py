"""Which task results are frames, and how they are linked: all the asyncio patch knows of lineage.

Empty until pandas is imported (``_patches._pandas`` adds DataFrame and Series). A module of its
own so the asyncio patch can ask, and link, without importing ``_lineage``, whose records (four
dataclasses) cost about 3 ms of every guarded start in a program that never imports pandas.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

FRAME_TYPES: set[type] = set()


def _not_loaded(batch: Any, frames: Iterable[tuple[object, int]]) -> None:
    raise RuntimeError("asyncwarden: a frame was linked before pandas was patched")


# ``_lineage.link_task_results``, put here when ``_lineage`` is loaded (which it is before
# FRAME_TYPES has a member). Reached through this module, not imported where it is used: a
# ``from ... import`` inside the function that links cost 0.95 us per frame on 3.11, more than
# the linking itself.
link_task_results: Callable[[Any, Iterable[tuple[object, int]]], None] = _not_loaded
