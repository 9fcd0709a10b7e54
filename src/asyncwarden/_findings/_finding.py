"""A finding: one hazard, where it happened, which tasks it concerns, and how to fix it."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

from asyncwarden._tracking._callsite import CallSite
from asyncwarden._tracking._provenance import TaskProvenance


@dataclasses.dataclass(frozen=True)
class Finding:
    """What asyncwarden found. Warnings, errors, log events and span events all carry one."""

    code: str
    """Stable rule code, e.g. ``"AW101"``."""
    name: str
    """Rule name, e.g. ``"unordered-concat"``."""
    title: str
    """One line saying what happened."""
    message: str
    """The precise account: which frames, which positions, which tasks."""
    fix: str
    """What to change, concretely."""
    site: CallSite
    """The user's line where the hazard was detected (the warning points here)."""
    sites: tuple[tuple[str, CallSite], ...] = ()
    """Every call site involved, with its role: ``("batch", ...)``, ``("consumed", ...)``."""
    tasks: tuple[TaskProvenance, ...] = ()
    """Provenance of the tasks concerned."""
    batch_ids: tuple[int, ...] = ()
    details: Mapping[str, object] = dataclasses.field(default_factory=dict)
    """Counts and shapes for telemetry; never data values."""
    time: float = dataclasses.field(default_factory=time.time)

    def render(self) -> str:
        """A short block that reads well on a terminal."""
        # A message line is "label  text"; an indented line continues the previous label.
        rows = [(role, f"{site.short()} in {site.function}") for role, site in self.sites]
        for line in self.message.splitlines():
            label, _, text = ("", "", line) if line[:1].isspace() else line.partition(" ")
            rows.append((label, text.strip()))
        rows.append(("fix", self.fix))
        width = max(len(label) for label, _ in rows)
        lines = [f"{self.code} {self.name}: {self.title}"]
        lines.extend(f"  {label:<{width}}  {text}" for label, text in rows)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The fields of the ``asyncwarden.finding`` log event, ready for ``json.dumps``.

        Codes, texts and call sites; no data values (docs/telemetry.md, "Schema").
        """
        site = self.site
        return {
            "rule": self.code,
            "name": self.name,
            "title": self.title,
            "message": self.message,
            "fix": self.fix,
            "file": site.filename,
            "line": site.lineno,
            "function": site.function,
            # As on the terminal: relative to the working directory ("file" keeps the whole path).
            "sites": [f"{role}: {where.short()} in {where.function}" for role, where in self.sites],
            "batch_ids": list(self.batch_ids),
        }

    def __str__(self) -> str:
        return self.render()
