"""AW102: per-partition frames concatenated without ignore_index, then joined on the index.

Each partition has its own index 0..n-1, so after concat the labels repeat; joining two such
frames on the index pairs every row with every row of the same label and the row count explodes.

    ASYNCWARDEN=warn python examples/merge_fanout.py
"""

from __future__ import annotations

import asyncio
import pathlib
import tempfile

import pandas as pd
from _partitions import load, write_partitions


async def targets(day: int) -> pd.DataFrame:
    await asyncio.sleep(0)
    return pd.DataFrame({"target": [150 + 10 * day, 250 + 10 * day, 350 + 10 * day]})


async def main(folder: pathlib.Path) -> pd.DataFrame:
    paths = write_partitions(folder)
    sales = pd.concat(
        await asyncio.gather(*(load(path) for path in paths))
    )  # WRONG: no ignore_index
    goals = pd.concat(await asyncio.gather(*(targets(day) for day in range(len(paths)))))
    return sales.join(goals)  # joins on index labels 0, 1, 2 that repeat in every partition


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        report = asyncio.run(main(pathlib.Path(folder)))
    print(f"rows after the join: {len(report)} (12 expected)")
