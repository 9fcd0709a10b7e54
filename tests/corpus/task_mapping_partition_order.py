# expect: clean
# shape: {task: partition} mapping read back in partition order after wait()
"""Sensor batches per minute; results are put back into minute order before resampling."""

from __future__ import annotations

import asyncio

import pandas as pd

MINUTES = list(range(8))


async def sensor_batch(minute: int) -> pd.DataFrame:
    await asyncio.sleep(0.002 * ((minute * 5) % 7))  # simulated device upload
    return pd.DataFrame(
        {
            "minute": minute,
            "second": [0, 20, 40],
            "temp": [20.0 + minute * 0.1 + s / 100 for s in (0, 20, 40)],
        }
    )


async def main() -> None:
    minute_of = {asyncio.create_task(sensor_batch(m)): m for m in MINUTES}
    done, pending = await asyncio.wait(minute_of, timeout=30)
    assert not pending
    by_minute = {minute_of[task]: task.result() for task in done}
    series = pd.concat([by_minute[m] for m in sorted(by_minute)], ignore_index=True)
    series["delta"] = series["temp"].diff().round(3)
    print(series.to_string())


asyncio.run(main())
