# expect: AW101
# shape: a 500-partition backfill, throttled by a semaphore, concatenated once from a done set
"""Backfill of 500 days of page views; views-to-date follows the set's order, not the calendar."""

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
    tasks = [asyncio.create_task(page_views(d, limit)) for d in DAYS]
    done, _ = await asyncio.wait(tasks)
    history = pd.concat([t.result() for t in done], ignore_index=True)
    history["views_to_date"] = history["views"].cumsum()
    print("order:", [int((d - DAYS[0]).days) for d in history["day"]])
    print("days:", len(history), "views:", int(history["views"].sum()))


asyncio.run(main())
