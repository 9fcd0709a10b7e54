"""``asyncwarden.on_finding`` in-process: what it is called with, and what it is not."""

from __future__ import annotations

import asyncio

import pandas as pd
import pytest

import asyncwarden
from asyncwarden import _config
from asyncwarden._findings._finding import Finding
from tests.conftest import in_reverse_completion


async def _part(i: int) -> pd.DataFrame:
    await asyncio.sleep(0)
    return pd.DataFrame({"day": [i]})


async def _wrong() -> pd.DataFrame:
    frames = await in_reverse_completion(3, _part)
    return pd.concat(frames).reset_index(drop=True)  # reads the rows as they came


def test_findings_acknowledged_with_allow_are_not_passed_on(guard: None) -> None:
    seen: list[Finding] = []
    unregister = asyncwarden.on_finding(seen.append)
    try:
        with asyncwarden.allow("AW101"):
            asyncio.run(_wrong())
        with pytest.warns(asyncwarden.UnorderedConcatWarning):
            asyncio.run(_wrong())
    finally:
        unregister()
    assert [f.code for f in seen] == ["AW101"]


def test_a_callback_may_unregister_itself_and_the_next_one_is_still_called(guard: None) -> None:
    seen: list[str] = []

    def once(finding: Finding) -> None:
        seen.append("once")
        unregister_once()

    unregister_once = asyncwarden.on_finding(once)
    unregister_all = asyncwarden.on_finding(lambda f: seen.append("all"))
    try:
        for _ in range(2):
            with pytest.warns(asyncwarden.UnorderedConcatWarning):
                asyncio.run(_wrong())
            _config.reset_defaults()  # shown once per line: forget it, the next run warns too
    finally:
        unregister_all()
    assert seen == ["once", "all", "all"]


def test_on_finding_takes_a_callable() -> None:
    with pytest.raises(TypeError, match=r"on_finding\(\) takes a callable, got str"):
        asyncwarden.on_finding("print")  # type: ignore[arg-type]
