# expect: AW201
# shape: gather(return_exceptions=True) with the failed partitions filtered out before the concat
"""Store uploads: a store whose file is missing silently disappears from the national total."""

from __future__ import annotations

import asyncio

import pandas as pd

STORES = ["s01", "s02", "s03", "s04", "s05"]
MISSING = {"s03"}  # the upload that did not arrive tonight


async def upload(store: str) -> pd.DataFrame:
    await asyncio.sleep(0.002)  # simulated SFTP fetch
    if store in MISSING:
        raise FileNotFoundError(f"{store}.csv")
    return pd.DataFrame({"store": store, "sales": [int(store[1:]) * 100, 50]})


async def main() -> None:
    results = await asyncio.gather(*(upload(s) for s in STORES), return_exceptions=True)
    frames = [r for r in results if isinstance(r, pd.DataFrame)]
    national = pd.concat(frames, ignore_index=True)
    print("stores:", national["store"].nunique(), "sales:", int(national["sales"].sum()))


asyncio.run(main())
