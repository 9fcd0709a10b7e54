# expect: AW101
# shape: done-set frames tagged with .assign(batch=run_id) and concatenated
"""Ad impressions per campaign, stamped with the run id, exported with row numbers."""

from __future__ import annotations

import asyncio

import pandas as pd

CAMPAIGNS = ["spring", "summer", "autumn", "winter"]
RUN_ID = "2026-12-03T02"


async def impressions(campaign: str) -> pd.DataFrame:
    await asyncio.sleep(0.005)  # simulated ad-server export
    n = len(campaign)
    return pd.DataFrame(
        {"campaign": campaign, "slot": range(n), "views": [100 * (k + 1) + n for k in range(n)]}
    )


async def main() -> None:
    tasks = [asyncio.create_task(impressions(c)) for c in CAMPAIGNS]
    done, _ = await asyncio.wait(tasks)
    frames = [t.result().assign(batch=RUN_ID) for t in done]
    export = pd.concat(frames, ignore_index=True)
    export["row"] = range(1, len(export) + 1)
    print("order:", [CAMPAIGNS.index(c) for c in dict.fromkeys(export["campaign"])])
    print(
        "rows:",
        len(export),
        "views:",
        int(export["views"].sum()),
        "batches:",
        export["batch"].unique().tolist(),
    )


asyncio.run(main())
