"""Wix REST calls (platforms.md §4.2–§4.4): auth, the order read-back, the reconciliation listing and
fulfilment write-back through the eCommerce Order Fulfillments API.

Auth (StoreAccess.credentials), either
- the app flow (OAuth client credentials): ``{"app_id", "app_secret", "instance_id"}`` →
  ``POST /oauth2/token`` ``{"grant_type": "client_credentials", "client_id", "client_secret", "instance_id"}``
  → ``{"access_token", "token_type": "Bearer", "expires_in": 14400}``; the token goes in
  ``Authorization: <token>`` (no "Bearer"). Cached per instance until shortly before it expires; a 401 on
  an API call drops it and the call is made once more with a new one. ``instance_id`` defaults to
  StoreAccess.shop (the instance id);
- the API-key flow (one site, no app): ``{"api_key", "site_id"}`` → ``Authorization: <key>`` +
  ``wix-site-id: <site id>``.

Rate limit: 200 requests/min per app instance, accounted locally under ``wix:{instanceId}`` (with headroom);
a 429 defers the job to when Wix allows again (Retry-After if sent; otherwise a whole window), 5xx/503
are retried with back-off.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from dropline_infra.jobs import Permanent, Retryable
from dropline_infra.observability import get_logger

from ..carriers import display_name, wix_provider
from ..carriers import tracking_url as carrier_tracking_url
from ..limits import RatePolicy, StoreLimiter, json_body, store_call
from ..parsing import timestamp
from ..port import (
    CorrectionResult,
    FulfilmentRequest,
    FulfilmentResult,
    InvalidStoreOrder,
    OrderListing,
    StoreAccess,
    Tracking,
    TrackingCorrection,
    same_tracking_number,
)

log = get_logger(__name__)

TOKEN_PATH = "/oauth2/token"
DEFAULT_TOKEN_SECONDS = 14400.0  # Wix: "Always 14400 (4 hours)"
def shipping_provider(company: str | None) -> str | None:
    """Wix's predefined provider for a carrier name, or None when Wix has none for it."""
    return wix_provider(company)


def tracking_info(tracking: Tracking) -> dict[str, Any]:
    """``trackingInfo`` for create-fulfillment: a predefined provider gets its link from Wix; any other
    carrier is sent by name with our tracking link."""
    info: dict[str, Any] = {"trackingNumber": tracking.number}
    provider = shipping_provider(tracking.company)
    if provider:
        info["shippingProvider"] = provider
    else:
        if tracking.company:
            info["shippingProvider"] = display_name(tracking.company)
        link = tracking.url or carrier_tracking_url(tracking.company, tracking.number)
        if link:
            info["trackingLink"] = link
    return info


def fulfillment_line_items(request: FulfilmentRequest) -> list[dict[str, Any]]:
    """This Dropline order's lines only, one entry per store line item (quantities added up)."""
    need: dict[str, int] = {}
    for line in request.lines:
        need[line.platform_line_id] = need.get(line.platform_line_id, 0) + line.quantity
    return [{"id": line_id, "quantity": qty} for line_id, qty in need.items() if qty > 0]


def existing_fulfillment(fulfillments: Any, tracking_number: str) -> str | None:
    """Id of a fulfillment that already carries this tracking number."""
    for f in fulfillments if isinstance(fulfillments, list) else []:
        if not isinstance(f, Mapping):
            continue
        info = f.get("trackingInfo")
        if isinstance(info, Mapping) and same_tracking_number(info.get("trackingNumber"), tracking_number):
            return str(f.get("id")) if f.get("id") else None
    return None


def corrected_tracking_info(tracking: Tracking) -> dict[str, Any]:
    """``fulfillment.trackingInfo`` for Update Fulfillment: all three fields, always. Update merges into the
    stored trackingInfo (Wix's example sends trackingNumber + trackingLink and the answer still shows the
    old shippingProvider), so a field left out would keep the wrong parcel's value: ``trackingLink`` is our
    link for the new number, or null ("To remove a field's value, pass null") when we have none.
    UNCONFIRMED: whether Wix re-fills the link of a predefined provider on update; we send our own."""
    provider = shipping_provider(tracking.company) or (display_name(tracking.company) if tracking.company else None)
    return {"trackingNumber": tracking.number, "shippingProvider": provider,
            "trackingLink": tracking.url or carrier_tracking_url(tracking.company, tracking.number)}


