"""The Grafana dashboards against real backends: Debian's Prometheus, and real trace files.

Prometheus runs on loopback with a temporary config and storage, scraping
``prometheus_bridge.py``, which runs the examples under the guard with an OpenTelemetry SDK and
serves their metrics. Every PromQL expression of the metrics dashboard must parse and return data.
The traces dashboard's TraceQL is parsed and every span name, attribute and event it names must be
one the examples really emit (ASYNCWARDEN_TRACE_FILE) and one of ``_semconv``'s names.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asyncwarden._rules._catalog import RULES
from asyncwarden._sinks import _semconv as sc
from asyncwarden.dashboard._otlp import read_traces
from tests.conftest import ROOT
from tests.e2e.browser import require
from tests.e2e.traceql import Field, parse

# One worker runs this module, so its browser (or Prometheus) starts once under xdist.
pytestmark = pytest.mark.xdist_group("prometheus")
GRAFANA = ROOT / "dashboards" / "grafana"
EXAMPLES = [
    "etl_wrong.py",  # AW101 on wait()
    "merge_fanout.py",  # AW102
    "swallowed_exceptions.py",  # AW201, a failed task
    "stray_tasks.py",  # AW301, AW302: tasks pending at shutdown
    "etl_fixed_gather.py",  # gather, no finding
]
# Grafana's own variables, as Grafana would expand them for a short range.
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "5m",
    "$job": "asyncwarden-example",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def dashboard(name: str) -> dict[str, Any]:
    return json.loads((GRAFANA / name).read_text())


def targets(board: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target


@pytest.fixture(scope="module")
def prometheus() -> Iterator[str]:
    require("prometheus")
    workdir = Path(tempfile.mkdtemp(prefix="aw-prometheus-"))
    port, bridge_port = free_port(), free_port()
    (workdir / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: asyncwarden-example\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{bridge_port}']\n"
    )
    server = subprocess.Popen(
        [
            shutil.which("prometheus") or "prometheus",
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "prometheus.log").open("w"),
    )
    base = f"http://127.0.0.1:{port}"
    bridge = None
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/-/ready", timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, (workdir / "prometheus.log").read_text()
                assert time.monotonic() < deadline, "prometheus did not become ready"
                time.sleep(0.2)
        environ = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCWARDEN")}
        environ.update(ASYNCWARDEN="warn", PYTHONWARNINGS="ignore")
        bridge = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("prometheus_bridge.py")),
                str(bridge_port),
                "2",
                *(str(ROOT / "examples" / name) for name in EXAMPLES),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=environ,
            text=True,
        )
        assert bridge.stdout is not None
        said = [bridge.stdout.readline().strip() for _ in range(4)]
        assert said == ["serving", "round 1", "round 2", "done"], said
        yield base
    finally:
        if bridge is not None:
            bridge.communicate(timeout=30)  # closes its stdin: it exits
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


def expand(text: str, variables: dict[str, str]) -> str:
    for name in sorted(variables, key=len, reverse=True):
        text = text.replace(name, variables[name])
    assert "$" not in text, f"unexpanded variable in {text!r}"
    return text


def test_every_promql_expression_of_the_metrics_dashboard_returns_data(prometheus: str):
    expressions = [
        (title, expand(t["expr"], GRAFANA_VARIABLES))
        for title, t in targets(dashboard("asyncwarden-metrics.json"))
    ]
    assert len(expressions) >= 10
    for title, expression in expressions:
        answer = get(f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expression}))
        assert answer["status"] == "success", (title, expression, answer)
        values = [float(r["value"][1]) for r in answer["data"]["result"]]
        assert values, f"{title!r}: {expression} returned no data"
        assert any(v > 0 for v in values), f"{title!r}: {expression} returned {values}"


def test_promql_that_does_not_parse_is_reported_by_the_query_api(prometheus: str):
    # The check above would catch a broken expression: Prometheus answers 400 with bad_data.
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": "sum by (x (y)"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        get(url)
    assert caught.value.code == 400
    assert json.load(caught.value)["errorType"] == "bad_data"


def test_findings_by_rule_reach_prometheus_with_each_rule_the_examples_trigger(prometheus: str):
    query = "sum by (asyncwarden_rule) (asyncwarden_findings_total)"
    answer = get(f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": query}))
    found = {
        r["metric"]["asyncwarden_rule"]: float(r["value"][1]) for r in answer["data"]["result"]
    }
    assert {"AW101", "AW102", "AW201", "AW301", "AW302"} <= set(found)
    assert all(count >= 1 for count in found.values())
    kinds = get(f"{prometheus}/api/v1/label/asyncwarden_batch_kind/values")["data"]
    assert {"wait", "gather"} <= set(kinds)


def test_the_job_variable_query_lists_the_example(prometheus: str):
    board = dashboard("asyncwarden-metrics.json")
    [job] = [v for v in board["templating"]["list"] if v["name"] == "job"]
    metric, label = re.fullmatch(r"label_values\((\w+), (\w+)\)", job["definition"]).groups()
    url = f"{prometheus}/api/v1/label/{label}/values?" + urllib.parse.urlencode({"match[]": metric})
    assert get(url)["data"] == ["asyncwarden-example"]


# ---- TraceQL against what the examples really emit ------------------------------------------


@pytest.fixture(scope="module")
def emitted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Span names, attributes per span name, event names and event attributes, from real runs."""
    folder = tmp_path_factory.mktemp("traces")
    trace = folder / "trace.jsonl"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCWARDEN")}
    # One file for all: processes append whole lines to it, as they would in production.
    environ.update(ASYNCWARDEN="warn", ASYNCWARDEN_TRACE_FILE=str(trace))
    runs = [
        subprocess.Popen(
            [sys.executable, f"examples/{name}"],
            cwd=ROOT,
            env=environ,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in EXAMPLES
    ]
    for run in runs:
        _, errors = run.communicate(timeout=120)
        assert run.returncode == 0, errors
    spans = [s for s in read_traces([trace]).spans if s.name.startswith("asyncwarden.")]
    attributes: dict[str, set[str]] = {}
    for span in spans:
        attributes.setdefault(span.name, set()).update(span.attributes)
    events = [e for s in spans for e in s.events]
    return {
        "span_names": {s.name for s in spans},
        "span_attributes": attributes,
        "event_names": {e.name for e in events},
        "event_attributes": {k for e in events for k in e.attributes},
        "statuses": {s.status_code for s in spans},
    }


SEMCONV = {value for name, value in vars(sc).items() if name.isupper() and isinstance(value, str)}


def traceql_queries() -> list[tuple[str, str]]:
    board = dashboard("asyncwarden-traces.json")
    variables = {}
    for variable in board["templating"]["list"]:
        if variable["type"] in ("custom", "textbox"):
            variables["$" + variable["name"]] = variable["current"]["value"]
    queries = [(title, expand(t["query"], variables)) for title, t in targets(board)]
    # The rule variable: every option must be a rule of the catalog.
    [rule] = [v for v in board["templating"]["list"] if v["name"] == "rule"]
    assert [o["value"] for o in rule["options"]] == list(RULES)
    return queries


def check_field(field: Field, emitted: dict[str, Any], names: set[str]) -> None:
    if field.scope == "span" and not field.intrinsic:
        assert field.name in SEMCONV, f"span.{field.name} is not a _semconv name"
        attributes = emitted["span_attributes"]
        owners = [n for n in names or emitted["span_names"] if field.name in attributes.get(n, ())]
        assert owners, f"span.{field.name} is on no emitted span named {sorted(names)}"
    elif field.scope == "event" and not field.intrinsic:
        assert field.name in SEMCONV, f"event.{field.name} is not a _semconv name"
        assert field.name in emitted["event_attributes"], f"no emitted event has {field.name}"
    elif field.scope == "resource":
        assert field.name == "service.name", field


@pytest.mark.parametrize(("title", "query"), traceql_queries(), ids=lambda v: v[:40])
def test_traceql_names_only_spans_attributes_and_events_the_project_emits(
    title: str, query: str, emitted: dict[str, Any]
):
    parsed = parse(query)
    span_names = set()
    for field, operator, value in parsed.conditions:
        if field.scope in ("", "span") and field.intrinsic and field.name == "name":
            assert operator == "=", (title, field)
            assert value in (sc.SPAN_BATCH, sc.SPAN_TASK, sc.SPAN_COMBINE, sc.SPAN_FINDING)
            assert value in emitted["span_names"], f"{title}: no span named {value} was emitted"
            span_names.add(value)
        if field.scope == "event" and field.intrinsic and field.name == "name":
            assert operator in ("=", "=~"), (title, field)
            pattern = re.compile(value if operator == "=~" else re.escape(value))
            assert all(pattern.fullmatch(code) for code in RULES), f"{title}: {value}"
            assert any(pattern.fullmatch(name) for name in emitted["event_names"])
        if field.scope == "event" and field.name == sc.FINDING_CODE:
            assert value in RULES
    for field in parsed.fields:
        check_field(field, emitted, span_names)
    assert parsed.fields, f"{title}: no attribute named"


def test_the_traceql_checks_reject_what_tempo_or_the_trace_would(emitted: dict[str, Any]):
    with pytest.raises(ValueError, match="expected"):
        parse('{ span:name = "asyncwarden.batch" ')
    with pytest.raises(ValueError, match="unknown"):
        parse("{ spam.x = 1 }")
    with pytest.raises(AssertionError, match="not a _semconv name"):
        check_field(Field("span", "asyncwarden.batch.sizes", False), emitted, set())
    with pytest.raises(AssertionError, match="on no emitted span"):
        check_field(Field("span", sc.COMBINE_ROWS_OUT, False), emitted, {sc.SPAN_BATCH})
