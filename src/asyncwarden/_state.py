"""The guard's current settings. One owner: ``_activation`` writes, everything else reads."""

from __future__ import annotations

from asyncwarden._config import Mode, Settings

settings: Settings = Settings()
# Whether the guard is on: its patches and hooks are in place (``_activation`` switches it).
installed = False


def mode() -> Mode:
    return settings.mode


def strict() -> bool:
    return settings.mode is Mode.STRICT
