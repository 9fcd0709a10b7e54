"""AW201: gather(return_exceptions=True), the exceptions filtered out, the rest concatenated.

One partition fails to load; the report silently covers three days out of four.

    ASYNCWARDEN=warn python examples/swallowed_exceptions.py
"""

from __future__ import annotations

import asyncio
import pathlib
import tempfile

import pandas as pd
from _partitions import load, write_partitions


async def main(folder: pathlib.Path) -> pd.DataFrame:
    paths = write_partitions(folder)
    paths[2].unlink()  # the partition that fails to load
    results = await asyncio.gather(*(load(path) for path in paths), return_exceptions=True)
    frames = [r for r in results if not isinstance(r, BaseException)]  # WRONG: failures vanish
    return pd.concat(frames, ignore_index=True)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        sales = asyncio.run(main(pathlib.Path(folder)))
    print(f"days in the report: {sorted(sales['day'].unique().tolist())}")
