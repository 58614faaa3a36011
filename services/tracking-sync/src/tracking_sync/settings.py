from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from dropline_infra.settings import JobSettingsMixin, SecretsKeyMixin, ServiceSettings


class Settings(ServiceSettings, SecretsKeyMixin, JobSettingsMixin):
    """tracking-sync: env prefix TRACKING_SYNC_ (e.g. TRACKING_SYNC_DATABASE_URL, TRACKING_SYNC_SECRETS_KEY)."""

    model_config = SettingsConfigDict(env_prefix="TRACKING_SYNC_", extra="ignore")
    service_name: ClassVar[str] = "tracking-sync"
    default_port: ClassVar[int] = 8004


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
