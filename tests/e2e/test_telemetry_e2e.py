"""Telemetry as users run it: a fresh interpreter, the guard and telemetry switched on by variables.

Each program dumps what its own OpenTelemetry SDK received as JSON on stdout, or asyncwarden
writes its trace file, or prints its JSON log lines; the tests read those back.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from asyncwarden._sinks import _semconv as sc
from tests.conftest import ROOT, run_python

# Configure an SDK the way an application does (global providers, after start-up), run
# something, then print every span and metric point the SDK received.
SDK_PRELUDE = """
import json, sys
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
reader = InMemoryMetricReader()

def configure_sdk():
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

def dump():
    spans = [
        {
            "name": s.name,
            "span_id": s.context.span_id,
            "parent_id": s.parent.span_id if s.parent else None,
            "attributes": dict(s.attributes),
            "events": [{"name": e.name, "attributes": dict(e.attributes)} for e in s.events],
            "status": s.status.status_code.name,
            "links": [link.context.span_id for link in s.links],
        }
        for s in exporter.get_finished_spans()
    ]
    points = []
    data = reader.get_metrics_data()
    for rm in (data.resource_metrics if data else []):
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                for p in m.data.data_points:
                    points.append({
                        "metric": m.name,
                        "unit": m.unit,
                        "attributes": dict(p.attributes),
                        "value": getattr(p, "value", None),
                        "count": getattr(p, "count", None),
                    })
    print(json.dumps({"spans": spans, "metrics": points}, default=list))
"""

# The article's wrong pipeline, exactly: wait(), then concat over the done set. Strict mode
# makes the done set's order a hazardous one on every run; the finding error is caught here.
ARTICLE_UNDER_SDK = (
    SDK_PRELUDE
    + """
import runpy
import asyncwarden
configure_sdk()
sys.path.insert(0, "examples")
try:
    runpy.run_path("examples/etl_wrong.py", run_name="__main__")
except asyncwarden.FindingError as error:
    print("finding:", error.finding.code, file=sys.stderr)
dump()
"""
)

# A pipeline that is wrong in every run in warn mode too (frames in completion order, which is
# reversed on every run: one partition may finish at a time, the last first), with a value that
# must never leave the program: in the frames' cells, in the coroutines' arguments, in local
# variables and in an exception message.
PIPELINE = """
import asyncio, os, sys
import pandas as pd

async def load(i, secret, ready=None):
    if ready is not None:
        await ready.wait()
    if i == 9:
        raise OSError(f"cannot read {secret}")
    return pd.DataFrame({"id": [i, i], "value": [f"{secret}-{i}", secret]})

async def pipeline():
    secret = os.environ["SENTINEL_SOURCE"][::-1]  # never spelled out in this source
    ready = [asyncio.Event() for _ in range(4)]
    tasks = [asyncio.create_task(load(i, secret, ready[i])) for i in range(4)]
    frames = []
    for i, finished in zip(reversed(range(4)), asyncio.as_completed(tasks)):
        ready[i].set()
        frames.append(await finished)
    shuffled = pd.concat(frames, ignore_index=True)
    results = await asyncio.gather(load(0, secret), load(9, secret), return_exceptions=True)
    partial = pd.concat([r for r in results if isinstance(r, pd.DataFrame)], ignore_index=True)
    print("cells:", shuffled["value"].iloc[0], len(partial))
    return shuffled

def main():
    return asyncio.run(pipeline())
"""


def _sentinel() -> tuple[str, dict[str, str]]:
    value = f"SENTINEL-{uuid.uuid4().hex}"
    return value, {"SENTINEL_SOURCE": value[::-1]}


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def _pipeline_app(folder: Path, prelude: str = "", epilogue: str = "") -> Path:
    _write(folder, "pipeline.py", PIPELINE)
    return _write(
        folder,
        "app.py",
        f"import sys\nsys.path.insert(0, {str(folder)!r})\n{prelude}\n"
        f"import pipeline\npipeline.main()\n{epilogue}\n",
    )


def _spans_named(dumped: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [span for span in dumped["spans"] if span["name"] == name]


def test_article_pipeline_with_an_sdk_gives_batch_span_concat_span_with_aw101_and_counter() -> None:
    result = run_python("-c", ARTICLE_UNDER_SDK, env={"ASYNCWARDEN": "strict"})
    assert result.returncode == 0, result.stderr
    assert "finding: AW101" in result.stderr
    dumped = json.loads(result.stdout.splitlines()[-1])
    (batch,) = _spans_named(dumped, sc.SPAN_BATCH)
    assert batch["attributes"][sc.BATCH_KIND] == "wait"
    assert batch["attributes"][sc.BATCH_SIZE] == 4
    assert batch["attributes"][sc.CODE_FILEPATH].endswith("etl_wrong.py")
    (concat,) = _spans_named(dumped, sc.SPAN_COMBINE)
    assert concat["attributes"][sc.COMBINE_OPERATION] == "concat"
    assert concat["links"] == [batch["span_id"]]
    assert [event["name"] for event in concat["events"]] == ["AW101"]
    assert concat["events"][0]["attributes"][sc.FINDING_CODE] == "AW101"
    assert concat["status"] == "ERROR"
    findings = [p for p in dumped["metrics"] if p["metric"] == sc.METRIC_FINDINGS]
    assert findings == [
        {
            "metric": sc.METRIC_FINDINGS,
            "unit": "{finding}",
            "attributes": {sc.METRIC_RULE_ATTRIBUTE: "AW101"},
            "value": 1,
            "count": None,
        }
    ]


def test_a_provider_set_after_the_first_batch_is_used_from_then_on(tmp_path: Path) -> None:
    code = (
        SDK_PRELUDE
        + """
