# expect: AW101
# reports: 2
# shape: event loops in two threads, each concatenating its partitions from a done set
"""Two tenants processed side by side; each bill's running total follows a set's order."""

from __future__ import annotations

import asyncio
import concurrent.futures

import pandas as pd

TENANTS = {
    "acme": ["2026-09", "2026-10", "2026-11", "2026-12"],
    "umbrella": ["2026-10", "2026-11", "2026-12"],
}


async def usage(tenant: str, month: str) -> pd.DataFrame:
    await asyncio.sleep(0.003)  # simulated metering API
    return pd.DataFrame({"tenant": tenant, "month": month, "gb": [len(tenant) * int(month[-2:])]})


async def bill(tenant: str) -> pd.DataFrame:
    done, _ = await asyncio.wait([asyncio.create_task(usage(tenant, m)) for m in TENANTS[tenant]])
    invoice = pd.concat([t.result() for t in done], ignore_index=True)
    invoice["cumulative_gb"] = invoice["gb"].cumsum()
    return invoice


def run_tenant(tenant: str) -> pd.DataFrame:
    return asyncio.run(bill(tenant))


with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
    invoices = list(pool.map(run_tenant, TENANTS))
for tenant, invoice in zip(TENANTS, invoices, strict=True):
    print("order:", [TENANTS[tenant].index(m) for m in invoice["month"]])
    print(tenant, "months:", len(invoice), "gb:", int(invoice["gb"].sum()))
