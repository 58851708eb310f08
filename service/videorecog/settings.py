"""Settings: read once from the environment (CLI flags override), validated, frozen.

Every variable is declared once, as a field of its section with ``setting(env, parser, default,
help)``; ``VARIABLES`` is derived from those fields, the CLI derives a flag twin from each name
(``VIDEORECOG_KAFKA_BOOTSTRAP_SERVERS`` -> ``--kafka-bootstrap-servers``) and the README's table is
``markdown_table()`` (a test keeps them equal); the parsers are in ``parsers.py``. Nothing else in
the package reads ``os.environ``: the settings object is built at the entry point and passed down.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from videorecog import parsers
from videorecog.parsers import S3Url, Secret

__all__ = [
    "VARIABLES",
    "ApiSettings",
    "CoverStoreSettings",
    "EngineSettings",
    "KafkaSettings",
    "LogSettings",
    "PipelineSettings",
    "QuotaSettings",
    "S3Settings",
    "S3Url",
    "Secret",
    "Settings",
    "SettingsError",
    "Variable",
    "load",
    "markdown_table",
    "setting",
]


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


# --- declaring a setting: one field, one place ---


@dataclass(frozen=True)
class Variable:
    """One environment variable: where it lands, how it parses, its default and help text."""

    env: str
    section: str
    attribute: str
    parse: Callable[[str], Any]
    default: str
    help: str
    secret: bool = False

    @property
    def flag(self) -> str:
        name = self.env.removeprefix("VIDEORECOG_").removeprefix("ALIBABA_CLOUD_")
        return "--" + name.lower().replace("_", "-")


@dataclass(frozen=True)
class _Declared:
    env: str
    parse: Callable[[str], Any]
    default: str
    help: str
    secret: bool


def setting(
    env: str, parse: Callable[[str], Any], default: str, help: str, *, secret: bool = False
) -> Any:
    """A settings field declared with everything about it: its variable, parser, default, help.

    ``default`` is the raw text, parsed like a value from the environment.
    """
    return field(
        metadata={"setting": _Declared(env, parse, default, help, secret)}, repr=not secret
    )


# --- the settings objects ---


@dataclass(frozen=True)
class LogSettings:
    level: str = setting("VIDEORECOG_LOG_LEVEL", parsers.log_level, "INFO", "log level")
    format: Literal["json", "console"] = setting(
        "VIDEORECOG_LOG_FORMAT",
        parsers.choice("json", "console"),
        "json",
        "json: one object per line; console: for humans",
    )


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: str = setting(
        "VIDEORECOG_KAFKA_BOOTSTRAP_SERVERS",
        parsers.bootstrap_servers,
        "127.0.0.1:9092",
        "Kafka bootstrap servers, host:port[,host:port]",
    )
    input_topic: str = setting(
        "VIDEORECOG_INPUT_TOPIC", parsers.required_text, "video-uploads", "topic of upload events"
    )
    output_topic: str = setting(
        "VIDEORECOG_OUTPUT_TOPIC",
        parsers.required_text,
        "video-understanding-results",
        "topic of result records",
    )
    dlq_topic: str = setting(
        "VIDEORECOG_DLQ_TOPIC",
        parsers.required_text,
        "video-uploads.dlq",
        "dead-letter topic for events that can never be processed",
    )
    jobs_topic: str = setting(
        "VIDEORECOG_JOBS_TOPIC",
        parsers.required_text,
        "videorecog-pipeline.jobs",
        "compacted topic recording submitted job ids",
    )
    group_id: str = setting(
        "VIDEORECOG_GROUP_ID", parsers.required_text, "videorecog-pipeline", "consumer group id"
    )
    # Apache Kafka supports the idempotent producer; the embedded tansu broker does not answer
    # aiokafka's InitProducerId v0, so local stacks turn it off. acks=all is used either way.
    idempotence: bool = setting(
        "VIDEORECOG_KAFKA_IDEMPOTENCE",
        parsers.boolean,
        "true",
        "idempotent producer (needs a broker with InitProducerId; off for tansu)",
    )
    instance_id: str = setting(
        "VIDEORECOG_INSTANCE_ID",
        parsers.instance_id,
        "",
        "stable identity of this replica (empty: the host name): static group membership "
        "(group.instance.id), so a restart under the same id takes its partitions back at once; "
        "with exactly-once also the transactional id, so the restart fences its predecessor",
    )
    delivery: Literal["at-least-once", "exactly-once"] = setting(
        "VIDEORECOG_DELIVERY",
        parsers.choice("at-least-once", "exactly-once"),
        "at-least-once",
        "at-least-once, or exactly-once: each result, its job-log tombstones, any dead letter "
        "and the consumed offsets in one Kafka transaction (needs a broker with transactions)",
    )
    create_topics: bool = setting(
        "VIDEORECOG_CREATE_TOPICS",
        parsers.boolean,
        "false",
        "create missing topics at start-up, as `videorecog topics` does",
    )


@dataclass(frozen=True)
class ApiSettings:
    endpoint: str = setting(
        "VIDEORECOG_ENDPOINT",
        parsers.http_url,
        "http://127.0.0.1:8080",
        "API base URL (cloud or engine)",
    )
    access_key_id: str = setting(
        "ALIBABA_CLOUD_ACCESS_KEY_ID", parsers.text, "", "AccessKey id the client signs with"
    )
    access_key_secret: Secret = setting(
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        parsers.secret,
        "",
        "AccessKey secret",
        secret=True,
    )
    signature: Literal["v1", "acs3"] = setting(
        "VIDEORECOG_SIGNATURE",
        parsers.choice("v1", "acs3"),
        "v1",
        "request signature: v1 (HMAC-SHA1) or acs3 (ACS3-HMAC-SHA256)",
    )
    region_id: str = setting("VIDEORECOG_REGION_ID", parsers.text, "cn-shanghai", "RegionId sent")


@dataclass(frozen=True)
class PipelineSettings:
    max_inflight: int = setting(
        "VIDEORECOG_MAX_INFLIGHT",
        parsers.positive_int,
        "1000",
        "bound on events in flight (all partitions)",
    )
    max_inflight_per_partition: int = setting(
        "VIDEORECOG_MAX_INFLIGHT_PER_PARTITION",
        parsers.positive_int,
        "500",
        "bound on events in flight per partition",
    )
    metrics_host: str = setting(
        "VIDEORECOG_METRICS_HOST",
        parsers.required_text,
        parsers.ALL_INTERFACES,
        "address of /metrics, /healthz, /readyz",
    )
    metrics_port: int = setting(
        "VIDEORECOG_METRICS_PORT", parsers.port, "9100", "port of /metrics, /healthz, /readyz"
    )
    shutdown_grace_seconds: float = setting(
        "VIDEORECOG_SHUTDOWN_GRACE_SECONDS",
        parsers.positive_float,
        "25",
        "drain time on SIGTERM (keep below the pod's grace period)",
    )
    api_concurrency: int = setting(
        "VIDEORECOG_API_CONCURRENCY",
        parsers.positive_int,
        "8",
        "concurrent API requests per action",
    )
    api_rate_per_second: float = setting(
        "VIDEORECOG_API_RATE_LIMIT",
        parsers.positive_float,
        "2",
        "API requests per second per submission action: the whole fleet's with "
        "VIDEORECOG_QUOTA_REDIS_URL, else each replica's (the cloud allows about 2 per account)",
    )
    pollers: int = setting(
        "VIDEORECOG_POLLERS", parsers.positive_int, "8", "coroutines polling GetAsyncJobResult"
    )
    poll_first_seconds: float = setting(
        "VIDEORECOG_POLL_FIRST_SECONDS",
        parsers.positive_float,
        "1",
        "wait before a job's first poll",
    )
    poll_max_seconds: float = setting(
        "VIDEORECOG_POLL_MAX_SECONDS",
        parsers.positive_float,
        "15",
        "longest wait between two polls of a job",
    )
    job_timeout_seconds: float = setting(
        "VIDEORECOG_JOB_TIMEOUT_SECONDS",
        parsers.positive_float,
        "1800",
        "a job not final by then is reported TIMEOUT_FAILED",
    )
    retry_attempts: int = setting(
        "VIDEORECOG_RETRY_ATTEMPTS",
        parsers.positive_int,
        "6",
        "tries of a request that fails with a retryable code",
    )
    commit_interval_seconds: float = setting(
        "VIDEORECOG_COMMIT_INTERVAL_SECONDS",
        parsers.positive_float,
        "1",
        "how often finished offsets are committed",
    )
    session_timeout_ms: int = setting(
        "VIDEORECOG_KAFKA_SESSION_TIMEOUT_MS",
        parsers.positive_int,
        "10000",
        "consumer group session timeout; also the deadline of each commit and of leaving the group",
    )
    transaction_max_events: int = setting(
        "VIDEORECOG_TRANSACTION_MAX_EVENTS",
        parsers.positive_int,
        "500",
        "exactly-once: a transaction is committed once this many events finished",
    )
    transaction_max_ms: int = setting(
        "VIDEORECOG_TRANSACTION_MAX_MS",
        parsers.positive_int,
        "100",
        "exactly-once: and at least this often (ms) while events finish; their results are "
        "visible to read_committed readers only then",
    )


# --- durable covers: copies in S3-compatible storage ---


@dataclass(frozen=True)
class CoverStoreSettings:
    url: S3Url | None = setting(
        "VIDEORECOG_COVER_STORE_URL",
        parsers.optional_s3_url,
        "",
        "copy each cover to s3://bucket/prefix while its link is valid (empty: off)",
    )
    concurrency: int = setting(
        "VIDEORECOG_COVER_STORE_CONCURRENCY",
        parsers.positive_int,
        "4",
        "covers copied at once (memory in flight: at most this x the largest cover)",
    )
    max_bytes: int = setting(
        "VIDEORECOG_COVER_STORE_MAX_BYTES",
        parsers.positive_int,
        str(16 << 20),
        "largest cover copied; a larger one is marked store_error",
    )
    attempts: int = setting(
        "VIDEORECOG_COVER_STORE_ATTEMPTS",
        parsers.positive_int,
        "4",
        "tries of a cover download, and of its upload, that fail transiently",
    )


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str = setting(
        "VIDEORECOG_S3_ENDPOINT_URL",
        parsers.optional_http_url,
        "",
        "S3-compatible endpoint (OSS, MinIO, SeaweedFS; empty: AWS S3)",
    )
    access_key_id: str = setting(
        "AWS_ACCESS_KEY_ID",
        parsers.text,
        "",
        "S3 access key id (empty: the AWS default credential chain)",
    )
    secret_access_key: Secret = setting(
        "AWS_SECRET_ACCESS_KEY", parsers.secret, "", "S3 secret access key", secret=True
    )
    region: str = setting("AWS_REGION", parsers.text, "", "S3 region (empty: the store's default)")
    # Alibaba OSS answers only virtual-hosted requests (bucket.host); an in-cluster MinIO or
    # SeaweedFS has no DNS name per bucket and needs path-style requests (host/bucket).
    addressing_style: Literal["auto", "path", "virtual"] = setting(
        "VIDEORECOG_S3_ADDRESSING_STYLE",
        parsers.choice("auto", "path", "virtual"),
        "auto",
        "S3 request style: path (host/bucket), virtual (bucket.host) or auto",
    )


# --- the fleet-wide request budget (pipeline/quota.py) ---


@dataclass(frozen=True)
class QuotaSettings:
    redis_url: Secret = setting(
        "VIDEORECOG_QUOTA_REDIS_URL",
        parsers.optional_redis_url,
        "",
        "Redis holding the request budget shared by every replica (empty: each its own)",
        secret=True,
    )
    key: str = setting(
        "VIDEORECOG_QUOTA_KEY",
        parsers.text,
        "",
        "name of the shared budget (empty: the AccessKeyId); fleets with one key share one budget",
    )
    fallback_replicas: int = setting(
        "VIDEORECOG_QUOTA_FALLBACK_REPLICAS",
        parsers.positive_int,
        "1",
        "while Redis is unreachable each replica uses the rates divided by this",
    )
    poll_rate_per_second: float = setting(
        "VIDEORECOG_POLL_RATE_LIMIT",
        parsers.positive_float,
        "20",
        "GetAsyncJobResult requests per second (a budget apart from submissions), the fleet's "
        "with VIDEORECOG_QUOTA_REDIS_URL, else each replica's",
    )


@dataclass(frozen=True)
class EngineSettings:
    host: str = setting(
        "VIDEORECOG_ENGINE_HOST", parsers.required_text, "127.0.0.1", "engine listen address"
    )
    port: int = setting("VIDEORECOG_ENGINE_PORT", parsers.port, "8080", "engine listen port")
    data_dir: Path = setting(
        "VIDEORECOG_ENGINE_DATA_DIR",
        lambda raw: Path(raw).expanduser(),
        ".data/engine",
        "job store and cover images",
    )
    credentials: Mapping[str, Secret] = setting(
        "VIDEORECOG_ENGINE_CREDENTIALS",
        parsers.credentials,
        "",
        "accepted keys: id:secret[,id:secret] or @file",
        secret=True,
    )
    allow_hosts: tuple[str, ...] = setting(
        "VIDEORECOG_ENGINE_ALLOW_HOSTS",
        parsers.allow_hosts,
        "",
        "hosts or CIDRs the URL fetcher admits although private or loopback",
    )
    public_url: str = setting(
        "VIDEORECOG_ENGINE_PUBLIC_URL",
        parsers.optional_http_url,
        "",
        "base of the signed cover links (default: http://HOST:PORT)",
    )
    workers: int = setting(
        "VIDEORECOG_ENGINE_WORKERS", parsers.positive_int, "2", "analysis processes"
    )
    rate_limit_per_second: float = setting(
        "VIDEORECOG_ENGINE_RATE_LIMIT",
        parsers.positive_float,
        "50",
        "requests per second per AccessKey before Throttling.User",
    )
    result_retention_seconds: float = setting(
        "VIDEORECOG_ENGINE_RESULT_RETENTION_SECONDS",
        parsers.positive_float,
        "86400",
        "how long finished jobs and covers are kept",
    )
    max_download_bytes: int = setting(
        "VIDEORECOG_ENGINE_MAX_DOWNLOAD_BYTES",
        parsers.positive_int,
        str(1 << 30),
        "largest video the fetcher downloads",
    )
    download_timeout_seconds: float = setting(
        "VIDEORECOG_ENGINE_DOWNLOAD_TIMEOUT_SECONDS",
        parsers.positive_float,
        "120",
        "time limit of one download",
    )
    # --- scaled out: front doors and workers sharing PostgreSQL and object storage ---
    store_url: Secret = setting(
        "VIDEORECOG_ENGINE_STORE_URL",
        parsers.optional_postgres_url,
        "",
        "PostgreSQL job store and queue shared by front doors and workers (empty: SQLite in "
        "the data directory, both roles in one process)",
        secret=True,
    )
    cover_store_url: S3Url | None = setting(
        "VIDEORECOG_ENGINE_COVER_STORE_URL",
        parsers.optional_s3_url,
        "",
        "s3://bucket/prefix for the covers, with the VIDEORECOG_S3_* and AWS_* settings "
        "(empty: the data directory)",
    )
    lease_seconds: float = setting(
        "VIDEORECOG_ENGINE_LEASE_SECONDS",
        parsers.positive_float,
        "60",
        "a worker's hold on a job, renewed while it works; a job whose lease ran out is retried",
    )
    max_attempts: int = setting(
        "VIDEORECOG_ENGINE_MAX_ATTEMPTS",
        parsers.positive_int,
        "3",
        "tries of one job before it ends LIMIT_RETRY_FAILED",
    )


@dataclass(frozen=True)
class Settings:
    log: LogSettings
    kafka: KafkaSettings
    api: ApiSettings
    pipeline: PipelineSettings
    covers: CoverStoreSettings
    s3: S3Settings
    quota: QuotaSettings
    engine: EngineSettings


_SECTIONS: dict[str, type[Any]] = {
    f.name: typing.get_type_hints(Settings)[f.name] for f in dataclasses.fields(Settings)
}


def _variables() -> tuple[Variable, ...]:
    out = []
    for section, cls in _SECTIONS.items():
        for f in dataclasses.fields(cls):
            declared = f.metadata.get("setting")
            if not isinstance(declared, _Declared):
                raise TypeError(f"{cls.__name__}.{f.name} is not declared with setting()")
            d = declared
            out.append(Variable(d.env, section, f.name, d.parse, d.default, d.help, d.secret))
    return tuple(out)


VARIABLES: tuple[Variable, ...] = _variables()
"""Every variable, derived from the fields above (the CLI's flags, README's table, the chart's
environment are checked against it)."""

_BY_ENV = {var.env: var for var in VARIABLES}

# Kubernetes adds <SERVICE>_SERVICE_HOST, <SERVICE>_PORT... for each Service of the namespace; a
# Service named videorecog-* would put such names under our prefix.
_SERVICE_LINK = re.compile(r"_(SERVICE_HOST|SERVICE_PORT(_\w+)?|PORT(_\d+_(TCP|UDP|SCTP)\w*)?)$")


def _unknown(name: str) -> SettingsError:
    close = difflib.get_close_matches(name, _BY_ENV, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return SettingsError(f"{name} is not a setting{hint}")


def markdown_table() -> str:
    """The README's configuration table, rows in declaration order."""
    rows = [
        "| variable | flag | default | meaning |",
        "|---|---|---|---|",
    ]
    for var in VARIABLES:
        default = f"`{var.default}`" if var.default else "—"
        rows.append(f"| `{var.env}` | `{var.flag}` | {default} | {var.help} |")
    return "\n".join(rows)