import asyncio
async def main():
    return await asyncio.gather(asyncio.sleep(0, "before"))
asyncio.run(main())          # no provider yet: nothing to send, telemetry stays off
configure_sdk()              # the application sets one later
asyncio.run(main())
dump()
"""
    )
    result = run_python("-c", code, env={"ASYNCWARDEN": "warn"})
    assert result.returncode == 0, result.stderr
    dumped = json.loads(result.stdout)
    assert len(_spans_named(dumped, sc.SPAN_BATCH)) == 1


def _json_lines(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines()]


def test_json_logging_prints_one_parseable_object_per_line(tmp_path: Path) -> None:
    sentinel, env = _sentinel()
    # A log shipper reads stderr: the program silences the warnings, leaving the JSON events.
    quiet = (
        "import warnings, asyncwarden\n"
        "warnings.simplefilter('ignore', asyncwarden.AsyncWardenWarning)"
    )
    app = _pipeline_app(tmp_path, prelude=quiet)
    result = run_python(str(app), env={"ASYNCWARDEN": "warn", "ASYNCWARDEN_LOG": "json", **env})
    assert result.returncode == 0, result.stderr
    events = _json_lines(result.stderr)  # every line of stderr is one JSON object
    names = [event["event"] for event in events]
    assert names.count(sc.EVENT_BATCH) == 2
    assert names.count(sc.EVENT_COMBINE) == 2
    assert sorted(e["rule"] for e in events if e["event"] == sc.EVENT_FINDING) == [
        "AW101",
        "AW201",
    ]
    for event in events:
        assert event["logger"] == "asyncwarden"
        assert event["timestamp"].endswith("Z")
        assert event["level"] in {"debug", "info", "warning"}
    completed = next(
        e for e in events if e["event"] == sc.EVENT_BATCH and e["kind"] == "as_completed"
    )
    assert {k: completed[k] for k in ("size", "done", "pending", "failed", "cancelled")} == {
        "size": 4,
        "done": 4,
        "pending": 0,
        "failed": 0,
        "cancelled": 0,
    }
    assert completed["file"] == str(tmp_path / "pipeline.py")
    gather = next(e for e in events if e["event"] == sc.EVENT_BATCH and e["kind"] == "gather")
    assert (gather["failed"], gather["return_when"], gather["timeout"]) == (1, None, None)
    assert sentinel in result.stdout  # the program itself did see the value
    assert sentinel not in result.stderr


def test_console_default_prints_the_warning_block_and_no_log_lines(tmp_path: Path) -> None:
    app = _pipeline_app(tmp_path)
    _, env = _sentinel()
    result = run_python(str(app), env={"ASYNCWARDEN": "warn", **env})
    assert result.returncode == 0, result.stderr
    assert "UnorderedConcatWarning: AW101 unordered-concat" in result.stderr
    assert "asyncwarden.finding" not in result.stderr
    assert not any(line.startswith("{") for line in result.stderr.splitlines())


def test_a_bad_log_value_is_one_line_and_falls_back(tmp_path: Path) -> None:
    app = _pipeline_app(tmp_path)
    _, env = _sentinel()
    result = run_python(str(app), env={"ASYNCWARDEN": "warn", "ASYNCWARDEN_LOG": "xml", **env})
    assert result.returncode == 0, result.stderr
    complaints = [line for line in result.stderr.splitlines() if "ASYNCWARDEN_LOG" in line]
    assert len(complaints) == 1
    assert "console, json, off" in complaints[0]
    assert "AW101" in result.stderr  # the guard runs on


def _otlp_lines(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text().splitlines()
    assert lines, f"{path} is empty"
    return [json.loads(line) for line in lines]


def _spans_in(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        span
        for request in requests
        for resource in request.get("resourceSpans", [])
        for scope in resource["scopeSpans"]
        for span in scope["spans"]
    ]


def _attribute(span: dict[str, Any], key: str) -> Any:
    for item in span.get("attributes", []):
        if item["key"] == key:
            value = item["value"]
            if "intValue" in value:
                return int(value["intValue"])
            if "arrayValue" in value:
                return [next(iter(v.values())) for v in value["arrayValue"].get("values", [])]
            return next(iter(value.values()))
    return None


def _validate_with_protobuf(requests: list[dict[str, Any]]) -> None:
    json_format = pytest.importorskip("google.protobuf.json_format")
    traces = pytest.importorskip("opentelemetry.proto.collector.trace.v1.trace_service_pb2")
    metrics = pytest.importorskip("opentelemetry.proto.collector.metrics.v1.metrics_service_pb2")

    def base64_ids(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: base64.b64encode(bytes.fromhex(v)).decode()
                if k in ("traceId", "spanId", "parentSpanId")
                else base64_ids(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [base64_ids(v) for v in value]
        return value

    for request in requests:
        message = (
            traces.ExportTraceServiceRequest()
            if "resourceSpans" in request
            else metrics.ExportMetricsServiceRequest()
        )
        json_format.Parse(json.dumps(base64_ids(request)), message)


def test_trace_file_is_valid_otlp_json_with_spans_events_and_metrics(tmp_path: Path) -> None:
    sentinel, env = _sentinel()
    app = _pipeline_app(tmp_path)
    trace_file = tmp_path / "traces.jsonl"
    result = run_python(
        str(app),
        env={
            "ASYNCWARDEN": "warn",
            "ASYNCWARDEN_TRACE_FILE": str(trace_file),
            "ASYNCWARDEN_TASK_SPANS": "on",
            **env,
        },
    )
    assert result.returncode == 0, result.stderr
    requests = _otlp_lines(trace_file)
    assert all(set(r) in ({"resourceSpans"}, {"resourceMetrics"}) for r in requests)
    _validate_with_protobuf(requests)
    spans = _spans_in(requests)
    by_id = {span["spanId"]: span for span in spans}
    for span in spans:
        assert len(span["traceId"]) == 32 and int(span["traceId"], 16)
        assert len(span["spanId"]) == 16 and int(span["spanId"], 16)
        assert span["kind"] == 1
        assert int(span["startTimeUnixNano"]) <= int(span["endTimeUnixNano"])
    batches = [s for s in spans if s["name"] == sc.SPAN_BATCH]
    assert sorted(_attribute(s, sc.BATCH_KIND) for s in batches) == ["as_completed", "gather"]
    tasks = [s for s in spans if s["name"] == sc.SPAN_TASK]
    assert len(tasks) == 4 + 2
    assert all(by_id[t["parentSpanId"]]["name"] == sc.SPAN_BATCH for t in tasks)
    outcomes = sorted(_attribute(t, sc.TASK_OUTCOME) for t in tasks)
    assert outcomes == ["failed"] + ["ok"] * 5
    combines = [s for s in spans if s["name"] == sc.SPAN_COMBINE]
    events = sorted(e["name"] for s in combines for e in s.get("events", []))
    assert events == ["AW101", "AW201"]
    assert all(s["status"]["code"] == 2 for s in combines)
    metric_names = {
        metric["name"]
        for request in requests
        for resource in request.get("resourceMetrics", [])
        for scope in resource["scopeMetrics"]
        for metric in scope["metrics"]
    }
    assert {sc.METRIC_FINDINGS, sc.METRIC_BATCH_DURATION, sc.METRIC_BATCH_SIZE} <= metric_names
    resource = requests[0].get("resourceSpans", requests[0].get("resourceMetrics"))[0]["resource"]
    assert {"key": "service.name", "value": {"stringValue": "app.py"}} in resource["attributes"]
    assert sentinel in result.stdout
    assert sentinel not in trace_file.read_text()
    dashboard = pytest.importorskip("asyncwarden.dashboard._otlp")
    read = dashboard.read_traces([trace_file])
    assert len(read.spans) == len(spans)


def test_trace_file_is_appended_to_by_each_run(tmp_path: Path) -> None:
    app = _pipeline_app(tmp_path)
    _, env = _sentinel()
    trace_file = tmp_path / "traces.jsonl"
    variables = {"ASYNCWARDEN": "warn", "ASYNCWARDEN_TRACE_FILE": str(trace_file), **env}
    first = run_python(str(app), env=variables)
    assert first.returncode == 0, first.stderr
    once = len(_spans_in(_otlp_lines(trace_file)))
    second = run_python(str(app), env=variables)
    assert second.returncode == 0, second.stderr
    assert len(_spans_in(_otlp_lines(trace_file))) == 2 * once


def test_a_trace_file_that_cannot_be_written_is_one_line_and_the_program_runs_on(
    tmp_path: Path,
) -> None:
    app = _pipeline_app(tmp_path)
    _, env = _sentinel()
    plain = run_python(str(app), env={"ASYNCWARDEN": "warn", **env})
    for unwritable in (tmp_path, tmp_path / "missing-folder" / "traces.jsonl"):
        result = run_python(
            str(app),
            env={"ASYNCWARDEN": "warn", "ASYNCWARDEN_TRACE_FILE": str(unwritable), **env},
        )
        assert result.returncode == plain.returncode == 0
        assert result.stdout == plain.stdout
        complaints = [line for line in result.stderr.splitlines() if "trace file" in line]
        assert complaints == [
            f"asyncwarden: ASYNCWARDEN_TRACE_FILE={str(unwritable)!r}: cannot write the trace file "
            f"({'Is a directory' if unwritable == tmp_path else 'No such file or directory'}); "
            "no trace file is written, the program runs on"
        ]


def test_a_trace_file_without_the_sdk_is_one_line_naming_the_extra(tmp_path: Path) -> None:
    trace_file = tmp_path / "traces.jsonl"
    code = (
        "import sys\n"
        "sys.modules['opentelemetry.sdk'] = None  # as if the otel extra were not installed\n"
        "import asyncio  # the guard starts its telemetry here\n"
        "print('ran')\n"
    )
    result = run_python(
        "-c", code, env={"ASYNCWARDEN": "warn", "ASYNCWARDEN_TRACE_FILE": str(trace_file)}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ran\n"
    assert result.stderr.splitlines() == [
        "asyncwarden: ASYNCWARDEN_TRACE_FILE needs the OpenTelemetry SDK "
        "(pip install 'asyncwarden[otel]'); no trace file is written, the program runs on"
    ]
    assert not trace_file.exists()


def test_with_nothing_to_send_to_neither_structlog_nor_opentelemetry_is_imported() -> None:
    code = """
