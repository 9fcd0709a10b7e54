# expect: AW102
# shape: per-partition frames concatenated keeping their own 0..n-1 index, then joined on the index
"""Sales joined to targets on the index: every partition's row 0 meets every other's row 0."""

from __future__ import annotations

import asyncio

import pandas as pd

WEEKS = [1, 2, 3]
STORES = ["s1", "s2", "s3"]


async def sales(week: int) -> pd.DataFrame:
    await asyncio.sleep(0.002 * (4 - week))  # simulated POS query
    return pd.DataFrame(
        {"week": week, "store": STORES, "sales": [100 * week + 7 * i for i in range(3)]}
    )


async def targets(week: int) -> pd.DataFrame:
    await asyncio.sleep(0.002 * week)  # simulated planning-system query
    return pd.DataFrame({"target": [110 * week for _ in range(3)]})


async def main() -> None:
    actual = pd.concat(await asyncio.gather(*(sales(w) for w in WEEKS)))
    goal = pd.concat(await asyncio.gather(*(targets(w) for w in WEEKS)))
    report = actual.join(goal)
    print("rows:", len(report), "from", len(actual), "+", len(goal))
    print("target sum:", int(report["target"].sum()))


asyncio.run(main())
