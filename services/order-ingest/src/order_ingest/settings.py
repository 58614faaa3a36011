from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from dropline_infra.settings import JobSettingsMixin, SecretsKeyMixin, ServiceSettings


class Settings(ServiceSettings, SecretsKeyMixin, JobSettingsMixin):
    """order-ingest: env prefix ORDER_INGEST_ (e.g. ORDER_INGEST_DATABASE_URL, ORDER_INGEST_SECRETS_KEY)."""

    model_config = SettingsConfigDict(env_prefix="ORDER_INGEST_", extra="ignore")
    service_name: ClassVar[str] = "order-ingest"
    default_port: ClassVar[int] = 8001

    reconcile_interval_seconds: float = Field(
        default=300.0, gt=0, description="How often each store's orders are listed to find what no webhook brought.")
    reconcile_overlap_seconds: float = Field(
        default=120.0, ge=0,
        description="Each listing starts this long before the watermark (clock skew, orders updated while listing).")
    reconcile_lookback_hours: float = Field(
        default=24.0, ge=0, description="A newly connected store's first listing reaches back this far.")
    reconcile_max_pages: int = Field(default=20, ge=1, description="Pages per run; the rest waits for the next run.")
