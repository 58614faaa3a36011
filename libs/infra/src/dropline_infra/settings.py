"""Settings shared by every service. Each service subclasses `ServiceSettings` with its own
env prefix (e.g. ``CHECKOUT_``), mapped 1:1 to its Kubernetes ConfigMap/Secret."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# A well-formed Fernet key that is public (it is in this file): fine for a laptop, refused in production.
DEVELOPMENT_SECRETS_KEY = "ZHJvcGxpbmUtZGV2ZWxvcG1lbnQta2V5LW5vdC1zZWM="


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    service_name: ClassVar[str] = "service"
    default_port: ClassVar[int] = 8000

    environment: Literal["development", "test", "production"] = Field(
        default="development", description="production refuses development defaults for secrets.")
    data_dir: Path = Field(default=Path("var"), description="Where the embedded SQLite file lives.")
    database_url: str = Field(
        default="", description="SQLAlchemy URL; empty = SQLite file in data_dir. postgresql://… is accepted.")
    kafka_bootstrap_servers: str = Field(default="127.0.0.1:9092", description="Comma-separated host:port list.")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = Field(default=None, description="CA bundle for SSL listeners (e.g. Strimzi cluster CA).")
    kafka_idempotent_producer: bool = Field(
        default=False, description="enable.idempotence; on for Apache Kafka, off for brokers without InitProducerId.")
    kafka_create_topics: bool = Field(default=True, description="Create missing topics at start (off when topics are managed, e.g. Strimzi KafkaTopic).")
    kafka_topic_replication_factor: int = 1
    kafka_session_timeout_ms: int = Field(
        default=10_000, ge=1_000, le=300_000,
        description="Consumer group session timeout: a consumer silent this long is dropped from its group. The "
                    "bundled broker answers a group join after about half of it, so tests and `make run` use less.")
    kafka_heartbeat_interval_ms: int = Field(
        default=3_000, ge=100, description="Consumer heartbeat interval (well under the session timeout).")
    http_host: str = "127.0.0.1"
    http_port: int = 0
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"
    otel_exporter: Literal["none", "console", "otlp"] = Field(
        default="none", description="otlp uses the standard OTEL_EXPORTER_OTLP_* variables.")
    outbox_batch_size: int = 500
    operator_token: SecretStr | None = Field(
        default=None, description=("Bearer token of the operator API (/operator/v1: dead letters, jobs, outbox). "
                                   "Unset: the development token outside production, the API closed in production."))
    consumer_batch_max_records: int = Field(
        default=100, ge=1, le=1000,
        description=("Most records a consumer applies in one transaction with one offset commit (it takes what has been "
                     "fetched, never waiting to fill a batch). 1 = one message per transaction."))
    consumer_max_attempts: int = Field(default=6, description="Tries for a message that fails with an unexpected error before it is dead-lettered.")
    consumer_retry_later_seconds: float = Field(
        default=60.0, description=(
            "How long a message whose prerequisite is missing (RetryLater) is retried before it is dead-lettered. "
            "The consumer waits meanwhile, so keep it short."))

    @model_validator(mode="after")
    def _defaults(self):
        if not self.http_port:
            self.http_port = self.default_port
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{(self.data_dir / f'{self.service_name}.db').as_posix()}"
        return self

    def kafka_security(self):
        """FastStream security object for the configured listener (None for PLAINTEXT)."""
        import ssl

        from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

        proto = self.kafka_security_protocol
        if proto == "PLAINTEXT":
            return None
        ctx = ssl.create_default_context(cafile=self.kafka_ssl_cafile) if proto.endswith("SSL") else None
        if proto == "SSL":
            return BaseSecurity(ssl_context=ctx, use_ssl=True)
        user = self.kafka_sasl_username or ""
        password = self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else ""
        cls = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}[self.kafka_sasl_mechanism]
        return cls(user, password, ssl_context=ctx, use_ssl=proto == "SASL_SSL")


class SecretsKeyMixin(BaseSettings):
    """For services that encrypt or decrypt credentials (store tokens, supplier API keys)."""

    secrets_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SECRETS_KEY),
        description="Fernet key (urlsafe base64, 32 bytes) for credentials at rest; same value in every service that reads them.")

    @model_validator(mode="after")
    def _refuse_development_key_in_production(self):
        if getattr(self, "environment", "development") == "production" and \
                self.secrets_key.get_secret_value() == DEVELOPMENT_SECRETS_KEY:
            raise ValueError("secrets_key is the public development key; set a real one in production")
        return self


class JobSettingsMixin(BaseSettings):
    """For services that run durable jobs (jobs.JobWorker)."""

    job_max_attempts: int = Field(
        default=12, ge=1, description="Tries of one job before it fails for good and its failure event is published.")
    job_base_delay_seconds: float = Field(
        default=2.0, gt=0, description="Backoff after the first failed attempt; doubles per attempt (with jitter).")
    job_max_delay_seconds: float = Field(default=600.0, gt=0, description="Ceiling of the backoff between attempts.")
    job_concurrency: int = Field(
        default=4, ge=1, description="Jobs run at once per process on PostgreSQL (always 1 on SQLite).")
    job_poll_interval_seconds: float = Field(default=1.0, gt=0, description="How often the worker looks for due jobs.")
