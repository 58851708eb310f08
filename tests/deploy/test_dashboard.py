"""The Grafana dashboard: well formed, every query valid PromQL, every panel on its own spot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.conftest import DEPLOY, promtool

GRAFANA = DEPLOY / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "videorecog.json"
# Grafana's own variables, replaced by what they stand for so that promtool can parse the query.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def queries() -> list[str]:
    return [
        target["expr"] for panel in dashboard()["panels"] for target in panel.get("targets", [])
    ]


def test_dashboard_is_well_formed() -> None:
    board = dashboard()
    assert board["uid"] == "videorecog"
    panels = board["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        mine = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not mine & cells, f"{panel['title']} overlaps another panel"
        cells |= mine
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"], panel["title"]
            assert panel["description"], panel["title"]


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses each query as a recording rule (it has no plain "check query")."""
    rules = []
    for i, query in enumerate(queries()):
        expr = query
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, f"unknown Grafana variable in {expr}"
        rules.append({"record": f"dashboard:query_{i}", "expr": expr})
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_issue_s_views_are_on_the_dashboard() -> None:
    text = " ".join(queries())
    for wanted in [
        "videorecog_pipeline_events_consumed_total",  # throughput
        "videorecog_pipeline_consumer_lag",  # lag per partition
        "videorecog_pipeline_jobs_pending",
        "histogram_quantile(0.95, sum by (le, action) (rate(videorecog_pipeline_job_duration",
        "videorecog_pipeline_api_requests_total",  # error codes
        "videorecog_pipeline_dlq_published_total",
        "videorecog_engine_queue_depth",
        "videorecog_engine_analysis_frames_total",  # analysis speed
    ]:
        assert wanted in text, wanted


def test_grafana_provisioning_points_at_the_dashboard_and_datasource() -> None:
    provider = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "videorecog.yaml").read_text()
    )
    datasource = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yaml").read_text()
    )
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    source = datasource["datasources"][0]
    assert source["type"] == "prometheus"
    variable = dashboard()["templating"]["list"][0]
    assert variable["type"] == "datasource"
    assert variable["current"]["value"] == source["uid"]


def test_durable_covers_have_their_own_row() -> None:
    """A "Durable covers" row shows copies stored and failed by reason, the failure ratio, the
    copy time and the bytes stored."""
    panels = dashboard()["panels"]
    rows = [p for p in panels if p["type"] == "row"]
    assert "Durable covers" in [r["title"] for r in rows]
    row_y = next(r["gridPos"]["y"] for r in rows if r["title"] == "Durable covers")
    below = [p for p in panels if p["type"] != "row" and p["gridPos"]["y"] > row_y]
    text = " ".join(t["expr"] for p in below for t in p["targets"])
    for wanted in [
        "videorecog_pipeline_covers_stored_total",
        "sum by (reason) (rate(videorecog_pipeline_cover_store_failures_total",
        "videorecog_pipeline_cover_store_duration_seconds_bucket",
        "videorecog_pipeline_cover_store_bytes_total",
    ]:
        assert wanted in text, wanted


def test_engine_workers_have_their_own_row() -> None:
    """An "Engine workers" row shows the queue's depth and age, the workers' saturation, lease
    expiries, and the work done per second (downloads, decode passes, reused analyses)."""
    panels = dashboard()["panels"]
    rows = sorted(p["gridPos"]["y"] for p in panels if p["type"] == "row")
    row_y = next(
        p["gridPos"]["y"] for p in panels if p["type"] == "row" and p["title"] == "Engine workers"
    )
    next_row_y = next((y for y in rows if y > row_y), float("inf"))
    mine = [p for p in panels if p["type"] != "row" and row_y < p["gridPos"]["y"] < next_row_y]
    text = " ".join(t["expr"] for p in mine for t in p["targets"])
    for wanted in [
        "max(videorecog_engine_queue_depth)",
        "max(videorecog_engine_queue_oldest_seconds)",
        "sum(videorecog_engine_worker_busy) / clamp_min(sum(videorecog_engine_worker_slots), 1)",
        "videorecog_engine_lease_expiries_total",
        "videorecog_engine_downloads_total",
        "videorecog_engine_decode_passes_total",
        "videorecog_engine_analyses_reused_total",
    ]:
        assert wanted in text, wanted
