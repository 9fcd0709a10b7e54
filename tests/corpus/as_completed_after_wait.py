# expect: AW101
# shape: as_completed() over the pending tasks of an earlier wait(), appended as they finish
"""Nightly exports: the manifest lists the tables in the order their dumps finished."""

from __future__ import annotations

import asyncio

import pandas as pd

TABLES = ["orders", "customers", "products", "invoices", "returns"]


async def export(table: str) -> pd.DataFrame:
    await asyncio.sleep(0.01 * (5 - TABLES.index(table)))  # simulated dump; the first are biggest
    return pd.DataFrame({"table": table, "chunk": range(2), "bytes": [len(table) * 1000, 512]})


async def main() -> None:
    tasks = [asyncio.create_task(export(t)) for t in TABLES]
    # The first table starts the manifest; the others are appended as they finish.
    first, rest = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    frames = [t.result() for t in first]
    for finished in asyncio.as_completed(rest):
        frames.append(await finished)
    manifest = pd.concat(frames, ignore_index=True)
    manifest["offset"] = manifest["bytes"].cumsum() - manifest["bytes"]
    print("order:", [TABLES.index(t) for t in dict.fromkeys(manifest["table"])])
    print("chunks:", len(manifest), "bytes:", int(manifest["bytes"].sum()))


asyncio.run(main())
