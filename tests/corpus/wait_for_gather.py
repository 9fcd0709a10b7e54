# expect: clean
# shape: wait_for() with a deadline around gather() of every partition
"""Hourly fraud scores: all model shards within 10 seconds, or the run fails."""

from __future__ import annotations

import asyncio

import pandas as pd

SHARDS = ["a", "b", "c", "d", "e", "f"]


async def scores(shard: str) -> pd.DataFrame:
    await asyncio.sleep(0.002 * (ord(shard) % 4))  # simulated model-server call
    k = ord(shard) - ord("a")
    return pd.DataFrame(
        {
            "shard": shard,
            "txn": [k * 10 + i for i in range(3)],
            "score": [0.1 * i + 0.01 * k for i in range(3)],
        }
    )


async def main() -> None:
    frames = await asyncio.wait_for(asyncio.gather(*(scores(s) for s in SHARDS)), timeout=10)
    scored = pd.concat(frames, ignore_index=True)
    scored["flag"] = scored["score"] > 0.15
    print(scored.round(3).to_string())


asyncio.run(main())
