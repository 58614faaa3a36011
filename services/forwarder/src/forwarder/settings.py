from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from dropline_platform.settings import SecretsKeyMixin, ServiceSettings


class Settings(ServiceSettings, SecretsKeyMixin):
    """forwarder: env prefix FORWARDER_ (e.g. FORWARDER_DATABASE_URL, FORWARDER_SECRETS_KEY)."""

    model_config = SettingsConfigDict(env_prefix="FORWARDER_", extra="ignore")
    service_name: ClassVar[str] = "forwarder"
    default_port: ClassVar[int] = 8003

    job_max_attempts: int = Field(
        default=12, ge=1, description="Tries of one forward_order job before OrderForwardingFailed is published.")
    job_base_delay_seconds: float = Field(
        default=2.0, gt=0, description="Backoff after the first failed attempt; doubles per attempt (with jitter).")
    job_max_delay_seconds: float = Field(default=600.0, gt=0, description="Ceiling of the backoff between attempts.")
    job_concurrency: int = Field(
        default=4, ge=1,
        description="Jobs run at once per process on PostgreSQL (always 1 on SQLite).")
    job_poll_interval_seconds: float = Field(default=1.0, gt=0, description="How often the worker looks for due jobs.")
    supplier_timeout_seconds: float = Field(
        default=20.0, gt=0, description="Total timeout of one call to a supplier's order API.")
