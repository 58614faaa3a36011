"""The BigCommerce stand-in as a FastAPI app: the v2 Orders endpoints Dropline uses and the v3 hooks API
of many stores, with BigCommerce's auth, errors, per-store quota headers and Standard-Webhooks-signed
thin callbacks, plus a control API for tests and demos.

Store API:  /stores/{store_hash}/v2/orders[...], /stores/{store_hash}/v3/hooks[...]
            (Dropline's api_base_url for a store is http://HOST:PORT/stores/{store_hash}; against real
            BigCommerce it is https://api.bigcommerce.com/stores/{store_hash})
Control:    /_control/... (see README.md next to this file)
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import Body, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ..standin_kit import FixedWindow
from .models import (
    API_HOST,
    STATUSES,
    Delivery,
    Hook,
    OrderRecord,
    Store,
    is_shipping_provider,
    parse_date_param,
    rfc2822,
)

STATUS_CODES_DOC = "/api-docs/getting-started/api-status-codes"
MAX_LIMIT = 250
SORT_FIELDS = ("id", "customer_id", "date_created", "date_modified", "status_id", "channel_id", "external_id")
SHIPMENT_FIELDS = frozenset({"order_address_id", "tracking_number", "tracking_link", "merchant_shipping_cost",
                             "shipping_method", "shipping_provider", "tracking_carrier", "comments", "items"})
# orderShipment_Put: the same, without items (a shipment's items cannot be changed).
SHIPMENT_PUT_FIELDS = SHIPMENT_FIELDS - {"items"}
SHIPMENT_STRING_LIMITS = (("tracking_number", 50), ("tracking_link", 500), ("comments", 65535),
                          ("shipping_method", 250), ("tracking_carrier", 100), ("merchant_shipping_cost", 50))
MAX_HOOKS_PER_SCOPE = 10  # overview.mdx "Platform limits"
STORE_HASH = r"^[a-z0-9]{4,20}$"


class StoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store_hash: str = Field(pattern=STORE_HASH)
    store_id: str | None = Field(default=None, pattern=r"^\d+$")
    access_token: str = Field(min_length=1)
    client_id: str = Field(default="standin_client_id", min_length=1)
    client_secret: str = Field(min_length=1)
    quota: int = Field(default=150, ge=1)  # Standard / Plus: 150 per 30 s (platforms.md §2.4)
    window_seconds: float = Field(default=30.0, gt=0)
    strict_destinations: bool = False  # True: hooks must be https on port 443, as on BigCommerce
    webhook_url: str | None = None  # pre-register hooks to this destination (as Dropline would)
    header_name: str = "X-Dropline-Webhook-Secret"
    header_secret: str | None = None  # the custom header value on the pre-registered hooks
    scopes: list[str] = Field(default_factory=lambda: ["store/order/created", "store/order/updated",
                                                       "store/order/statusUpdated"])


class SeedOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order: dict[str, Any]
    products: list[dict[str, Any]] = Field(min_length=1)
    shipping_addresses: list[dict[str, Any]] = Field(default_factory=list)
    deliver_webhook: bool = True


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status_id: int = Field(ge=0, le=14)


class DropRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(ge=0, le=1000)


class RedeliverRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fresh_timestamp: bool = True  # False: replay the very bytes and headers (a replayed/stale delivery)


class FailureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: int = Field(description="500 or 429 on every store API call")
    seconds: float = Field(ge=0, le=3600, description="0 clears")


class RateLimitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quota: int | None = Field(default=None, ge=1)
    window_seconds: float | None = Field(default=None, gt=0)


def v2_error(status: int, message: str) -> list[dict[str, Any]]:
    """v2 errors: an array of {status, message} (reference 404_Resp, shipping address PUT 400)."""
    return [{"status": status, "message": message}]


def v3_error(status: int, title: str, errors: dict[str, str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status, "title": title, "type": STATUS_CODES_DOC}
    if errors is not None:
        body["errors"] = errors
    return body


class ApiError(Exception):
    """An answer of the store API other than success: status, BigCommerce's error body, headers."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _int_param(params: Mapping[str, str], name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ApiError(400, v2_error(400, f"The filter '{name}' is invalid.")) from None
    if not number.is_integer():
        raise ApiError(400, v2_error(400, f"The filter '{name}' is invalid."))
    return int(number)


def _date_param(params: Mapping[str, str], name: str) -> datetime | None:
    value = params.get(name)
    if not value:
        return None
    try:
        return parse_date_param(value)
    except (TypeError, ValueError):
        raise ApiError(400, v2_error(400, f"The filter '{name}' is not a valid date (RFC 2822 or ISO 8601).")) from None


