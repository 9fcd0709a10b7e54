# expect: clean
# shape: done-set concat aggregated with groupby (keys sorted) and a grand total, nothing positional
"""Weekly revenue per product line from every region; only sums per line leave the pipeline."""

from __future__ import annotations

import asyncio

import pandas as pd

REGIONS = ["nordics", "benelux", "iberia", "alps", "balkans"]
LINES = ["bikes", "parts", "apparel"]


async def region_revenue(region: str) -> pd.DataFrame:
    await asyncio.sleep(0.002 * (len(region) % 4))  # simulated regional ERP query
    k = len(region)
    return pd.DataFrame(
        {
            "region": region,
            "line": LINES * 2,
            "week": [1, 1, 1, 2, 2, 2],
            "eur": [k * 100 + 10 * i for i in range(6)],
        }
    )


async def main() -> None:
    done, _ = await asyncio.wait([asyncio.create_task(region_revenue(r)) for r in REGIONS])
    revenue = pd.concat([t.result() for t in done], ignore_index=True)
    per_line = revenue.groupby(["line", "week"])["eur"].sum().unstack("week")
    print(per_line.to_string())
    print("regions:", revenue["region"].nunique(), "total eur:", int(revenue["eur"].sum()))


asyncio.run(main())
