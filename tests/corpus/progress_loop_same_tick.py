# expect: clean
# shape: three-partition wait(FIRST_COMPLETED) loop, two finishing in the same tick, mapped back
"""Currency rates from three feeds; two feeds answer equally fast, so one wait() returns both."""

from __future__ import annotations

import asyncio

import pandas as pd

FEEDS = {"ecb": 0.03, "fed": 0.01, "boe": 0.01}  # typical response time of each feed, seconds


async def fetch_rates(feed: str) -> pd.DataFrame:
    await asyncio.sleep(FEEDS[feed])
    base = {"ecb": 1.08, "fed": 1.09, "boe": 1.07}[feed]
    return pd.DataFrame(
        {
            "feed": feed,
            "pair": ["EURUSD", "EURGBP", "EURCHF"],
            "rate": [base, base - 0.22, base - 0.12],
        }
    )


async def main() -> None:
    tasks = {feed: asyncio.create_task(fetch_rates(feed)) for feed in FEEDS}
    pending: set[asyncio.Task[pd.DataFrame]] = set(tasks.values())
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # a feed that failed stops the run here, not after the others
    rates = pd.concat([tasks[feed].result() for feed in FEEDS], ignore_index=True)
    rates["quote_id"] = range(len(rates))
    print(rates.round(4).to_string())


asyncio.run(main())
