# expect: clean
# shape: done-set concat, set_index on the key, sort_index before use
"""Price list per supplier; the merged catalog is indexed by (supplier, sku) and sorted."""

from __future__ import annotations

import asyncio

import pandas as pd

SUPPLIERS = ["acme", "globex", "initech"]


async def price_list(supplier: str) -> pd.DataFrame:
    await asyncio.sleep(0.003 * len(supplier))  # simulated download time
    n = len(supplier) - 1
    return pd.DataFrame(
        {
            "supplier": supplier,
            "sku": [f"P{k:03d}" for k in range(n)],
            "price": [round(2.5 + k * 0.75 + len(supplier) / 10, 2) for k in range(n)],
        }
    )


async def main() -> None:
    done, _ = await asyncio.wait([asyncio.create_task(price_list(s)) for s in SUPPLIERS])
    catalog = pd.concat([t.result() for t in done]).set_index(["supplier", "sku"]).sort_index()
    catalog["position"] = range(1, len(catalog) + 1)
    print(catalog.to_string())


asyncio.run(main())
