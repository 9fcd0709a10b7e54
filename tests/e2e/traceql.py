"""A parser for the TraceQL the dashboards use, to check their queries against real traces.

Covers spanset filters (``{ ... }`` with ``&&``, ``||``, ``!``, parentheses and the comparison
operators), spanset operators between filters, and pipelines of ``select(...)``, ``by(...)`` and
aggregates compared with a value. Anything outside that raises ValueError, so a query that uses
more of TraceQL makes the test fail until this grows with it.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<duration>\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<field>(?:span|resource|event|link|scope|trace|parent)?[.:][A-Za-z_][\w.\-]*
                 |[A-Za-z_][\w]*)
      | (?P<op>&&|\|\||>>|<<|!~|=~|!=|>=|<=|[{}()|,=<>!~])
    )""",
    re.X,
)
SCOPES = {"span", "resource", "event", "link", "scope", "trace", "parent", ""}
INTRINSICS = {
    "name",
    "duration",
    "status",
    "statusMessage",
    "kind",
    "id",
    "rootName",
    "rootServiceName",
    "traceDuration",
}
ENUMS = {
    "ok",
    "error",
    "unset",
    "true",
    "false",
    "nil",
    "server",
    "client",
    "producer",
    "consumer",
    "internal",
    "unspecified",
}
COMPARISONS = {"=", "!=", ">", ">=", "<", "<=", "=~", "!~"}
AGGREGATES = {"count", "avg", "min", "max", "sum"}


class Field(NamedTuple):
    scope: str  # "span", "event", "resource", ...; "" for legacy intrinsics (name, duration)
    name: str
    intrinsic: bool


class Query(NamedTuple):
    fields: list[Field]
    conditions: list[tuple[Field, str, str]]


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(f"unknown token at {text[position : position + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.query = Query([], [])

    def peek(self) -> str:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise ValueError(f"expected {expected or 'more'} at the end")
        token = self.tokens[self.at]
        if expected is not None and token[1] != expected:
            raise ValueError(f"expected {expected!r}, got {token[1]!r}")
        self.at += 1
        return token

    def field(self) -> Field:
        kind, text = self.take()
        if kind != "field":
            raise ValueError(f"expected a field, got {text!r}")
        if text in INTRINSICS:
            return Field("", text, True)
        match = re.fullmatch(r"(\w*)([.:])(.+)", text)
        if match is None or match.group(1) not in SCOPES:
            raise ValueError(f"unknown field {text!r}")
        scope, separator, name = match.groups()
        if separator == ":" and name not in INTRINSICS:
            raise ValueError(f"unknown intrinsic {text!r}")
        field = Field(scope or "span", name, separator == ":")
        self.query.fields.append(field)
        return field

    def value(self) -> str:
        kind, text = self.take()
        if kind == "string":
            return text[1:-1].encode().decode("unicode_escape")
        if kind in ("number", "duration") or (kind == "field" and text in ENUMS):
            return text
        raise ValueError(f"expected a value, got {text!r}")

    def condition(self) -> None:
        if self.peek() == "(":
            self.take("(")
            self.expression()
            self.take(")")
            return
        if self.peek() == "!":
            self.take("!")
            self.condition()
            return
        field = self.field()
        operator = self.take()[1]
        if operator not in COMPARISONS:
            raise ValueError(f"expected a comparison after {field}, got {operator!r}")
        self.query.conditions.append((field, operator, self.value()))

    def expression(self) -> None:
        self.condition()
        while self.peek() in ("&&", "||"):
            self.take()
            self.condition()

    def spanset(self) -> None:
        self.take("{")
        if self.peek() != "}":
            self.expression()
        self.take("}")

    def stage(self) -> None:
        word = self.peek()
        if word == "{":
            self.spanset()
            while self.peek() in ("&&", "||", ">>", "<<", ">", "<", "~"):
                self.take()
                self.spanset()
        elif word in ("select", "by"):
            self.take()
            self.take("(")
            self.field()
            while self.peek() == ",":
                self.take(",")
                self.field()
            self.take(")")
        elif word in AGGREGATES:
            self.take()
            self.take("(")
            if self.peek() != ")":
                self.field()
            self.take(")")
            if self.take()[1] not in COMPARISONS:
                raise ValueError("expected a comparison after an aggregate")
            self.value()
        else:
            raise ValueError(f"expected a spanset or a pipeline stage, got {word!r}")

    def parse(self) -> Query:
        self.stage()
        while self.peek() == "|":
            self.take("|")
            self.stage()
        if self.at != len(self.tokens):
            raise ValueError(f"expected the end, got {self.peek()!r}")
        return self.query


def parse(text: str) -> Query:
    """The fields and conditions of a TraceQL query; ValueError if it is not valid TraceQL."""
    return _Parser(text).parse()
