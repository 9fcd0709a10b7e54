"""The article's second fix, done right: wait() with a timeout, results mapped back to inputs.

Pending partitions are cancelled and awaited, and a missing partition is an error, not a gap.

    ASYNCWARDEN=strict python examples/etl_fixed_wait.py   # no finding
"""

from __future__ import annotations

import asyncio
import pathlib
import tempfile

import pandas as pd
from _partitions import load, write_partitions


async def main(folder: pathlib.Path) -> pd.Series:
    paths = write_partitions(folder)
    tasks = {day: asyncio.create_task(load(path)) for day, path in enumerate(paths)}
    done, pending = await asyncio.wait(tasks.values(), timeout=30)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    missing = [day for day, task in tasks.items() if task not in done]
    if missing:
        raise TimeoutError(f"partitions {missing} did not load in time")
    frames = [tasks[day].result() for day in sorted(tasks)]  # by input, not by completion
    sales = pd.concat(frames, ignore_index=True)
    return sales.groupby("day", sort=False)["revenue"].sum().diff()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        change = asyncio.run(main(pathlib.Path(folder)))
    print("days in the order they were combined:", list(change.index))
