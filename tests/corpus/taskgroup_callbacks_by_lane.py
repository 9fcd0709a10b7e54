# expect: clean
# requires: 3.11
# shape: TaskGroup members whose done-callbacks file each result under its lane, read in lane order
"""Shipping quotes per carrier lane, filed by lane as each answers, published in lane order."""

from __future__ import annotations

import asyncio
import functools

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


def file_quote(
    quotes: dict[str, pd.DataFrame], lane: str, task: asyncio.Task[pd.DataFrame]
) -> None:
    if not task.cancelled() and task.exception() is None:
        quotes[lane] = task.result()


async def main() -> None:
    quotes: dict[str, pd.DataFrame] = {}
    async with asyncio.TaskGroup() as group:
        for lane in LANES:
            task = group.create_task(quote(lane))
            task.add_done_callback(functools.partial(file_quote, quotes, lane))
    tariff = pd.concat([quotes[lane] for lane in LANES], ignore_index=True)
    tariff["tariff_line"] = tariff.index + 1
    print(tariff.to_string())


asyncio.run(main())
