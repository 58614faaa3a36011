from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from dropline_infra.settings import JobSettingsMixin, SecretsKeyMixin, ServiceSettings


class Settings(ServiceSettings, SecretsKeyMixin, JobSettingsMixin):
    """tracking-sync: env prefix TRACKING_SYNC_ (e.g. TRACKING_SYNC_DATABASE_URL, TRACKING_SYNC_SECRETS_KEY)."""

    model_config = SettingsConfigDict(env_prefix="TRACKING_SYNC_", extra="ignore")
    service_name: ClassVar[str] = "tracking-sync"
    default_port: ClassVar[int] = 8004
