# expect: clean
# requires: 3.11
# shape: asyncio.timeout() block around gather() of every partition
"""Feature snapshot for the recommender: every segment within the deadline, in segment order."""

from __future__ import annotations

import asyncio

import pandas as pd

SEGMENTS = ["new", "casual", "loyal", "churning"]


async def features(segment: str) -> pd.DataFrame:
    await asyncio.sleep(0.003 * (len(segment) % 3))  # simulated feature-store read
    return pd.DataFrame(
        {
            "segment": segment,
            "feature": ["recency", "frequency"],
            "value": [len(segment), len(segment) * 2.5],
        }
    )


async def main() -> None:
    async with asyncio.timeout(10):
        frames = await asyncio.gather(*(features(s) for s in SEGMENTS))
    snapshot = pd.concat(frames, ignore_index=True)
    snapshot["row"] = range(len(snapshot))
    print(snapshot.to_string())


asyncio.run(main())
