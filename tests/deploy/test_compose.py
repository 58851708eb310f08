"""The laptop stack: the compose file parses and uses the image, ports and mounts the rest uses."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import yaml

from tests.deploy.conftest import CHART, DEPLOY, ROOT
from videorecog.cli import build_parser
from videorecog.settings import VARIABLES, load


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yaml").read_text())
    return loaded


def _environment(service: dict[str, Any]) -> dict[str, str]:
    """The service's environment with ${VAR:-default} resolved to its default."""
    resolved = {}
    for name, value in service.get("environment", {}).items():
        text = str(value)
        while "${" in text:
            start = text.index("${")
            end = text.index("}", start)
            default = text[start + 2 : end].partition(":-")[2]
            text = text[:start] + default + text[end + 1 :]
        resolved[name] = text
    return resolved


def test_services_are_the_stack() -> None:
    assert set(compose()["services"]) == {
        "kafka",
        "topics",
        "media",
        "engine",
        "pipeline",
        "prometheus",
        "grafana",
    }


def test_kafka_is_apache_kafka_in_kraft_mode() -> None:
    kafka = compose()["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "healthcheck" in kafka


def test_project_services_use_the_chart_s_image_and_ports() -> None:
    chart = helm.Chart.load(str(CHART))
    image = f"{chart.values['image']['repository']}:{chart.metadata['appVersion']}"
    services = compose()["services"]
    for name in ("topics", "media", "engine", "pipeline"):
        assert services[name]["image"] == image, name
        assert services[name]["build"]["context"] == ".."
        assert (DEPLOY / services[name]["build"]["context"] / "Dockerfile").exists()
        assert services[name]["read_only"] is True
    assert "8080:8080" in services["engine"]["ports"]
    assert _environment(services["engine"])["VIDEORECOG_ENGINE_PORT"] == str(
        chart.values["engine"]["port"]
    )
    assert "9100:9100" in services["pipeline"]["ports"]
    assert _environment(services["pipeline"])["VIDEORECOG_METRICS_PORT"] == str(
        chart.values["pipeline"]["metricsPort"]
    )


def test_project_services_are_valid_commands_and_configurations() -> None:
    known = {var.env for var in VARIABLES} | {
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    }
    services = compose()["services"]
    for name in ("topics", "engine", "pipeline"):
        build_parser().parse_args(services[name]["command"])
        environment = _environment(services[name])
        assert set(environment) <= known, name
        load(environment)
    engine, pipeline = _environment(services["engine"]), _environment(services["pipeline"])
    # The pipeline signs with a key the engine accepts.
    key = f"{pipeline['ALIBABA_CLOUD_ACCESS_KEY_ID']}:{pipeline['ALIBABA_CLOUD_ACCESS_KEY_SECRET']}"
    assert key in engine["VIDEORECOG_ENGINE_CREDENTIALS"].split(",")
    assert pipeline["VIDEORECOG_ENDPOINT"] == f"http://engine:{engine['VIDEORECOG_ENGINE_PORT']}"


def test_pipeline_gets_time_to_drain() -> None:
    pipeline = compose()["services"]["pipeline"]
    drain = load(_environment(pipeline)).pipeline.shutdown_grace_seconds
    assert int(pipeline["stop_grace_period"].removesuffix("s")) > drain


def test_monitoring_mounts_exist() -> None:
    services = compose()["services"]
    for name in ("prometheus", "grafana", "media"):
        for volume in services[name]["volumes"]:
            source = volume.split(":")[0]
            assert (DEPLOY / source).exists(), f"{name}: {source}"
    assert (ROOT / "deploy" / "prometheus" / "prometheus.yml").exists()
