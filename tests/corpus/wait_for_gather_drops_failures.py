# expect: AW201
# shape: wait_for() around gather(return_exceptions=True), failed partitions filtered out
"""Hourly fraud scores with a deadline; a shard that errors out just goes missing."""

from __future__ import annotations

import asyncio

import pandas as pd

SHARDS = ["a", "b", "c", "d", "e", "f"]


async def scores(shard: str) -> pd.DataFrame:
    await asyncio.sleep(0.002 * (ord(shard) % 4))  # simulated model-server call
    if shard == "d":
        raise ConnectionResetError("model server d restarted")
    k = ord(shard) - ord("a")
    return pd.DataFrame(
        {
            "shard": shard,
            "txn": [k * 10 + i for i in range(3)],
            "score": [0.1 * i + 0.01 * k for i in range(3)],
        }
    )


async def main() -> None:
    results = await asyncio.wait_for(
        asyncio.gather(*(scores(s) for s in SHARDS), return_exceptions=True), timeout=10
    )
    scored = pd.concat([r for r in results if not isinstance(r, Exception)], ignore_index=True)
    print("transactions scored:", len(scored), "flagged:", int((scored["score"] > 0.15).sum()))


asyncio.run(main())
