# expect: clean
# shape: gather(return_exceptions=True), every partition succeeds, failures would be raised
"""Meter readings per building; a failed building would stop the run, none fails here."""

from __future__ import annotations

import asyncio

import pandas as pd

BUILDINGS = ["north", "south", "east", "west"]


async def read_meters(building: str) -> pd.DataFrame:
    await asyncio.sleep(0.002 * len(building))  # simulated field-bus poll
    return pd.DataFrame(
        {"building": building, "meter": [1, 2, 3], "kwh": [len(building) * k for k in (10, 11, 12)]}
    )


async def main() -> None:
    results = await asyncio.gather(*(read_meters(b) for b in BUILDINGS), return_exceptions=True)
    failures = [
        (b, r) for b, r in zip(BUILDINGS, results, strict=True) if isinstance(r, BaseException)
    ]
    if failures:
        raise RuntimeError(f"buildings failed: {failures}")
    readings = pd.concat(
        [r for r in results if not isinstance(r, BaseException)], ignore_index=True
    )
    print(readings.to_string())
    print("total kWh:", int(readings["kwh"].sum()))


asyncio.run(main())
