from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import pytest

from videorecog.settings import VARIABLES, Secret, Settings, SettingsError, load


def test_defaults_match_the_design_contract() -> None:
    """With an empty environment, topic and group names are the documented defaults."""
    settings = load({})
    assert settings.kafka.input_topic == "video-uploads"
    assert settings.kafka.output_topic == "video-understanding-results"
    assert settings.kafka.dlq_topic == "video-uploads.dlq"
    assert settings.kafka.group_id == "videorecog-pipeline"
    assert settings.kafka.idempotence is True


def test_the_instance_id_is_the_host_name_unless_set() -> None:
    """VIDEORECOG_INSTANCE_ID (static group membership) defaults to the host name."""
    assert load({}).kafka.instance_id == socket.gethostname()
    assert load({"VIDEORECOG_INSTANCE_ID": " pod-7 "}).kafka.instance_id == "pod-7"
    with pytest.raises(SettingsError, match="VIDEORECOG_INSTANCE_ID"):
        load({"VIDEORECOG_INSTANCE_ID": "x" * 250})


def test_override_beats_environment_beats_default() -> None:
    """A CLI override wins over the environment, which wins over the default."""
    env = {"VIDEORECOG_GROUP_ID": "from-env", "VIDEORECOG_INPUT_TOPIC": "in-env"}
    settings = load(env, {"VIDEORECOG_GROUP_ID": "from-flag"})
    assert settings.kafka.group_id == "from-flag"
    assert settings.kafka.input_topic == "in-env"


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("VIDEORECOG_MAX_INFLIGHT", "0"),
        ("VIDEORECOG_MAX_INFLIGHT", "many"),
        ("VIDEORECOG_METRICS_PORT", "70000"),
        ("VIDEORECOG_KAFKA_BOOTSTRAP_SERVERS", "no-port"),
        ("VIDEORECOG_ENDPOINT", "ftp://x"),
        ("VIDEORECOG_LOG_LEVEL", "chatty"),
        ("VIDEORECOG_SIGNATURE", "v2"),
        ("VIDEORECOG_KAFKA_IDEMPOTENCE", "maybe"),
        ("VIDEORECOG_ENGINE_ALLOW_HOSTS", "10.0.0.0/99"),
        ("VIDEORECOG_ENGINE_CREDENTIALS", "no-colon"),
    ],
)
def test_bad_value_names_the_variable(env: str, value: str) -> None:
    """Start-up fails with a message that starts with the offending variable's name."""
    with pytest.raises(SettingsError, match=rf"^{env}="):
        load({env: value})


def test_secret_is_hidden_in_reprs_and_errors() -> None:
    """Secrets never show in the settings repr nor in the error for a bad credentials value."""
    settings = load(
        {
            "ALIBABA_CLOUD_ACCESS_KEY_ID": "ak",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "topsecret",
            "VIDEORECOG_ENGINE_CREDENTIALS": "ak:othersecret",
        }
    )
    assert "topsecret" not in repr(settings)
    assert "othersecret" not in repr(settings)
    assert settings.api.access_key_secret.reveal() == "topsecret"
    assert settings.engine.credentials["ak"] == Secret("othersecret")
    with pytest.raises(SettingsError) as info:
        load({"VIDEORECOG_ENGINE_CREDENTIALS": "ak:s3cr3t,broken"})
    assert "s3cr3t" not in str(info.value)


def test_credentials_from_file(tmp_path: Path) -> None:
    """``@file`` reads one id:secret per line, skipping comments and blanks."""
    path = tmp_path / "keys"
    path.write_text("# engine keys\nid1:sec1\n\nid2:sec2\n")
    settings = load({"VIDEORECOG_ENGINE_CREDENTIALS": f"@{path}"})
    assert set(settings.engine.credentials) == {"id1", "id2"}


def test_inconsistent_limits_rejected() -> None:
    """The per-partition bound may not exceed the global one."""
    with pytest.raises(SettingsError, match="VIDEORECOG_MAX_INFLIGHT_PER_PARTITION"):
        load({"VIDEORECOG_MAX_INFLIGHT": "10", "VIDEORECOG_MAX_INFLIGHT_PER_PARTITION": "20"})


def test_key_id_without_secret_rejected() -> None:
    with pytest.raises(SettingsError, match="ALIBABA_CLOUD_ACCESS_KEY_ID"):
        load({"ALIBABA_CLOUD_ACCESS_KEY_ID": "ak"})


def test_every_variable_has_a_distinct_flag() -> None:
    """Each variable gets its own CLI flag twin."""
    flags = [v.flag for v in VARIABLES]
    assert len(flags) == len(set(flags))
    assert "--kafka-bootstrap-servers" in flags
    assert "--access-key-secret" in flags


def test_every_field_is_a_declared_setting() -> None:
    """Each field of each section is one variable: VARIABLES is derived, never written twice."""
    fields = [
        (section.name, f.name)
        for section in dataclasses.fields(Settings)
        for f in dataclasses.fields(getattr(load({}), section.name))
    ]
    assert [(v.section, v.attribute) for v in VARIABLES] == fields
    assert len({v.env for v in VARIABLES}) == len(VARIABLES)


@pytest.mark.parametrize("where", ["environment", "override"])
def test_a_misspelt_name_is_a_settings_error(where: str) -> None:
    """A VIDEORECOG_* name that is no setting stops start-up, naming it and the likely one."""
    name = {"VIDEORECOG_MAX_INFLIHGT": "10"}
    with pytest.raises(SettingsError, match=r"^VIDEORECOG_MAX_INFLIHGT .*VIDEORECOG_MAX_INFLIGHT"):
        load(name) if where == "environment" else load({}, name)


def test_kubernetes_service_links_are_not_settings() -> None:
    """Variables Kubernetes adds for a Service named videorecog-* are left alone."""
    settings = load(
        {
            "VIDEORECOG_ENGINE_SERVICE_HOST": "10.0.0.9",
            "VIDEORECOG_ENGINE_SERVICE_PORT": "8080",
            "VIDEORECOG_ENGINE_PORT_8080_TCP_ADDR": "10.0.0.9",
            "VIDEORECOG_PIPELINE_PORT": "tcp://10.0.0.8:9100",
        }
    )
    assert settings.engine.port == 8080


def test_a_value_that_is_not_text_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match=r"^VIDEORECOG_MAX_INFLIGHT: must be given as text"):
        load({"VIDEORECOG_MAX_INFLIGHT": 10})  # type: ignore[dict-item]


def test_quota_settings_default_to_each_replica_alone() -> None:
    """Without VIDEORECOG_QUOTA_REDIS_URL nothing is shared; polls have 20/s of their own."""
    quota = load({}).quota
    assert not quota.redis_url
    assert quota.key == ""
    assert quota.fallback_replicas == 1
    assert quota.poll_rate_per_second == 20.0


def test_quota_redis_url_is_a_secret_and_checked() -> None:
    """The URL may carry a password: it never shows, and only Redis schemes are accepted."""
    url = "redis://:hunter2@redis:6379/0"
    settings = load({"VIDEORECOG_QUOTA_REDIS_URL": url})
    assert settings.quota.redis_url.reveal() == url
    assert "hunter2" not in repr(settings)
    with pytest.raises(SettingsError, match="VIDEORECOG_QUOTA_REDIS_URL") as raised:
        load({"VIDEORECOG_QUOTA_REDIS_URL": "http://:hunter2@redis:6379"})
    assert "hunter2" not in str(raised.value)
