# expect: AW101
# shape: frames from as_completed() appended in completion order, then a cumulative sum
"""Month-end close: each cost center's journal arrives when its query finishes."""

from __future__ import annotations

import asyncio

import pandas as pd

COST_CENTERS = ["CC10", "CC20", "CC30", "CC40", "CC50"]


async def journal(center: str) -> pd.DataFrame:
    rows = 8 - COST_CENTERS.index(center)
    await asyncio.sleep(0.006 * rows)  # simulated query time: big journals take longer
    return pd.DataFrame(
        {
            "center": center,
            "entry": range(rows),
            "amount": [(k * 17 + rows) % 23 - 9 for k in range(rows)],
        }
    )


async def main() -> None:
    frames = []
    for arriving in asyncio.as_completed([journal(c) for c in COST_CENTERS]):
        frames.append(await arriving)
    ledger = pd.concat(frames, ignore_index=True)
    ledger["balance"] = ledger["amount"].cumsum()
    print("order:", [COST_CENTERS.index(c) for c in dict.fromkeys(ledger["center"])])
    print("entries:", len(ledger), "net:", int(ledger["amount"].sum()))


asyncio.run(main())
