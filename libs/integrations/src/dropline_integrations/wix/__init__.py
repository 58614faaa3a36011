"""Wix (Wix eCommerce): webhooks are RS256 JWTs verified with the app's public key, Order Approved /
Created carry the full eCom order, fulfilment through the Order Fulfillments API, OAuth
client-credentials tokens per app instance (platforms.md §4)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from dropline_schemas.events import Platform

from ..limits import RatePolicy, StoreLimiter
from ..port import (
    ConnectionSpec,
    CorrectionResult,
    Delivery,
    FulfilmentRequest,
    FulfilmentResult,
    OrderListing,
    StoreAccess,
    StoreOrder,
    TrackingCorrection,
    WebhookSecrets,
)
from . import webhooks
from .api import WixApi
from .normalise import normalise
from .settings import WixSettings

API_BASE_URL = "https://www.wixapis.com"


class WixPlatform:
    platform = Platform.WIX
    thin_webhooks = False  # Order Approved carries the full order
    connection = ConnectionSpec(
        store_key_label="app instance id", store_key_pattern=r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        default_api_base_url="https://www.wixapis.com", credential_keys=("app_id", "app_secret"),
        credential_alternatives=(("api_key", "site_id"),), signing_key_label="the app's public key (PEM)")

    def __init__(self, http: httpx.AsyncClient, limiter: StoreLimiter, settings: WixSettings | None = None):
        s = settings or WixSettings()
        self.settings = s
        policy = RatePolicy(requests=max(1, int(s.requests_per_minute * s.headroom)), window_seconds=60.0)
        self.api = WixApi(http, limiter, policy=policy, timeout=s.timeout_seconds, page_size=s.list_page_size,
                          refresh_margin=s.token_refresh_margin_seconds)

    def webhook_store_key(self, raw: bytes, headers: Mapping[str, str]) -> str:
        return webhooks.store_key(raw)

    def verify_delivery(self, raw: bytes, headers: Mapping[str, str], secrets: WebhookSecrets,
                        now: datetime) -> Delivery:
        return webhooks.verify(raw, secrets, now, leeway_seconds=self.settings.webhook_leeway_seconds)

    def normalise(self, order: Mapping[str, Any]) -> StoreOrder:
        return normalise(order)

    async def fetch_order(self, store: StoreAccess, platform_order_id: str) -> dict[str, Any]:
        return await self.api.fetch(store, platform_order_id)

    async def list_orders(self, store: StoreAccess, updated_since: datetime) -> OrderListing:
        return await self.api.list(store, updated_since)

    async def fulfil(self, store: StoreAccess, request: FulfilmentRequest) -> FulfilmentResult:
        return await self.api.fulfil(store, request)

    async def correct_tracking(self, store: StoreAccess, correction: TrackingCorrection) -> CorrectionResult:
        return await self.api.correct_tracking(store, correction)


def create(http: httpx.AsyncClient, limiter: StoreLimiter) -> WixPlatform:
    return WixPlatform(http, limiter)


__all__ = ["API_BASE_URL", "WixPlatform", "WixSettings", "create"]
