"""The guard's configuration in one object, ``CONFIG``: its settings and whether it is on.

Settings are read from the environment or given to ``install()``. Parsing never raises into the
user's program: ``from_environ`` collects one message per bad variable and falls back to that
variable's default. One owner writes ``CONFIG``: ``_activation``; everything else reads it.
"""

from __future__ import annotations

import dataclasses
import enum
import os
from collections.abc import Mapping

from asyncwarden import _environ
from asyncwarden.exceptions import ConfigurationError


class Mode(str, enum.Enum):
    """How findings are delivered."""

    OFF = "off"
    WARN = "warn"
    STRICT = "strict"


class LogFormat(str, enum.Enum):
    """Where asyncwarden's structlog events go."""

    CONSOLE = "console"
    JSON = "json"
    OFF = "off"


def parse_mode(value: str | Mode, variable: str = _environ.MODE_VARIABLE) -> Mode:
    """Turn a user's spelling of a mode into a ``Mode``; raise ``ConfigurationError`` if unknown."""
    if isinstance(value, Mode):
        return value
    return Mode(_environ.mode_word(str(value), variable))


@dataclasses.dataclass(frozen=True)
class Settings:
    """The guard's configuration. ``Settings()`` is the default: guard off."""

    mode: Mode = Mode.OFF
    log: LogFormat = LogFormat.CONSOLE
    trace_file: str | None = None
    task_spans: int = 0
    repeat: bool = False

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str] | None = None
    ) -> tuple[Settings, list[ConfigurationError]]:
        """Read every variable; a bad one is reported and falls back to its default."""
        values, errors = _environ.read(os.environ if environ is None else environ)
        return cls.from_values(values), errors

    @classmethod
    def from_values(cls, values: _environ.Values) -> Settings:
        """The settings of variables ``_environ.read`` parsed; absent ones keep their defaults."""
        mode = values.get("mode")
        log = values.get("log")
        return cls(
            mode=Mode.OFF if mode is None else Mode(mode),
            log=LogFormat.CONSOLE if log is None else LogFormat(log),
            trace_file=values.get("trace_file"),
            task_spans=values.get("task_spans", 0),
            repeat=values.get("repeat", False),
        )


class Config:
    """What the guard is configured to do now."""

    __slots__ = ("installed", "settings")

    def __init__(self) -> None:
        self.settings = Settings()
        # Whether the guard is on: its patches and hooks are in place.
        self.installed = False

    def strict(self) -> bool:
        return self.settings.mode is Mode.STRICT


CONFIG = Config()


def reset_defaults() -> None:
    """Back to a fresh process: default settings, and everything recorded forgotten (tests).

    The patches are ``uninstall()``'s: while the guard is on, its settings stay as they are.
    """
    from asyncwarden import _failopen, _observers

    if not CONFIG.installed:
        CONFIG.settings = Settings()
    _observers.reset()  # every module that records something registered its own forgetting
    _failopen.reset()
