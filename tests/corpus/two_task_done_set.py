# expect: AW101
# shape: strict mode on a two-task done set: primary and secondary region concatenated from done
"""Two replicas of a user table; the deduplication keeps the first row it sees per user."""

from __future__ import annotations

import asyncio

import pandas as pd

REPLICAS = ["primary", "secondary"]


async def users(replica: str) -> pd.DataFrame:
    await asyncio.sleep(0.005)  # simulated replica query
    plan = "pro" if replica == "primary" else "free"
    return pd.DataFrame({"replica": replica, "user": ["ann", "bob", "cy"], "plan": plan})


async def main() -> None:
    done, _ = await asyncio.wait([asyncio.create_task(users(r)) for r in REPLICAS])
    merged = pd.concat([t.result() for t in done], ignore_index=True)
    first = merged.drop_duplicates("user")
    print("order:", [REPLICAS.index(r) for r in dict.fromkeys(merged["replica"])])
    print("users:", len(first), "rows seen:", len(merged))


asyncio.run(main())
