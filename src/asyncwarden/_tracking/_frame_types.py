"""Which task results are frames: the asyncio patch's one question about lineage.

Empty until pandas is imported (``_pandas_patch`` adds DataFrame and Series). A module of its own
so the asyncio patch can ask without importing ``_lineage``, whose records (four dataclasses)
cost about 3 ms of every guarded start in a program that never imports pandas.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `from typing import ...`: mypy reads the name
if TYPE_CHECKING:
    from asyncwarden._tracking._provenance import Batch

FRAME_TYPES: set[type] = set()


def link_task_result(result: object, batch: Batch, position: int) -> None:
    """``_lineage.link_task_result``; ``_lineage`` is loaded by then (pandas' hook loads it)."""
    if type(result) in FRAME_TYPES:
        from asyncwarden._tracking import _lineage

        _lineage.link_task_result(result, batch, position)
