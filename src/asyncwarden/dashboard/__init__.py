"""The HTML dashboard: ``asyncwarden dashboard TRACE... -o report.html``.

Reads OTLP/JSON trace files (what ``ASYNCWARDEN_TRACE_FILE`` and the OpenTelemetry Collector's
file exporter write) and writes one self-contained HTML file: no network, opens from disk.

Exports :func:`build_report`, :func:`write_report` and :class:`TraceFileError`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from asyncwarden.dashboard._html import render
from asyncwarden.dashboard._model import build_model
from asyncwarden.dashboard._otlp import TraceFileError, read_traces

__all__ = ["TraceFileError", "build_report", "write_report"]


def build_report(paths: Iterable[str | os.PathLike[str]]) -> tuple[str, dict[str, Any]]:
    """Read the trace files; return the HTML and the summary it shows.

    Raises :class:`TraceFileError` (naming the file and line) for a file that is not OTLP/JSON.
    """
    model = build_model(read_traces(paths))
    return render(model), model["summary"]


def write_report(
    paths: Iterable[str | os.PathLike[str]], output: str | os.PathLike[str]
) -> dict[str, Any]:
    """Write the HTML report for ``paths`` to ``output``; return its summary."""
    html, summary = build_report(paths)
    temporary = f"{os.fspath(output)}.tmp{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(html)
    os.replace(temporary, output)  # a reader never sees half a report
    return summary
