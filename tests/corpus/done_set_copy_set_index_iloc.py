# expect: AW101
# shape: done-set frames through copy, set_index, loc and iloc before a positional concat
"""Top sellers per store: each store's best three products, ranked across stores by position."""

from __future__ import annotations

import asyncio

import pandas as pd

STORES = ["berlin", "hamburg", "munich", "cologne"]


async def bestsellers(store: str) -> pd.DataFrame:
    await asyncio.sleep(0.003)  # simulated POS export
    n = 5
    return pd.DataFrame(
        {
            "store": store,
            "product": [f"prod-{(k * 3 + len(store)) % 9}" for k in range(n)],
            "units": [50 - 7 * k + len(store) for k in range(n)],
            "margin": [0.1 * (k + 1) for k in range(n)],
        }
    )


async def main() -> None:
    tasks = [asyncio.create_task(bestsellers(s)) for s in STORES]
    done, _ = await asyncio.wait(tasks)
    tops = []
    for task in done:
        frame = task.result().copy().set_index("product")
        tops.append(frame.loc[:, ["store", "units"]].iloc[:3])
    ranking = pd.concat(tops).reset_index()
    ranking["rank"] = ranking.index + 1
    print("order:", [STORES.index(s) for s in dict.fromkeys(ranking["store"])])
    print("rows:", len(ranking), "units:", int(ranking["units"].sum()))


asyncio.run(main())
