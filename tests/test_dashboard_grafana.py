"""The Grafana dashboards, provisioning and Collector config, checked as files.

tests/e2e/test_dashboard_grafana.py runs their queries against Prometheus and real traces.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from asyncwarden._sinks import _semconv as sc
from tests.conftest import ROOT
from tests.e2e.browser import require
from tests.e2e.prometheus_bridge import label_name, prometheus_name

DASHBOARDS = ROOT / "dashboards"
BOARDS = ["asyncwarden-metrics.json", "asyncwarden-traces.json"]

# The metric families the Collector's prometheus exporter makes of asyncwarden's instruments.
SERIES = {
    prometheus_name(sc.METRIC_FINDINGS, "{finding}") + "_total",
    prometheus_name(sc.METRIC_PENDING_AT_SHUTDOWN, "{task}") + "_total",
    *(
        prometheus_name(name, unit) + suffix
        for name, unit in ((sc.METRIC_BATCH_DURATION, "s"), (sc.METRIC_BATCH_SIZE, "{task}"))
        for suffix in ("_bucket", "_sum", "_count")
    ),
}
LABELS = {label_name(sc.METRIC_RULE_ATTRIBUTE), label_name(sc.METRIC_KIND_ATTRIBUTE), "le", "job"}
PROMQL_WORDS = {
    "sum",
    "by",
    "rate",
    "increase",
    "histogram_quantile",
    "max_over_time",
    "label_values",
}


def board(name: str) -> dict[str, Any]:
    return json.loads((DASHBOARDS / "grafana" / name).read_text())


def test_metric_names_follow_the_collectors_translation():
    assert {
        "asyncwarden_findings_total",
        "asyncwarden_tasks_pending_at_shutdown_total",
        "asyncwarden_batch_duration_seconds_bucket",
        "asyncwarden_batch_duration_seconds_sum",
        "asyncwarden_batch_duration_seconds_count",
        "asyncwarden_batch_size_bucket",
        "asyncwarden_batch_size_sum",
        "asyncwarden_batch_size_count",
    } == SERIES


def test_promql_names_only_asyncwardens_series_and_labels():
    expressions = [t["expr"] for p in board(BOARDS[0])["panels"] for t in p["targets"]]
    for expression in expressions:
        words = set(
            re.findall(r"[A-Za-z_][A-Za-z0-9_]*", re.sub(r'"[^"]*"|\[[^]]*\]', "", expression))
        )
        unknown = words - SERIES - LABELS - PROMQL_WORDS
        assert not unknown, f"{expression}: {unknown}"
        assert 'job=~"$job"' in expression  # every panel follows the service picker


@pytest.mark.parametrize("name", BOARDS)
def test_dashboards_are_complete_grafana_models(name: str):
    model = board(name)
    assert model["uid"] == name.removesuffix(".json")
    assert model["schemaVersion"] >= 36
    ids = [panel["id"] for panel in model["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"]: v for v in model["templating"]["list"]}
    cells: set[tuple[int, int]] = set()
    for panel in model["panels"]:
        uid = panel["datasource"]["uid"]
        assert uid.startswith("${") and uid[2:-1] in variables, panel["title"]
        assert panel["description"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"]
            assert ("expr" in target) != ("query" in target)
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        area = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not area & cells, f"{panel['title']} overlaps another panel"
        cells |= area


def test_provisioning_points_grafana_at_the_dashboards_and_both_data_sources():
    sources = yaml.safe_load(
        (DASHBOARDS / "grafana/provisioning/datasources/asyncwarden.yaml").read_text()
    )
    kinds = {s["type"]: s for s in sources["datasources"]}
    assert set(kinds) == {"prometheus", "tempo"}
    assert kinds["tempo"]["url"].endswith(":3200")
    providers = yaml.safe_load(
        (DASHBOARDS / "grafana/provisioning/dashboards/asyncwarden.yaml").read_text()
    )
    [provider] = providers["providers"]
    compose = yaml.safe_load((DASHBOARDS / "docker-compose.yaml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./grafana:{provider['options']['path']}:ro" in mounts
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in mounts


def test_the_collector_feeds_prometheus_and_tempo_from_otlp():
    config = yaml.safe_load((DASHBOARDS / "otel-collector.yaml").read_text())
    pipelines = config["service"]["pipelines"]
    assert pipelines["metrics"]["exporters"] == ["prometheus"]
    assert "otlp/tempo" in pipelines["traces"]["exporters"]
    for pipeline in pipelines.values():
        assert set(pipeline["receivers"]) <= set(config["receivers"])
        assert set(pipeline["exporters"]) <= set(config["exporters"])
        assert set(pipeline["processors"]) <= set(config["processors"])
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    # The ports line up: Prometheus scrapes the exporter, the Collector sends to Tempo's receiver.
    exporter_port = config["exporters"]["prometheus"]["endpoint"].rsplit(":", 1)[1]
    scrape = yaml.safe_load((DASHBOARDS / "prometheus.yml").read_text())
    assert scrape["scrape_configs"][0]["static_configs"][0]["targets"] == [
        f"otel-collector:{exporter_port}"
    ]
    tempo = yaml.safe_load((DASHBOARDS / "tempo.yaml").read_text())
    tempo_port = tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].rsplit(
        ":", 1
    )[1]
    assert config["exporters"]["otlp/tempo"]["endpoint"] == f"tempo:{tempo_port}"
    assert (
        config["exporters"]["file/traces"]["format"] == "json"
    )  # what asyncwarden dashboard reads


def test_promtool_accepts_the_prometheus_config():
    require("promtool")
    result = subprocess.run(
        [
            shutil.which("promtool") or "promtool",
            "check",
            "config",
            "--syntax-only",
            str(DASHBOARDS / "prometheus.yml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
