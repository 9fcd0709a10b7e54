# expect: clean
# requires: 3.11
# shape: TaskGroup whose tasks are kept in a list and read in that order after the group exits
"""Energy prices per bidding zone; the group fails as a whole if one zone fails."""

from __future__ import annotations

import asyncio

import pandas as pd

ZONES = ["DE-LU", "FR", "NL", "BE", "AT"]


async def day_ahead(zone: str) -> pd.DataFrame:
    await asyncio.sleep(0.002 * (len(zone) + ZONES.index(zone) % 2))  # simulated market API
    base = 40 + 5 * ZONES.index(zone)
    return pd.DataFrame(
        {"zone": zone, "hour": range(4), "eur_mwh": [base + 3 * h for h in range(4)]}
    )


async def main() -> None:
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(day_ahead(z)) for z in ZONES]
    prices = pd.concat([t.result() for t in tasks], ignore_index=True)
    spread = prices.pivot(index="hour", columns="zone", values="eur_mwh")[ZONES]
    print(spread.to_string())


asyncio.run(main())
