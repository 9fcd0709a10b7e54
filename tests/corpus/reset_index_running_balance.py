# expect: AW101
# shape: done-set concat, reset_index(), then a running balance over the rows
"""Bank statement: transactions per account-month, then a running balance."""

from __future__ import annotations

import asyncio

import pandas as pd

MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04"]


async def transactions(month: str) -> pd.DataFrame:
    await asyncio.sleep(0.004)  # simulated core-banking call
    m = int(month[-2:])
    return pd.DataFrame({"month": month, "tx": range(3), "amount": [250 * m, -90 * m, -35 - m]})


async def main() -> None:
    done, _ = await asyncio.wait([asyncio.create_task(transactions(m)) for m in MONTHS])
    statement = pd.concat([t.result() for t in done]).reset_index(drop=True)
    statement["balance"] = statement["amount"].cumsum()
    print("order:", [MONTHS.index(m) for m in dict.fromkeys(statement["month"])])
    print("rows:", len(statement), "closing balance:", int(statement["balance"].iat[-1]))


asyncio.run(main())
