"""What the plugin writes: a strict test's failure, the findings section of a failed test, and the
terminal summary of findings by rule and test."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from asyncwarden._findings._finding import Finding

# The attribute a test report carries its findings in; plain data, so pytest-xdist ships it from
# the workers to the controller, which prints the summary.
REPORT_ATTRIBUTE = "asyncwarden_findings"

WHERE = {
    "setup": "while its fixtures were set up",
    "call": "while it ran",
    "teardown": "while its fixtures were torn down",
}


def failure(findings: list[Finding], when: str) -> str:
    count = f"{len(findings)} finding{'s' if len(findings) > 1 else ''}"
    head = (
        f"asyncwarden (strict): {count} reported {WHERE.get(when, 'during ' + when)}, "
        "never raised to the test:\ncaught by the code under test, raised in an asyncio "
        "callback, or detected when an event loop shut down."
    )
    return "\n\n".join([head, *(render(f) for f in findings)])


def render(finding: Finding) -> str:
    try:
        return finding.render()
    except Exception:  # a finding that cannot be rendered still fails the test
        return f"{finding.code} {finding.name}: {finding.title} at {finding.site}"


def summary_entry(finding: Finding, when: str) -> dict[str, str]:
    return {
        "code": finding.code,
        "name": finding.name,
        "title": finding.title,
        "site": finding.site.short(),
        "when": when,
    }


def collected(reports: Iterable[object]) -> list[tuple[str, dict[str, str]]]:
    return [
        (str(getattr(report, "nodeid", "")), entry)
        for report in reports
        for entry in getattr(report, REPORT_ATTRIBUTE, None) or ()
    ]


OUTSIDE = "(outside any test)"


def write(
    terminalreporter: pytest.TerminalReporter, reports: list[object], outside: list[Finding]
) -> None:
    """The findings of the run, by rule and test, at the end of the terminal report."""
    entries = collected(reports)
    if not entries and not outside:
        return
    by_rule: dict[tuple[str, str], dict[str, list[dict[str, str]]]] = {}
    for nodeid, entry in entries:
        tests = by_rule.setdefault((entry["code"], entry["name"]), {})
        tests.setdefault(nodeid, []).append(entry)
    for finding in outside:
        tests = by_rule.setdefault((finding.code, finding.name), {})
        tests.setdefault(OUTSIDE, []).append(summary_entry(finding, ""))
    total = sum(len(found) for tests in by_rule.values() for found in tests.values())
    test_count = len({nodeid for tests in by_rule.values() for nodeid in tests} - {OUTSIDE})
    terminalreporter.write_sep(
        "=",
        f"asyncwarden: {total} finding{'s' * (total != 1)} in {test_count} "
        f"test{'s' * (test_count != 1)}",
    )
    for (code, name), tests in sorted(by_rule.items()):
        terminalreporter.write_line(f"{code} {name}", bold=True)
        for nodeid, found in tests.items():
            terminalreporter.write_line(f"  {nodeid}")
            for entry in found:
                when = f" [{entry['when']}]" if entry["when"] and entry["when"] != "call" else ""
                terminalreporter.write_line(f"    {entry['site']}{when}  {entry['title']}")