def _paging(params: Mapping[str, str]) -> tuple[int, int]:
    page = _int_param(params, "page", 1) or 1
    limit = _int_param(params, "limit", 50) or 50
    if page < 1 or limit < 1:
        raise ApiError(400, v2_error(400, "The 'page' and 'limit' filters must be positive."))
    if limit > MAX_LIMIT:  # status-codes.mdx: 413 "the limit parameter exceeded the maximum"
        raise ApiError(413, v2_error(413, f"The 'limit' filter may not exceed {MAX_LIMIT}."))
    return page, limit


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class BigCommerceStandin:
    """All stores and their state; one instance per app."""

    def __init__(self, *, webhook_transport: httpx.AsyncBaseTransport | None = None,
                 webhook_timeout_seconds: float = 10.0, initial_stores: Sequence[StoreConfig] = (),
                 clock: Callable[[], datetime] | None = None) -> None:
        self.stores: dict[str, Store] = {}
        self._transport = webhook_transport
        self._timeout = webhook_timeout_seconds
        self._client: httpx.AsyncClient | None = None
        self._initial = list(initial_stores)
        self.clock = clock or (lambda: datetime.now(UTC))
        self._next_hook_id = 20172984
        self._tasks: set[asyncio.Task[Any]] = set()
        self.reset()

    # -- lifecycle -----------------------------------------------------------------------------------

    def reset(self) -> None:
        self.stores.clear()
        for config in self._initial:
            self.create_store(config)

    def webhook_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport, timeout=self._timeout,
                                             follow_redirects=False)
        return self._client

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def settle(self) -> None:
        """Wait for webhooks sent in the background (after API writes)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- stores, hooks, webhooks ---------------------------------------------------------------------

    def create_store(self, config: StoreConfig) -> Store:
        store = Store(store_hash=config.store_hash, store_id=config.store_id or str(1000000 + len(self.stores)),
                      access_token=config.access_token, client_id=config.client_id,
                      client_secret=config.client_secret,
                      window=FixedWindow(quota=config.quota, window_seconds=config.window_seconds),
                      strict_destinations=config.strict_destinations)
        self.stores[store.store_hash] = store
        if config.webhook_url:
            headers = {config.header_name: config.header_secret} if config.header_secret else None
            for scope in config.scopes:
                self.add_hook(store, scope, config.webhook_url, True, headers)
        return store

    def store(self, store_hash: str) -> Store:
        store = self.stores.get(store_hash)
        if store is None:
            raise HTTPException(404, {"error": f"unknown store {store_hash!r}"})
        return store

    def record(self, store: Store, order_id: int) -> OrderRecord:
        record = store.orders.get(order_id)
        if record is None:
            raise HTTPException(404, {"error": f"unknown order {order_id} in store {store.store_hash}"})
        return record

    def add_hook(self, store: Store, scope: str, destination: str, is_active: bool,
                 headers: dict[str, str] | None) -> Hook:
        now = int(self.clock().timestamp())
        hook = Hook(id=self._next_hook_id, client_id=store.client_id, store_hash=store.store_hash, scope=scope,
                    destination=destination, is_active=is_active, headers=headers, created_at=now, updated_at=now)
        self._next_hook_id += 1
        store.hooks[hook.id] = hook
        return hook

    async def emit(self, store: Store, scope: str, data: dict[str, Any], order_id: int | None,
                   *, background: bool = False) -> list[dict[str, Any]]:
        """One callback per active hook whose scope matches (a wildcard `store/order/*` included)."""
        deliveries = []
        for hook in store.hooks.values():
            if hook.matches(scope):
                delivery = Delivery(webhook=store.new_webhook(hook, scope, data, self.clock()), hook_id=hook.id,
                                    scope=scope, order_id=order_id)
                store.deliveries.append(delivery)
                deliveries.append(delivery)
        if background:
            task = asyncio.create_task(self._send_all(store, deliveries))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return [d.as_json() for d in deliveries]
        await self._send_all(store, deliveries)
        return [d.as_json() for d in deliveries]

    async def _send_all(self, store: Store, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:  # in event order, as BigCommerce sends them
            await store.outbox.deliver(self.webhook_client(), delivery.webhook)

    async def redeliver(self, store: Store, delivery_id: str, fresh_timestamp: bool) -> dict[str, Any]:
        delivery = next((d for d in store.deliveries if d.webhook.id == delivery_id), None)
        if delivery is None:
            raise HTTPException(404, {"error": f"unknown webhook {delivery_id!r}"})
        if fresh_timestamp:
            store.resign(delivery.webhook)
        await store.outbox.deliver(self.webhook_client(), delivery.webhook)
        return delivery.as_json()

    # -- orders --------------------------------------------------------------------------------------

    def _links(self, store: Store, order_id: int) -> dict[str, Any]:
        base = f"{API_HOST}/stores/{store.store_hash}/v2/orders/{order_id}"
        return {name: {"url": f"{base}/{path}", "resource": f"/orders/{order_id}/{path}"}
                for name, path in (("products", "products"), ("shipping_addresses", "shippingaddresses"),
                                   ("coupons", "coupons"))}

    def seed(self, store: Store, seed: SeedOrder) -> OrderRecord:
        def refuse(message: str) -> HTTPException:
            return HTTPException(422, {"error": "invalid_order", "message": message})

        order = dict(seed.order)
        order_id = order.get("id")
        if order_id is None:
            order_id = max(store.orders, default=100) + 1
        if not _is_int(order_id) or order_id < 1:
            raise refuse("order.id must be a positive integer")
        if order_id in store.orders:
            raise HTTPException(409, {"error": "duplicate_order", "message": f"order {order_id} exists"})
        status_id = order.get("status_id")
        if not _is_int(status_id) or status_id not in STATUSES:
            raise refuse("order.status_id must be one of BigCommerce's status ids 0..14")
        now = rfc2822(self.clock())
        for key in ("date_created", "date_modified"):
            value = order.get(key) or now
            try:
                parse_date_param(value)
            except (TypeError, ValueError, AttributeError):
                raise refuse(f"order.{key} must be an RFC 2822 date") from None
            order[key] = value
        currency = order.get("default_currency_code") or order.get("currency_code")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
            raise refuse("order.currency_code / default_currency_code must be an ISO 4217 code")

        addresses = []
        address_ids: set[int] = set()
        for i, raw in enumerate(seed.shipping_addresses):
            address = dict(raw)
            if not _is_int(address.get("id")) or address["id"] in address_ids:
                raise refuse(f"shipping_addresses[{i}].id must be a unique integer")
            address_ids.add(address["id"])
            address["order_id"] = order_id
            addresses.append(address)
        products = []
        product_ids: set[int] = set()
        for i, raw in enumerate(seed.products):
            product = dict(raw)
            if not _is_int(product.get("id")) or product["id"] in product_ids:
                raise refuse(f"products[{i}].id must be a unique integer")
            product_ids.add(product["id"])
            if not _is_int(product.get("quantity")) or product["quantity"] < 1:
                raise refuse(f"products[{i}].quantity must be a positive integer")
            address_id = product.setdefault("order_address_id", addresses[0]["id"] if addresses else 0)
            if address_id != 0 and address_id not in address_ids:
                raise refuse(f"products[{i}].order_address_id {address_id} is none of the shipping addresses")
            shipped = product.setdefault("quantity_shipped", 0)
            if not _is_int(shipped) or not 0 <= shipped <= product["quantity"]:
                raise refuse(f"products[{i}].quantity_shipped must be between 0 and quantity")
            product["order_id"] = order_id
            products.append(product)

        order.update(id=order_id, status_id=status_id, status=STATUSES[status_id],
                     custom_status=order.get("custom_status") or STATUSES[status_id],
                     shipping_address_count=len(addresses), **self._links(store, order_id))
        record = OrderRecord(order=order, products=products, shipping_addresses=addresses)
        self._recount(record)
        store.orders[order_id] = record
        return record

    @staticmethod
    def _recount(record: OrderRecord) -> None:
        record.order["items_total"] = sum(p["quantity"] for p in record.products)
        record.order["items_shipped"] = sum(p["quantity_shipped"] for p in record.products)
        for address in record.shipping_addresses:
            mine = [p for p in record.products if p.get("order_address_id") == address["id"]]
            address["items_total"] = sum(p["quantity"] for p in mine)
            address["items_shipped"] = sum(p["quantity_shipped"] for p in mine)

    async def change_status(self, store: Store, record: OrderRecord, status_id: int, *,
                            background: bool = False) -> list[dict[str, Any]]:
        previous = record.order["status_id"]
        if previous == status_id:
            return []  # statusUpdated "fires only if the order status has changed"
        record.order.update(status_id=status_id, status=STATUSES[status_id], custom_status=STATUSES[status_id],
                            date_modified=rfc2822(self.clock()))
        data = {"type": "order", "id": record.id,
                "status": {"previous_status_id": previous, "new_status_id": status_id}}
        sent = await self.emit(store, "store/order/statusUpdated", data, record.id, background=background)
        sent += await self.emit(store, "store/order/updated", {"type": "order", "id": record.id}, record.id,
                                background=background)
        return sent

    def create_shipment(self, store: Store, record: OrderRecord, body: Any) -> dict[str, Any]:
        """POST /v2/orders/{id}/shipments, validated as orderShipment_Post (ApiError otherwise)."""
        if not isinstance(body, dict):
            raise ApiError(400, v2_error(400, "The request body must be a JSON object."))
        for name in body:
            if name not in SHIPMENT_FIELDS:
                raise ApiError(400, v2_error(400, f"The field '{name}' cannot be written to. Please remove it "
                                                  "from your request before trying again."))
        for name in ("order_address_id", "items"):
            if name not in body:
                raise ApiError(422, v2_error(422, f"The required field '{name}' was not supplied."))
        invalid = lambda name: ApiError(422, v2_error(422, f"The field '{name}' is invalid."))  # noqa: E731
        if not _is_int(body["order_address_id"]):
            raise invalid("order_address_id")
        for name, limit in SHIPMENT_STRING_LIMITS:
            value = body.get(name)
            if value is not None and (not isinstance(value, str) or len(value) > limit):
                raise invalid(name)
        provider = body.get("shipping_provider", "")
        if not isinstance(provider, str) or not is_shipping_provider(provider):
            raise invalid("shipping_provider")
        shipment_items = body["items"]
        if not isinstance(shipment_items, list) or not shipment_items:
            raise invalid("items")
        address = next((a for a in record.shipping_addresses if a["id"] == body["order_address_id"]), None)
        if address is None:
            raise ApiError(422, v2_error(422, f"The order address {body['order_address_id']} does not exist "
                                              f"on order {record.id}."))
        wanted: dict[int, int] = {}
        for item in shipment_items:
            if not isinstance(item, dict) or not _is_int(item.get("order_product_id")) \
                    or not _is_int(item.get("quantity")) or item["quantity"] < 1:
                raise invalid("items")
            wanted[item["order_product_id"]] = wanted.get(item["order_product_id"], 0) + item["quantity"]
        by_id = {p["id"]: p for p in record.products}
        for product_id, quantity in wanted.items():
            product = by_id.get(product_id)
            if product is None or product.get("order_address_id") != address["id"]:
                raise ApiError(422, v2_error(422, f"The order product {product_id} does not belong to order "
                                                  f"address {address['id']}."))
            if quantity > product["quantity"] - product["quantity_shipped"]:
                raise ApiError(422, v2_error(422, f"The quantity of order product {product_id} exceeds the "
                                                  "quantity that remains to be shipped."))
        for product_id, quantity in wanted.items():
            by_id[product_id]["quantity_shipped"] += quantity
        self._recount(record)
        now = self.clock()
        number = body.get("tracking_number", "")
        carrier = body.get("tracking_carrier", "")
        shipment = {
            "id": store.next_shipment_id, "order_id": record.id, "customer_id": record.order.get("customer_id", 0),
            "order_address_id": address["id"], "date_created": rfc2822(now), "tracking_number": number,
            "merchant_shipping_cost": body.get("merchant_shipping_cost", "0.0000"),
            "shipping_method": body.get("shipping_method", "None"), "comments": body.get("comments", ""),
            "shipping_provider": provider, "tracking_carrier": carrier,
            "tracking_link": body.get("tracking_link", ""),
            "billing_address": record.order.get("billing_address") or {},
            "shipping_address": {k: address.get(k) for k in ("first_name", "last_name", "company", "street_1",
                                                             "street_2", "city", "state", "zip", "country",
                                                             "country_iso2", "phone", "email")},
            "items": [{"order_product_id": pid, "product_id": by_id[pid].get("product_id", 0), "quantity": q}
                      for pid, q in wanted.items()],
            "shipping_provider_display_name": provider.upper() if provider else "",
            "generated_tracking_link": generated_link(provider, carrier, number),
        }
        store.next_shipment_id += 1
        record.shipments.append(shipment)
        record.order["date_shipped"] = rfc2822(now)
        record.order["date_modified"] = rfc2822(now)
        return shipment

    def update_shipment(self, record: OrderRecord, shipment: dict[str, Any], body: Any) -> dict[str, Any]:
        """PUT /v2/orders/{id}/shipments/{shipment_id}, validated as orderShipment_Put: omitted fields stay;
        ``items`` cannot be written (400, like any field outside the schema); 422 for a wrong type or length,
        a ``shipping_provider`` outside BigCommerce's list, an unknown ``order_address_id``."""
        if not isinstance(body, dict):
            raise ApiError(400, v2_error(400, "The request body must be a JSON object."))
        for name in body:
            if name not in SHIPMENT_PUT_FIELDS:
                raise ApiError(400, v2_error(400, f"The field '{name}' cannot be written to. Please remove it "
                                                  "from your request before trying again."))
        invalid = lambda name: ApiError(422, v2_error(422, f"The field '{name}' is invalid."))  # noqa: E731
        for name, limit in SHIPMENT_STRING_LIMITS:
            value = body.get(name)
            if name in body and (not isinstance(value, str) or len(value) > limit):
                raise invalid(name)
        if "shipping_provider" in body and (not isinstance(body["shipping_provider"], str)
                                            or not is_shipping_provider(body["shipping_provider"])):
            raise invalid("shipping_provider")
        if "order_address_id" in body:
            if not _is_int(body["order_address_id"]):
                raise invalid("order_address_id")
            if not any(a["id"] == body["order_address_id"] for a in record.shipping_addresses):
                raise ApiError(422, v2_error(422, f"The order address {body['order_address_id']} does not exist "
                                                  f"on order {record.id}."))
        previous = shipment.get("tracking_number", "")
        shipment.update(body)
        provider, carrier = shipment.get("shipping_provider", ""), shipment.get("tracking_carrier", "")
        shipment["shipping_provider_display_name"] = provider.upper() if provider else ""
        shipment["generated_tracking_link"] = generated_link(provider, carrier, shipment.get("tracking_number", ""))
        now = self.clock()
        if any(k in body for k in ("tracking_number", "shipping_provider", "tracking_carrier", "tracking_link")):
            record.tracking_changes.append({
                "at": rfc2822(now), "shipment_id": shipment["id"], "previous": previous,
                **{k: shipment.get(k, "") for k in ("tracking_number", "shipping_provider", "tracking_carrier",
                                                    "tracking_link")}})
        record.order["date_modified"] = rfc2822(now)
        return shipment

    def view(self, record: OrderRecord) -> dict[str, Any]:
        return {"order": record.order, "products": record.products,
                "shipping_addresses": record.shipping_addresses, "shipments": record.shipments,
                # shipment id -> its current tracking number; every tracking change made by a PUT
                "tracking_numbers": {str(s["id"]): s.get("tracking_number", "") for s in record.shipments},
                "tracking_changes": record.tracking_changes}

    # -- the store API gate ----------------------------------------------------------------------------

    def gate(self, request: Request, store_hash: str, *, v3: bool) -> tuple[Store, dict[str, str]]:
        """Quota, forced failures, X-Auth-Token and Accept, in that order; ApiError with headers otherwise."""
        store = self.stores.get(store_hash)
        if store is None:
            raise ApiError(404, v3_error(404, "Store not found") if v3 else
                           v2_error(404, "The requested resource was not found."))
        store.api_log.append({"method": request.method, "path": request.url.path,
                              "query": str(request.url.query), "at": rfc2822(self.clock())})
        forced = store.forced()
        if forced == 429:
            reset = max(store.forced_until - time.monotonic(), 0.001)
            headers = {"X-Rate-Limit-Time-Window-Ms": str(int(store.window.window_seconds * 1000)),
                       "X-Rate-Limit-Time-Reset-Ms": str(math.ceil(reset * 1000)),
                       "X-Rate-Limit-Requests-Quota": str(store.window.quota), "X-Rate-Limit-Requests-Left": "0",
                       "X-Retry-After": str(max(1, math.ceil(reset)))}
            raise ApiError(429, v3_error(429, "Too many requests"), headers)
        if forced is not None:
            raise ApiError(forced, v3_error(forced, "Internal Server Error") if v3 else
                           v2_error(forced, "An internal error occurred."))
        verdict = store.window.take(store_hash)
        headers = {"X-Rate-Limit-Time-Window-Ms": str(int(store.window.window_seconds * 1000)),
                   "X-Rate-Limit-Time-Reset-Ms": str(max(1, math.ceil(verdict.reset_in_seconds * 1000))),
                   "X-Rate-Limit-Requests-Quota": str(verdict.quota),
                   "X-Rate-Limit-Requests-Left": str(verdict.left)}
        if not verdict.allowed:
            raise ApiError(429, v3_error(429, "Too many requests") if v3 else
                           v2_error(429, "You have exceeded the request rate limit."),
                           {**headers, "X-Retry-After": str(verdict.retry_after_seconds)})
        token = request.headers.get("X-Auth-Token") or ""
        if not hmac.compare_digest(token.encode(), store.access_token.encode()):
            message = "Unauthorized - the v3 Auth client ID or token in the request are not a valid combination " \
                      "for this store."
            raise ApiError(401, v3_error(401, message) if v3 else
                           v2_error(401, "No valid credentials were supplied with the request (X-Auth-Token)."),
                           headers)
        accept = request.headers.get("Accept", "*/*").lower()
        if not any(t in accept for t in ("application/json", "*/*", "application/*")):
            raise ApiError(406, v2_error(406, "Only application/json responses are supported."), headers)
        return store, headers


