from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from dropline_infra.settings import JobSettingsMixin, SecretsKeyMixin, ServiceSettings


class Settings(ServiceSettings, SecretsKeyMixin, JobSettingsMixin):
    """forwarder: env prefix FORWARDER_ (e.g. FORWARDER_DATABASE_URL, FORWARDER_SECRETS_KEY)."""

    model_config = SettingsConfigDict(env_prefix="FORWARDER_", extra="ignore")
    service_name: ClassVar[str] = "forwarder"
    default_port: ClassVar[int] = 8003

    supplier_timeout_seconds: float = Field(
        default=20.0, gt=0, description="Total timeout of one call to a supplier's order API.")
