"""BigCommerce (platforms.md §2): thin webhooks signed per Standard Webhooks with the app's client
secret plus the custom header secret Dropline registers on each hook; orders fetched from the v2
Orders API (order + products + shipping addresses); fulfilment as v2 shipments with tracking; a
per-store request quota (150 per 30 s on Standard) read back from the X-Rate-Limit-* headers.

Store connection: ``StoreAccess.shop`` = store hash, ``api_base_url`` =
``https://api.bigcommerce.com/stores/{store_hash}``, ``credentials`` = ``{"access_token": ...}``;
``WebhookSecrets.signing_key`` = app client secret, ``header_secret`` = the value of the
``X-Dropline-Webhook-Secret`` header (settings ``header_secret_header``) set when registering hooks.
"""

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
from .api import BigCommerceApi
from .normalise import normalise
from .settings import BigCommerceSettings


def api_base_url(store_hash: str, host: str = "https://api.bigcommerce.com") -> str:
    return f"{host.rstrip('/')}/stores/{store_hash}"


class BigCommercePlatform:
    platform = Platform.BIGCOMMERCE
    thin_webhooks = True

    def __init__(self, http: httpx.AsyncClient, limiter: StoreLimiter, settings: BigCommerceSettings | None = None):
        self.connection = ConnectionSpec(
            store_key_label="store hash", store_key_pattern=r"[a-z0-9]{1,32}",
            default_api_base_url="https://api.bigcommerce.com/stores/{key}", credential_keys=("access_token",),
            signing_key_label="the app's client secret",
            header_secret=(settings or BigCommerceSettings()).header_secret_header)
        s = settings or BigCommerceSettings()
        self.settings = s
        # The quota is per store and shared by every app installed on it: keep headroom for them.
        policy = RatePolicy(requests=max(1, int(s.requests_per_window * (1 - s.headroom))),
                            window_seconds=s.window_seconds)
        self.api = BigCommerceApi(http, limiter, policy=policy, timeout=s.timeout_seconds,
                                  page_size=s.list_page_size, sub_page_size=s.sub_page_size)

    def webhook_store_key(self, raw: bytes, headers: Mapping[str, str]) -> str:
        return webhooks.store_key(raw)

    def verify_delivery(self, raw: bytes, headers: Mapping[str, str], secrets: WebhookSecrets,
                        now: datetime) -> Delivery:
        return webhooks.verify(raw, headers, secrets, now, header_secret_header=self.settings.header_secret_header,
                               tolerance_seconds=self.settings.timestamp_tolerance_seconds)

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


def create(http: httpx.AsyncClient, limiter: StoreLimiter) -> BigCommercePlatform:
    return BigCommercePlatform(http, limiter)
