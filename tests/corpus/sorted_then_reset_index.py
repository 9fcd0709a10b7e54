# expect: clean
# shape: done-set concat sorted by key, then reset_index and line numbers
"""Customs declaration: lines from each warehouse, sorted by HS code, then numbered."""

from __future__ import annotations

import asyncio

import pandas as pd

WAREHOUSES = ["rtm", "ant", "hh"]


async def declared_goods(warehouse: str) -> pd.DataFrame:
    await asyncio.sleep(0.002 * len(warehouse))  # simulated WMS query
    codes = {"rtm": [8471, 6403, 9503], "ant": [8517, 6109], "hh": [8471, 4202, 6403]}[warehouse]
    return pd.DataFrame(
        {"warehouse": warehouse, "hs_code": codes, "value": [100 * (c % 7 + 1) for c in codes]}
    )


async def main() -> None:
    tasks = [asyncio.create_task(declared_goods(w)) for w in WAREHOUSES]
    done, _ = await asyncio.wait(tasks)
    lines = pd.concat([t.result() for t in done])
    lines = lines.sort_values(["hs_code", "warehouse"]).reset_index(drop=True)
    lines["line"] = lines.index + 1
    print(lines.to_string())


asyncio.run(main())
