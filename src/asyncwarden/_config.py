"""All settings in one object, read from the environment or given to ``install()``.

Parsing never raises into the user's program: ``from_environ`` collects one message per bad
variable and falls back to that variable's default.
"""

from __future__ import annotations

import dataclasses
import enum
import os
from collections.abc import Mapping

from asyncwarden.exceptions import ConfigurationError

MODE_VARIABLE = "ASYNCWARDEN"
LOG_VARIABLE = "ASYNCWARDEN_LOG"
TRACE_FILE_VARIABLE = "ASYNCWARDEN_TRACE_FILE"
TASK_SPANS_VARIABLE = "ASYNCWARDEN_TASK_SPANS"
REPEAT_VARIABLE = "ASYNCWARDEN_REPEAT"

# Longest value echoed back in an error message: a huge value must not flood stderr.
_ECHO_LIMIT = 60


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


_MODE_WORDS: dict[str, Mode] = {
    "off": Mode.OFF,
    "0": Mode.OFF,
    "false": Mode.OFF,
    "no": Mode.OFF,
    "": Mode.OFF,
    "warn": Mode.WARN,
    "1": Mode.WARN,
    "true": Mode.WARN,
    "on": Mode.WARN,
    "yes": Mode.WARN,
    "strict": Mode.STRICT,
}
MODE_ACCEPTED = "off, warn, strict (also 1/true/on/yes = warn, 0/false/no/empty = off)"
LOG_ACCEPTED = "console, json, off"
REPEAT_ACCEPTED = "once (one warning per call site), always"
TASK_SPANS_ACCEPTED = "off, or a number of task spans per batch from 0 to 100000 (on = 100)"
_MAX_TASK_SPANS = 100_000


def _echo(value: str) -> str:
    return value if len(value) <= _ECHO_LIMIT else value[:_ECHO_LIMIT] + "..."


def parse_mode(value: str | Mode, variable: str = MODE_VARIABLE) -> Mode:
    """Turn a user's spelling of a mode into a ``Mode``; raise ``ConfigurationError`` if unknown."""
    if isinstance(value, Mode):
        return value
    mode = _MODE_WORDS.get(str(value).strip().lower())
    if mode is None:
        raise ConfigurationError(variable, _echo(str(value)), MODE_ACCEPTED)
    return mode


def parse_log_format(value: str) -> LogFormat:
    try:
        return LogFormat(value.strip().lower() or "console")
    except ValueError:
        raise ConfigurationError(LOG_VARIABLE, _echo(value), LOG_ACCEPTED) from None


def parse_task_spans(value: str) -> int:
    word = value.strip().lower()
    if word in {"", "off", "0", "false", "no"}:
        return 0
    if word in {"on", "true", "1", "yes"}:
        return 100
    # The length check first: int() of a string over 4300 digits raises its own ValueError.
    if word.isascii() and word.isdigit() and len(word) <= 6 and int(word) <= _MAX_TASK_SPANS:
        return int(word)
    raise ConfigurationError(TASK_SPANS_VARIABLE, _echo(value), TASK_SPANS_ACCEPTED)


def parse_repeat(value: str) -> bool:
    """Return True when every occurrence should be reported, False for once per call site."""
    word = value.strip().lower()
    if word in {"", "once"}:
        return False
    if word == "always":
        return True
    raise ConfigurationError(REPEAT_VARIABLE, _echo(value), REPEAT_ACCEPTED)


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
        env = os.environ if environ is None else environ
        errors: list[ConfigurationError] = []
        values: dict[str, object] = {}
        parsers = (
            ("mode", MODE_VARIABLE, parse_mode),
            ("log", LOG_VARIABLE, parse_log_format),
            ("task_spans", TASK_SPANS_VARIABLE, parse_task_spans),
            ("repeat", REPEAT_VARIABLE, parse_repeat),
        )
        for field, variable, parse in parsers:
            raw = env.get(variable)
            if raw is None:
                continue
            try:
                values[field] = parse(raw)  # type: ignore[operator]
            except ConfigurationError as error:
                errors.append(error)
        trace_file = env.get(TRACE_FILE_VARIABLE, "").strip()
        if trace_file:
            values["trace_file"] = trace_file
        return cls(**values), errors  # type: ignore[arg-type]
