from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings

DEVELOPMENT_STRIPE_KEY = "sk_test_dropline_local"
DEVELOPMENT_STRIPE_WEBHOOK_SECRET = "whsec_dropline_local"


class StripeSettings(BaseSettings):
    """Stripe's settings, part of checkout's Settings (env CHECKOUT_STRIPE_*)."""

    stripe_api_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_STRIPE_KEY),
        description="Stripe secret key. The default only works against localstripe and is refused in production.")
    stripe_api_base: str | None = Field(
        default=None, description="Stripe API base URL, e.g. http://127.0.0.1:8420 for localstripe; unset = real Stripe.")
    stripe_timeout_seconds: float = Field(
        default=20.0, gt=0, description="Timeout of one HTTP request to Stripe (the SDK retries network errors).")
    stripe_webhook_secret: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_STRIPE_WEBHOOK_SECRET),
        description="The webhook endpoint's signing secret (whsec_…): Stripe-Signature is checked with it.")
    stripe_webhook_tolerance_seconds: int = Field(
        default=300, ge=1, description="A webhook signed longer ago than this is refused (replay protection).")

    @model_validator(mode="after")
    def _refuse_development_stripe_values_in_production(self):
        if getattr(self, "environment", None) == "production":
            if self.stripe_api_key.get_secret_value() == DEVELOPMENT_STRIPE_KEY:
                raise ValueError("stripe_api_key is the local development key; set a real one in production")
            if self.stripe_webhook_secret.get_secret_value() == DEVELOPMENT_STRIPE_WEBHOOK_SECRET:
                raise ValueError("stripe_webhook_secret is the local development secret; set the endpoint's "
                                 "signing secret in production")
        return self
