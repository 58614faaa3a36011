"""BigCommerce settings, read from DROPLINE_BIGCOMMERCE_* in every service that talks to BigCommerce."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BigCommerceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DROPLINE_BIGCOMMERCE_", extra="ignore")

    timeout_seconds: float = Field(default=20.0, gt=0, description="Total timeout of one REST call.")
    requests_per_window: int = Field(
        default=150, ge=1,
        description="The store's quota per window (Standard & Plus: 150 per 30 s; Pro: 450). Shared by "
                    "every app on the store (platforms.md §2.4).")
    window_seconds: float = Field(default=30.0, gt=0, description="Length of the quota window (30 s).")
    headroom: float = Field(
        default=0.2, ge=0, lt=1,
        description="Share of the quota left to the other apps of the store (the quota is per store).")
    list_page_size: int = Field(
        default=20, ge=1, le=250,
        description="Orders per reconciliation page. Each order costs two more calls (products, shipping "
                    "addresses), so 20 orders = 41 calls.")
    sub_page_size: int = Field(default=250, ge=1, le=250,
                               description="`limit` of the products / shipping addresses / shipments reads.")
    header_secret_header: str = Field(
        default="X-Dropline-Webhook-Secret", min_length=1,
        description="Name of the custom header Dropline registers on its hooks (POST /v3/hooks `headers`); "
                    "its value is the store connection's WebhookSecrets.header_secret.")
    timestamp_tolerance_seconds: int = Field(
        default=300, ge=1, le=300,
        description="Largest distance between webhook-timestamp and now (the Standard Webhooks library "
                    "refuses more than 5 minutes in any case).")
