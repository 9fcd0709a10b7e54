# expect: clean
# shape: event loops in two threads, each gathering its own partitions in order
"""Two tenants processed side by side, each on its own event loop in a worker thread."""

from __future__ import annotations

import asyncio
import concurrent.futures

import pandas as pd

TENANTS = {"acme": ["2026-10", "2026-11", "2026-12"], "umbrella": ["2026-11", "2026-12"]}


async def usage(tenant: str, month: str) -> pd.DataFrame:
    await asyncio.sleep(0.002 * (int(month[-2:]) % 3 + 1))  # simulated metering API
    return pd.DataFrame({"tenant": tenant, "month": month, "gb": [len(tenant) * int(month[-2:])]})


async def bill(tenant: str) -> pd.DataFrame:
    frames = await asyncio.gather(*(usage(tenant, m) for m in TENANTS[tenant]))
    invoice = pd.concat(frames, ignore_index=True)
    invoice["cumulative_gb"] = invoice["gb"].cumsum()
    return invoice


def run_tenant(tenant: str) -> pd.DataFrame:
    return asyncio.run(bill(tenant))


with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
    invoices = list(pool.map(run_tenant, TENANTS))
for invoice in invoices:
    print(invoice.to_string())
