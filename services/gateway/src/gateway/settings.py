from typing import ClassVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from dropline_platform.settings import SecretsKeyMixin, ServiceSettings

DEVELOPMENT_ADMIN_TOKEN = "dev-admin-token"


class Settings(ServiceSettings, SecretsKeyMixin):
    """gateway: env prefix GATEWAY_ (e.g. GATEWAY_DATABASE_URL, GATEWAY_ADMIN_TOKEN)."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")
    service_name: ClassVar[str] = "gateway"
    default_port: ClassVar[int] = 8000

    admin_token: SecretStr = Field(default=SecretStr(DEVELOPMENT_ADMIN_TOKEN),
                                   description="Operator token for /admin (header Authorization: Bearer …).")
    checkout_url: str = Field(default="http://127.0.0.1:8002", description="checkout's internal API.")
    checkout_internal_token: SecretStr | None = Field(default=None, description="Sent as X-Internal-Token to checkout.")
    max_webhook_bytes: int = Field(default=768 * 1024, description=(
        "Larger webhook bodies are refused (413). Keep it under the Kafka producer's max request size "
        "(1 MiB by default): the body travels inside the StoreWebhookReceived event."))

    @model_validator(mode="after")
    def _refuse_development_admin_token(self):
        if self.environment == "production" and self.admin_token.get_secret_value() == DEVELOPMENT_ADMIN_TOKEN:
            raise ValueError("admin_token is the development default; set GATEWAY_ADMIN_TOKEN in production")
        return self
