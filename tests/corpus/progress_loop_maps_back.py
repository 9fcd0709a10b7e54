# expect: clean
# shape: wait(FIRST_COMPLETED) progress loop that maps each finished task back to its partition
"""Nightly inventory snapshot: show progress per warehouse, combine in warehouse order."""

from __future__ import annotations

import asyncio

import pandas as pd

WAREHOUSES = ["ams", "ber", "cdg", "dub", "fra"]


async def fetch_stock(warehouse: str) -> pd.DataFrame:
    skus = 3 + len(warehouse) + WAREHOUSES.index(warehouse) % 3
    # Simulated API latency, proportional to the number of SKUs in the reply.
    await asyncio.sleep(0.004 * skus)
    return pd.DataFrame(
        {
            "warehouse": warehouse,
            "sku": [f"SKU-{(i * 7) % 13:02d}" for i in range(skus)],
            "on_hand": [(i * 11 + len(warehouse) * 3) % 40 for i in range(skus)],
        }
    )


async def main() -> None:
    by_task = {asyncio.create_task(fetch_stock(w)): w for w in WAREHOUSES}
    loaded: dict[str, pd.DataFrame] = {}
    pending = set(by_task)
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            loaded[by_task[task]] = task.result()
        status = {w: "loaded" if w in loaded else "waiting" for w in WAREHOUSES}
    stock = pd.concat([loaded[w] for w in WAREHOUSES], ignore_index=True)
    stock["line"] = range(1, len(stock) + 1)
    print("status:", status)
    print(stock.to_string())


asyncio.run(main())
