# expect: clean
# shape: nested fan-out: region tasks that each gather their stores, all in input order
"""Regional sales: each region fans out to its stores; the report keeps region and store order."""

from __future__ import annotations

import asyncio

import pandas as pd

REGIONS = {"north": ["n1", "n2", "n3"], "south": ["s1", "s2"], "west": ["w1", "w2", "w3", "w4"]}


async def store_sales(store: str) -> pd.DataFrame:
    await asyncio.sleep(0.002 * (int(store[1]) % 3 + 1))  # simulated POS query
    return pd.DataFrame(
        {"store": store, "day": [1, 2], "sales": [100 * int(store[1]) + len(store), 90]}
    )


async def region_sales(region: str) -> pd.DataFrame:
    frames = await asyncio.gather(*(store_sales(s) for s in REGIONS[region]))
    return pd.concat(frames, ignore_index=True).assign(region=region)


async def main() -> None:
    regions = await asyncio.gather(*(region_sales(r) for r in REGIONS))
    report = pd.concat(regions, ignore_index=True)
    report["cum_sales"] = report["sales"].cumsum()
    print(report.to_string())


asyncio.run(main())
