"""Each rule explained with wrong and right code, read from the one text docs/rules.md.

``rules.md`` in this package is docs/rules.md itself (a symbolic link in the source tree; the
wheel holds a copy of the file), so ``asyncwarden rules AW101`` and the documentation cannot
drift apart.
"""

from __future__ import annotations

from importlib import resources


class RuleDocsError(LookupError):
    """A rule code with no section in rules.md, or rules.md missing from the installation."""


def _text() -> str:
    try:
        return resources.files("asyncwarden").joinpath("rules.md").read_text(encoding="utf-8")
    except OSError as error:
        raise RuleDocsError(f"the rule texts are missing here ({error})") from None


def section(code: str) -> str:
    """The section of rules.md for ``code``, as plain text: code blocks indented, no fences."""
    from asyncwarden._rules._catalog import RULES

    wanted = code.strip().upper()
    if wanted not in RULES:
        raise RuleDocsError(f"unknown rule {code!r}; known: {', '.join(RULES)}")
    lines = _text().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(f"## {wanted} ")), None)
    if start is None:
        raise RuleDocsError(f"rules.md has no section for {wanted}")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    out = [lines[start][3:].replace("`", "")]
    in_code = False
    for line in lines[start + 1 : end]:
        if line.startswith("```"):
            in_code = not in_code
            continue
        out.append(f"    {line}".rstrip() if in_code else line)
    return "\n".join(out).strip("\n")
