# expect: clean
# shape: done-set concat, a computed column added, then sorted by its key before any other use
"""Order lines from several shards with their line value computed, then listed by order id."""

from __future__ import annotations

import asyncio

import pandas as pd

SHARDS = 3


async def read_shard(shard: int) -> pd.DataFrame:
    await asyncio.sleep(0.004 * (SHARDS - shard))  # simulated network round trip
    ids = list(range(shard, 18, SHARDS))
    return pd.DataFrame(
        {"order_id": ids, "qty": [i % 4 + 1 for i in ids], "unit_eur": [5 + i % 3 for i in ids]}
    )


async def main() -> None:
    tasks = [asyncio.create_task(read_shard(s)) for s in range(SHARDS)]
    done, _ = await asyncio.wait(tasks)
    lines = (
        pd.concat([t.result() for t in done])
        .assign(value=lambda d: d["qty"] * d["unit_eur"])
        .sort_values("order_id")
    )
    lines["cumulative_value"] = lines["value"].cumsum()
    print(lines.to_string(index=False))


asyncio.run(main())
