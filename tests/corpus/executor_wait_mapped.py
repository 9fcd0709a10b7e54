# expect: clean
# shape: run_in_executor CSV reads through wait(), results mapped back to their branch
"""Legacy CSV exports parsed in a thread pool, combined in branch order."""

from __future__ import annotations

import asyncio
import concurrent.futures
import pathlib
import tempfile

import pandas as pd

BRANCHES = ["amsterdam", "utrecht", "leiden", "delft"]


def write_exports(folder: pathlib.Path) -> dict[str, pathlib.Path]:
    paths = {}
    for i, branch in enumerate(BRANCHES):
        path = folder / f"{branch}.csv"
        rows = [f"{branch},{k},{(i + 1) * 10 + k}" for k in range(3 + i)]
        path.write_text("branch,entry,amount\n" + "\n".join(rows) + "\n")
        paths[branch] = path
    return paths


async def main(folder: pathlib.Path) -> None:
    loop = asyncio.get_running_loop()
    paths = write_exports(folder)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {b: loop.run_in_executor(pool, pd.read_csv, paths[b]) for b in BRANCHES}
        _, pending = await asyncio.wait(futures.values(), timeout=60)
    if pending:
        raise TimeoutError(f"{len(pending)} exports not parsed")
    ledger = pd.concat([futures[b].result() for b in BRANCHES], ignore_index=True)
    ledger["running"] = ledger["amount"].cumsum()
    print(ledger.to_string())


with tempfile.TemporaryDirectory() as tmp:
    asyncio.run(main(pathlib.Path(tmp)))
