"""The HTML dashboard's reading, model and page, without a browser (tests/e2e has the browser)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest

from asyncwarden._sinks import _semconv as sc
from asyncwarden.dashboard import TraceFileError, _model, build_report, write_report
from asyncwarden.dashboard._html import embed_json
from asyncwarden.dashboard._model import MAX_ORDER, build_model
from asyncwarden.dashboard._otlp import read_traces
from tests.conftest import ROOT, run_python
from tests.dashboard_traces import TraceBuilder, etl_scenario, finding, write

STATIC = ROOT / "src" / "asyncwarden" / "dashboard" / "static"
HOSTILE = "<img src=x onerror=alert(1)>"


def data_of(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="aw-data">(.*?)</script>', html, re.S)
    assert match is not None
    return json.loads(match.group(1))


def test_etl_trace_gives_batches_tasks_and_the_aw101_finding_linked_to_its_batch(tmp_path: Path):
    model = build_model(read_traces([write(tmp_path / "t.jsonl", etl_scenario())]))
    summary = model["summary"]
    assert (summary["batches"], summary["tasks"], summary["combines"]) == (2, 8, 2)
    assert summary["byRule"] == {"AW101": 1}
    [aw101] = model["findings"]
    assert aw101["rule"] == "AW101"
    assert aw101["name"] == "unordered-concat"
    assert aw101["site"] == {"file": "/app/etl.py", "line": 31, "function": "main"}
    assert aw101["batches"] == ["0:1"]
    wrong = next(b for b in model["batches"] if b["key"] == "0:1")
    assert wrong["kind"] == "wait"
    assert wrong["findings"] == [0]
    assert wrong["orders"] == {
        "submission": [0, 1, 2, 3],
        "completion": [1, 3, 0, 2],
        "consumed": [1, 3, 0, 2],
    }
    assert [t[1] for t in wrong["tasks"]][:2] == ["load-2024-01.csv", "load-2024-02.csv"]
    assert model["runs"] == ["etl_wrong (pid 101)", "etl_fixed_gather (pid 102)"]


def test_a_finding_names_its_batches_explicitly_when_the_combine_has_several(tmp_path: Path):
    trace = TraceBuilder()
    trace.batch(1, "wait", 2, 0, 5, completion=[1, 0])
    trace.batch(2, "wait", 2, 0, 5, completion=[0, 1])
    event = finding("AW101", "unordered-concat", "pairs partitions", 6)
    event["attributes"].append(
        {"key": sc.FINDING_BATCHES, "value": {"arrayValue": {"values": [{"intValue": "1"}]}}}
    )
    trace.combine("merge", [1, 2], 6, findings=[event])
    model = build_model(read_traces([write(tmp_path / "t.jsonl", [trace])]))
    assert model["findings"][0]["batches"] == ["0:1"]
    assert [b["findings"] for b in model["batches"]] == [[0], []]
    assert [b["combines"] for b in model["batches"]] == [[0], [0]]


def test_without_task_spans_the_consumed_order_comes_from_the_combine_sources(tmp_path: Path):
    trace = TraceBuilder()
    span = trace.batch(7, "as_completed", 3, 0, 9, completion=[2, 0, 1])
    trace.spans[-1]["attributes"] = [
        a for a in trace.spans[-1]["attributes"] if a["key"] != sc.BATCH_CONSUMED_ORDER
    ]
    assert span
    combine = trace.combine("concat", [7], 10, rows_in=(1, 1, 1), rows_out=3)
    trace.spans[-1]["attributes"].append(
        {
            "key": sc.COMBINE_SOURCES,
            "value": {
                "arrayValue": {"values": [{"stringValue": s} for s in ("7:2", "7:0", "7:1")]}
            },
        }
    )
    assert combine
    model = build_model(read_traces([write(tmp_path / "t.jsonl", [trace])]))
    [batch] = model["batches"]
    assert batch["orders"]["consumed"] == [2, 0, 1]
    assert batch["tasks"] == []  # none recorded: the page draws rows from the batch's attributes
    assert model["summary"]["taskSpans"] == 0


def _with_sources(trace: TraceBuilder, sources: tuple[str, ...]) -> None:
    trace.spans[-1]["attributes"].append(
        {
            "key": sc.COMBINE_SOURCES,
            "value": {"arrayValue": {"values": [{"stringValue": s} for s in sources]}},
        }
    )


def test_runs_of_sources_are_expanded_in_order_and_a_hostile_run_stays_bounded(tmp_path: Path):
    trace = TraceBuilder()
    trace.batch(7, "as_completed", 6, 0, 9, completion=[3, 4, 5, 0, 1, 2])
    trace.spans[-1]["attributes"] = [
        a for a in trace.spans[-1]["attributes"] if a["key"] != sc.BATCH_CONSUMED_ORDER
    ]
    trace.combine("concat", [7], 10, rows_in=(1,) * 6, rows_out=6)
    _with_sources(trace, ("7:3-5", "7:0-2"))
    trace.combine("concat", [7], 20, rows_in=(1,), rows_out=1)
    _with_sources(trace, ("7:0-99999999999", "7:x-y", "7:5-2"))
    model = build_model(read_traces([write(tmp_path / "t.jsonl", [trace])]))
    [batch] = model["batches"]
    assert batch["orders"]["consumed"] == [3, 4, 5, 0, 1, 2]
    first, hostile = model["combines"]
    assert first["sources"] == ["7:3", "7:4", "7:5", "7:0", "7:1", "7:2"]
    assert len(hostile["sources"]) == MAX_ORDER
    assert hostile["sources"][:2] == ["7:0", "7:1"]


def test_deprecated_code_attributes_from_older_writers_still_give_the_location(tmp_path: Path):
    trace = TraceBuilder()
    trace.batch(1, "gather", 1, 0, 1)
    trace.spans[-1]["attributes"] = [
        a for a in trace.spans[-1]["attributes"] if not a["key"].startswith("code.")
    ] + [
        {"key": "code.filepath", "value": {"stringValue": "/old/app.py"}},
        {"key": "code.lineno", "value": {"intValue": 12}},
        {"key": "code.function", "value": {"stringValue": "run"}},
    ]
    model = build_model(read_traces([write(tmp_path / "t.jsonl", [trace])]))
    assert model["batches"][0]["site"] == {"file": "/old/app.py", "line": 12, "function": "run"}


def test_metric_lines_and_foreign_spans_are_skipped(tmp_path: Path):
    path = write(tmp_path / "t.jsonl", etl_scenario())
    foreign = TraceBuilder("web")
    foreign.span("GET /", 0, 5, {"http.method": "GET"})
    with path.open("a") as handle:
        handle.write(json.dumps({"resourceMetrics": [{"scopeMetrics": []}]}) + "\n\n")
        handle.write(json.dumps(foreign.request()) + "\n")
    summary = build_model(read_traces([path]))["summary"]
    assert summary["batches"] == 2
    assert summary["otherSpans"] == 1


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        (
            '{"resourceSpans": []}\n{"resourceSpans": [{"scopeSpans": [{"spans": [{"na',
            2,
            "not valid JSON (Unterminated string starting at: column 48); the file looks truncated",
        ),
        (
            '{"resourceSpans": []}\n\n[1, 2]\n',
            3,
            "not an OTLP/JSON export request (expected a JSON object)",
        ),
        ('{"hello": 1}\n', 1, "not an OTLP/JSON export request (no resourceSpans)"),
        ('{"resourceSpans": {"a": 1}}\n', 1, "resourceSpans is not a list"),
        (
            '{"resourceSpans": [{"scopeSpans": [{"spans": '
            '[{"name": "x", "startTimeUnixNano": "soon"}]}]}]}\n',
            1,
            "resourceSpans[0].scopeSpans[0].spans[0]: startTimeUnixNano is not an integer: 'soon'",
        ),
        (
            '{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "x", "startTimeUnixNano": "1", '
            '"attributes": [{"key": "k", "value": {"intValue": "x1"}}]}]}]}]}\n',
            1,
            "resourceSpans[0].scopeSpans[0].spans[0]: attribute 'k' is not an integer: 'x1'",
        ),
    ],
)
def test_a_malformed_trace_raises_one_error_naming_file_and_line(
    tmp_path: Path, content: str, line: int, reason: str
):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(TraceFileError) as caught:
        read_traces([path])
    assert str(caught.value) == f"{path}:{line}: {reason}"
    assert isinstance(caught.value, ValueError)


def test_an_unreadable_path_is_a_trace_file_error(tmp_path: Path):
    with pytest.raises(TraceFileError, match=r"missing\.jsonl: cannot read: No such file"):
        read_traces([tmp_path / "missing.jsonl"])
    with pytest.raises(TraceFileError, match="is a directory"):
        read_traces([tmp_path])
    (tmp_path / "binary.jsonl").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TraceFileError, match=r"binary\.jsonl: not UTF-8 text"):
        read_traces([tmp_path / "binary.jsonl"])


def test_cli_on_a_truncated_file_prints_one_line_and_exits_1(tmp_path: Path):
    good = write(tmp_path / "good.jsonl", etl_scenario())
    text = good.read_text()
    (tmp_path / "cut.jsonl").write_text(text[: len(text) // 2 + 7])
    result = run_python(
        "-m",
        "asyncwarden",
        "dashboard",
        str(good),
        str(tmp_path / "cut.jsonl"),
        "-o",
        str(tmp_path / "r.html"),
    )
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"asyncwarden dashboard: {tmp_path / 'cut.jsonl'}:")
    assert "not valid JSON" in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_cli_writes_the_report_and_says_what_it_holds(tmp_path: Path):
    trace = write(tmp_path / "t.jsonl", etl_scenario())
    result = run_python(
        "-m", "asyncwarden", "dashboard", str(trace), "-o", str(tmp_path / "r.html")
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"wrote {tmp_path / 'r.html'}: 2 batches, 8 tasks, 2 concat/merge/join, AW101 x1"
    )
    assert data_of((tmp_path / "r.html").read_text())["summary"]["findings"] == 1


def test_names_from_the_trace_never_reach_the_page_as_markup(tmp_path: Path):
    trace = TraceBuilder(service=f"svc{HOSTILE}")
    trace.batch(
        1,
        "wait",
        1,
        0,
        5,
        completion=[0],
        where=('/tmp/"><script>alert(2)</script>.py', 3, "f</script>"),
        tasks=[(HOSTILE, "<!--coro", 0, 1, "ok")],
    )
    trace.combine(
        "concat",
        [1],
        6,
        findings=[finding("AW102", "merge-fanout", "keys on column <b>id</b> & </SCRIPT >", 6)],
    )
    html, _ = build_report([write(tmp_path / "t.jsonl", [trace])])
    body = html.split('id="aw-data">', 1)[1].split("</script>", 1)[0]
    assert not set("<>&") & set(body)
    assert html.lower().count("<script") == 3  # data, Chart.js, report.js: nothing injected
    assert "<img" not in html
    data = data_of(html)
    assert data["batches"][0]["tasks"][0][1] == HOSTILE  # the name survives, as data
    assert data["findings"][0]["message"] == "keys on column <b>id</b> & </SCRIPT >"
    assert "innerHTML" not in (STATIC / "report.js").read_text()


def test_embed_json_escapes_what_could_end_a_script_element():
    text = embed_json({"a": "</script><!-- \u2028 & >"})
    assert text == '{"a":"\\u003c/script\\u003e\\u003c!-- \\u2028 \\u0026 \\u003e"}'
    assert json.loads(text) == {"a": "</script><!-- \u2028 & >"}


def test_the_content_security_policy_allows_exactly_the_inline_scripts(tmp_path: Path):
    html, _ = build_report([write(tmp_path / "t.jsonl", etl_scenario())])
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert "default-src 'none'" in policy
    assert "connect-src" not in policy  # so no network: default-src 'none' covers it
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 2
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "sourceMappingURL" not in html


def test_the_vendored_chart_js_is_the_published_file_with_its_license():
    recorded = re.search(r"sha256 ([0-9a-f]{64})", (STATIC / "VENDORED.md").read_text()).group(1)
    assert hashlib.sha256((STATIC / "chart.umd.min.js").read_bytes()).hexdigest() == recorded
    assert "MIT License" in (STATIC / "chart.js-LICENSE.md").read_text()


def test_large_traces_keep_exact_totals_and_bounded_detail(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(_model, "MAX_BATCHES", 5)
    monkeypatch.setattr(_model, "TASK_BUDGET", 40)  # 8 task rows for each of 5 batches
    monkeypatch.setattr(_model, "MIN_PER_BATCH", 4)
    trace = TraceBuilder()
    for i in range(1, 13):
        events = [finding("AW201", "incomplete-batch", "missing", i * 10)] if i == 12 else []
        trace.batch(
            i,
            "gather",
            10,
            i * 10,
            i * 10 + i,
            completion=list(range(10)),
            findings=events,
            tasks=[(f"t{j}", "work", i * 10, i * 10 + 1, "ok") for j in range(10)],
        )
    model = build_model(read_traces([write(tmp_path / "t.jsonl", [trace])]))
    assert model["summary"]["batches"] == 12
    assert model["summary"]["tasks"] == 120
    kept = [b["id"] for b in model["batches"]]
    assert kept == [8, 9, 10, 11, 12]  # the one with a finding, then the slowest, in time order
    assert [(len(b["tasks"]), b["taskSpans"]) for b in model["batches"]] == [(8, 10)] * 5
    assert model["sites"][0]["batches"] == 12
    assert model["sites"][0]["findings"] == 1


def test_write_report_replaces_the_output_whole(tmp_path: Path):
    output = tmp_path / "r.html"
    output.write_text("old")
    summary = write_report([write(tmp_path / "t.jsonl", etl_scenario())], output)
    assert summary["findings"] == 1
    assert output.read_text().startswith("<!DOCTYPE html>")
    assert not list(tmp_path.glob("*.tmp*"))
