"""Strict mode's done set iterates out of submission order for every size, on every allocation."""

from __future__ import annotations

import asyncio
import json

import pytest

from asyncwarden._patches import _strict_order
from tests.conftest import run_python

# Thousands of batches of two and three tasks: tasks made one after the other sit next to each
# other in memory, the allocations that defeated growing the table or changing insertion order.
_BATCHES_SCRIPT = """
import asyncio, json, sys
import asyncwarden

async def noop():
    return None

async def main(size, batches):
    failures, kept = 0, []
    for index in range(batches):
        tasks = [asyncio.create_task(noop()) for _ in range(size)]
        done, pending = await asyncio.wait(tasks)
        positions = {task: i for i, task in enumerate(tasks)}
        order = [positions[task] for task in done]
        if type(done) is not set or done != set(tasks) or pending or order == sorted(order):
            failures += 1
        if index % 5 == 0:
            kept.append(tasks)  # vary what the allocator hands out next
    return failures

asyncwarden.install(mode="strict")
result = {size: asyncio.run(main(size, int(sys.argv[1]))) for size in (2, 3, 5)}
print(json.dumps(result))
"""


async def _noop() -> None:
    return None


@pytest.mark.usefixtures("strict_guard")
@pytest.mark.parametrize("size", [2, 3])
def test_strict_done_set_is_out_of_order_for_thousands_of_small_batches(size: int) -> None:
    async def main() -> list[list[int]]:
        orders, kept = [], []
        for index in range(2000):
            tasks = [asyncio.create_task(_noop()) for _ in range(size)]
            done, _ = await asyncio.wait(tasks)
            assert type(done) is set and done == set(tasks)
            positions = {task: i for i, task in enumerate(tasks)}
            orders.append([positions[task] for task in done])
            if index % 7 == 0:
                kept.append(tasks)
        return orders

    orders = asyncio.run(main())
    assert [order for order in orders if order == sorted(order)] == []


def test_strict_done_set_is_out_of_order_in_fresh_processes() -> None:
    for _ in range(3):
        result = run_python("-c", _BATCHES_SCRIPT, "250")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {"2": 0, "3": 0, "5": 0}


def test_out_of_order_keeps_the_members_and_returns_a_plain_set() -> None:
    for _ in range(500):
        members = [object() for _ in range(2)]
        position = {id(m): i for i, m in enumerate(members)}.__getitem__
        result = _strict_order.out_of_order(set(members), lambda m, p=position: p(id(m)))
        assert type(result) is set
        assert result == set(members)
        order = [position(id(m)) for m in result]
        assert order != sorted(order)


def test_a_set_already_out_of_order_or_of_one_member_is_returned_as_it_is() -> None:
    one = {object()}
    assert _strict_order.out_of_order(one, lambda m: 0) is one
    members = [object() for _ in range(3)]
    done = set(members)
    order = list(done)
    position = {id(m): i for i, m in enumerate(reversed(order))}
    assert _strict_order.out_of_order(done, lambda m: position[id(m)]) is done
