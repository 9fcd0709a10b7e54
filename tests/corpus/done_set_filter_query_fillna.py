# expect: AW101
# shape: done-set frames through a boolean filter, query, dropna and fillna before the concat
"""Support tickets per queue: drop spam, keep open ones, then a ticket sequence across queues."""

from __future__ import annotations

import asyncio

import pandas as pd

QUEUES = ["billing", "tech", "returns"]


async def tickets(queue: str) -> pd.DataFrame:
    await asyncio.sleep(0.005)  # simulated help-desk API
    n = 6 + len(queue) % 3
    return pd.DataFrame(
        {
            "queue": queue,
            "ticket": [f"{queue[0].upper()}-{k}" for k in range(n)],
            "spam": [k % 5 == 4 for k in range(n)],
            "status": ["open" if k % 3 else "closed" for k in range(n)],
            "priority": [None if k % 4 == 0 else k % 3 for k in range(n)],
            "customer": [None if k == 2 else f"cust{k}" for k in range(n)],
        }
    )


async def main() -> None:
    tasks = [asyncio.create_task(tickets(q)) for q in QUEUES]
    done, _ = await asyncio.wait(tasks)
    frames = []
    for task in done:
        raw = task.result()
        kept = raw[~raw["spam"]].query("status == 'open'").dropna(subset=["customer"])
        frames.append(kept.fillna({"priority": 0}))
    backlog = pd.concat(frames, ignore_index=True)
    backlog["seq"] = range(len(backlog))
    print("order:", [QUEUES.index(q) for q in dict.fromkeys(backlog["queue"])])
    print("open tickets:", len(backlog), "priority sum:", int(backlog["priority"].sum()))


asyncio.run(main())
