# expect: clean
# shape: pd.concat of a {partition: frame} dict built from tasks
"""Shipments per carrier, concatenated from a dict so each frame keeps its carrier label."""

from __future__ import annotations

import asyncio

import pandas as pd

CARRIERS = ["dhl", "ups", "fedex", "gls"]


async def shipments(carrier: str) -> pd.DataFrame:
    await asyncio.sleep(0.003 * (len(carrier) % 3 + 1))  # simulated carrier API
    n = len(carrier)
    return pd.DataFrame(
        {"parcel": [f"{carrier}-{i}" for i in range(n)], "kg": [0.5 * (i + n) for i in range(n)]}
    )


async def main() -> None:
    tasks = {c: asyncio.create_task(shipments(c)) for c in CARRIERS}
    await asyncio.wait(tasks.values())
    parcels = pd.concat(
        {carrier: task.result() for carrier, task in tasks.items()}, names=["carrier", "row"]
    )
    print(parcels.to_string())
    print(parcels.groupby(level="carrier", sort=False)["kg"].sum().to_string())


asyncio.run(main())
