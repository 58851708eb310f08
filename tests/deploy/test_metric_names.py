"""The dashboard and the alert rules use only metrics that a running pipeline and engine serve,
and that output passes `promtool check metrics`."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.clips import Clip
from tests.conftest import Topics
from tests.deploy.conftest import DEPLOY, promtool
from tests.integration.pipeline.conftest import event, pipeline_env, produce, read_all
from tests.support import EngineProcess, MediaServer
from videorecog.broker import free_port

SAMPLE_SUFFIXES = {
    "counter": ["_total", "_created"],
    "histogram": ["_bucket", "_count", "_sum", "_created"],
    "gauge": [""],
}
METRIC_NAME = re.compile(r"\bvideorecog_[a-z0-9_]+\b")


def _served_names(exposition: str) -> set[str]:
    """Every series name a PromQL query can use against this exposition."""
    return {
        family.name + suffix
        for family in text_string_to_metric_families(exposition)
        for suffix in SAMPLE_SUFFIXES[family.type]
    }


def _used_names() -> dict[str, set[str]]:
    board = json.loads((DEPLOY / "grafana" / "dashboards" / "videorecog.json").read_text())
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules" / "videorecog.rules.yml").read_text())
    queries = {
        "dashboard": [t["expr"] for p in board["panels"] for t in p.get("targets", [])],
        "rules": [r["expr"] for g in rules["groups"] for r in g["rules"]],
    }
    return {where: {n for q in qs for n in METRIC_NAME.findall(q)} for where, qs in queries.items()}


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


@pytest.fixture
async def pipeline_process(
    bootstrap_servers: str, topics: Topics, engine: EngineProcess, tmp_path: Path
) -> AsyncIterator[tuple[Topics, int]]:
    """``videorecog pipeline`` as the container runs it, against the real broker and engine."""
    port = free_port()
    env = {
        **os.environ,
        **pipeline_env(bootstrap_servers, topics, engine.endpoint),
        "VIDEORECOG_METRICS_PORT": str(port),
    }
    with (tmp_path / "pipeline.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "videorecog", "pipeline", env=env, stdout=log, stderr=log
        )
    try:
        yield topics, port
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0


async def test_dashboard_and_rules_use_only_served_metrics(
    bootstrap_servers: str,
    pipeline_process: tuple[Topics, int],
    engine: EngineProcess,
    media_server: MediaServer,
    clips: dict[str, Clip],
) -> None:
    topics, port = pipeline_process
    # Traffic that touches every labelled series: all actions, a failed job, a dead letter.
    await produce(
        bootstrap_servers,
        topics.input,
        [
            event("ok", media_server.url("gen/cuts.mp4"), ["shots", "cover", "gif"]),
            event("broken", media_server.url("gen/corrupt.mp4"), ["shots"]),
            (b"bad", b"{not json", []),
        ],
    )
    await read_all(bootstrap_servers, topics.output, want=2)
    await read_all(bootstrap_servers, topics.dlq, want=1)

    pipeline = await asyncio.to_thread(_scrape, f"http://127.0.0.1:{port}/metrics")
    engine_text = await asyncio.to_thread(_scrape, f"{engine.endpoint}/metrics")
    for text in (pipeline, engine_text):
        checked = promtool("check", "metrics", stdin=text)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout.strip() == "", checked.stdout  # no lint findings either

    served = _served_names(pipeline) | _served_names(engine_text)
    for where, names in _used_names().items():
        assert names, where
        assert names <= served, f"{where} uses metrics nobody serves: {sorted(names - served)}"
