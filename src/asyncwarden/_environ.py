"""The ``ASYNCWARDEN*`` variables read into plain values: the start-up path of ``_config``.

The ``.pth`` hook reads them in every process where ``ASYNCWARDEN`` is set, so this module
imports nothing but ``asyncwarden.exceptions``: no ``enum`` and no ``dataclasses`` (with
``inspect`` behind it, about 15 ms). ``_config`` builds ``Mode``, ``LogFormat`` and ``Settings``
on these parsers, so the accepted spellings and the messages live here once.
"""

from __future__ import annotations

from asyncwarden.exceptions import ConfigurationError

# Not `from typing import TYPE_CHECKING`: importing typing costs start-up time; mypy reads the name.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import TypedDict

    class Values(TypedDict, total=False):
        """The variables that were set, parsed; ``Settings.from_values`` makes the object."""

        mode: str
        log: str
        trace_file: str
        task_spans: int
        repeat: bool


MODE_VARIABLE = "ASYNCWARDEN"
LOG_VARIABLE = "ASYNCWARDEN_LOG"
TRACE_FILE_VARIABLE = "ASYNCWARDEN_TRACE_FILE"
TASK_SPANS_VARIABLE = "ASYNCWARDEN_TASK_SPANS"
REPEAT_VARIABLE = "ASYNCWARDEN_REPEAT"

# Longest value echoed back in an error message: a huge value must not flood stderr.
_ECHO_LIMIT = 60

# Spelling -> the value of the ``Mode`` member it means.
MODE_WORDS: dict[str, str] = {
    "off": "off",
    "0": "off",
    "false": "off",
    "no": "off",
    "": "off",
    "warn": "warn",
    "1": "warn",
    "true": "warn",
    "on": "warn",
    "yes": "warn",
    "strict": "strict",
}
LOG_WORDS = ("console", "json", "off")
MODE_ACCEPTED = "off, warn, strict (also 1/true/on/yes = warn, 0/false/no/empty = off)"
LOG_ACCEPTED = "console, json, off"
REPEAT_ACCEPTED = "once (one warning per call site), always"
TASK_SPANS_ACCEPTED = "off, or a number of task spans per batch from 0 to 100000 (on = 100)"
_MAX_TASK_SPANS = 100_000


def echo(value: str) -> str:
    return value if len(value) <= _ECHO_LIMIT else value[:_ECHO_LIMIT] + "..."


def mode_word(value: str, variable: str = MODE_VARIABLE) -> str:
    """The value of the ``Mode`` member a spelling means; ``ConfigurationError`` if unknown."""
    word = MODE_WORDS.get(value.strip().lower())
    if word is None:
        raise ConfigurationError(variable, echo(value), MODE_ACCEPTED)
    return word


def log_word(value: str) -> str:
    """The value of the ``LogFormat`` member a spelling means; ``ConfigurationError`` if unknown."""
    word = value.strip().lower() or "console"
    if word not in LOG_WORDS:
        raise ConfigurationError(LOG_VARIABLE, echo(value), LOG_ACCEPTED)
    return word


def parse_task_spans(value: str) -> int:
    word = value.strip().lower()
    if word in {"", "off", "0", "false", "no"}:
        return 0
    if word in {"on", "true", "1", "yes"}:
        return 100
    # The length check first: int() of a string over 4300 digits raises its own ValueError.
    if word.isascii() and word.isdigit() and len(word) <= 6 and int(word) <= _MAX_TASK_SPANS:
        return int(word)
    raise ConfigurationError(TASK_SPANS_VARIABLE, echo(value), TASK_SPANS_ACCEPTED)


def parse_repeat(value: str) -> bool:
    """Return True when every occurrence should be reported, False for once per call site."""
    word = value.strip().lower()
    if word in {"", "once"}:
        return False
    if word == "always":
        return True
    raise ConfigurationError(REPEAT_VARIABLE, echo(value), REPEAT_ACCEPTED)


def read(environ: Mapping[str, str]) -> tuple[Values, list[ConfigurationError]]:
    """Parse every variable that is set; a bad one is reported and left out (its default holds)."""
    values: Values = {}
    errors: list[ConfigurationError] = []
    parsers: tuple[tuple[str, str, Callable[[str], object]], ...] = (
        ("mode", MODE_VARIABLE, mode_word),
        ("log", LOG_VARIABLE, log_word),
        ("task_spans", TASK_SPANS_VARIABLE, parse_task_spans),
        ("repeat", REPEAT_VARIABLE, parse_repeat),
    )
    for field, variable, parse in parsers:
        raw = environ.get(variable)
        if raw is None:
            continue
        try:
            values[field] = parse(raw)  # type: ignore[literal-required]
        except ConfigurationError as error:
            errors.append(error)
    # A path is taken as given: spaces at its ends are part of a file name. Only an empty or
    # blank value means no trace file.
    trace_file = environ.get(TRACE_FILE_VARIABLE, "")
    if trace_file.strip():
        values["trace_file"] = trace_file
    return values, errors
