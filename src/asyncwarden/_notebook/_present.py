"""A finding as a notebook shows it: the rule, the message, the user's cell and line, the fix.

One display bundle carries both forms: Jupyter renders the HTML block, terminal IPython prints the
plain text. Cells are named as IPython's own tracebacks name them (``In[3]``), read from the
compiler's table of the files it made for each cell.
"""

from __future__ import annotations

import html
import linecache
import re
import traceback
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asyncwarden._findings._finding import Finding
    from asyncwarden._tracking._callsite import CallSite
    from asyncwarden.exceptions import FindingError


def cell_name(shell: Any, filename: str) -> str | None:
    """``In[3]`` for the file IPython compiled cell 3 into; None for any other file."""
    try:
        named = shell.compile.format_code_name(filename)
    except Exception:  # an IPython without the method: name no cell rather than fail
        return None
    if not named:
        return None
    return str(named[1])


def where(shell: Any, site: CallSite) -> str:
    cell = cell_name(shell, site.filename)
    if cell is None:
        return f"{site.short()} in {site.function}"
    return f"{cell}, line {site.lineno}"


def _cell_files(shell: Any, text: str) -> dict[str, str]:
    files: dict[str, str] = {}
    for filename in getattr(shell.compile, "_filename_map", {}):
        if isinstance(filename, str) and filename in text:
            cell = cell_name(shell, filename)
            if cell is not None:
                files[filename] = cell
    return files


def _name_cells(shell: Any, text: str) -> str:
    """Replace ``/tmp/ipykernel_1/123.py:5`` in the message by ``In[3], line 5``."""
    for filename, cell in _cell_files(shell, text).items():
        text = re.sub(re.escape(filename) + r":(\d+)", f"{cell}, line \\1", text)
    return text


def rows(shell: Any, finding: Finding) -> list[tuple[str, str]]:
    """(label, text) rows, as ``Finding.render`` lays them out, with cells named."""
    result = [(role, where(shell, site)) for role, site in finding.sites]
    for line in _name_cells(shell, finding.message).splitlines():
        label, _, text = ("", "", line) if line[:1].isspace() else line.partition(" ")
        result.append((label, text.strip()))
    result.append(("fix", finding.fix))
    return result


def _code_line(site: CallSite) -> str:
    return linecache.getline(site.filename, site.lineno).strip()


def _head(shell: Any, finding: Finding) -> tuple[str, str]:
    """The cell and line the finding points at, and the code on that line."""
    return where(shell, finding.site), _code_line(finding.site)


def as_text(shell: Any, finding: Finding, raised: bool) -> str:
    table = rows(shell, finding)
    width = max(len(label) for label, _ in table)
    head = f"{finding.code} {finding.name}: {finding.title}"
    if raised:
        head += " (strict mode: raised)"
    place, code = _head(shell, finding)
    lines = [head, f"  {place}:  {code}" if code else f"  {place}"]
    lines.extend(f"  {label:<{width}}  {text}" for label, text in table)
    return "\n".join(lines)


_STYLE = (
    "border-left:4px solid {color};padding:4px 10px;margin:4px 0;"
    "font-family:var(--jp-code-font-family,monospace);font-size:12px"
)


def as_html(shell: Any, finding: Finding, raised: bool) -> str:
    escape = html.escape
    color = "#c62828" if raised else "#ef6c00"
    strict = " (strict mode: raised)" if raised else ""
    place, code = _head(shell, finding)
    cell = f"<b>{escape(place)}</b>"
    if code:
        cell += f"&nbsp; <code>{escape(code)}</code>"
    body = "".join(
        f"<tr><td style='padding-right:12px;vertical-align:top;white-space:nowrap'>"
        f"{escape(label)}</td><td style='white-space:pre-wrap'>{escape(text)}</td></tr>"
        for label, text in rows(shell, finding)
    )
    return (
        f"<div class='asyncwarden-finding' style='{_STYLE.format(color=color)}'>"
        f"<div><b style='color:{color}'>{escape(finding.code)} {escape(finding.name)}</b>: "
        f"{escape(finding.title)}{strict}</div>"
        f"<div>{cell}</div>"
        f"<table style='border-collapse:collapse'>{body}</table></div>"
    )


def show(shell: Any, finding: Finding, raised: bool = False) -> None:
    """Display the finding in the output of the cell running now."""
    from IPython.display import display

    display(  # type: ignore[no-untyped-call]
        {
            "text/plain": as_text(shell, finding, raised),
            "text/html": as_html(shell, finding, raised),
        },
        raw=True,
    )


def _to_user_line(error: FindingError) -> TracebackType | None:
    """The error's traceback, up to the last line of the user's that its finding names."""
    finding = error.finding
    named = {(s.filename, s.lineno) for s in (finding.site, *(s for _, s in finding.sites))}
    nodes = []
    node = error.__traceback__
    while node is not None:
        nodes.append(node)
        node = node.tb_next
    last = max(
        (i for i, n in enumerate(nodes) if (n.tb_frame.f_code.co_filename, n.tb_lineno) in named),
        default=len(nodes) - 1,
    )
    cut: TracebackType | None = None
    for node in reversed(nodes[: last + 1]):
        cut = TracebackType(cut, node.tb_frame, node.tb_lasti, node.tb_lineno)
    return cut


def traceback_lines(error: FindingError) -> list[str]:
    """IPython's structured traceback of a ``FindingError``, ending at the user's line."""
    try:
        from IPython import get_ipython

        shell = get_ipython()  # type: ignore[no-untyped-call]
        cut = _to_user_line(error)
        if shell is not None:
            lines = shell.InteractiveTB.structured_traceback(type(error), error, cut)
            return [_name_cells(shell, line) for line in lines]
        return traceback.format_exception(type(error), error, cut)
    except Exception:  # IPython would print its own failure instead: give it the plain form
        return traceback.format_exception(type(error), error, error.__traceback__)
