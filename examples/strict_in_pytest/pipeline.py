"""Daily revenue from partitions loaded concurrently: one loader keeps the days in order."""

from __future__ import annotations

import asyncio

import pandas as pd

DAYS = 4


async def load_day(day: int) -> pd.DataFrame:
    """One partition; storage answers in its own time."""
    await asyncio.sleep(0)
    return pd.DataFrame({"day": [day, day], "revenue": [100 + 10 * day, 200 + 10 * day]})


async def sales_from_wait() -> pd.DataFrame:
    tasks = [asyncio.create_task(load_day(day)) for day in range(DAYS)]
    done, _ = await asyncio.wait(tasks)
    # WRONG: done is a set, which has no order; the days come out shuffled.
    return pd.concat([task.result() for task in done], ignore_index=True)


async def sales_from_gather() -> pd.DataFrame:
    frames = await asyncio.gather(*(load_day(day) for day in range(DAYS)))
    return pd.concat(frames, ignore_index=True)
