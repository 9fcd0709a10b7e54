# expect: clean
# shape: wait(timeout); late partitions cancelled, awaited and reported instead of published
"""Dashboard refresh with a deadline: a late source means the old dashboard stays up."""

from __future__ import annotations

import asyncio

import pandas as pd

SOURCES = ["web", "app", "kiosk", "partner", "callcenter"]
LATENCY = {"web": 0.01, "app": 0.02, "kiosk": 0.01, "partner": 30.0, "callcenter": 0.03}


async def orders(source: str) -> pd.DataFrame:
    await asyncio.sleep(LATENCY[source])  # simulated source latency; the partner API hangs
    return pd.DataFrame(
        {"source": source, "orders": [len(source) * 3], "eur": [len(source) * 120.0]}
    )


async def main() -> None:
    tasks = {s: asyncio.create_task(orders(s)) for s in SOURCES}
    done, pending = await asyncio.wait(tasks.values(), timeout=0.5)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    late = [s for s in SOURCES if tasks[s] not in done]
    if late:
        print("not refreshed, late sources:", late)
        return
    dashboard = pd.concat([tasks[s].result() for s in SOURCES], ignore_index=True)
    print(dashboard.to_string())


asyncio.run(main())
