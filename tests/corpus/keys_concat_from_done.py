# expect: clean
# shape: done-set frames labelled with keys= before the concat
"""Web logs per region; each frame is labelled with its region, so the set order does not matter."""

from __future__ import annotations

import asyncio

import pandas as pd

REGIONS = ["eu", "us", "apac"]


async def fetch_logs(region: str) -> pd.DataFrame:
    await asyncio.sleep(0.01)  # simulated log-store query
    hits = {"eu": [3, 5, 8], "us": [13, 21], "apac": [1, 1, 2, 3]}[region]
    return pd.DataFrame({"path": [f"/p{i}" for i in range(len(hits))], "hits": hits})


async def main() -> None:
    region_of = {asyncio.create_task(fetch_logs(r)): r for r in REGIONS}
    done, _ = await asyncio.wait(region_of)
    logs = pd.concat(
        [t.result() for t in done], keys=[region_of[t] for t in done], names=["region", None]
    )
    per_region = logs.groupby(level="region")["hits"].sum()
    print(per_region.to_string())
    print(logs.loc["us"].to_string())


asyncio.run(main())
