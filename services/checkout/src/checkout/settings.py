from typing import ClassVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from dropline_infra.settings import ServiceSettings

DEVELOPMENT_STRIPE_KEY = "sk_test_dropline_local"


class Settings(ServiceSettings):
    """checkout: env prefix CHECKOUT_ (e.g. CHECKOUT_DATABASE_URL, CHECKOUT_STRIPE_API_KEY)."""

    model_config = SettingsConfigDict(env_prefix="CHECKOUT_", extra="ignore")
    service_name: ClassVar[str] = "checkout"
    default_port: ClassVar[int] = 8002

    stripe_api_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_STRIPE_KEY),
        description="Stripe secret key. The default only works against localstripe and is refused in production.")
    stripe_api_base: str | None = Field(
        default=None, description="Stripe API base URL, e.g. http://127.0.0.1:8420 for localstripe; unset = real Stripe.")
    stripe_timeout_seconds: float = Field(
        default=20.0, gt=0, description="Timeout of one HTTP request to Stripe (the SDK retries network errors).")
    internal_token: SecretStr | None = Field(
        default=None, description="When set, every /internal route requires this value in the X-Internal-Token header.")
    payment_recovery_after_seconds: float = Field(
        default=30.0, ge=0,
        description="A payment still 'created' or 'processing' this long after its last change is finished by the "
                    "recovery loop (crash or network error in the middle of a checkout).")
    payment_recovery_interval_seconds: float = Field(
        default=5.0, gt=0, description="How often the recovery loop looks for stuck payments.")
    max_orders_per_payment: int = Field(default=200, ge=1, description="Upper bound of a bulk payment.")

    @model_validator(mode="after")
    def _refuse_development_stripe_key_in_production(self):
        if self.environment == "production" and self.stripe_api_key.get_secret_value() == DEVELOPMENT_STRIPE_KEY:
            raise ValueError("stripe_api_key is the local development key; set a real one in production")
        return self
