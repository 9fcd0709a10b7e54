# expect: clean
# shape: a 500-partition backfill, throttled by a semaphore, gathered in day order
"""Backfill of 500 days of page views, at most 25 queries in flight."""

from __future__ import annotations

import asyncio

import pandas as pd

DAYS = pd.date_range("2025-01-01", periods=500, freq="D")


async def page_views(day: pd.Timestamp, limit: asyncio.Semaphore) -> pd.DataFrame:
    async with limit:
        await asyncio.sleep(0.001 * (day.day_of_year % 5))  # simulated warehouse query
        return pd.DataFrame({"day": [day], "views": [1000 + (day.day_of_year * 37) % 500]})


async def main() -> None:
    limit = asyncio.Semaphore(25)
    frames = await asyncio.gather(*(page_views(d, limit) for d in DAYS))
    history = pd.concat(frames, ignore_index=True)
    history["views_to_date"] = history["views"].cumsum()
    print(history.iloc[[0, 1, 2, 250, 498, 499]].to_string())
    print("days:", len(history), "checksum:", int((history["views_to_date"] % 9973).sum()))


asyncio.run(main())
