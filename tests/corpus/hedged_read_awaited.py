# expect: clean
# shape: hedged reads: first replica wins, the loser is cancelled and awaited
"""Read each partition from two replicas at once and keep the faster answer."""

from __future__ import annotations

import asyncio

import pandas as pd

PARTITIONS = list(range(6))
released: list[str] = []


async def read_replica(replica: str, part: int) -> pd.DataFrame:
    try:
        # Simulated replica latency: each replica is slow on a different half of the partitions.
        slow = (part % 2 == 0) == (replica == "eu-west")
        await asyncio.sleep(1.0 if slow else 0.005)
        return pd.DataFrame(
            {"part": part, "key": range(3), "value": [part * 10 + k for k in range(3)]}
        )
    finally:
        await asyncio.sleep(0)  # return the connection to the pool
        released.append(replica)


async def hedged_read(part: int) -> pd.DataFrame:
    reads = [asyncio.create_task(read_replica(r, part)) for r in ("eu-west", "eu-central")]
    done, pending = await asyncio.wait(reads, return_when=asyncio.FIRST_COMPLETED)
    for loser in pending:
        loser.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return done.pop().result()


async def main() -> None:
    frames = await asyncio.gather(*(hedged_read(p) for p in PARTITIONS))
    table = pd.concat(frames, ignore_index=True)
    print(table.to_string())
    print("connections released:", len(released))


asyncio.run(main())
