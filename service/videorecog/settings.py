"""Settings: read once from the environment (CLI flags override), validated, frozen.

Every variable is declared once in ``VARIABLES``; the CLI derives a flag twin from each name
(``VIDEORECOG_KAFKA_BOOTSTRAP_SERVERS`` -> ``--kafka-bootstrap-servers``). Nothing else in the
package reads ``os.environ``: the settings object is built at the entry point and passed down.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


class Secret:
    """A string that never shows itself in logs, reprs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('********')" if self._value else "Secret('')"

    __str__ = __repr__


# In a pod the kubelet and Prometheus reach the metrics port from outside the container.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104

# --- parsers: each takes the raw string and returns the typed value or raises ValueError ---


def _text(raw: str) -> str:
    return raw.strip()


def _required_text(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError(f"must be a positive integer, got {raw!r}")
    return value


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 <= value <= 65535:
        raise ValueError(f"must be a TCP port (0-65535), got {raw!r}")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError(f"must be a positive number, got {raw!r}")
    return value


def _boolean(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"must be true or false, got {raw!r}")


def _bootstrap_servers(raw: str) -> str:
    servers = [s.strip() for s in raw.split(",") if s.strip()]
    if not servers:
        raise ValueError("must list at least one host:port")
    for server in servers:
        host, sep, port = server.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"{server!r} is not host:port")
    return ",".join(servers)


def _http_url(raw: str) -> str:
    value = raw.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"must be an http(s) URL, got {raw!r}")
    return value


def _optional_http_url(raw: str) -> str:
    return _http_url(raw) if raw.strip() else ""


def _log_level(raw: str) -> str:
    value = raw.strip().upper()
    if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError(f"must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {raw!r}")
    return value


def _choice(*options: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}, got {raw!r}")
        return value

    return parse


def _credentials(raw: str) -> Mapping[str, Secret]:
    """``id:secret[,id:secret]``, or ``@/path/to/file`` holding one ``id:secret`` per line."""
    text = raw.strip()
    if text.startswith("@"):
        text = Path(text[1:]).read_text(encoding="utf-8").replace("\n", ",")
    pairs: dict[str, Secret] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item or item.startswith("#"):
            continue
        key_id, sep, secret = item.partition(":")
        if not sep or not key_id or not secret:
            raise ValueError("each entry must be id:secret")
        pairs[key_id] = Secret(secret)
    return pairs


def _allow_hosts(raw: str) -> tuple[str, ...]:
    entries = tuple(e.strip().lower() for e in raw.split(",") if e.strip())
    for entry in entries:
        if "/" in entry:
            ipaddress.ip_network(entry, strict=False)  # raises ValueError with a clear message
    return entries


# --- the settings objects ---


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: str
    input_topic: str
    output_topic: str
    dlq_topic: str
    jobs_topic: str
    group_id: str
    # Apache Kafka supports the idempotent producer; the embedded tansu broker does not answer
    # aiokafka's InitProducerId v0, so local stacks turn it off. acks=all is used either way.
    idempotence: bool


@dataclass(frozen=True)
class ApiSettings:
    endpoint: str
    access_key_id: str
    access_key_secret: Secret = field(repr=False)
    signature: Literal["v1", "acs3"]
    region_id: str


@dataclass(frozen=True)
class PipelineSettings:
    max_inflight: int
    max_inflight_per_partition: int
    metrics_host: str
    metrics_port: int
    shutdown_grace_seconds: float
    api_concurrency: int
    api_rate_per_second: float
    pollers: int
    poll_first_seconds: float
    poll_max_seconds: float
    job_timeout_seconds: float
    retry_attempts: int
    commit_interval_seconds: float
    session_timeout_ms: int


@dataclass(frozen=True)
class EngineSettings:
    host: str
    port: int
    data_dir: Path
    credentials: Mapping[str, Secret] = field(repr=False)
    allow_hosts: tuple[str, ...]
    public_url: str
    workers: int
    rate_limit_per_second: float
    result_retention_seconds: float
    max_download_bytes: int
    download_timeout_seconds: float


@dataclass(frozen=True)
class LogSettings:
    level: str
    format: Literal["json", "console"]


@dataclass(frozen=True)
class Settings:
    log: LogSettings
    kafka: KafkaSettings
    api: ApiSettings
    pipeline: PipelineSettings
    engine: EngineSettings


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


