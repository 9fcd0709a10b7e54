# expect: AW101
# shape: done-set frames renamed, cast and narrowed to columns before the concat
"""Vendor feeds with their own column names, normalised per feed and numbered in the export."""

from __future__ import annotations

import asyncio

import pandas as pd

FEEDS = ["alpha", "bravo", "charlie", "delta"]


async def feed(name: str) -> pd.DataFrame:
    await asyncio.sleep(0.004)  # simulated vendor endpoint
    n = len(name) - 2
    return pd.DataFrame(
        {
            "ITEM": [f"{name}-{k}" for k in range(n)],
            "QTY": [str(k + len(name)) for k in range(n)],
            "SRC": name,
            "junk": "x",
        }
    )


async def main() -> None:
    tasks = [asyncio.create_task(feed(f)) for f in FEEDS]
    done, _ = await asyncio.wait(tasks)
    frames = [
        t.result().rename(columns=str.lower).astype({"qty": "int64"})[["src", "item", "qty"]]
        for t in done
    ]
    export = pd.concat(frames, ignore_index=True)
    export["line_no"] = export.index + 1
    print("order:", [FEEDS.index(s) for s in dict.fromkeys(export["src"])])
    print("lines:", len(export), "qty:", int(export["qty"].sum()))


asyncio.run(main())
