"""Helpers for the deployment files: the chart rendered by Helm's own engine, and promtool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "videorecog"
DEPLOY = ROOT / "deploy"
SCENARIOS = sorted(p.stem.removesuffix("-values") for p in (CHART / "ci").glob("*-values.yaml"))

Manifest = dict[str, Any]


def scenario_values(scenario: str) -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((CHART / "ci" / f"{scenario}-values.yaml").read_text())
    return values


def render(values: dict[str, Any], release: str = "vr") -> list[Manifest]:
    """Every manifest the chart renders for ``values`` (NOTES.txt aside)."""
    rendered = helm.Chart.load(str(CHART)).render(
        values, name=release, namespace="media", is_install=True
    )
    return [
        doc
        for path, text in sorted(rendered.items())
        if path.endswith(".yaml")
        for doc in yaml.safe_load_all(text)
        if doc
    ]


def notes(values: dict[str, Any]) -> str:
    rendered = helm.Chart.load(str(CHART)).render(values, name="vr", namespace="media")
    return next(text for path, text in rendered.items() if path.endswith("NOTES.txt"))


def find(manifests: list[Manifest], kind: str, name_suffix: str = "") -> Manifest:
    matches = [
        m for m in manifests if m["kind"] == kind and m["metadata"]["name"].endswith(name_suffix)
    ]
    assert len(matches) == 1, f"expected one {kind} *{name_suffix}, got {len(matches)}"
    return matches[0]


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary, "promtool missing: `make test` installs it (Debian package prometheus)"
    return subprocess.run(
        [binary, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture(params=SCENARIOS)
def scenario(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name
