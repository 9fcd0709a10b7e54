# expect: AW101
# shape: wait(FIRST_COMPLETED) progress loop appending each round's done set in completion order
"""Hourly click logs: report progress as partitions land, then number the events.

The frames are appended in the order the partitions finished, across several wait() calls, so the
event numbers follow the scheduler, not the hours.
"""

from __future__ import annotations

import asyncio

import pandas as pd

HOURS = range(6)


async def load_hour(hour: int) -> pd.DataFrame:
    # Simulated object-store latency: later hours are smaller files and come back sooner.
    await asyncio.sleep(0.02 * (len(HOURS) - hour))
    clicks = 2 + hour % 3
    return pd.DataFrame(
        {"hour": hour, "user": [f"u{(hour * 5 + k) % 7}" for k in range(clicks)], "ms": 100 + hour}
    )


async def main() -> None:
    pending = [asyncio.create_task(load_hour(hour)) for hour in HOURS]
    frames: list[pd.DataFrame] = []
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            frames.append(task.result())
        loaded = sum(len(f) for f in frames)
    events = pd.concat(frames, ignore_index=True)
    events["event_no"] = range(1, len(events) + 1)
    print("clicks loaded:", loaded)
    print("order:", list(dict.fromkeys(events["hour"])))
    print(
        "events:", len(events), "users:", events["user"].nunique(), "ms:", int(events["ms"].sum())
    )


asyncio.run(main())