def load(environ: Mapping[str, str], overrides: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from ``environ``, with ``overrides`` (keyed by variable name) winning.

    Raises:
        SettingsError: naming the first variable that is invalid, or a ``VIDEORECOG_*`` name
            (in ``environ`` or ``overrides``) that is no setting.
    """
    overrides = overrides or {}
    for name in overrides:
        if name not in _BY_ENV:
            raise _unknown(name)
    for name in environ:
        if (
            name.startswith("VIDEORECOG_")
            and name not in _BY_ENV
            and not _SERVICE_LINK.search(name)
        ):
            raise _unknown(name)
    values: dict[str, dict[str, Any]] = {name: {} for name in _SECTIONS}
    for var in VARIABLES:
        raw = overrides.get(var.env, environ.get(var.env, var.default))
        if not isinstance(raw, str):
            raise SettingsError(f"{var.env}: must be given as text, got {type(raw).__name__}")
        try:
            values[var.section][var.attribute] = var.parse(raw)
        except (ValueError, OSError) as exc:
            shown = "(hidden)" if var.secret else repr(raw)
            raise SettingsError(f"{var.env}={shown}: {exc}") from None
    sections = {name: cls(**values[name]) for name, cls in _SECTIONS.items()}
    settings = Settings(**sections)
    _check_consistency(settings)
    return settings


def _check_consistency(settings: Settings) -> None:
    pipeline = settings.pipeline
    if pipeline.max_inflight_per_partition > pipeline.max_inflight:
        raise SettingsError(
            "VIDEORECOG_MAX_INFLIGHT_PER_PARTITION must not exceed VIDEORECOG_MAX_INFLIGHT"
        )
    kafka = settings.kafka
    if kafka.delivery == "exactly-once" and not kafka.idempotence:
        raise SettingsError(
            "VIDEORECOG_DELIVERY=exactly-once needs VIDEORECOG_KAFKA_IDEMPOTENCE=true "
            "(a transactional producer is idempotent)"
        )
    if bool(settings.api.access_key_id) != bool(settings.api.access_key_secret):
        raise SettingsError(
            "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET must be set together"
        )
    if bool(settings.s3.access_key_id) != bool(settings.s3.secret_access_key):
        raise SettingsError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together")
