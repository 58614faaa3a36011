from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from dropline_infra.settings import ServiceSettings


class Settings(ServiceSettings):
    """order-ingest: env prefix ORDER_INGEST_ (e.g. ORDER_INGEST_DATABASE_URL)."""

    model_config = SettingsConfigDict(env_prefix="ORDER_INGEST_", extra="ignore")
    service_name: ClassVar[str] = "order-ingest"
    default_port: ClassVar[int] = 8001
