# expect: clean
# shape: two gathered loads concatenated and merged on their key columns with validate
"""Sales against targets per store and week, merged on the real keys."""

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
    return pd.DataFrame({"week": week, "store": STORES, "target": [110 * week for _ in range(3)]})


async def main() -> None:
    actual = pd.concat(await asyncio.gather(*(sales(w) for w in WEEKS)), ignore_index=True)
    goal = pd.concat(await asyncio.gather(*(targets(w) for w in WEEKS)), ignore_index=True)
    report = actual.merge(goal, on=["week", "store"], validate="one_to_one")
    report["gap"] = report["sales"] - report["target"]
    print(report.to_string())


asyncio.run(main())
