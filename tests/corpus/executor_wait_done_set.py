# expect: AW101
# shape: run_in_executor CSV reads gathered through wait(), frames concatenated from the done set
"""Legacy CSV exports parsed in a thread pool; the ledger is numbered in the order the set gives."""

from __future__ import annotations

import asyncio
import concurrent.futures
import pathlib
import tempfile

import pandas as pd

BRANCHES = ["amsterdam", "utrecht", "leiden", "delft"]


def write_exports(folder: pathlib.Path) -> list[pathlib.Path]:
    paths = []
    for i, branch in enumerate(BRANCHES):
        path = folder / f"{branch}.csv"
        rows = [f"{branch},{k},{(i + 1) * 10 + k}" for k in range(3 + i)]
        path.write_text("branch,entry,amount\n" + "\n".join(rows) + "\n")
        paths.append(path)
    return paths


async def main(folder: pathlib.Path) -> None:
    loop = asyncio.get_running_loop()
    paths = write_exports(folder)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = [loop.run_in_executor(pool, pd.read_csv, path) for path in paths]
        done, _ = await asyncio.wait(futures)
    ledger = pd.concat([f.result() for f in done], ignore_index=True)
    ledger["running"] = ledger["amount"].cumsum()
    print("order:", [BRANCHES.index(b) for b in dict.fromkeys(ledger["branch"])])
    print("entries:", len(ledger), "total:", int(ledger["amount"].sum()))


with tempfile.TemporaryDirectory() as tmp:
    asyncio.run(main(pathlib.Path(tmp)))
