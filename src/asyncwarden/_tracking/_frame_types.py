"""Which task results are frames: the asyncio patch's one question about lineage.

Empty until pandas is imported (``_patches._pandas`` adds DataFrame and Series). A module of its
own so the asyncio patch can ask without importing ``_lineage``, whose records (four dataclasses)
cost about 3 ms of every guarded start in a program that never imports pandas.
"""

from __future__ import annotations

FRAME_TYPES: set[type] = set()
