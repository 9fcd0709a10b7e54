"""Write the report: one HTML file with its data, styles and scripts inline.

Nothing from the trace is written as markup. The data goes in a ``<script type="application/json">``
block with ``<``, ``>`` and ``&`` escaped as JSON ``\\u`` sequences (so no ``</script>`` or ``<!--``
can end it early), and ``report.js`` puts every string into the page as text. A
Content-Security-Policy allows only the page's own inline scripts, by hash, and no network at all.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from importlib import resources
from typing import Any

_SOURCE_MAP = re.compile(r"\n//# sourceMappingURL=\S+\s*$")
_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


def _static(name: str) -> str:
    return (resources.files("asyncwarden.dashboard") / "static" / name).read_text("utf-8")


def _script_text(name: str) -> str:
    text = _SOURCE_MAP.sub("\n", _static(name))  # no map file travels with the report
    if "</script" in text.lower():
        raise ValueError(f"{name} contains '</script' and cannot be inlined")
    return text


def embed_json(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` element: no ``<``, ``>`` or ``&`` characters."""
    # ensure_ascii also escapes U+2028/U+2029; allow_nan=False keeps it parseable by JSON.parse.
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":")).translate(
        _JSON_ESCAPES
    )


def _hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def render(model: dict[str, Any]) -> str:
    """The whole HTML document for a report model (see ``_model.build_model``)."""
    scripts = [_script_text("chart.umd.min.js"), _script_text("report.js")]
    style = _static("report.css")
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join(_hash(s) for s in scripts),
            # Chart.js sizes its canvases through element.style.
            "style-src 'unsafe-inline'",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        '<meta name="generator" content="asyncwarden dashboard">\n',
        "<title>asyncwarden report</title>\n",
        f"<style>\n{style}</style>\n</head>\n<body>\n",
        '<main id="app"><p>This report needs JavaScript to draw its charts.</p></main>\n',
        f'<script type="application/json" id="aw-data">{embed_json(model)}</script>\n',
        *(f"<script>{script}</script>\n" for script in scripts),
        "</body>\n</html>\n",
    ]
    return "".join(parts)
