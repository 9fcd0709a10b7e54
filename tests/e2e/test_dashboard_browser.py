"""The HTML report in a real browser: Debian's headless chromium, opened from disk."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asyncwarden import RULES
from tests.conftest import ROOT, run_python
from tests.dashboard_traces import TraceBuilder, etl_scenario, finding, write, write_large
from tests.e2e.browser import chromium, console_errors

# One worker runs this module, so its browser (or Prometheus) starts once under xdist.
pytestmark = pytest.mark.xdist_group("chromium")
HOSTILE = "<img src=x onerror=window.__pwned=1;alert(1)>"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium()


def report(tmp_path: Path, trace: Path, name: str = "report.html") -> Path:
    output = tmp_path / name
    result = run_python("-m", "asyncwarden", "dashboard", str(trace), "-o", str(output))
    assert result.returncode == 0, result.stderr
    return output


def open_report(browser: Any, path: Path, timeout: float = 20) -> float:
    """Load the report; return the seconds until it finished rendering."""
    console_errors(browser)  # drop what an earlier page logged
    started = time.perf_counter()
    browser.get(path.as_uri())
    deadline = started + timeout
    while browser.execute_script("return document.body.dataset.ready") != "1":
        assert time.perf_counter() < deadline, "the report did not finish rendering"
        time.sleep(0.05)
    return time.perf_counter() - started


def painted(browser: Any, selector: str, rgb: tuple[int, int, int]) -> int:
    """How many pixels of the canvas under ``selector`` have exactly the colour ``rgb``."""
    return int(
        browser.execute_script(
            """
            const canvas = document.querySelector(arguments[0]);
            const context = canvas.getContext('2d');
            const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
            const [r, g, b] = [arguments[1], arguments[2], arguments[3]];
            let n = 0;
            for (let i = 0; i < pixels.length; i += 4) {
              if (pixels[i] === r && pixels[i + 1] === g && pixels[i + 2] === b) n++;
            }
            return n;
            """,
            selector,
            *rgb,
        )
    )


OK_GREEN = (0x2E, 0x7D, 0x32)
FAILED_RED = (0xC6, 0x28, 0x28)


def test_etl_report_renders_timeline_orders_lineage_and_the_finding_without_console_errors(
    browser: Any, tmp_path: Path
):
    path = report(tmp_path, write(tmp_path / "trace.jsonl", etl_scenario()))
    open_report(browser, path)
    assert console_errors(browser) == []
    text = browser.find_element("tag name", "body").text
    assert "AW101" in text
    assert "unordered-concat" in text
    assert "etl.py:31 in main" in text  # the finding's code location
    # The batch the finding concerns is the one shown, linked from the finding.
    title = browser.find_element("css selector", "#batch .batch-title")
    assert title.get_attribute("data-key") == "0:1"
    assert title.text.startswith("batch #1 · asyncio.wait() at etl.py:20 in load_all")
    # Timeline: one bar row per task plus the batch's own, drawn in the outcome colour.
    timeline = browser.find_element("css selector", "#batch .timeline")
    assert timeline.get_attribute("data-rows") == "5"
    assert painted(browser, "#batch .timeline canvas", OK_GREEN) > 2000
    # Orders: completion and consumed both differ from submission.
    orders = [r.text for r in browser.find_elements("css selector", "#batch .order-table tr")]
    assert orders == ["submitted 0 1 2 3", "completed 1 3 0 2", "consumed 1 3 0 2"]
    # Lineage: the wait batch feeds the concat that carries AW101.
    lineage = browser.find_element("css selector", "#lineage svg").text
    assert "AW101 · concat at etl.py:31 in main" in lineage
    browser.save_screenshot(str(tmp_path / "report.png"))
    assert (tmp_path / "report.png").stat().st_size > 50_000


def test_following_a_batch_link_shows_that_batch(browser: Any, tmp_path: Path):
    path = report(tmp_path, write(tmp_path / "trace.jsonl", etl_scenario()))
    open_report(browser, path)
    links = browser.find_elements("css selector", "#batches a.batch-link")
    assert [link.text for link in links][1].startswith("batch #1 asyncio.gather()")
    links[1].click()
    title = browser.find_element("css selector", "#batch .batch-title")
    assert title.get_attribute("data-key") == "1:1"
    assert "no findings" not in title.text
    assert browser.find_elements("css selector", "#batch .batch-findings") == []
    assert console_errors(browser) == []


def test_hostile_names_show_as_text_and_run_nothing(browser: Any, tmp_path: Path):
    trace = TraceBuilder(service=f"svc{HOSTILE}")
    trace.batch(
        1,
        "wait",
        2,
        0,
        5,
        completion=[1, 0],
        where=('/srv/"><svg onload=alert(2)>.py', 3, "load</script><script>alert(3)</script>"),
        tasks=[(HOSTILE, "<b>coro</b>", 0, 1, "ok"), ("t2", "c", 0, 2, "failed")],
    )
    trace.combine(
        "concat",
        [1],
        6,
        where=("/srv/<iframe src=javascript:alert(4)>.py", 9, "main"),
        findings=[
            finding(
                "AW102",
                "merge-fanout",
                "keys on column <img src=y onerror=alert(5)> collide",
                6,
                sites=["concat: </script><script>alert(6)</script>"],
            )
        ],
    )
    path = report(tmp_path, write(tmp_path / "trace.jsonl", [trace]))
    open_report(browser, path)
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - reading it is what raises
    assert browser.execute_script("return window.__pwned === undefined")
    for tag in ("img", "iframe", "b"):
        assert browser.find_elements("tag name", tag) == []
    assert len(browser.find_elements("tag name", "script")) == 3
    text = browser.find_element("tag name", "body").text
    assert "keys on column <img src=y onerror=alert(5)> collide" in text
    assert "concat: </script><script>alert(6)</script>" in text
    assert "svg onload=alert(2)>.py:3 in load</script><script>alert(3)</script>" in text
    filter_box = browser.find_element("css selector", "#batches input.filter")
    filter_box.send_keys("<img")  # task names are searchable as the text they are
    assert len(browser.find_elements("css selector", "#batches tbody tr")) == 1
    assert console_errors(browser) == []


def test_100000_spans_render_into_a_usable_page_in_seconds(browser: Any, tmp_path: Path):
    trace = tmp_path / "large.jsonl"
    assert write_large(trace, batches=1000, tasks=99) == 100_000
    started = time.perf_counter()
    path = report(tmp_path, trace)
    build_seconds = time.perf_counter() - started
    assert path.stat().st_size < 4_000_000
    render_seconds = open_report(browser, path)
    print(
        f"100,000 spans: report built in {build_seconds:.1f} s, rendered in {render_seconds:.1f} s"
    )
    assert render_seconds < 10
    assert build_seconds < 60  # a loaded 2-core CI machine; about 3 s when idle
    assert console_errors(browser) == []
    text = browser.find_element("css selector", "#summary").text
    assert "1,000" in text and "99,000" in text
    assert painted(browser, "#batch .timeline canvas", FAILED_RED) > 0
    rows = browser.find_elements("css selector", "#batches tbody tr")
    assert len(rows) == 100  # paged
    browser.find_element("css selector", "#batches button").click()
    assert len(browser.find_elements("css selector", "#batches tbody tr")) == 200


def test_the_demo_writes_a_dashboard_showing_aw101_on_the_wrong_pipelines_batch(
    browser: Any, tmp_path: Path
):
    result = run_python("examples/demo.py", "--output", str(tmp_path), timeout=180)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"Wrote 4 CSV partitions to {tmp_path / 'partitions'}" in out
    assert len(list((tmp_path / "partitions").glob("*.csv"))) == 4
    assert "UnorderedConcatWarning: AW101 unordered-concat" in out
    assert out.count("days in the order they were combined: [0, 1, 2, 3]") >= 2  # the fixes
    assert f"Dashboard:  {tmp_path / 'dashboard.html'}" in out
    # A real trace: what ASYNCWARDEN_TRACE_FILE wrote for the three pipelines' processes.
    open_report(browser, tmp_path / "dashboard.html")
    assert console_errors(browser) == []
    [row] = browser.find_elements("css selector", "#findings tr.finding")
    assert row.text.startswith("AW101\nunordered-concat")
    lines = (ROOT / "examples" / "etl_wrong.py").read_text().splitlines()
    concat = next(n for n, line in enumerate(lines, 1) if "pd.concat(frames" in line)
    assert f"etl_wrong.py:{concat} in main" in row.text
    [link] = row.find_elements("css selector", "a.batch-link")
    assert link.text.startswith("batch #1 asyncio.wait() · etl_wrong")
    link.click()
    title = browser.find_element("css selector", "#batch .batch-title")
    assert "asyncio.wait() at etl_wrong.py:" in title.text
    assert "AW101" in browser.find_element("css selector", "#batch .batch-findings").text
    assert painted(browser, "#batch .timeline canvas", OK_GREEN) > 1000
    runs = browser.find_element("tag name", "header").text
    assert all(name in runs for name in ("etl_wrong", "etl_fixed_gather", "etl_fixed_wait"))


PENDING_YELLOW = (0xF9, 0xA8, 0x25)
SEVEN_DONE_ONE_PENDING = """
import asyncio

