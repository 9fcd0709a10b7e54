# expect: AW101
# shape: long-lived worker tasks pull partitions from an asyncio.Queue and append frames as they go
"""Crawl of product pages by three workers; the catalog is numbered in the order pages came back."""

from __future__ import annotations

import asyncio

import pandas as pd

PAGES = list(range(9))


async def fetch_page(page: int) -> pd.DataFrame:
    await asyncio.sleep(0.004 * (9 - page))  # simulated HTTP latency: the first pages are heavy
    return pd.DataFrame(
        {"page": page, "item": [f"p{page}-{k}" for k in range(3)], "price": page + 1}
    )


async def main() -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for page in PAGES:
        queue.put_nowait(page)
    frames: list[pd.DataFrame] = []

    async def worker() -> None:
        while True:
            page = await queue.get()
            try:
                frames.append(await fetch_page(page))
            finally:
                queue.task_done()

    workers = [asyncio.create_task(worker()) for _ in range(3)]
    await queue.join()
    for w in workers:
        w.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    catalog = pd.concat(frames, ignore_index=True)
    catalog["position"] = catalog.index + 1
    print("order:", list(dict.fromkeys(catalog["page"])))
    print("items:", len(catalog), "price sum:", int(catalog["price"].sum()))


asyncio.run(main())
