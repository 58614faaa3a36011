from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development values: the PayPal stand-in (dropline_testsupport.paypal_standin) accepts exactly these by default;
# PayPal never does. Refused in production.
DEVELOPMENT_PAYPAL_CLIENT_ID = "dropline_local_paypal_client_id"
DEVELOPMENT_PAYPAL_CLIENT_SECRET = "dropline_local_paypal_client_secret"
DEVELOPMENT_PAYPAL_WEBHOOK_ID = "DROPLINELOCALWEBHOOK"

PAYPAL_BASE_URLS = {"sandbox": "https://api-m.sandbox.paypal.com", "live": "https://api-m.paypal.com"}


class PayPalSettings(BaseSettings):
    """PayPal's settings, part of checkout's Settings (env CHECKOUT_PAYPAL_*), or on their own."""

    model_config = SettingsConfigDict(env_prefix="CHECKOUT_", extra="ignore")

    paypal_client_id: str = Field(
        default=DEVELOPMENT_PAYPAL_CLIENT_ID,
        description="The REST app's client id (developer dashboard). The default only works against the PayPal "
                    "stand-in and is refused in production.")
    paypal_client_secret: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_PAYPAL_CLIENT_SECRET),
        description="The REST app's secret. The default only works against the PayPal stand-in and is refused in "
                    "production.")
    paypal_environment: Literal["sandbox", "live"] = Field(
        default="sandbox", description="Which PayPal to talk to when paypal_api_base is unset: sandbox "
                                       "(api-m.sandbox.paypal.com) or live (api-m.paypal.com).")
    paypal_api_base: str | None = Field(
        default=None, description="PayPal API base URL, e.g. http://127.0.0.1:8109 for the stand-in; unset = the "
                                  "PayPal of paypal_environment.")
    paypal_webhook_id: str = Field(
        default=DEVELOPMENT_PAYPAL_WEBHOOK_ID,
        description="The id of the webhook (developer dashboard) whose deliveries checkout receives; every "
                    "signature check names it. The default is the stand-in's and is refused in production.")
    paypal_timeout_seconds: float = Field(
        default=20.0, gt=0, description="Timeout of one HTTP request to PayPal (connect and read).")

    @property
    def paypal_base_url(self) -> str:
        return (self.paypal_api_base or PAYPAL_BASE_URLS[self.paypal_environment]).rstrip("/")

    @model_validator(mode="after")
    def _refuse_development_paypal_values_in_production(self):
        if getattr(self, "environment", None) == "production":
            if self.paypal_client_id == DEVELOPMENT_PAYPAL_CLIENT_ID:
                raise ValueError("paypal_client_id is the local development id; set the REST app's client id in "
                                 "production")
            if self.paypal_client_secret.get_secret_value() == DEVELOPMENT_PAYPAL_CLIENT_SECRET:
                raise ValueError("paypal_client_secret is the local development secret; set the REST app's secret in "
                                 "production")
            if self.paypal_webhook_id == DEVELOPMENT_PAYPAL_WEBHOOK_ID:
                raise ValueError("paypal_webhook_id is the stand-in's; set the id of the webhook configured at PayPal "
                                 "in production")
        return self
