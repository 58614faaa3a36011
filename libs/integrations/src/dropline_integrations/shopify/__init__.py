"""Shopify: webhooks signed with the app's client secret over the raw body, full REST orders in the
deliveries, fulfilment through fulfillment orders in the Admin GraphQL API (platforms.md §1); as the
fulfilment service of the store's orders it takes "Request fulfillment" requests (requests.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from dropline_schemas.events import Platform

from ..limits import RatePolicy, StoreLimiter
from ..port import (
    AcceptedRequest,
    ConnectionSpec,
    CorrectionResult,
    Delivery,
    FulfilmentRequest,
    FulfilmentRequestRef,
    FulfilmentRequestState,
    FulfilmentResult,
    OrderListing,
    StoreAccess,
    StoreOrder,
    TrackingCorrection,
    WebhookSecrets,
)
from . import webhooks
from .corrections import ShopifyTrackingCorrections
from .fulfil import ShopifyFulfilments
from .normalise import normalise
from .orders import ShopifyOrders
from .requests import ShopifyFulfilmentRequests, request_of
from .settings import ShopifySettings


class ShopifyPlatform:
    platform = Platform.SHOPIFY
    thin_webhooks = False
    connection = ConnectionSpec(
        store_key_label="myshopify.com domain", store_key_pattern=r"[a-z0-9][a-z0-9-]*\.myshopify\.com",
        default_api_base_url="https://{key}", credential_keys=("access_token",),
        signing_key_label="the app's client secret (API secret key)")

    def __init__(self, http: httpx.AsyncClient, limiter: StoreLimiter, settings: ShopifySettings | None = None):
        s = settings or ShopifySettings()
        self.settings = s
        # Headroom: other apps share nothing of this bucket (it is per app and store), but keep 20 %.
        rest = RatePolicy(requests=max(1, int(s.rest_bucket_size * 0.8)),
                          window_seconds=max(1, int(s.rest_bucket_size * 0.8)) / s.rest_leak_per_second)
        self.orders = ShopifyOrders(http, limiter, api_version=s.api_version, timeout=s.timeout_seconds,
                                    policy=rest, page_size=s.list_page_size)
        self.fulfilments = ShopifyFulfilments(http, api_version=s.api_version, timeout=s.timeout_seconds,
                                              min_available_points=s.min_available_points,
                                              max_wait_seconds=s.max_wait_seconds)
        # Same GraphQL edge (and per-shop cost budget) as the fulfilment write-back.
        self.requests = ShopifyFulfilmentRequests(self.fulfilments._graphql)
        self.corrections = ShopifyTrackingCorrections(self.fulfilments._graphql)

    def webhook_store_key(self, raw: bytes, headers: Mapping[str, str]) -> str:
        return webhooks.store_key(headers)

    def verify_delivery(self, raw: bytes, headers: Mapping[str, str], secrets: WebhookSecrets,
                        now: datetime) -> Delivery:
        return webhooks.verify(raw, headers, secrets)

    def normalise(self, order: Mapping[str, Any]) -> StoreOrder:
        return normalise(order)

    async def fetch_order(self, store: StoreAccess, platform_order_id: str) -> dict[str, Any]:
        return await self.orders.fetch(store, platform_order_id)

    async def list_orders(self, store: StoreAccess, updated_since: datetime) -> OrderListing:
        return await self.orders.list(store, updated_since)

    async def fulfil(self, store: StoreAccess, request: FulfilmentRequest) -> FulfilmentResult:
        return await self.fulfilments.fulfil(store, request)

    async def correct_tracking(self, store: StoreAccess, correction: TrackingCorrection) -> CorrectionResult:
        return await self.corrections.correct(store, correction)

    # AcceptsFulfilmentRequests ------------------------------------------------------------------

    def fulfilment_request_of(self, body: Mapping[str, Any]) -> FulfilmentRequestRef:
        return request_of(body)

    async def fulfilment_request(self, store: StoreAccess, platform_fulfillment_order_id: str) -> FulfilmentRequestState:
        return await self.requests.state(store, platform_fulfillment_order_id)

    async def accept_fulfilment_request(self, store: StoreAccess, request: FulfilmentRequestRef) -> AcceptedRequest:
        return await self.requests.accept(store, request)


def create(http: httpx.AsyncClient, limiter: StoreLimiter) -> ShopifyPlatform:
    return ShopifyPlatform(http, limiter)