import asyncio, sys
import pandas as pd
from asyncwarden import _observers
async def part(i):
    return pd.DataFrame({"i": [i]})
async def main():
    return pd.concat(await asyncio.gather(*(part(i) for i in range(3))))
asyncio.run(main())
ours = [o for o in _observers.on_batch_finished + _observers.on_combined
        if o.__module__.startswith("asyncwarden._sinks._telemetry")]
print(sorted(m for m in sys.modules if m.split(".")[0] in ("structlog", "opentelemetry")), ours)
"""
    result = run_python("-c", code, env={"ASYNCWARDEN": "warn"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[] []\n"


def test_no_sentinel_leaks_into_spans_events_or_metrics_of_an_application_sdk(
    tmp_path: Path,
) -> None:
    sentinel, env = _sentinel()
    app = _pipeline_app(tmp_path, prelude=SDK_PRELUDE + "configure_sdk()", epilogue="dump()")
    result = run_python(
        str(app),
        env={
            "ASYNCWARDEN": "warn",
            "ASYNCWARDEN_TASK_SPANS": "on",
            "ASYNCWARDEN_LOG": "json",
            **env,
        },
    )
    assert result.returncode == 0, result.stderr
    telemetry = result.stdout.splitlines()[-1]
    dumped = json.loads(telemetry)
    names = {span["name"] for span in dumped["spans"]}
    assert {sc.SPAN_BATCH, sc.SPAN_TASK, sc.SPAN_COMBINE} <= names
    assert {p["metric"] for p in dumped["metrics"]} >= {sc.METRIC_FINDINGS}
    assert sentinel in result.stdout.splitlines()[0]  # the program printed a cell holding it
    assert sentinel not in telemetry
    assert sentinel not in result.stderr  # JSON log lines and warnings


def _opentelemetry_instrument() -> str:
    found = shutil.which("opentelemetry-instrument", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("opentelemetry-instrumentation is not installed")
    return found


def _instrumented(app: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ASYNCWARDEN", "OTEL_"))}
    environ.update(
        {
            "OTEL_TRACES_EXPORTER": "console",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            **extra,
        }
    )
    return subprocess.run(
        [_opentelemetry_instrument(), sys.executable, str(app)],
        env=environ,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_opentelemetry_instrument_turns_the_guard_on_and_exports_its_spans(
    tmp_path: Path,
) -> None:
    _, env = _sentinel()
    app = _pipeline_app(tmp_path)
    result = _instrumented(app, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="asyncio", **env)
    assert result.returncode == 0, result.stderr
    assert "UnorderedConcatWarning: AW101" in result.stderr
    assert f'"name": "{sc.SPAN_BATCH}"' in result.stdout
    assert f'"name": "{sc.SPAN_COMBINE}"' in result.stdout
    assert '"name": "AW101"' in result.stdout


def test_opentelemetry_instrument_leaves_the_guard_off_when_asyncwarden_says_off(
    tmp_path: Path,
) -> None:
    _, env = _sentinel()
    app = _pipeline_app(tmp_path)
    result = _instrumented(
        app, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="asyncio", ASYNCWARDEN="off", **env
    )
    assert result.returncode == 0, result.stderr
    assert "AW101" not in result.stderr
    assert sc.SPAN_BATCH not in result.stdout


def test_opentelemetry_instrument_with_the_asyncio_instrumentation_also_installed(
    tmp_path: Path,
) -> None:
    pytest.importorskip("opentelemetry.instrumentation.asyncio")
    _, env = _sentinel()
    app = _pipeline_app(tmp_path)
    result = _instrumented(app, **env)
    assert result.returncode == 0, result.stderr
    assert "UnorderedConcatWarning: AW101" in result.stderr


def _incomplete_batch_app(tmp_path: Path) -> Path:
    """A pipeline that drops a failed partition: AW201 on every run, in warn and strict mode."""
    shutil.copy(ROOT / "examples" / "_partitions.py", tmp_path)
    return Path(shutil.copy(ROOT / "examples" / "swallowed_exceptions.py", tmp_path / "app.py"))


def test_opentelemetry_instrument_whose_own_set_up_fails_still_guards_with_asyncwarden_set(
    tmp_path: Path,
) -> None:
    app = _incomplete_batch_app(tmp_path)
    # An exporter nobody installed: OpenTelemetry's set-up fails before any instrumentor runs.
    failing = {"OTEL_TRACES_EXPORTER": "not_installed"}
    result = _instrumented(app, **failing)
    assert "not_installed" in result.stderr  # OpenTelemetry's own complaint
    assert "AW201" not in result.stderr  # no instrumentor ran, and nothing else asked for the guard
    result = _instrumented(app, ASYNCWARDEN="warn", **failing)
    assert result.returncode == 0, result.stderr
    assert "IncompleteBatchWarning: AW201 incomplete-batch" in result.stderr


def test_a_trace_file_the_guard_never_wrote_to_is_one_line_at_exit(tmp_path: Path) -> None:
    app = _incomplete_batch_app(tmp_path)
    trace = tmp_path / "trace.jsonl"
    said = (
        "asyncwarden: ASYNCWARDEN_TRACE_FILE is set but the guard never came on, so nothing was "
        "written: set ASYNCWARDEN=warn (opentelemetry-instrument switches it on only when "
        "OpenTelemetry's own set-up succeeds)\n"
    )
    for result in (
        run_python(str(app), env={"ASYNCWARDEN_TRACE_FILE": str(trace)}),
        _instrumented(app, OTEL_TRACES_EXPORTER="not_installed", ASYNCWARDEN_TRACE_FILE=str(trace)),
    ):
        assert result.returncode == 0, result.stderr
        assert result.stderr.endswith(said)
        assert result.stderr.count("asyncwarden:") == 1
        assert not trace.exists()


def test_a_trace_file_under_a_configured_opentelemetry_says_it_receives_nothing(
    tmp_path: Path,
) -> None:
    app = _incomplete_batch_app(tmp_path)
    trace = tmp_path / "trace.jsonl"
    result = _instrumented(app, ASYNCWARDEN_TRACE_FILE=str(trace))
    assert result.returncode == 0, result.stderr
    # The instrumentor switched the guard on; the console exporter got its spans, not the file.
    assert "IncompleteBatchWarning: AW201 incomplete-batch" in result.stderr
    assert f'"name": "{sc.SPAN_BATCH}"' in result.stdout
    assert trace.stat().st_size == 0
    line = (
        f"asyncwarden: ASYNCWARDEN_TRACE_FILE={str(trace)!r} receives nothing more: the "
        "application configured OpenTelemetry (opentelemetry-instrument does), whose exporters "
        "now get asyncwarden's spans and metrics\n"
    )
    assert result.stderr.count(line) == 1
    assert "never came on" not in result.stderr
