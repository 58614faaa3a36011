"""Wix settings, read from DROPLINE_WIX_* in every service that talks to Wix."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WixSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DROPLINE_WIX_", extra="ignore")

    timeout_seconds: float = Field(default=20.0, gt=0, description="Total timeout of one Wix API call.")
    requests_per_minute: int = Field(
        default=200, ge=1, description="Wix's documented limit: 200 requests per minute per app instance.")
    headroom: float = Field(
        default=0.8, gt=0, le=1,
        description="Share of the per-instance limit Dropline spends (the rest is left for retries/other paths).")
    list_page_size: int = Field(default=100, ge=1, le=100,
                                description="Orders per reconciliation page (cursorPaging.limit, max 100).")
    token_refresh_margin_seconds: float = Field(
        default=300.0, ge=0,
        description="An OAuth access token (Wix: 4 h) is replaced this long before it expires.")
    webhook_leeway_seconds: float = Field(
        default=60.0, ge=0, description="Clock skew allowed when checking a webhook JWT's exp.")