VARIABLES: tuple[Variable, ...] = (
    Variable("VIDEORECOG_LOG_LEVEL", "log", "level", _log_level, "INFO", "log level"),
    Variable(
        "VIDEORECOG_LOG_FORMAT",
        "log",
        "format",
        _choice("json", "console"),
        "json",
        "json: one object per line; console: for humans",
    ),
    Variable(
        "VIDEORECOG_KAFKA_BOOTSTRAP_SERVERS",
        "kafka",
        "bootstrap_servers",
        _bootstrap_servers,
        "127.0.0.1:9092",
        "Kafka bootstrap servers, host:port[,host:port]",
    ),
    Variable(
        "VIDEORECOG_INPUT_TOPIC",
        "kafka",
        "input_topic",
        _required_text,
        "video-uploads",
        "topic of upload events",
    ),
    Variable(
        "VIDEORECOG_OUTPUT_TOPIC",
        "kafka",
        "output_topic",
        _required_text,
        "video-understanding-results",
        "topic of result records",
    ),
    Variable(
        "VIDEORECOG_DLQ_TOPIC",
        "kafka",
        "dlq_topic",
        _required_text,
        "video-uploads.dlq",
        "dead-letter topic for events that can never be processed",
    ),
    Variable(
        "VIDEORECOG_JOBS_TOPIC",
        "kafka",
        "jobs_topic",
        _required_text,
        "videorecog-pipeline.jobs",
        "compacted topic recording submitted job ids",
    ),
    Variable(
        "VIDEORECOG_GROUP_ID",
        "kafka",
        "group_id",
        _required_text,
        "videorecog-pipeline",
        "consumer group id",
    ),
    Variable(
        "VIDEORECOG_KAFKA_IDEMPOTENCE",
        "kafka",
        "idempotence",
        _boolean,
        "true",
        "idempotent producer (needs a broker with InitProducerId; off for tansu)",
    ),
    Variable(
        "VIDEORECOG_ENDPOINT",
        "api",
        "endpoint",
        _http_url,
        "http://127.0.0.1:8080",
        "API base URL (cloud or engine)",
    ),
    Variable(
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "api",
        "access_key_id",
        _text,
        "",
        "AccessKey id the client signs with",
    ),
    Variable(
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "api",
        "access_key_secret",
        lambda raw: Secret(raw.strip()),
        "",
        "AccessKey secret",
        secret=True,
    ),
    Variable(
        "VIDEORECOG_SIGNATURE",
        "api",
        "signature",
        _choice("v1", "acs3"),
        "v1",
        "request signature: v1 (HMAC-SHA1) or acs3 (ACS3-HMAC-SHA256)",
    ),
    Variable("VIDEORECOG_REGION_ID", "api", "region_id", _text, "cn-shanghai", "RegionId sent"),
    Variable(
        "VIDEORECOG_MAX_INFLIGHT",
        "pipeline",
        "max_inflight",
        _positive_int,
        "1000",
        "bound on events in flight (all partitions)",
    ),
    Variable(
        "VIDEORECOG_MAX_INFLIGHT_PER_PARTITION",
        "pipeline",
        "max_inflight_per_partition",
        _positive_int,
        "500",
        "bound on events in flight per partition",
    ),
    Variable(
        "VIDEORECOG_METRICS_HOST",
        "pipeline",
        "metrics_host",
        _required_text,
        ALL_INTERFACES,
        "address of /metrics, /healthz, /readyz",
    ),
    Variable(
        "VIDEORECOG_METRICS_PORT",
        "pipeline",
        "metrics_port",
        _port,
        "9100",
        "port of /metrics, /healthz, /readyz",
    ),
    Variable(
        "VIDEORECOG_SHUTDOWN_GRACE_SECONDS",
        "pipeline",
        "shutdown_grace_seconds",
        _positive_float,
        "25",
        "drain time on SIGTERM (keep below the pod's grace period)",
    ),
    Variable(
        "VIDEORECOG_API_CONCURRENCY",
        "pipeline",
        "api_concurrency",
        _positive_int,
        "8",
        "concurrent API requests per action",
    ),
    Variable(
        "VIDEORECOG_API_RATE_LIMIT",
        "pipeline",
        "api_rate_per_second",
        _positive_float,
        "2",
        "API requests per second per action (the cloud allows about 2 per account)",
    ),
    Variable(
        "VIDEORECOG_POLLERS",
        "pipeline",
        "pollers",
        _positive_int,
        "8",
        "coroutines polling GetAsyncJobResult",
    ),
    Variable(
        "VIDEORECOG_POLL_FIRST_SECONDS",
        "pipeline",
        "poll_first_seconds",
        _positive_float,
        "1",
        "wait before a job's first poll",
    ),
    Variable(
        "VIDEORECOG_POLL_MAX_SECONDS",
        "pipeline",
        "poll_max_seconds",
        _positive_float,
        "15",
        "longest wait between two polls of a job",
    ),
    Variable(
        "VIDEORECOG_JOB_TIMEOUT_SECONDS",
        "pipeline",
        "job_timeout_seconds",
        _positive_float,
        "1800",
        "a job not final by then is reported TIMEOUT_FAILED",
    ),
    Variable(
        "VIDEORECOG_RETRY_ATTEMPTS",
        "pipeline",
        "retry_attempts",
        _positive_int,
        "6",
        "tries of a request that fails with a retryable code",
    ),
    Variable(
        "VIDEORECOG_COMMIT_INTERVAL_SECONDS",
        "pipeline",
        "commit_interval_seconds",
        _positive_float,
        "1",
        "how often finished offsets are committed",
    ),
    Variable(
        "VIDEORECOG_KAFKA_SESSION_TIMEOUT_MS",
        "pipeline",
        "session_timeout_ms",
        _positive_int,
        "10000",
        "consumer group session timeout",
    ),
    Variable(
        "VIDEORECOG_ENGINE_HOST",
        "engine",
        "host",
        _required_text,
        "127.0.0.1",
        "engine listen address",
    ),
    Variable("VIDEORECOG_ENGINE_PORT", "engine", "port", _port, "8080", "engine listen port"),
    Variable(
        "VIDEORECOG_ENGINE_DATA_DIR",
        "engine",
        "data_dir",
        lambda raw: Path(raw).expanduser(),
        ".data/engine",
        "job store and cover images",
    ),
    Variable(
        "VIDEORECOG_ENGINE_CREDENTIALS",
        "engine",
        "credentials",
        _credentials,
        "",
        "accepted keys: id:secret[,id:secret] or @file",
        secret=True,
    ),
    Variable(
        "VIDEORECOG_ENGINE_ALLOW_HOSTS",
        "engine",
        "allow_hosts",
        _allow_hosts,
        "",
        "hosts or CIDRs the URL fetcher admits although private or loopback",
    ),
    Variable(
        "VIDEORECOG_ENGINE_PUBLIC_URL",
        "engine",
        "public_url",
        _optional_http_url,
        "",
        "base of the signed cover links (default: http://HOST:PORT)",
    ),
    Variable(
        "VIDEORECOG_ENGINE_WORKERS", "engine", "workers", _positive_int, "2", "analysis processes"
    ),
    Variable(
        "VIDEORECOG_ENGINE_RATE_LIMIT",
        "engine",
        "rate_limit_per_second",
        _positive_float,
        "50",
        "requests per second per AccessKey before Throttling.User",
    ),
    Variable(
        "VIDEORECOG_ENGINE_RESULT_RETENTION_SECONDS",
        "engine",
        "result_retention_seconds",
        _positive_float,
        "86400",
        "how long finished jobs and covers are kept",
    ),
    Variable(
        "VIDEORECOG_ENGINE_MAX_DOWNLOAD_BYTES",
        "engine",
        "max_download_bytes",
        _positive_int,
        str(1 << 30),
        "largest video the fetcher downloads",
    ),
    Variable(
        "VIDEORECOG_ENGINE_DOWNLOAD_TIMEOUT_SECONDS",
        "engine",
        "download_timeout_seconds",
        _positive_float,
        "120",
        "time limit of one download",
    ),
)

_SECTIONS: dict[str, type[Any]] = {
    "log": LogSettings,
    "kafka": KafkaSettings,
    "api": ApiSettings,
    "pipeline": PipelineSettings,
    "engine": EngineSettings,
}


def load(environ: Mapping[str, str], overrides: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from ``environ``, with ``overrides`` (keyed by variable name) winning.

    Raises:
        SettingsError: naming the first variable that is invalid.
    """
    overrides = overrides or {}
    values: dict[str, dict[str, Any]] = {name: {} for name in _SECTIONS}
    for var in VARIABLES:
        raw = overrides.get(var.env, environ.get(var.env, var.default))
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
    if bool(settings.api.access_key_id) != bool(settings.api.access_key_secret):
        raise SettingsError(
            "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET must be set together"
        )
