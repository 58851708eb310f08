"""Prometheus config and alert rules: promtool checks them, and the rules' own unit tests pass."""

from __future__ import annotations

import yaml

from tests.deploy.conftest import DEPLOY, promtool

PROMETHEUS = DEPLOY / "prometheus"
RULES = PROMETHEUS / "rules" / "videorecog.rules.yml"


def test_config_is_valid() -> None:
    result = promtool("check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    # The config's rule_files glob finds the rules (a wrong path would check nothing).
    assert "videorecog.rules.yml" in result.stdout


def test_rules_are_valid() -> None:
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alerts_fire_on_their_situation_and_only_then() -> None:
    result = promtool("test", "rules", str(PROMETHEUS / "tests" / "videorecog.rules.test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_unit_tested_and_has_a_runbook() -> None:
    rules = yaml.safe_load(RULES.read_text())
    alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"] if "alert" in r}
    tested = {
        case["alertname"]
        for test in yaml.safe_load(
            (PROMETHEUS / "tests" / "videorecog.rules.test.yml").read_text()
        )["tests"]
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    assert set(alerts) == tested
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}, name
        assert {"summary", "description", "runbook"} <= rule["annotations"].keys(), name


def test_scrape_targets_use_the_service_ports() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]
    }
    assert targets == {
        "videorecog-pipeline": ["pipeline:9100"],
        "videorecog-engine": ["engine:8080"],
    }
