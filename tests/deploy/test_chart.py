"""The Helm chart, linted and rendered by Helm's own Go engine, for every ci/ scenario."""

from __future__ import annotations

import re
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
from kubernetes_validate.utils import latest_version

from tests.deploy.conftest import (
    CHART,
    ROOT,
    SCENARIOS,
    Manifest,
    find,
    notes,
    render,
    scenario_values,
)
from videorecog.cli import build_parser
from videorecog.engine.app import Role
from videorecog.engine.server import check
from videorecog.protocol.constants import JobStatus
from videorecog.settings import VARIABLES, Settings, load

# Custom resources: not in the Kubernetes schemas, checked field by field below.
CUSTOM_KINDS = {
    "ServiceMonitor": "monitoring.coreos.com/v1",
    "ScaledObject": "keda.sh/v1alpha1",
    "TriggerAuthentication": "keda.sh/v1alpha1",
}
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest schemas known.
KUBE_VERSIONS = ["1.25.0", latest_version()]
SECRET_ENV = {"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"}
# What a Secret would hold, for the variables taken from one whose setting checks the form.
SECRET_EXAMPLES = {
    "VIDEORECOG_ENGINE_CREDENTIALS": "id:secret",
    "VIDEORECOG_QUOTA_REDIS_URL": "redis://:password@redis:6379/0",
    "VIDEORECOG_ENGINE_STORE_URL": "postgresql://videorecog:password@postgres:5432/videorecog",
}
WORKLOADS = {"Deployment", "StatefulSet"}


def _pod_specs(manifests: list[Manifest]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (m["metadata"]["name"], m["spec"]["template"]["spec"])
        for m in manifests
        if m["kind"] in WORKLOADS | {"Job"}
    ]


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def _workload(manifests: list[Manifest], suffix: str) -> Manifest:
    """The Deployment or StatefulSet named ``*suffix``."""
    (match,) = [
        m for m in manifests if m["kind"] in WORKLOADS and m["metadata"]["name"].endswith(suffix)
    ]
    return match


def _container(manifests: list[Manifest], suffix: str) -> dict[str, Any]:
    containers: list[dict[str, Any]] = _workload(manifests, suffix)["spec"]["template"]["spec"][
        "containers"
    ]
    assert len(containers) == 1
    return containers[0]


def test_every_scenario_is_checked() -> None:
    assert SCENARIOS == ["exactly-once", "full", "minimal", "shared"]


def test_lint_is_clean(scenario: str) -> None:
    report = helm.lint(str(CHART), scenario_values(scenario), strict=True)
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_manifests_match_the_kubernetes_schemas(scenario: str) -> None:
    manifests = render(scenario_values(scenario))
    for manifest in manifests:
        if manifest["kind"] in CUSTOM_KINDS:
            assert manifest["apiVersion"] == CUSTOM_KINDS[manifest["kind"]]
            continue
        for version in KUBE_VERSIONS:
            kubernetes_validate.validate(manifest, version, strict=True)


def test_scenarios_render_what_they_turn_on() -> None:
    def kinds(scenario: str) -> list[str]:
        return sorted(m["kind"] for m in render(scenario_values(scenario)))

    assert kinds("minimal") == ["Deployment", "PodDisruptionBudget", "Service", "ServiceAccount"]
    assert kinds("exactly-once") == [
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
        "StatefulSet",
    ]
    pipeline = ["Deployment", "PodDisruptionBudget", "Service", "ServiceAccount", "Job"]
    engine = ["Deployment", "Service", "PersistentVolumeClaim"]
    optional = [
        "ScaledObject",
        "ServiceMonitor",
        "ServiceMonitor",
        "NetworkPolicy",
        "NetworkPolicy",
    ]
    assert kinds("full") == sorted([*pipeline, *engine, *optional])
    assert kinds("shared") == sorted(
        ["Deployment", "Service", "ServiceMonitor", "NetworkPolicy", "PodDisruptionBudget"] * 2
        + ["Deployment", "Service", "ServiceMonitor", "NetworkPolicy"]  # the workers
        + ["ServiceAccount", "Job", "ScaledObject", "TriggerAuthentication"]
    )


