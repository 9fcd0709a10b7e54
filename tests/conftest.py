from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import asyncwarden
from asyncwarden import _config

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--corpus-runs",
        type=int,
        default=None,
        help="runs of each corpus program per mode (tests/e2e/test_corpus.py); default 5 strict "
        "runs of each correct program, 1 of each hazard, 1 warn run",
    )


@pytest.fixture
def fresh() -> Iterator[None]:
    """As in a fresh process: default settings, nothing recorded; the same again afterwards."""
    _config.reset_defaults()
    yield
    _config.reset_defaults()


@pytest.fixture
def guard(fresh: None) -> Iterator[None]:
    """The guard on in warn mode for one test, everything recorded forgotten afterwards."""
    with asyncwarden.guarded("warn"):
        yield


@pytest.fixture
def strict_guard(fresh: None) -> Iterator[None]:
    with asyncwarden.guarded("strict"):
        yield


def run_python(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the test interpreter as a user would: a fresh process, variables set on its own."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCWARDEN")}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, *args],
        env=environ,
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


async def in_reverse_completion(n: int, make: Any) -> list[Any]:
    """Frames in the order a FIRST_COMPLETED loop gets them: the last partition finishes first.

    A scheduler-chosen order that is the same on every run: ``make(i)`` runs only once partition
    i is released, and one partition is released per ``wait()``.
    """
    ready = [asyncio.Event() for _ in range(n)]

    async def load(i: int) -> Any:
        await ready[i].wait()
        return await make(i)

    pending = {asyncio.create_task(load(i)) for i in range(n)}
    frames: list[Any] = []
    for i in reversed(range(n)):
        ready[i].set()  # exactly one member can finish before this wait() returns
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        frames += [t.result() for t in done]
    return frames