def generated_link(provider: str, carrier: str, number: str) -> str:
    """``generated_tracking_link``: BigCommerce builds it from the provider/carrier and the number (the
    stand-in's URL is its own)."""
    return f"https://track.aftership.com/{carrier or provider}/{number}" if number and (provider or carrier) else ""


def _order_id(raw: str) -> int:
    if not raw.isdigit():
        raise ApiError(404, v2_error(404, "The requested resource was not found."))
    return int(raw)


def _sort_key(field: str) -> Callable[[OrderRecord], Any]:
    if field in ("date_created", "date_modified"):
        return lambda r: parse_date_param(r.order[field])
    return lambda r: (r.order.get(field) is None, r.order.get(field) or 0)


def create_app(*, webhook_transport: httpx.AsyncBaseTransport | None = None, webhook_timeout_seconds: float = 10.0,
               stores: Sequence[StoreConfig | Mapping[str, Any]] = (),
               clock: Callable[[], datetime] | None = None) -> FastAPI:
    """Build the stand-in.

    ``webhook_transport``: httpx transport for webhook deliveries (tests pass ``httpx.ASGITransport(app=
    receiver)``); default: the network. ``stores``: created at start and after ``POST /_control/reset``.
    """
    standin = BigCommerceStandin(
        webhook_transport=webhook_transport, webhook_timeout_seconds=webhook_timeout_seconds,
        initial_stores=[s if isinstance(s, StoreConfig) else StoreConfig.model_validate(s) for s in stores],
        clock=clock)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await standin.aclose()

    app = FastAPI(title="BigCommerce stand-in (Dropline test support)", lifespan=lifespan)
    app.state.standin = standin

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)

    def ok(body: Any, headers: dict[str, str], status: int = 200) -> Response:
        if body is None:
            return Response(status_code=204, headers=headers)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "stores": len(standin.stores)}

    # -- v2 orders -----------------------------------------------------------------------------------

    @app.get("/stores/{store_hash}/v2/orders")
    async def list_orders(store_hash: str, request: Request) -> Response:
        store, headers = standin.gate(request, store_hash, v3=False)
        params = request.query_params
        page, limit = _paging(params)
        records = list(store.orders.values())
        bounds = {name: _date_param(params, name) for name in
                  ("min_date_created", "max_date_created", "min_date_modified", "max_date_modified")}
        for name, bound in bounds.items():
            if bound is None:
                continue
            key = "date_created" if "created" in name else "date_modified"
            if name.startswith("min"):
                records = [r for r in records if parse_date_param(r.order[key]) >= bound]
            else:
                records = [r for r in records if parse_date_param(r.order[key]) <= bound]
        for name, cmp in (("min_id", 1), ("max_id", -1)):
            bound = _int_param(params, name)
            if bound is not None:
                records = [r for r in records if (r.id - bound) * cmp >= 0]
        for name in ("status_id", "customer_id", "channel_id"):
            value = _int_param(params, name)
            if value is not None:
                records = [r for r in records if r.order.get(name) == value]
        if params.get("email"):
            records = [r for r in records
                       if (r.order.get("billing_address") or {}).get("email") == params["email"]]
        sort = params.get("sort") or "id"
        field, _, direction = sort.partition(":")
        if field not in SORT_FIELDS or direction not in ("", "asc", "desc"):
            raise ApiError(400, v2_error(400, f"The sort '{sort}' is invalid."))
        records.sort(key=_sort_key(field), reverse=direction == "desc")
        chunk = records[(page - 1) * limit: page * limit]
        return ok([r.order for r in chunk] or None, headers)

    @app.get("/stores/{store_hash}/v2/orders/{order_id}")
    async def get_order(store_hash: str, order_id: str, request: Request) -> Response:
        store, headers = standin.gate(request, store_hash, v3=False)
        record = store.orders.get(_order_id(order_id))
        if record is None:
            raise ApiError(404, v2_error(404, "The requested resource was not found."), headers)
        return ok(record.order, headers)

    def sub_list(name: str) -> Callable[..., Any]:
        async def handler(store_hash: str, order_id: str, request: Request) -> Response:
            store, headers = standin.gate(request, store_hash, v3=False)
            page, limit = _paging(request.query_params)
            record = store.orders.get(_order_id(order_id))
            if record is None:
                raise ApiError(404, v2_error(404, "The requested resource was not found."), headers)
            rows = getattr(record, name)[(page - 1) * limit: page * limit]
            return ok(rows or None, headers)  # v2 answers 204 No Content for an empty collection
        return handler

    for name in ("products", "shipping_addresses", "shipments"):
        app.add_api_route(f"/stores/{{store_hash}}/v2/orders/{{order_id}}/{name}", sub_list(name), methods=["GET"])

    @app.post("/stores/{store_hash}/v2/orders/{order_id}/shipments")
    async def create_shipment(store_hash: str, order_id: str, request: Request) -> Response:
        store, headers = standin.gate(request, store_hash, v3=False)
        record = store.orders.get(_order_id(order_id))
        if record is None:
            raise ApiError(404, v2_error(404, "The requested resource was not found."), headers)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise ApiError(415, v2_error(415, "The Content-Type must be application/json."), headers)
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            raise ApiError(400, v2_error(400, "The request body is not valid JSON."), headers) from None
        try:
            shipment = standin.create_shipment(store, record, body)
        except ApiError as exc:
            exc.headers = {**headers, **exc.headers}
            raise
        shipped = record.order["items_shipped"]
        new_status = 2 if shipped >= record.order["items_total"] else 3
        if record.order["status_id"] != new_status:
            await standin.change_status(store, record, new_status, background=True)
        else:
            await standin.emit(store, "store/order/updated", {"type": "order", "id": record.id}, record.id,
                               background=True)
        await standin.emit(store, "store/shipment/created",
                           {"type": "shipment", "id": shipment["id"], "orderId": record.id}, record.id,
                           background=True)
        return ok(shipment, headers, 201)

    @app.get("/stores/{store_hash}/v2/orders/{order_id}/shipments/{shipment_id}")
    async def get_shipment(store_hash: str, order_id: str, shipment_id: str, request: Request) -> Response:
        store, headers = standin.gate(request, store_hash, v3=False)
        record = store.orders.get(_order_id(order_id))
        shipment = next((s for s in (record.shipments if record else []) if str(s["id"]) == shipment_id), None)
        if shipment is None:
            raise ApiError(404, v2_error(404, "The requested resource was not found."), headers)
        return ok(shipment, headers)

    @app.put("/stores/{store_hash}/v2/orders/{order_id}/shipments/{shipment_id}")
    async def update_shipment(store_hash: str, order_id: str, shipment_id: str, request: Request) -> Response:
        store, headers = standin.gate(request, store_hash, v3=False)
        record = store.orders.get(_order_id(order_id))
        shipment = next((s for s in (record.shipments if record else []) if str(s["id"]) == shipment_id), None)
        if record is None or shipment is None:
            raise ApiError(404, v2_error(404, "The requested resource was not found."), headers)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise ApiError(415, v2_error(415, "The Content-Type must be application/json."), headers)
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            raise ApiError(400, v2_error(400, "The request body is not valid JSON."), headers) from None
        try:
            updated = standin.update_shipment(record, shipment, body)
        except ApiError as exc:
            exc.headers = {**headers, **exc.headers}
            raise
        # events/index.mdx: store/shipment/updated fires when a shipment's tracking number changes.
        await standin.emit(store, "store/shipment/updated",
                           {"type": "shipment", "id": updated["id"], "orderId": record.id}, record.id,
                           background=True)
        return ok(updated, headers)

    # -- v3 hooks ------------------------------------------------------------------------------------

    def hook_body(store: Store, body: Any, headers: dict[str, str], *, partial: bool) -> dict[str, Any]:
        def invalid(errors: dict[str, str]) -> ApiError:
            return ApiError(422, v3_error(422, "JSON data is missing or invalid", errors), headers)

        if not isinstance(body, dict):
            raise ApiError(400, v3_error(400, "Input is invalid."), headers)
        errors = {}
        if not partial:
            errors.update({k: "error.path.missing" for k in ("scope", "destination") if k not in body})
        if "scope" in body and (not isinstance(body["scope"], str) or not body["scope"].startswith("store/")):
            errors["scope"] = "error.expected.scope"
        destination = body.get("destination")
        if destination is not None:
            parts = urlsplit(destination) if isinstance(destination, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
                errors["destination"] = "error.expected.url"
            elif store.strict_destinations and (parts.scheme != "https" or parts.port not in (None, 443)):
                errors["destination"] = "destination must be served over https on port 443"
        if "is_active" in body and not isinstance(body["is_active"], bool):
            errors["is_active"] = "error.expected.jsboolean"
        custom = body.get("headers")
        if custom is not None and (not isinstance(custom, dict)
                                   or not all(isinstance(k, str) and isinstance(v, str) for k, v in custom.items())):
            errors["headers"] = "error.expected.jsobject of strings"
        if errors:
            raise invalid(errors)
        return body

    async def json_of(request: Request, headers: dict[str, str]) -> Any:
        try:
            return json.loads(await request.body() or b"null")
        except ValueError:
            raise ApiError(400, v3_error(400, "Input is invalid."), headers) from None

    @app.post("/stores/{store_hash}/v3/hooks")
    async def create_hook(store_hash: str, request: Request) -> Response:
        store, headers = standin.gate(request, store_hash, v3=True)
        body = hook_body(store, await json_of(request, headers), headers, partial=False)
        same_scope = [h for h in store.hooks.values() if h.scope == body["scope"] and h.client_id == store.client_id]
        if any(h.destination == body["destination"] for h in same_scope):
            raise ApiError(422, v3_error(422, "JSON data is missing or invalid",
                                         {"destination": "a webhook for this scope and destination exists"}), headers)
        if len(same_scope) >= MAX_HOOKS_PER_SCOPE:
            raise ApiError(422, v3_error(422, "JSON data is missing or invalid",
                                         {"scope": f"at most {MAX_HOOKS_PER_SCOPE} webhooks per scope"}), headers)
        hook = standin.add_hook(store, body["scope"], body["destination"], body.get("is_active", True),
                                body.get("headers"))
        return ok({"data": hook.as_json(), "meta": {}}, headers)

    @app.get("/stores/{store_hash}/v3/hooks")
    async def list_hooks(store_hash: str, request: Request) -> Response:
        store, headers = standin.gate(request, store_hash, v3=True)
        params = request.query_params
        hooks = [h for h in store.hooks.values() if h.client_id == store.client_id]
        if params.get("is_active") in ("true", "false"):
            hooks = [h for h in hooks if h.is_active == (params["is_active"] == "true")]
        for name in ("scope", "destination"):
            if params.get(name):
                hooks = [h for h in hooks if getattr(h, name) == params[name]]
        page, limit = max(int(params.get("page") or 1), 1), max(int(params.get("limit") or 50), 1)
        chunk = hooks[(page - 1) * limit: page * limit]
        pages = max(math.ceil(len(hooks) / limit), 1)
        return ok({"data": [h.as_json() for h in chunk],
                   "meta": {"pagination": {"total": len(hooks), "count": len(chunk), "per_page": limit,
                                           "current_page": page, "total_pages": pages, "links": {}}}}, headers)

    def find_hook(store: Store, hook_id: str, headers: dict[str, str]) -> Hook:
        hook = store.hooks.get(int(hook_id)) if hook_id.isdigit() else None
        if hook is None:
            raise ApiError(404, v3_error(404, f"Webhook with id [{hook_id}] not found"), headers)
        return hook

    @app.get("/stores/{store_hash}/v3/hooks/{hook_id}")
    async def get_hook(store_hash: str, hook_id: str, request: Request) -> Response:
        store, headers = standin.gate(request, store_hash, v3=True)
        return ok({"data": find_hook(store, hook_id, headers).as_json(), "meta": {}}, headers)

    @app.put("/stores/{store_hash}/v3/hooks/{hook_id}")
    async def update_hook(store_hash: str, hook_id: str, request: Request) -> Response:
        store, headers = standin.gate(request, store_hash, v3=True)
        hook = find_hook(store, hook_id, headers)
        body = hook_body(store, await json_of(request, headers), headers, partial=True)
        for name in ("scope", "destination", "is_active", "headers"):
            if name in body:
                setattr(hook, name, body[name])
        hook.updated_at = int(standin.clock().timestamp())
        return ok({"data": hook.as_json(), "meta": {}}, headers)

    @app.delete("/stores/{store_hash}/v3/hooks/{hook_id}")
    async def delete_hook(store_hash: str, hook_id: str, request: Request) -> Response:
        store, headers = standin.gate(request, store_hash, v3=True)
        hook = find_hook(store, hook_id, headers)
        del store.hooks[hook.id]
        return ok({"data": hook.as_json(), "meta": {}}, headers)

    # -- control API ---------------------------------------------------------------------------------

    @app.post("/_control/stores")
    async def control_create_store(config: StoreConfig) -> JSONResponse:
        existed = config.store_hash in standin.stores
        store = standin.create_store(config)
        return JSONResponse(store.as_json(), status_code=200 if existed else 201)

    @app.get("/_control/stores")
    async def control_list_stores() -> dict[str, Any]:
        return {"stores": [s.as_json() for s in standin.stores.values()]}

    @app.get("/_control/stores/{store_hash}")
    async def control_get_store(store_hash: str) -> dict[str, Any]:
        return standin.store(store_hash).as_json()

    @app.post("/_control/stores/{store_hash}/orders")
    async def control_seed(store_hash: str, seed: SeedOrder) -> JSONResponse:
        store = standin.store(store_hash)
        record = standin.seed(store, seed)
        sent = (await standin.emit(store, "store/order/created", {"type": "order", "id": record.id}, record.id)
                if seed.deliver_webhook else [])
        return JSONResponse({**standin.view(record), "webhooks": sent}, status_code=201)

    @app.get("/_control/stores/{store_hash}/orders/{order_id}")
    async def control_order(store_hash: str, order_id: int) -> dict[str, Any]:
        store = standin.store(store_hash)
        return standin.view(standin.record(store, order_id))

    @app.post("/_control/stores/{store_hash}/orders/{order_id}/status")
    async def control_status(store_hash: str, order_id: int, change: StatusChange) -> dict[str, Any]:
        store = standin.store(store_hash)
        record = standin.record(store, order_id)
        sent = await standin.change_status(store, record, change.status_id)
        return {**standin.view(record), "webhooks": sent}

    @app.get("/_control/stores/{store_hash}/webhooks")
    async def control_webhooks(store_hash: str) -> dict[str, Any]:
        await standin.settle()
        store = standin.store(store_hash)
        return {"webhooks": [d.as_json() for d in store.deliveries], "drop_next": store.outbox.drop_next}

    @app.post("/_control/stores/{store_hash}/webhooks/drop")
    async def control_drop(store_hash: str, drop: DropRequest) -> dict[str, Any]:
        store = standin.store(store_hash)
        store.outbox.drop_next = drop.count
        return {"drop_next": store.outbox.drop_next}

    @app.post("/_control/stores/{store_hash}/webhooks/{webhook_id}/redeliver")
    async def control_redeliver(store_hash: str, webhook_id: str,
                                options: RedeliverRequest | None = Body(default=None)) -> dict[str, Any]:  # noqa: B008
        store = standin.store(store_hash)
        return await standin.redeliver(store, webhook_id, (options or RedeliverRequest()).fresh_timestamp)

    @app.post("/_control/stores/{store_hash}/failures")
    async def control_failures(store_hash: str, failure: FailureRequest) -> dict[str, Any]:
        store = standin.store(store_hash)
        if failure.status not in (429, 500, 502, 503, 504):
            raise HTTPException(422, {"error": "status must be 429 or a 5xx (500, 502, 503, 504)"})
        store.forced_status = failure.status if failure.seconds > 0 else None
        store.forced_until = time.monotonic() + failure.seconds
        return {"forced_failure": {"status": store.forced_status, "seconds": failure.seconds}}

    @app.post("/_control/stores/{store_hash}/rate-limit")
    async def control_rate_limit(store_hash: str, config: RateLimitRequest) -> dict[str, Any]:
        store = standin.store(store_hash)
        store.window.configure(quota=config.quota, window_seconds=config.window_seconds)
        return {"quota": store.window.quota, "window_seconds": store.window.window_seconds}

    @app.get("/_control/stores/{store_hash}/api-log")
    async def control_api_log(store_hash: str) -> dict[str, Any]:
        return {"requests": standin.store(store_hash).api_log}

    @app.post("/_control/reset")
    async def control_reset() -> dict[str, Any]:
        await standin.settle()
        standin.reset()
        return {"status": "reset", "stores": list(standin.stores)}

    return app