async def part(position):
    await asyncio.sleep(3600 if position == 5 else 0)
    return position

async def main():
    tasks = [asyncio.create_task(part(p)) for p in range(8)]
    await asyncio.sleep(0)  # the seven quick ones finish before the wait() below starts
    done, pending = await asyncio.wait(tasks, timeout=0.05)
    for task in pending:
        task.cancel()
    await asyncio.wait(pending)
    return sorted(task.result() for task in done)

print(asyncio.run(main()))
"""


def _run_to_dashboard(tmp_path: Path, *command: str, mode: str = "warn", status: int = 0) -> Path:
    """`asyncwarden run --trace-file ... --dashboard ...`, as a user takes a run to a picture."""
    page = tmp_path / "run.html"
    result = run_python(
        "-m", "asyncwarden", "run", "--mode", mode, "--trace-file", str(tmp_path / "trace.jsonl"),
        "--dashboard", str(page), "--", *command,
    )  # fmt: skip
    assert result.returncode == status, result.stderr
    assert f"wrote {page}:" in result.stdout
    return page


def test_a_wait_with_seven_done_and_one_pending_draws_only_the_pending_one_as_pending(
    browser: Any, tmp_path: Path
):
    script = tmp_path / "app.py"
    script.write_text(SEVEN_DONE_ONE_PENDING)
    page = _run_to_dashboard(tmp_path, sys.executable, str(script))
    open_report(browser, page)
    assert console_errors(browser) == []
    title = browser.find_element("css selector", "#batch .batch-title")
    assert title.text.startswith("batch #1 · asyncio.wait()")
    # Task spans are off: which positions finished comes from wait()'s done set.
    timeline = browser.find_element("css selector", "#batch .timeline")
    outcomes = timeline.get_attribute("data-outcomes").split()
    assert outcomes == ["batch", "ok", "ok", "ok", "ok", "ok", "pending", "ok", "ok"]
    assert (
        painted(browser, "#batch .timeline canvas", OK_GREEN)
        > 6 * painted(browser, "#batch .timeline canvas", PENDING_YELLOW)
        > 0
    )
    facts = browser.find_element("css selector", "#batch .facts").text
    assert facts.startswith("8 tasks · awaited")
    assert "done 7" in facts and "pending 1" in facts


def test_a_batch_whose_positions_are_unknown_is_drawn_as_counts_not_tasks(
    browser: Any, tmp_path: Path
):
    trace = TraceBuilder()
    trace.batch(1, "wait", 8, 0, 50, pending=1)  # no completion or consumed order recorded
    open_report(browser, report(tmp_path, write(tmp_path / "trace.jsonl", [trace])))
    timeline = browser.find_element("css selector", "#batch .timeline")
    assert timeline.get_attribute("data-outcomes") == "batch ok pending"
    assert "Showing" not in timeline.text
    labels = browser.execute_script(
        "return Chart.getChart(document.querySelector('#batch .timeline canvas')).data.labels"
    )
    assert labels[1:] == ["7 tasks ok", "1 task pending"]


def test_a_one_batch_run_reads_right_shows_the_fix_and_no_empty_overview(
    browser: Any, tmp_path: Path
):
    wrong = str(ROOT / "examples" / "etl_wrong.py")
    page = _run_to_dashboard(tmp_path, sys.executable, wrong, mode="strict", status=1)
    open_report(browser, page)
    assert console_errors(browser) == []
    body = browser.find_element("tag name", "body").text
    # Nothing to compare one batch with: no scatter of one point on an axis from -1 to 1.
    assert browser.find_elements("css selector", "#summary .overview") == []
    assert re.search(r"\b1 (batches|tasks|files|spans|runs|inputs|rows)\b", body) is None
    assert "read from 1 file" in body and "(s)" not in body
    # Span names are telemetry's words, not the reader's.
    assert re.search(r"asyncwarden\.(batch|combine|task|finding)\b", body) is None
    assert "From trace.jsonl · 1 run: etl_wrong.py" in body
    [row] = browser.find_elements("css selector", "#findings tr.finding")
    assert row.text.startswith("AW101\nunordered-concat")
    assert f"fix {RULES['AW101'].fix}" in row.text
    assert "at concat()" in row.text
