# expect: AW101
# requires: 3.11
# shape: TaskGroup members whose results a done-callback appends in completion order
"""Shipping quotes per carrier lane, collected by a callback as each lane answers."""

from __future__ import annotations

import asyncio

import pandas as pd

LANES = ["NL-DE", "NL-FR", "NL-BE", "NL-PL", "NL-IT"]


async def quote(lane: str) -> pd.DataFrame:
    # Simulated rate-engine latency: long-haul lanes take longer to price.
    await asyncio.sleep(0.006 * (5 - LANES.index(lane)))
    return pd.DataFrame(
        {
            "lane": lane,
            "weight_kg": [10, 50, 100],
            "eur": [LANES.index(lane) + w / 10 for w in (10, 50, 100)],
        }
    )


async def main() -> None:
    frames: list[pd.DataFrame] = []
    async with asyncio.TaskGroup() as group:
        for lane in LANES:
            task = group.create_task(quote(lane))
            task.add_done_callback(lambda t: frames.append(t.result()))
    tariff = pd.concat(frames, ignore_index=True)
    tariff["tariff_line"] = tariff.index + 1
    print("order:", [LANES.index(lane) for lane in dict.fromkeys(tariff["lane"])])
    print("lines:", len(tariff), "eur:", round(float(tariff["eur"].sum()), 2))


asyncio.run(main())
