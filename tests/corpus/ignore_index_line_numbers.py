# expect: AW101
# shape: done-set concat with ignore_index=True, the new index written out as line numbers
"""Invoice lines per customer, written to CSV with the frame's index as the line number."""

from __future__ import annotations

import asyncio
import io

import pandas as pd

CUSTOMERS = ["c-017", "c-023", "c-042"]


async def invoice_lines(customer: str) -> pd.DataFrame:
    await asyncio.sleep(0.003)  # simulated billing API
    k = int(customer[-3:])
    return pd.DataFrame(
        {"customer": customer, "item": ["base", "usage", "tax"], "eur": [k, k * 0.4, k * 0.19]}
    )


async def main() -> None:
    tasks = [asyncio.create_task(invoice_lines(c)) for c in CUSTOMERS]
    done, _ = await asyncio.wait(tasks)
    lines = pd.concat([t.result() for t in done], ignore_index=True)
    out = io.StringIO()
    lines.to_csv(out, index_label="line")
    print("order:", [CUSTOMERS.index(c) for c in dict.fromkeys(lines["customer"])])
    print(
        "lines written:",
        out.getvalue().count("\n") - 1,
        "total eur:",
        round(float(lines["eur"].sum()), 2),
    )


asyncio.run(main())
