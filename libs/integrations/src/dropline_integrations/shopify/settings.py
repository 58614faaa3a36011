"""Shopify settings, read from DROPLINE_SHOPIFY_* in every service that talks to Shopify."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ShopifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DROPLINE_SHOPIFY_", extra="ignore")

    api_version: str = Field(default="2025-10", pattern=r"^(\d{4}-(01|04|07|10)|unstable)$",
                             description="Admin API version in the endpoint path (GraphQL and REST).")
    timeout_seconds: float = Field(default=20.0, gt=0, description="Total timeout of one Admin API call.")
    min_available_points: int = Field(
        default=50, ge=0,
        description="Points kept in reserve in a shop's GraphQL bucket: below the next call's cost plus this, "
                    "the next call waits for the bucket to refill.")
    max_wait_seconds: float = Field(
        default=1.0, ge=0,
        description="Longest wait for the rate-limit bucket inside one attempt; a longer one defers the job (no "
                    "attempt spent) to when the bucket has refilled, so the worker serves other shops meanwhile.")
    rest_bucket_size: int = Field(default=40, ge=1, description="REST leaky bucket size (Standard plan: 40).")
    rest_leak_per_second: float = Field(default=2.0, gt=0, description="REST requests per second (Standard: 2).")
    list_page_size: int = Field(default=100, ge=1, le=250, description="Orders per reconciliation page (max 250).")
