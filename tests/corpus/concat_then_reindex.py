# expect: clean
# shape: done-set concat indexed by day and reindexed to the expected calendar
"""Daily revenue, one query per day; the report is laid out on the calendar, gaps shown as 0."""

from __future__ import annotations

import asyncio

import pandas as pd

DAYS = pd.date_range("2026-03-01", periods=6, freq="D")


async def daily_revenue(day: pd.Timestamp) -> pd.DataFrame:
    await asyncio.sleep(0.002 * (day.day % 4))  # simulated warehouse query
    return pd.DataFrame({"day": [day], "revenue": [1000 + 37 * day.day]})


async def main() -> None:
    tasks = [asyncio.create_task(daily_revenue(d)) for d in DAYS[:-1]]  # the last day is not closed
    done, _ = await asyncio.wait(tasks)
    revenue = pd.concat([t.result() for t in done]).set_index("day").reindex(DAYS, fill_value=0)
    revenue["change"] = revenue["revenue"].diff()
    print(revenue.to_string())


asyncio.run(main())