def test_every_resource_carries_the_standard_labels(scenario: str) -> None:
    for manifest in render(scenario_values(scenario)):
        labels = manifest["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "videorecog"
        assert labels["app.kubernetes.io/instance"] == "vr"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/version"]
        assert labels["helm.sh/chart"] == "videorecog-0.1.0"
        assert len(manifest["metadata"]["name"]) <= 63


def test_selectors_match_pods_and_never_include_the_version(scenario: str) -> None:
    manifests = render(scenario_values(scenario))
    for manifest in manifests:
        if manifest["kind"] not in WORKLOADS:
            continue
        selector = manifest["spec"]["selector"]["matchLabels"]
        assert "app.kubernetes.io/version" not in selector
        pod_labels = manifest["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= pod_labels.items()
        # Each component's selector picks only its own pods.
        assert selector["app.kubernetes.io/component"] in {"pipeline", "engine", "engine-worker"}
    for service in (m for m in manifests if m["kind"] == "Service"):
        component = service["metadata"]["labels"]["app.kubernetes.io/component"]
        assert service["spec"]["selector"]["app.kubernetes.io/component"] == component


def test_long_release_names_stay_within_63_characters() -> None:
    manifests = render(scenario_values("full"), release="r" * 60)
    names = {m["metadata"]["name"] for m in manifests}
    assert all(len(name) <= 63 for name in names)
    assert any(name.endswith("-pipeline") for name in names)
    assert any(name.endswith("-engine") for name in names)


def test_probes_use_health_and_readiness_on_the_served_port(scenario: str) -> None:
    manifests = render(scenario_values(scenario))
    pipeline = _container(manifests, "-pipeline")
    assert pipeline["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert pipeline["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert pipeline["startupProbe"]["httpGet"]["path"] == "/healthz"
    port = next(p for p in pipeline["ports"] if p["name"] == "metrics")["containerPort"]
    assert _env(pipeline)["VIDEORECOG_METRICS_PORT"] == str(port)
    # The engine's API on its http port; shared mode's workers serve health on their metrics port.
    workloads = [m["metadata"]["name"] for m in manifests if m["kind"] in WORKLOADS]
    for suffix, name in {"-engine": "http", "-engine-worker": "metrics"}.items():
        if not any(workload.endswith(suffix) for workload in workloads):
            continue
        engine = _container(manifests, suffix)
        assert engine["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": name}
        assert engine["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": name}
        port = next(p for p in engine["ports"] if p["name"] == name)["containerPort"]
        assert _env(engine)["VIDEORECOG_ENGINE_PORT"] == str(port)


def test_every_pod_is_hardened(scenario: str) -> None:
    pods = _pod_specs(render(scenario_values(scenario)))
    assert pods
    for name, pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            assert "memory" in container["resources"]["limits"], name


def test_credentials_come_only_from_the_existing_secret(scenario: str) -> None:
    values = scenario_values(scenario)
    secret = values["api"]["credentials"]["existingSecret"]
    manifests = render(values)
    assert not [m for m in manifests if m["kind"] == "Secret"]
    env = _env(_container(manifests, "-pipeline"))
    for name in SECRET_ENV:
        assert env[name]["secretKeyRef"]["name"] == secret
    assert env["ALIBABA_CLOUD_ACCESS_KEY_ID"]["secretKeyRef"]["key"] == (
        "ALIBABA_CLOUD_ACCESS_KEY_ID"
    )
    if values.get("engine", {}).get("enabled"):
        engine_env = _env(_container(manifests, "-engine"))
        assert engine_env["VIDEORECOG_ENGINE_CREDENTIALS"]["secretKeyRef"] == {
            "name": secret,
            "key": "VIDEORECOG_ENGINE_CREDENTIALS",
        }


def test_quota_redis_url_comes_from_values_or_a_secret() -> None:
    """The shared budget's Redis URL is off by default, taken from values, or from a Secret when
    it carries a password."""
    assert "VIDEORECOG_QUOTA_REDIS_URL" not in _env(
        _container(render(scenario_values("minimal")), "-pipeline")
    )
    url = "redis://redis-master.redis.svc:6379/0"
    plain = _env(
        _container(
            render(_merge(scenario_values("minimal"), {"quota": {"redisUrl": url}})), "-pipeline"
        )
    )
    assert plain["VIDEORECOG_QUOTA_REDIS_URL"] == url
    from_secret = _env(_container(render(scenario_values("full")), "-pipeline"))
    assert from_secret["VIDEORECOG_QUOTA_REDIS_URL"]["secretKeyRef"] == {
        "name": "videorecog-quota",
        "key": "VIDEORECOG_QUOTA_REDIS_URL",
    }
    assert from_secret["VIDEORECOG_QUOTA_FALLBACK_REPLICAS"] == "4"


def test_rendered_environment_is_a_valid_configuration(scenario: str) -> None:
    """Every variable the chart sets is one the service knows, together they load, and the engine's
    commands would serve with them (the checks they make at start, beyond loading)."""
    known = {var.env for var in VARIABLES} | SECRET_ENV
    manifests = render(scenario_values(scenario))
    containers = [c for _, pod in _pod_specs(manifests) for c in pod["containers"]]
    for container in containers:
        env = {
            k: v if isinstance(v, str) else SECRET_EXAMPLES.get(k, "from-secret")
            for k, v in _env(container).items()
        }
        assert set(env) <= known, container["name"]
        settings = load(env)  # raises SettingsError naming any bad value
        _check_engine_start(container["args"], settings)


def _check_engine_start(args: list[str], settings: Settings) -> None:
    """What `videorecog engine [migrate]` and `videorecog worker` refuse at start: the API or
    workers in shared mode without a cover store, a worker or migration without a job store."""
    if args == ["worker"]:
        check(settings, Role.WORKER)
    elif args == ["engine"]:
        check(settings, Role.API if settings.engine.store_url else Role.EMBEDDED)
    elif args == ["engine", "migrate"]:
        assert settings.engine.store_url, "`videorecog engine migrate` needs the job store"


def test_chart_defaults_are_the_settings_defaults() -> None:
    """With the least values, every variable the chart sets (but the deployment's own addresses)
    holds the default declared in settings.py: the two cannot drift apart."""
    site_specific = {"VIDEORECOG_KAFKA_BOOTSTRAP_SERVERS", "VIDEORECOG_ENDPOINT"}
    by_env = {var.env: var for var in VARIABLES}
    defaults = {var.env: var.parse(var.default) for var in VARIABLES if not var.secret}
    drift = []
    for _, pod in _pod_specs(render(scenario_values("minimal"))):
        for container in pod["containers"]:
            for name, value in _env(container).items():
                if name in site_specific or not isinstance(value, str) or by_env[name].secret:
                    continue
                if by_env[name].parse(value) != defaults[name]:
                    drift.append((container["name"], name, value, by_env[name].default))
    assert not drift


def test_container_arguments_are_videorecog_commands(scenario: str) -> None:
    for _, pod in _pod_specs(render(scenario_values(scenario))):
        for container in pod["containers"]:
            build_parser().parse_args(container["args"])


def test_termination_grace_period_covers_the_drain(scenario: str) -> None:
    values = scenario_values(scenario)
    manifests = render(values)
    grace = _workload(manifests, "-pipeline")["spec"]["template"]["spec"][
        "terminationGracePeriodSeconds"
    ]
    drain = int(_env(_container(manifests, "-pipeline"))["VIDEORECOG_SHUTDOWN_GRACE_SECONDS"])
    expected_drain = values.get("pipeline", {}).get("shutdownGraceSeconds", 25)
    assert drain == expected_drain
    assert grace == drain + 10


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"pipeline": {"replicaCount": 7}}, "exceeds kafka.inputPartitions (6)"),
        (
            {"kafka": {"inputPartitions": 4}, "pipeline": {"autoscaling": {"enabled": True}}},
            "maxReplicas (6) exceeds kafka.inputPartitions (4)",
        ),
    ],
)
def test_replicas_beyond_partitions_are_refused(overrides: dict[str, Any], message: str) -> None:
    values = _merge(scenario_values("minimal"), overrides)
    with pytest.raises(helm.HelmError, match=re.escape(message)):
        render(values)