def iso(moment: datetime) -> str:
    """``2026-01-02T03:04:05.678Z``: the ISO 8601 UTC form Wix's date filters take."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class _Token:
    value: str
    expires_at: float  # monotonic


class WixApi:
    def __init__(self, http: httpx.AsyncClient, limiter: StoreLimiter, *, policy: RatePolicy, timeout: float,
                 page_size: int, refresh_margin: float, clock: Callable[[], float] = time.monotonic):
        self.http = http
        self.limiter = limiter
        self.policy = policy
        self.timeout = timeout
        self.page_size = page_size
        self.refresh_margin = refresh_margin
        self.clock = clock
        self._tokens: dict[tuple[str, str, str], _Token] = {}

    # ------------------------------------------------------------------ auth

    @staticmethod
    def _key(store: StoreAccess) -> str:
        return f"wix:{store.shop}"

    @staticmethod
    def _url(store: StoreAccess, path: str) -> str:
        return f"{store.api_base_url.rstrip('/')}{path}"

    @staticmethod
    def _app(store: StoreAccess) -> tuple[str, str, str] | None:
        c = store.credentials
        app_id, secret = c.get("app_id"), c.get("app_secret")
        if not app_id or not secret:
            return None
        return str(app_id), str(secret), str(c.get("instance_id") or store.shop)

    async def _access_token(self, store: StoreAccess, app: tuple[str, str, str]) -> str:
        app_id, secret, instance = app
        cache_key = (store.api_base_url, app_id, instance)
        cached = self._tokens.get(cache_key)
        if cached and cached.expires_at - self.refresh_margin > self.clock():
            return cached.value
        what = "Wix create access token"
        resp = await store_call(self.http, self.limiter, self._key(store), self.policy, "POST",
                                self._url(store, TOKEN_PATH), what=what, ok=(200,), timeout=self.timeout,
                                json={"grant_type": "client_credentials", "client_id": app_id,
                                      "client_secret": secret, "instance_id": instance})
        if resp.status_code == 404:
            raise Permanent(f"{what}: HTTP 404 (no OAuth endpoint at {store.api_base_url})")
        body = json_body(resp, what)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise Retryable(f"{what}: answer without an access_token")
        try:
            lifetime = float(body.get("expires_in") or DEFAULT_TOKEN_SECONDS)
        except (TypeError, ValueError):
            lifetime = DEFAULT_TOKEN_SECONDS
        self._tokens[cache_key] = _Token(token, self.clock() + lifetime)
        return token

    def _forget_token(self, store: StoreAccess, app: tuple[str, str, str]) -> None:
        self._tokens.pop((store.api_base_url, app[0], app[2]), None)

    async def _headers(self, store: StoreAccess, app: tuple[str, str, str] | None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if app is not None:
            headers["Authorization"] = await self._access_token(store, app)
            return headers
        key, site = store.credentials.get("api_key"), store.credentials.get("site_id")
        if not key or not site:
            raise Permanent(f"store {store.store_id}: Wix credentials need app_id + app_secret (+ instance_id) "
                            "or api_key + site_id")
        headers.update({"Authorization": str(key), "wix-site-id": str(site)})
        return headers

    async def _call(self, store: StoreAccess, method: str, path: str, what: str,
                    body: dict[str, Any] | None = None) -> httpx.Response:
        app = self._app(store)
        kwargs: dict[str, Any] = {"timeout": self.timeout}
        if body is not None:
            kwargs["json"] = body
        for attempt in (1, 2):
            headers = await self._headers(store, app)
            # A 401 on the first try with an app token: the token may have been revoked or expired early.
            ok = (200, 401) if app is not None and attempt == 1 else (200,)
            resp = await store_call(self.http, self.limiter, self._key(store), self.policy, method,
                                    self._url(store, path), what=what, ok=ok, headers=headers, **kwargs)
            if resp.status_code != 401:
                return resp
            assert app is not None
            log.info("Wix refused the access token; getting a new one", store=store.store_id, call=what)
            self._forget_token(store, app)
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ orders

    async def fetch(self, store: StoreAccess, platform_order_id: str) -> dict[str, Any]:
        what = "Wix get order"
        if not platform_order_id or "/" in platform_order_id:
            raise Permanent(f"{what}: not a Wix order id: {platform_order_id!r}")
        resp = await self._call(store, "GET", f"/ecom/v1/orders/{quote(platform_order_id, safe='')}", what)
        if resp.status_code == 404:
            raise Permanent(f"{what}: HTTP 404 (no order {platform_order_id} in instance {store.shop})")
        body = json_body(resp, what)
        order = body.get("order") if isinstance(body, dict) else None
        if not isinstance(order, dict):
            raise Retryable(f"{what}: answer without an 'order' object")
        return order

    def search_body(self, updated_since: datetime) -> dict[str, Any]:
        return {"search": {
            "filter": {"updatedDate": {"$gte": iso(updated_since)}},
            "sort": [{"fieldName": "updatedDate", "order": "ASC"}],
            "cursorPaging": {"limit": self.page_size},
        }}

    async def list(self, store: StoreAccess, updated_since: datetime) -> OrderListing:
        """One page, oldest update first. The next call starts again from the newest update seen (the
        port's contract), so no cursor is carried between calls. Search never returns INITIALIZED orders
        (Wix's documented default filter): those are not paid, and their approval updates them."""
        what = "Wix search orders"
        resp = await self._call(store, "POST", "/ecom/v1/orders/search", what, self.search_body(updated_since))
        if resp.status_code == 404:
            raise Permanent(f"{what}: HTTP 404 at {store.api_base_url}")
        body = json_body(resp, what)
        orders = body.get("orders") if isinstance(body, dict) else None
        if not isinstance(orders, list):
            raise Retryable(f"{what}: answer without an 'orders' list")
        newest = None
        for order in orders:
            try:
                seen = timestamp(order.get("updatedDate") if isinstance(order, dict) else None, "updatedDate")
            except InvalidStoreOrder:
                seen = None
            if seen and (newest is None or seen > newest):
                newest = seen
        metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        has_next = metadata.get("hasNext")
        complete = (not has_next) if isinstance(has_next, bool) else len(orders) < self.page_size
        return OrderListing(orders=[o for o in orders if isinstance(o, dict)], newest_update=newest,
                            complete=complete)

    # ------------------------------------------------------------------ fulfilment

    async def fulfil(self, store: StoreAccess, request: FulfilmentRequest) -> FulfilmentResult:
        order_path = quote(request.platform_order_id, safe="")
        what = "Wix list fulfillments"
        resp = await self._call(store, "GET", f"/ecom/v1/fulfillments/orders/{order_path}", what)
        if resp.status_code == 404:
            raise Permanent(f"{what}: HTTP 404 (no order {request.platform_order_id} in instance {store.shop})")
        body = json_body(resp, what)
        current = body.get("orderWithFulfillments") if isinstance(body, dict) else None
        if not isinstance(current, dict):
            raise Retryable(f"{what}: answer without 'orderWithFulfillments'")
        present = existing_fulfillment(current.get("fulfillments"), request.tracking.number)
        if present:
            log.info("tracking already in the store; nothing written", platform_fulfillment_id=present)
            return FulfilmentResult(platform_fulfillment_id=present, already_present=True)

        line_items = fulfillment_line_items(request)
        if not line_items:
            raise Permanent("nothing to fulfil: the request has no lines")
        what = "Wix create fulfillment"
        resp = await self._call(store, "POST", f"/ecom/v1/fulfillments/orders/{order_path}/create-fulfillment",
                                what, {"fulfillment": {"lineItems": line_items,
                                                       "trackingInfo": tracking_info(request.tracking)}})
        if resp.status_code == 404:
            raise Permanent(f"{what}: HTTP 404 (no order {request.platform_order_id} in instance {store.shop})")
        body = json_body(resp, what)
        fulfillment_id = body.get("fulfillmentId") if isinstance(body, dict) else None
        if not fulfillment_id and isinstance(body, dict):
            created = body.get("orderWithFulfillments") or {}
            fulfillment_id = existing_fulfillment(created.get("fulfillments") if isinstance(created, dict) else None,
                                                  request.tracking.number)
        if not fulfillment_id:
            raise Permanent(f"{what}: answer without a fulfillmentId")
        log.info("fulfillment created", platform_fulfillment_id=fulfillment_id, lines=len(line_items))
        return FulfilmentResult(platform_fulfillment_id=str(fulfillment_id))

    # ------------------------------------------------------------------ tracking corrections

    async def correct_tracking(self, store: StoreAccess, correction: TrackingCorrection) -> CorrectionResult:
        """Give the fulfillment `fulfil` created the right number (Order Fulfillments API, platforms.md §4.3).

        Look first: List Fulfillments For Single Order, ``GET /ecom/v1/fulfillments/orders/{orderId}``
        (404 → the order is gone, Permanent); no fulfillment with that id → Permanent (deleted in the
        store); one that shows the new number already → ``already_present``, nothing written. Otherwise
        Update Fulfillment, ``PATCH /ecom/v1/fulfillments/{fulfillmentId}/orders/{orderId}`` (the path of
        wix-rest-docs order-fulfillments.service.json "Update Fulfillment", ``maturity-beta``) with
        ``{"fulfillment": {"trackingInfo": {...}}}`` (no ``fieldMask``: optional, and Wix's own example
        sends none; a wrongly spelled path would make Wix ignore the change); the answer is
        ``{"orderWithFulfillments": ...}``. Line items are never sent (Wix: updating line items or
        quantities is not allowed). 429 → Deferred, 5xx → Retryable, as every call (`store_call`).
        UNCONFIRMED: whether Wix emails the buyer again, and its error answer for an unknown fulfillment id
        (the stand-in: 404 NOT_FOUND, like an unknown order).
        """
        number = correction.tracking.number.strip()
        if not number:
            raise Permanent("a tracking correction needs the new number")
        fulfillment_id = correction.platform_fulfillment_id.strip()
        if not fulfillment_id or "/" in fulfillment_id or "," in fulfillment_id:
            raise Permanent(f"not a Wix fulfillment id: {correction.platform_fulfillment_id!r}")
        order_path = quote(correction.platform_order_id, safe="")
        what = "Wix list fulfillments"
        resp = await self._call(store, "GET", f"/ecom/v1/fulfillments/orders/{order_path}", what)
        if resp.status_code == 404:
            raise Permanent(f"{what}: HTTP 404 (no order {correction.platform_order_id} in instance {store.shop})")
        body = json_body(resp, what)
        current = body.get("orderWithFulfillments") if isinstance(body, dict) else None
        if not isinstance(current, dict):
            raise Retryable(f"{what}: answer without 'orderWithFulfillments'")
        fulfillments = current.get("fulfillments") if isinstance(current.get("fulfillments"), list) else []
        mine = next((f for f in fulfillments if isinstance(f, Mapping) and str(f.get("id")) == fulfillment_id), None)
        if mine is None:
            raise Permanent(f"fulfillment {fulfillment_id} is gone from order {correction.platform_order_id} in "
                            f"instance {store.shop}: its tracking cannot be corrected")
        info = mine.get("trackingInfo") if isinstance(mine.get("trackingInfo"), Mapping) else {}
        if same_tracking_number(info.get("trackingNumber"), number):
            log.info("corrected tracking already in the store; nothing written", platform_fulfillment_id=fulfillment_id)
            return CorrectionResult(platform_fulfillment_id=fulfillment_id, already_present=True)

        tracking = Tracking(number=number, company=correction.tracking.company, url=correction.tracking.url)
        what = "Wix update fulfillment"
        resp = await self._call(store, "PATCH",
                                f"/ecom/v1/fulfillments/{quote(fulfillment_id, safe='')}/orders/{order_path}", what,
                                {"fulfillment": {"trackingInfo": corrected_tracking_info(tracking)}})
        if resp.status_code == 404:
            raise Permanent(f"{what}: HTTP 404 (fulfillment {fulfillment_id} of order {correction.platform_order_id} "
                            f"is gone from instance {store.shop})")
        answer = json_body(resp, what)
        updated = answer.get("orderWithFulfillments") if isinstance(answer, dict) else None
        if not isinstance(updated, dict) or existing_fulfillment(updated.get("fulfillments"), number) != fulfillment_id:
            raise Retryable(f"{what}: the answer does not show {number} on fulfillment {fulfillment_id}")
        log.info("fulfillment tracking corrected", platform_fulfillment_id=fulfillment_id,
                 previous=correction.previous.number, number=number)
        return CorrectionResult(platform_fulfillment_id=fulfillment_id)
