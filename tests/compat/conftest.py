"""Fixtures shared by the foreign-suite tests."""

from __future__ import annotations

import pytest

from . import _pandas22_venv


@pytest.fixture(scope="session")
def pandas22_python() -> str:
    """The interpreter of .venv-pandas22, built on first use (or ahead by make test)."""
    return _pandas22_venv.build()
