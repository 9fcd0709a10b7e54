# expect: AW101
# shape: nested fan-out: regions gather their stores in order, regions concatenated from a done set
"""Regional sales: the stores are in order inside a region, the regions come out of a set."""

from __future__ import annotations

import asyncio

import pandas as pd

REGIONS = ["north", "south", "east", "west"]
STORES = {"north": ["n1", "n2"], "south": ["s1", "s2", "s3"], "east": ["e1"], "west": ["w1", "w2"]}


async def store_sales(store: str) -> pd.DataFrame:
    await asyncio.sleep(0.002 * (int(store[1]) % 3 + 1))  # simulated POS query
    return pd.DataFrame({"store": store, "day": [1, 2], "sales": [100 * int(store[1]), 90]})


async def region_sales(region: str) -> pd.DataFrame:
    frames = await asyncio.gather(*(store_sales(s) for s in STORES[region]))
    return pd.concat(frames, ignore_index=True)


async def main() -> None:
    tasks = [asyncio.create_task(region_sales(r)) for r in REGIONS]
    done, _ = await asyncio.wait(tasks)
    report = pd.concat([t.result() for t in done], ignore_index=True)
    report["cum_sales"] = report["sales"].cumsum()
    region_of = {s: r for r, stores in STORES.items() for s in stores}
    regions = dict.fromkeys(region_of[s] for s in report["store"])
    print("order:", [REGIONS.index(r) for r in regions])
    print("rows:", len(report), "sales:", int(report["sales"].sum()))


asyncio.run(main())
