"""Both tests pass without the guard: a total does not notice that the days came out shuffled.

pytest                          # 2 passed
pytest --asyncwarden=strict     # test_revenue_from_wait fails with AW101, naming both lines
"""

from __future__ import annotations

import asyncio

import pipeline


def test_revenue_from_wait() -> None:
    sales = asyncio.run(pipeline.sales_from_wait())
    assert sales["revenue"].sum() == 1320


def test_revenue_from_gather() -> None:
    sales = asyncio.run(pipeline.sales_from_gather())
    assert sales["revenue"].sum() == 1320
    assert list(sales["day"]) == [0, 0, 1, 1, 2, 2, 3, 3]
