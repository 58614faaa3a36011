"""Ecwid settings, read from DROPLINE_ECWID_* in every service that talks to Ecwid."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class EcwidSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DROPLINE_ECWID_", extra="ignore")

    timeout_seconds: float = Field(default=20.0, gt=0, description="Total timeout of one REST API call.")
    requests_per_minute: int = Field(
        default=480, ge=1, le=600,
        description="Local budget per store token. Ecwid accepts 600 requests/min per token (platforms.md §3.4); "
                    "20 % is left to the merchant's other uses of the same token and to other replicas.")
    list_page_size: int = Field(default=100, ge=1, le=100,
                                description="Orders per search page (Ecwid's maximum `limit` is 100).")
    list_max_orders: int = Field(
        default=1000, ge=1,
        description="Most orders one reconciliation listing reads; beyond it the time window is narrowed "
                    "(updatedTo) and the listing is reported incomplete.")
    profile_cache_seconds: float = Field(
        default=300.0, ge=0,
        description="How long a store's currency (GET /profile formatsAndUnits.currency) is reused.")
    webhook_max_age_seconds: int = Field(
        default=25 * 3600, ge=60,
        description="Refuse a delivery whose signed eventCreated is older than this. Ecwid retries a delivery "
                    "for 24 h with the original eventCreated (the signature covers it, so a retry cannot "
                    "carry a newer one): 24 h + 1 h for delivery delays under load and clock skew.")
    webhook_future_skew_seconds: int = Field(
        default=300, ge=0, description="Refuse a delivery whose eventCreated lies further in the future.")
