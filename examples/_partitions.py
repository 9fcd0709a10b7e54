"""Shared by the examples: write the article's CSV partitions to a folder.

Each partition is one day of sales for three stores; partition ``i`` holds day ``i``.
"""

from __future__ import annotations

import asyncio
import pathlib
import random

import pandas as pd

DAYS = 4


def write_partitions(folder: pathlib.Path, days: int = DAYS) -> list[pathlib.Path]:
    """Write one CSV per day and return their paths in day order (the submission order)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for day in range(days):
        frame = pd.DataFrame(
            {
                "day": [day] * 3,
                "store": ["north", "south", "east"],
                "revenue": [100 + 10 * day, 200 + 10 * day, 300 + 10 * day],
            }
        )
        path = folder / f"sales-day{day}.csv"
        frame.to_csv(path, index=False)
        paths.append(path)
    return paths


async def load(path: pathlib.Path) -> pd.DataFrame:
    """Load one partition in a worker thread, as a real ETL job would (I/O off the loop)."""
    # Storage answers in its own time: later partitions are not guaranteed to arrive later.
    await asyncio.sleep(random.uniform(0, 0.01))
    return await asyncio.to_thread(pd.read_csv, path)
