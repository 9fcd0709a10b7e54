# expect: clean
# shape: asyncio.Queue worker tasks that keep each page's number and sort by it before the concat
"""Crawl of product pages by three workers; the catalog is put back in page order."""

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
    fetched: list[tuple[int, pd.DataFrame]] = []

    async def worker() -> None:
        while True:
            page = await queue.get()
            try:
                fetched.append((page, await fetch_page(page)))
            finally:
                queue.task_done()

    workers = [asyncio.create_task(worker()) for _ in range(3)]
    await queue.join()
    for w in workers:
        w.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    catalog = pd.concat(
        [frame for _, frame in sorted(fetched, key=lambda pair: pair[0])], ignore_index=True
    )
    catalog["position"] = catalog.index + 1
    print(catalog.to_string())


asyncio.run(main())
