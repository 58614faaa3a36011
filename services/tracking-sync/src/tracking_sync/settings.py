from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from dropline_platform.settings import SecretsKeyMixin, ServiceSettings


class Settings(ServiceSettings, SecretsKeyMixin):
    """tracking-sync: env prefix TRACKING_SYNC_ (e.g. TRACKING_SYNC_DATABASE_URL, TRACKING_SYNC_SECRETS_KEY)."""

    model_config = SettingsConfigDict(env_prefix="TRACKING_SYNC_", extra="ignore")
    service_name: ClassVar[str] = "tracking-sync"
    default_port: ClassVar[int] = 8004

    job_max_attempts: int = Field(
        default=12, ge=1, description="Tries of one sync_tracking job before OrderSyncFailed is published.")
    job_base_delay_seconds: float = Field(
        default=2.0, gt=0, description="Backoff after the first failed attempt; doubles per attempt (with jitter).")
    job_max_delay_seconds: float = Field(default=600.0, gt=0, description="Ceiling of the backoff between attempts.")
    job_concurrency: int = Field(
        default=4, ge=1,
        description="Jobs run at once per process on PostgreSQL (always 1 on SQLite).")
    job_poll_interval_seconds: float = Field(default=1.0, gt=0, description="How often the worker looks for due jobs.")

    shopify_api_version: str = Field(default="2025-10", pattern=r"^(\d{4}-(01|04|07|10)|unstable)$",
                                     description="Admin GraphQL API version in the endpoint path.")
    shopify_timeout_seconds: float = Field(default=20.0, gt=0, description="Total timeout of one Admin API call.")
    shopify_min_available_points: int = Field(
        default=50, ge=0,
        description="Points kept in reserve in a shop's GraphQL bucket: below the next call's cost plus this, "
                    "the next call waits for the bucket to refill.")
    shopify_max_wait_seconds: float = Field(
        default=10.0, ge=0,
        description="Longest wait for the rate-limit bucket inside one attempt; a longer one reschedules the job.")
