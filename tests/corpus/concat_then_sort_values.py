# expect: clean
# shape: done-set concat re-sorted by its key column before any use
"""Order lines from several shards; the shards overlap in nothing and the report sorts by id."""

from __future__ import annotations

import asyncio

import pandas as pd

SHARDS = 4


async def read_shard(shard: int) -> pd.DataFrame:
    await asyncio.sleep(0.01 * (SHARDS - shard))  # simulated network round trip
    ids = range(shard, 40, SHARDS)
    return pd.DataFrame({"order_id": list(ids), "qty": [(i * 3) % 5 + 1 for i in ids]})


async def main() -> None:
    tasks = [asyncio.create_task(read_shard(s)) for s in range(SHARDS)]
    done, _ = await asyncio.wait(tasks)
    orders = pd.concat([t.result() for t in done]).sort_values("order_id")
    orders["running_qty"] = orders["qty"].cumsum()
    print(orders.head(12).to_string(index=False))
    print("rows:", len(orders), "last running_qty:", int(orders["running_qty"].iat[-1]))


asyncio.run(main())