def test_replicas_and_autoscaling_respect_partitions() -> None:
    minimal = find(render(scenario_values("minimal")), "Deployment", "-pipeline")
    assert minimal["spec"]["replicas"] == 2
    values = scenario_values("full")
    manifests = render(values)
    # With KEDA on, the ScaledObject owns the replica count.
    assert "replicas" not in find(manifests, "Deployment", "-pipeline")["spec"]
    scaled = find(manifests, "ScaledObject", "-pipeline")["spec"]
    assert scaled["maxReplicaCount"] <= values["kafka"]["inputPartitions"]
    trigger = scaled["triggers"][0]
    assert trigger["type"] == "kafka"
    assert trigger["metadata"]["allowIdleConsumers"] == "false"
    env = _env(_container(manifests, "-pipeline"))
    assert trigger["metadata"]["topic"] == env["VIDEORECOG_INPUT_TOPIC"]
    assert trigger["metadata"]["consumerGroup"] == env["VIDEORECOG_GROUP_ID"]
    assert trigger["metadata"]["bootstrapServers"] == env["VIDEORECOG_KAFKA_BOOTSTRAP_SERVERS"]
    assert (
        scaled["scaleTargetRef"]["name"]
        == find(manifests, "Deployment", "-pipeline")["metadata"]["name"]
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"kafka": {"bootstrapServers": ""}}, "kafka.bootstrapServers is required"),
        ({"api": {"credentials": {"existingSecret": ""}}}, "api.credentials.existingSecret"),
        ({"api": {"endpoint": ""}}, "api.endpoint is required when engine.enabled is false"),
    ],
)
def test_missing_required_values_fail_with_their_name(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(helm.HelmError, match=re.escape(message)):
        render(_merge(scenario_values("minimal"), overrides))


@pytest.mark.parametrize(
    "overrides",
    [
        {"pipeline": {"replicas": 3}},  # a typo of replicaCount
        {"api": {"signature": "v2"}},
        {"kafka": {"bootstrapServers": "kafka without port"}},
        {"api": {"credentials": {"accessKeySecret": "inline-secret"}}},  # secrets never in values
    ],
)
def test_schema_refuses_bad_values(overrides: dict[str, Any]) -> None:
    chart = helm.Chart.load(str(CHART))
    with pytest.raises(helm.HelmValuesError):
        chart.validate_schema(_merge(scenario_values("minimal"), overrides))


def test_engine_is_wired_to_the_pipeline() -> None:
    manifests = render(scenario_values("full"))
    engine = find(manifests, "Deployment", "-engine")
    service = find(manifests, "Service", "-engine")
    assert engine["spec"]["replicas"] == 1
    assert engine["spec"]["strategy"] == {"type": "Recreate"}
    endpoint = _env(_container(manifests, "-pipeline"))["VIDEORECOG_ENDPOINT"]
    assert endpoint == f"http://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"
    claim = find(manifests, "PersistentVolumeClaim", "-engine")
    volumes = {v["name"]: v for v in engine["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    mounts = {m["name"]: m["mountPath"] for m in _container(manifests, "-engine")["volumeMounts"]}
    assert _env(_container(manifests, "-engine"))["VIDEORECOG_ENGINE_DATA_DIR"] == mounts["data"]


@pytest.mark.parametrize("scenario", ["full", "shared"])
def test_services_and_monitors_point_at_named_container_ports(scenario: str) -> None:
    manifests = render(scenario_values(scenario))
    for service in (m for m in manifests if m["kind"] == "Service"):
        component = service["spec"]["selector"]["app.kubernetes.io/component"]
        container = _container(manifests, f"-{component}")
        names = {p["name"] for p in container["ports"]}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= names
        monitor = find(manifests, "ServiceMonitor", f"-{component}")
        assert monitor["spec"]["selector"]["matchLabels"].items() <= (
            service["metadata"]["labels"].items()
        )
        assert monitor["metadata"]["labels"]["release"] == "prometheus"
        service_ports = {p["name"] for p in service["spec"]["ports"]}
        assert {e["port"] for e in monitor["spec"]["endpoints"]} <= service_ports
        assert {e["path"] for e in monitor["spec"]["endpoints"]} == {"/metrics"}


def test_network_policies_open_only_what_is_served() -> None:
    manifests = render(scenario_values("full"))
    pipeline_pods = find(manifests, "Deployment", "-pipeline")["spec"]["template"]["metadata"][
        "labels"
    ]
    pipeline = find(manifests, "NetworkPolicy", "-pipeline")["spec"]
    assert pipeline["policyTypes"] == ["Ingress"]
    assert [r["ports"] for r in pipeline["ingress"]] == [[{"port": "metrics", "protocol": "TCP"}]]
    engine = find(manifests, "NetworkPolicy", "-engine")["spec"]
    peers = engine["ingress"][0]["from"]
    selectors = [p["podSelector"]["matchLabels"] for p in peers if "podSelector" in p]
    assert any(s.items() <= pipeline_pods.items() for s in selectors)
    assert len(peers) == 3  # the pipeline, engineFrom, metricsFrom


def test_topics_hook_creates_as_many_partitions_as_the_chart_assumes() -> None:
    values = scenario_values("full")
    job = find(render(values), "Job", "-topics")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    parsed = build_parser().parse_args(args)
    assert parsed.partitions == values["kafka"]["inputPartitions"]
    assert parsed.replication_factor == 3


def test_chart_image_and_ports_match_the_dockerfile_and_project() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    chart = helm.Chart.load(str(CHART))
    version = re.search(r'^version = "([^"]+)"', pyproject, re.M)
    assert version
    assert chart.metadata["appVersion"] == version.group(1)
    assert f"ARG VERSION={version.group(1)}" in dockerfile
    exposed = re.search(r"^EXPOSE (.+)$", dockerfile, re.M)
    assert exposed
    values = chart.values
    assert sorted(exposed.group(1).split()) == sorted(
        [str(values["engine"]["port"]), str(values["pipeline"]["metricsPort"])]
    )
    user = re.search(r"^USER (\d+):(\d+)$", dockerfile, re.M)
    assert user
    assert values["podSecurityContext"]["runAsUser"] == int(user.group(1))


def test_notes_tell_what_to_do_next() -> None:
    text = notes(scenario_values("minimal"))
    assert 'Secret "videorecog-credentials"' in text
    assert "cleanup.policy=compact" in text
    assert "kubectl -n media rollout status deployment/vr-videorecog-pipeline" in text


# --- autoscaling on pending jobs, durable covers, the fleet's Redis ---

COVER_STORE_ENV = {
    "VIDEORECOG_COVER_STORE_URL",
    "VIDEORECOG_COVER_STORE_CONCURRENCY",
    "VIDEORECOG_COVER_STORE_MAX_BYTES",
    "VIDEORECOG_COVER_STORE_ATTEMPTS",
    "VIDEORECOG_S3_ENDPOINT_URL",
    "VIDEORECOG_S3_ADDRESSING_STYLE",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
}


def test_pending_jobs_trigger_scales_on_this_release_s_jobs() -> None:
    """With pendingJobs on, a Prometheus trigger beside the lag one sums the pending-jobs gauge
    of this release's pipeline Service, with the threshold and server given."""
    values = scenario_values("full")
    manifests = render(values)
    triggers = find(manifests, "ScaledObject", "-pipeline")["spec"]["triggers"]
    assert [t["type"] for t in triggers] == ["kafka", "prometheus"]
    prometheus = triggers[1]["metadata"]
    pending = values["pipeline"]["autoscaling"]["pendingJobs"]
    service = find(manifests, "Service", "-pipeline")["metadata"]["name"]
    assert prometheus == {
        "serverAddress": pending["serverAddress"],
        "query": f'sum(videorecog_pipeline_jobs_pending{{namespace="media",service="{service}"}})',
        "threshold": str(pending["threshold"]),
    }
    custom = _merge(values, {"pipeline": {"autoscaling": {"pendingJobs": {"query": "sum(x)"}}}})
    triggers = find(render(custom), "ScaledObject", "-pipeline")["spec"]["triggers"]
    assert triggers[1]["metadata"]["query"] == "sum(x)"


def test_pending_jobs_trigger_is_off_by_default_and_needs_a_server() -> None:
    """Autoscaling alone scales on lag only; pendingJobs without a Prometheus address is refused."""
    values = _merge(scenario_values("minimal"), {"pipeline": {"autoscaling": {"enabled": True}}})
    triggers = find(render(values), "ScaledObject", "-pipeline")["spec"]["triggers"]
    assert [t["type"] for t in triggers] == ["kafka"]
    values = _merge(values, {"pipeline": {"autoscaling": {"pendingJobs": {"enabled": True}}}})
    with pytest.raises(helm.HelmError, match=re.escape("pendingJobs.serverAddress is required")):
        render(values)


def test_cover_store_is_configured_with_keys_from_its_own_secret() -> None:
    """The full scenario sets every cover-store variable; the S3 keys come from their Secret."""
    values = scenario_values("full")
    env = _env(_container(render(values), "-pipeline"))
    assert set(env) >= COVER_STORE_ENV
    assert env["VIDEORECOG_COVER_STORE_URL"] == values["coverStore"]["url"]
    assert env["VIDEORECOG_S3_ENDPOINT_URL"] == values["coverStore"]["endpointUrl"]
    secret = values["coverStore"]["credentials"]["existingSecret"]
    assert env["AWS_ACCESS_KEY_ID"]["secretKeyRef"] == {"name": secret, "key": "AWS_ACCESS_KEY_ID"}
    assert env["AWS_SECRET_ACCESS_KEY"]["secretKeyRef"] == {
        "name": secret,
        "key": "AWS_SECRET_ACCESS_KEY",
    }


def test_cover_store_defaults_are_the_settings_defaults_and_off_without_a_url() -> None:
    """Without coverStore.url no cover-store variable is set (the pipeline works as before); with
    only the URL, the chart's defaults equal settings.py's and no S3 key is set (the default
    credential chain)."""
    minimal = scenario_values("minimal")
    assert not set(_env(_container(render(minimal), "-pipeline"))) & COVER_STORE_ENV
    values = _merge(minimal, {"coverStore": {"url": "s3://covers/p"}})
    env = _env(_container(render(values), "-pipeline"))
    keys = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    assert set(env) & COVER_STORE_ENV == COVER_STORE_ENV - keys
    by_env = {var.env: var for var in VARIABLES}
    for name in COVER_STORE_ENV - keys - {"VIDEORECOG_COVER_STORE_URL"}:
        var = by_env[name]
        assert var.parse(env[name]) == var.parse(var.default), name
    settings = load({k: v for k, v in env.items() if isinstance(v, str)})
    assert settings.covers.url is not None
    assert settings.covers.url.bucket == "covers"


def test_quota_redis_url_comes_from_the_value_or_a_secret() -> None:
    """VIDEORECOG_QUOTA_REDIS_URL is set only when asked for: from quota.redisUrl, or from a
    Secret when the URL carries a password."""
    minimal = scenario_values("minimal")
    name = "VIDEORECOG_QUOTA_REDIS_URL"
    assert name not in _env(_container(render(minimal), "-pipeline"))
    url = "redis://redis-master.redis:6379/0"
    plain = _merge(minimal, {"quota": {"redisUrl": url}})
    assert _env(_container(render(plain), "-pipeline"))[name] == url
    secret = _merge(plain, {"quota": {"existingSecret": "videorecog-redis"}})
    assert _env(_container(render(secret), "-pipeline"))[name]["secretKeyRef"] == {
        "name": "videorecog-redis",
        "key": name,
    }


@pytest.mark.parametrize(
    "overrides",
    [
        {"coverStore": {"url": "https://covers.example.com/p"}},
        {"coverStore": {"url": "s3://Covers/p"}},
        {"coverStore": {"addressingStyle": "dns"}},
        {"coverStore": {"credentials": {"secretAccessKey": "inline"}}},  # never in values
        {"quota": {"redisUrl": "http://redis:6379"}},
        {"pipeline": {"autoscaling": {"pendingJobs": {"threshold": 0}}}},
        {"pipeline": {"autoscaling": {"pendingJobs": {"serverAddress": "prometheus:9090"}}}},
    ],
)
def test_schema_refuses_bad_cover_store_quota_and_scaling_values(overrides: dict[str, Any]) -> None:
    """Malformed URLs, unknown styles, inline secrets and a zero threshold never render."""
    chart = helm.Chart.load(str(CHART))
    with pytest.raises(helm.HelmValuesError):
        chart.validate_schema(_merge(scenario_values("minimal"), overrides))


def test_exactly_once_runs_the_pipeline_as_a_statefulset() -> None:
    """Stable pod names are the instance ids (and so the transactional ids); the transaction
    settings reach the container; at least once stays a Deployment with a rolling update."""
    values = scenario_values("exactly-once")
    manifests = render(values)
    workload = find(manifests, "StatefulSet", "-pipeline")
    spec = workload["spec"]
    assert spec["replicas"] == 3
    assert spec["serviceName"] == find(manifests, "Service", "-pipeline")["metadata"]["name"]
    assert spec["podManagementPolicy"] == "Parallel"
    assert "strategy" not in spec
    env = _env(_container(manifests, "-pipeline"))
    assert env["VIDEORECOG_DELIVERY"] == "exactly-once"
    assert env["VIDEORECOG_INSTANCE_ID"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["VIDEORECOG_KAFKA_IDEMPOTENCE"] == "true"
    assert (env["VIDEORECOG_TRANSACTION_MAX_EVENTS"], env["VIDEORECOG_TRANSACTION_MAX_MS"]) == (
        "200",
        "250",
    )
    assert "kubectl -n media rollout status statefulset/vr-videorecog-pipeline" in notes(values)
    assert "isolation.level=read_committed" in notes(values)

    at_least_once = render(scenario_values("minimal"))
    deployment = find(at_least_once, "Deployment", "-pipeline")
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    assert _env(_container(at_least_once, "-pipeline"))["VIDEORECOG_DELIVERY"] == "at-least-once"
    assert not [m for m in at_least_once if m["kind"] == "StatefulSet"]


def test_keda_scales_the_statefulset_with_exactly_once() -> None:
    values = _merge(
        scenario_values("exactly-once"), {"pipeline": {"autoscaling": {"enabled": True}}}
    )
    manifests = render(values)
    target = find(manifests, "ScaledObject", "-pipeline")["spec"]["scaleTargetRef"]
    assert target == {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "name": find(manifests, "StatefulSet", "-pipeline")["metadata"]["name"],
    }
    assert "replicas" not in find(manifests, "StatefulSet", "-pipeline")["spec"]


def test_exactly_once_without_idempotence_is_refused() -> None:
    values = _merge(scenario_values("exactly-once"), {"kafka": {"idempotence": False}})
    with pytest.raises(helm.HelmError, match=re.escape("needs kafka.idempotence=true")):
        render(values)


# --- the engine's shared mode: API and workers on PostgreSQL and S3 ---

# The settings the engine reads in shared mode only (the job store, the covers' bucket, leases);
# the S3 and AWS variables are the cover store's.
SHARED_ENGINE_ENV = {
    "VIDEORECOG_ENGINE_STORE_URL",
    "VIDEORECOG_ENGINE_COVER_STORE_URL",
    "VIDEORECOG_ENGINE_LEASE_SECONDS",
    "VIDEORECOG_ENGINE_MAX_ATTEMPTS",
}


def _shared(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The shared scenario (ci/shared-values.yaml), with ``overrides``."""
    return _merge(scenario_values("shared"), overrides or {})


def _pod_labels(workload: Manifest) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def test_shared_engine_names_stay_within_63_characters() -> None:
    """Lint, the Kubernetes schemas and the labels are checked with every scenario, shared too."""
    names = {m["metadata"]["name"] for m in render(_shared(), release="r" * 60)}
    assert all(len(name) <= 63 for name in names)
    assert any(name.endswith("-engine-worker") for name in names)
    assert any(name.endswith("-engine-migrate") for name in names)


def test_shared_engine_pods_are_selected_by_their_own_role() -> None:
    """Hardening is checked with every scenario; here, that API and workers stay apart."""
    manifests = render(_shared())
    assert len(_pod_specs(manifests)) == 4  # pipeline, engine API, workers, migration
    api = _pod_labels(_workload(manifests, "-engine"))
    workers = _pod_labels(_workload(manifests, "-engine-worker"))
    for workload in (m for m in manifests if m["kind"] in WORKLOADS):
        selector = workload["spec"]["selector"]["matchLabels"]
        assert "app.kubernetes.io/version" not in selector
        assert selector.items() <= _pod_labels(workload).items()
    # The API's selector, Service, PodDisruptionBudget and NetworkPolicy never take in workers.
    for kind in ["Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"]:
        spec = find(manifests, kind, "-engine")["spec"]
        selector = spec.get("selector", {}).get("matchLabels", spec.get("selector"))
        if kind == "NetworkPolicy":
            selector = spec["podSelector"]["matchLabels"]
        assert selector.items() <= api.items(), kind
        assert not selector.items() <= workers.items(), kind


def test_shared_engine_api_is_stateless_rolling_and_disruption_safe() -> None:
    manifests = render(_shared())
    api = _workload(manifests, "-engine")
    assert api["spec"]["replicas"] == 2
    assert api["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    assert not [m for m in manifests if m["kind"] == "PersistentVolumeClaim"]
    volumes = api["spec"]["template"]["spec"]["volumes"]
    assert not [v for v in volumes if "persistentVolumeClaim" in v]
    budget = find(manifests, "PodDisruptionBudget", "-engine")["spec"]
    assert budget["minAvailable"] == 1
    container = _container(manifests, "-engine")
    assert container["args"] == ["engine"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    defaults = helm.Chart.load(str(CHART)).values["engine"]
    assert container["resources"] == defaults["api"]["resources"] != defaults["resources"]
    env = _env(container)
    assert env["VIDEORECOG_ENGINE_STORE_URL"]["secretKeyRef"] == {
        "name": "videorecog-engine-store",
        "key": "url",
    }
    assert "VIDEORECOG_ENGINE_CREDENTIALS" in env
    assert "VIDEORECOG_ENGINE_WORKERS" not in env  # the API analyses nothing
    # The pipeline keeps calling the engine Service, now in front of the API replicas.
    service = find(manifests, "Service", "-engine")
    endpoint = _env(_container(manifests, "-pipeline"))["VIDEORECOG_ENDPOINT"]
    assert endpoint == f"http://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"
    more = render(_shared({"engine": {"api": {"replicas": 4}}}))
    assert _workload(more, "-engine")["spec"]["replicas"] == 4


def test_shared_engine_workers_run_videorecog_worker_with_downloads_on_an_empty_dir() -> None:
    values = _shared({"engine": {"workers": 6, "leaseSeconds": 90, "maxAttempts": 5}})
    manifests = render(values)
    worker = _workload(manifests, "-engine-worker")
    pod = worker["spec"]["template"]["spec"]
    assert "replicas" not in worker["spec"]  # KEDA owns the count
    assert pod["terminationGracePeriodSeconds"] == 120 >= values["engine"]["leaseSeconds"]
    container = _container(manifests, "-engine-worker")
    assert container["args"] == ["worker"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    env = _env(container)
    (port,) = container["ports"]
    assert port["name"] == "metrics"
    assert env["VIDEORECOG_ENGINE_PORT"] == str(port["containerPort"])
    assert (env["VIDEORECOG_ENGINE_WORKERS"], env["VIDEORECOG_ENGINE_LEASE_SECONDS"]) == ("6", "90")
    assert env["VIDEORECOG_ENGINE_MAX_ATTEMPTS"] == "5"
    assert (
        env["VIDEORECOG_ENGINE_STORE_URL"]
        == _env(_container(manifests, "-engine"))["VIDEORECOG_ENGINE_STORE_URL"]
    )
    assert "VIDEORECOG_ENGINE_CREDENTIALS" not in env  # workers answer no API calls
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert env["VIDEORECOG_ENGINE_DATA_DIR"] == mounts["downloads"]
    assert volumes["downloads"]["emptyDir"] == {"sizeLimit": "4Gi"}
    fixed = render(
        _shared({"engine": {"worker": {"replicas": 3, "autoscaling": {"enabled": False}}}})
    )
    assert _workload(fixed, "-engine-worker")["spec"]["replicas"] == 3
    assert not [m for m in fixed if m["kind"] in {"ScaledObject", "TriggerAuthentication"}]


def test_shared_engine_s3_settings_come_from_engine_cover_store() -> None:
    """The engine's bucket and keys are its own: the pipeline's coverStore stays off."""
    manifests = render(_shared())
    for suffix in ["-engine", "-engine-worker"]:
        env = _env(_container(manifests, suffix))
        assert env["VIDEORECOG_ENGINE_COVER_STORE_URL"] == "s3://engine-covers/videorecog"
        assert env["VIDEORECOG_S3_ENDPOINT_URL"] == "http://minio.storage.svc:9000"
        assert env["VIDEORECOG_S3_ADDRESSING_STYLE"] == "path"
        for key in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]:
            assert env[key]["secretKeyRef"] == {"name": "videorecog-engine-s3", "key": key}
    assert not set(_env(_container(manifests, "-pipeline"))) & COVER_STORE_ENV
    chain = render(_shared({"engine": {"coverStore": {"existingSecret": ""}}}))
    assert "AWS_ACCESS_KEY_ID" not in _env(_container(chain, "-engine-worker"))


def test_shared_engine_roles_carry_the_shared_store_settings() -> None:
    """API and workers both get the job store, the covers' bucket and the leases (the scenario
    tests load every container's environment with the real settings); the hook the store only."""
    assert {var.env for var in VARIABLES} >= SHARED_ENGINE_ENV
    manifests = render(_shared())
    for suffix in ["-engine", "-engine-worker"]:
        assert set(_env(_container(manifests, suffix))) >= SHARED_ENGINE_ENV, suffix
    job = find(manifests, "Job", "-engine-migrate")
    (migrate,) = job["spec"]["template"]["spec"]["containers"]
    assert set(_env(migrate)) == {
        "VIDEORECOG_LOG_LEVEL",
        "VIDEORECOG_LOG_FORMAT",
        "VIDEORECOG_ENGINE_STORE_URL",
    }


def test_shared_engine_workers_scale_on_jobs_in_hand_with_keda_s_postgresql_trigger() -> None:
    """The trigger counts the jobs waiting and those running: counting only the waiting ones,
    KEDA would scale in workers still analysing as soon as the queue empties."""
    manifests = render(_shared())
    scaled = find(manifests, "ScaledObject", "-engine-worker")["spec"]
    assert scaled["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": _workload(manifests, "-engine-worker")["metadata"]["name"],
    }
    assert (scaled["minReplicaCount"], scaled["maxReplicaCount"]) == (1, 8)
    (trigger,) = scaled["triggers"]
    assert trigger["type"] == "postgresql"
    assert trigger["metadata"] == {
        "query": "SELECT count(*) FROM engine_jobs WHERE status IN ('QUEUING', 'PROCESSING')",
        "targetQueryValue": "4",
    }
    # Every status a job holds until it is final, as the engine defines them.
    in_hand = {status.value for status in JobStatus if not status.is_final}
    assert set(re.findall(r"'(\w+)'", trigger["metadata"]["query"])) == in_hand
    auth = find(manifests, "TriggerAuthentication", "-engine-worker")
    assert trigger["authenticationRef"] == {"name": auth["metadata"]["name"]}
    # KEDA connects with the very URL the workers use.
    store = _env(_container(manifests, "-engine-worker"))["VIDEORECOG_ENGINE_STORE_URL"]
    assert auth["spec"]["secretTargetRef"] == [{"parameter": "connection", **store["secretKeyRef"]}]
    custom = render(
        _shared(
            {
                "engine": {
                    "store": {"key": "DATABASE_URL"},
                    "worker": {"autoscaling": {"targetQueryValue": 10, "query": "SELECT 1"}},
                }
            }
        )
    )
    trigger = find(custom, "ScaledObject", "-engine-worker")["spec"]["triggers"][0]
    assert trigger["metadata"] == {"query": "SELECT 1", "targetQueryValue": "10"}
    auth = find(custom, "TriggerAuthentication", "-engine-worker")
    assert auth["spec"]["secretTargetRef"][0]["key"] == "DATABASE_URL"


def test_shared_engine_migrates_the_job_store_in_a_hook_before_anything_else() -> None:
    values = _merge(_shared(), {"kafka": {"topics": {"create": True}}})
    manifests = render(values)
    job = find(manifests, "Job", "-engine-migrate")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    topics = find(manifests, "Job", "-topics")["metadata"]["annotations"]
    assert int(annotations["helm.sh/hook-weight"]) < int(topics.get("helm.sh/hook-weight", "0"))
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["args"] == ["engine", "migrate"]
    assert _env(container)["VIDEORECOG_ENGINE_STORE_URL"]["secretKeyRef"] == {
        "name": "videorecog-engine-store",
        "key": "url",
    }


def test_shared_engine_workers_are_scraped_and_reachable_for_scrapes_only() -> None:
    values = _shared()
    manifests = render(values)
    workers = _pod_labels(_workload(manifests, "-engine-worker"))
    service = find(manifests, "Service", "-engine-worker")
    assert service["spec"]["selector"].items() <= workers.items()
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["metrics"]
    monitor = find(manifests, "ServiceMonitor", "-engine-worker")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    (endpoint,) = monitor["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("metrics", "/metrics")
    policy = find(manifests, "NetworkPolicy", "-engine-worker")["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= workers.items()
    assert policy["ingress"] == [
        {
            "ports": [{"port": "metrics", "protocol": "TCP"}],
            "from": values["networkPolicy"]["metricsFrom"],
        }
    ]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"engine": {"store": {"existingSecret": ""}}}, "engine.store.existingSecret is required"),
        ({"engine": {"coverStore": {"url": ""}}}, "engine.coverStore.url is required"),
        (
            {"engine": {"leaseSeconds": 300}},
            "engine.worker.terminationGracePeriodSeconds (120) must be at least "
            "engine.leaseSeconds (300)",
        ),
    ],
)
def test_shared_engine_without_its_store_or_cover_store_is_refused(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(helm.HelmError, match=re.escape(message)):
        render(_shared(overrides))


def test_shared_engine_refuses_a_single_api_replica() -> None:
    chart = helm.Chart.load(str(CHART))
    single = _shared({"engine": {"api": {"replicas": 1}}})
    with pytest.raises(helm.HelmValuesError, match="replicas"):
        chart.validate_schema(single)
    with pytest.raises(helm.HelmError):
        render(single)
    # Embedded mode ignores engine.api: one replica there is no mistake.
    embedded = _merge(single, {"engine": {"mode": "embedded"}})
    chart.validate_schema(embedded)
    assert _workload(render(embedded), "-engine")["spec"]["replicas"] == 1
    with pytest.raises(helm.HelmValuesError):
        chart.validate_schema(_shared({"engine": {"mode": "cluster"}}))


def test_embedded_engine_stays_the_default_and_ignores_the_shared_settings() -> None:
    """Without engine.mode the full scenario is the one pod on its volume, with no worker, hook or
    job-store variable; the shared-mode settings change nothing there."""
    assert helm.Chart.load(str(CHART)).values["engine"]["mode"] == "embedded"
    values = scenario_values("full")
    manifests = render(values)
    assert not [m for m in manifests if m["metadata"]["name"].endswith(("-worker", "-migrate"))]
    assert not [m for m in manifests if m["kind"] == "TriggerAuthentication"]
    assert [m["kind"] for m in manifests if m["metadata"]["name"].endswith("-engine")] == [
        "Deployment",
        "NetworkPolicy",
        "PersistentVolumeClaim",
        "Service",
        "ServiceMonitor",
    ]
    assert not set(_env(_container(manifests, "-engine"))) & SHARED_ENGINE_ENV
    shared_settings = {k: v for k, v in scenario_values("shared")["engine"].items() if k != "mode"}
    ignored = _merge(values, {"engine": {**shared_settings, "api": {"replicas": 3}}})
    assert render(ignored) == manifests


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
