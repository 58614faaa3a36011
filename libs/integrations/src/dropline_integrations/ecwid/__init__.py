"""Ecwid by Lightspeed (platforms.md §3): thin webhooks signed over ``eventCreated.eventId`` with the app's
client secret, orders fetched over REST API v3 with the store's ``secret_…`` token, tracking written back
with a PUT on the order.

Store connection
    ``StoreAccess.shop`` = the Ecwid store id (``"1003"``), also the webhook's ``storeId``;
    ``api_base_url`` = ``https://app.ecwid.com/api/v3/{storeId}`` (a stand-in: ``http://HOST:PORT/api/v3/{storeId}``);
    ``credentials`` = ``{"secret_token": "secret_…"}`` (sent as ``Authorization: Bearer``; scopes
    ``read_orders``, ``update_orders``, ``read_store_profile``);
    ``WebhookSecrets.signing_key`` = the app's ``client_secret``.

Currency
    Ecwid orders carry no currency: `fetch_order` and `list_orders` add the store profile's
    ``formatsAndUnits.currency`` to every order under ``"_dropline": {"currency", "storeId"}``
    (`normalise.DROPLINE_KEY`); `normalise` refuses an order without it.

Tracking: one number per Ecwid order, and a store order may be split over several Dropline orders
(suppliers), and a Dropline order over several parcels, each shipping separately. Ecwid keeps ONE
tracking number per order (no shipment objects, platforms.md §3.3), so the first number stays:
    - the order has no ``trackingNumber`` yet: the shipment's number (and ``trackingUrl``) is written,
      with ``fulfillmentStatus`` and the ledger line below, as one PUT;
    - the order already has a different, non-empty ``trackingNumber`` (an earlier shipment's, ours or the
      merchant's): nothing is written — not the number, not the status, not the ledger — and `fulfil`
      answers ``FulfilmentResult(kept_number=<the store's number>,
      platform_fulfillment_id="{orderId}/{our number}")``; tracking-sync records the shipment and
      publishes OrderSynced with ``kept_number`` so Dropline shows it (docs/architecture.md, ADR "Ecwid
      keeps one tracking number per order");
    - ``privateAdminNotes``: the merchant's own notes, untouched, plus one line for the shipment that
      was written — ``[Dropline] shipment: tracking 1Z…; carrier UPS; items 1000001x2,1000002x1;
      url https://…`` (it tells the merchant which items that number carried);
    - ``fulfillmentStatus``: ``PROCESSING`` while some item that needs shipping is not yet in any shipment,
      ``SHIPPED`` once every such item is covered. Dropline only moves the status forward from
      AWAITING_PROCESSING / PROCESSING: a status the merchant set (SHIPPED, DELIVERED, WILL_NOT_DELIVER,
      RETURNED, custom…) is left as it is.
    Look before writing, by tracking number only: a number already in ``trackingNumber`` or in a ledger
    line → ``already_present``, nothing written. ``items`` is never sent (Ecwid drops every item a PUT
    leaves out). Ecwid decides by the store's notification settings whether the customer is emailed;
    ``notify_customer`` cannot be honoured per shipment (``disableAllCustomerNotifications`` would
    silence the order for good).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
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
from .api import EcwidOrders
from .normalise import DROPLINE_KEY, normalise
from .settings import EcwidSettings

API_HOST = "https://app.ecwid.com"


def api_base_url(store_id: str, host: str = API_HOST) -> str:
    """``https://app.ecwid.com/api/v3/{storeId}``: what a store connection keeps as ``api_base_url``."""
    return f"{host.rstrip('/')}/api/v3/{store_id}"


class EcwidPlatform:
    platform = Platform.ECWID
    thin_webhooks = True
    connection = ConnectionSpec(
        store_key_label="store id", store_key_pattern=r"[0-9]{1,12}",
        default_api_base_url=API_HOST + "/api/v3/{key}", credential_keys=("secret_token",),
        signing_key_label="the app's client_secret")

    def __init__(self, http: httpx.AsyncClient, limiter: StoreLimiter, settings: EcwidSettings | None = None):
        s = settings or EcwidSettings()
        self.settings = s
        self.policy = RatePolicy(requests=s.requests_per_minute, window_seconds=60.0)
        self.orders = EcwidOrders(http, limiter, policy=self.policy, timeout=s.timeout_seconds,
                                  page_size=s.list_page_size, max_orders=s.list_max_orders,
                                  profile_cache_seconds=s.profile_cache_seconds)

    def webhook_store_key(self, raw: bytes, headers: Mapping[str, str]) -> str:
        return webhooks.store_key(raw)

    def verify_delivery(self, raw: bytes, headers: Mapping[str, str], secrets: WebhookSecrets,
                        now: datetime) -> Delivery:
        return webhooks.verify(raw, headers, secrets, now,
                               max_age=timedelta(seconds=self.settings.webhook_max_age_seconds),
                               future_skew=timedelta(seconds=self.settings.webhook_future_skew_seconds))

    def normalise(self, order: Mapping[str, Any]) -> StoreOrder:
        return normalise(order)

    async def fetch_order(self, store: StoreAccess, platform_order_id: str) -> dict[str, Any]:
        return await self.orders.fetch(store, platform_order_id)

    async def list_orders(self, store: StoreAccess, updated_since: datetime) -> OrderListing:
        return await self.orders.list(store, updated_since)

    async def fulfil(self, store: StoreAccess, request: FulfilmentRequest) -> FulfilmentResult:
        return await self.orders.fulfil(store, request)

    async def correct_tracking(self, store: StoreAccess, correction: TrackingCorrection) -> CorrectionResult:
        return await self.orders.correct_tracking(store, correction)


def create(http: httpx.AsyncClient, limiter: StoreLimiter) -> EcwidPlatform:
    return EcwidPlatform(http, limiter)


__all__ = ["API_HOST", "DROPLINE_KEY", "EcwidPlatform", "EcwidSettings", "api_base_url", "create"]
