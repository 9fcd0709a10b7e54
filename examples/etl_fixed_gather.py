"""The article's first fix: gather() returns results in the order the partitions were passed.

ASYNCWARDEN=strict python examples/etl_fixed_gather.py   # no finding
"""

from __future__ import annotations

import asyncio
import pathlib
import tempfile

import pandas as pd
from _partitions import load, write_partitions


async def main(folder: pathlib.Path) -> pd.Series:
    paths = write_partitions(folder)
    frames = await asyncio.gather(*(load(path) for path in paths))
    sales = pd.concat(frames, ignore_index=True)
    return sales.groupby("day", sort=False)["revenue"].sum().diff()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        change = asyncio.run(main(pathlib.Path(folder)))
    print("days in the order they were combined:", list(change.index))
