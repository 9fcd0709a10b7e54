# expect: clean
# shape: frames from as_completed() sorted by their key column before the concat
"""Store sales: take each store as soon as it arrives, then order by store_id for the ledger."""

from __future__ import annotations

import asyncio

import pandas as pd

STORES = [104, 101, 103, 102, 105]


async def load_store(store_id: int) -> pd.DataFrame:
    rows = 2 + store_id % 4
    await asyncio.sleep(0.005 * rows)  # simulated query time, grows with the rows returned
    return pd.DataFrame(
        {
            "store_id": store_id,
            "receipt": [store_id * 1000 + k for k in range(rows)],
            "amount": [round(3.5 * k + store_id % 7, 2) for k in range(rows)],
        }
    )


async def main() -> None:
    frames = []
    for next_store in asyncio.as_completed([load_store(s) for s in STORES]):
        frames.append(await next_store)
    frames = sorted(frames, key=lambda d: d["store_id"].iat[0])
    ledger = pd.concat(frames, ignore_index=True)
    ledger["balance"] = ledger["amount"].cumsum().round(2)
    print(ledger.to_string())


asyncio.run(main())
