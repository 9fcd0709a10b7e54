# expect: AW101
# shape: strict mode on a three-task done set concatenated and numbered
"""Three quarterly extracts, concatenated and given a sequence number."""

from __future__ import annotations

import asyncio

import pandas as pd

QUARTERS = ["Q1", "Q2", "Q3"]


async def extract(quarter: str) -> pd.DataFrame:
    await asyncio.sleep(0.004)  # simulated extract job
    q = int(quarter[1])
    return pd.DataFrame({"quarter": quarter, "kpi": ["arr", "churn"], "value": [q * 1.5, q * 0.1]})


async def main() -> None:
    tasks = [asyncio.create_task(extract(q)) for q in QUARTERS]
    done, _ = await asyncio.wait(tasks)
    kpis = pd.concat([t.result() for t in done], ignore_index=True)
    kpis["seq"] = kpis.index + 1
    print("order:", [QUARTERS.index(q) for q in dict.fromkeys(kpis["quarter"])])
    print("rows:", len(kpis), "sum:", round(float(kpis["value"].sum()), 3))


asyncio.run(main())
