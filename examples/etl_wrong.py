"""The article's wrong pipeline: wait() for the partitions, then concat the done set.

``done`` is a set: iterating it loses the submission order, so the days come out shuffled and the
day-over-day change is computed against the wrong day.

    ASYNCWARDEN=warn python examples/etl_wrong.py     # prints an AW101 finding, exits 0
    ASYNCWARDEN=strict python examples/etl_wrong.py   # fails with the same finding
"""

from __future__ import annotations

import asyncio
import pathlib
import sys
import tempfile

import pandas as pd
from _partitions import load, write_partitions


async def main(folder: pathlib.Path) -> pd.DataFrame:
    paths = write_partitions(folder)
    tasks = [asyncio.create_task(load(path)) for path in paths]
    done, _ = await asyncio.wait(tasks)
    frames = [task.result() for task in done]  # WRONG: a set has no order
    sales = pd.concat(frames, ignore_index=True)
    daily = sales.groupby("day", sort=False)["revenue"].sum()
    return daily.diff()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        change = asyncio.run(main(pathlib.Path(folder)))
    print("days in the order they were combined:", list(change.index))
    sys.exit(0)
