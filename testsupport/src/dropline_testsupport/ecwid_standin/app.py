"""The Ecwid stand-in as a FastAPI app: REST API v3 of many stores, thin signed webhooks, a control API.

REST API (platforms.md §3.2–§3.4; Ecwid's orders/profile reference):
    GET  /api/v3/{storeId}/profile              store profile; ``formatsAndUnits.currency``
    GET  /api/v3/{storeId}/orders               search: ids, updatedFrom/To, createdFrom/To, paymentStatus,
                                                fulfillmentStatus, offset, limit (≤ 100, default 100)
    GET  /api/v3/{storeId}/orders/{orderId}     one order, as it was seeded plus what was written since
    PUT  /api/v3/{storeId}/orders/{orderId}     update: omitted fields are kept; ``items``, when sent,
                                                replaces all items (omitted ones are removed) → {"updateCount": 1}
    Auth: ``Authorization: Bearer {secret_token}`` (or legacy ``?token=``); missing or wrong → 403.
    600 requests per minute per token → 429 + ``Retry-After: N``. Errors: ``{"errorMessage": "..."}``.
    The search order is not documented by Ecwid; this stand-in answers newest order first (as stores are
    seen to), so a client cannot lean on an ascending sort.

Webhooks (platforms.md §3.1): POST {webhook_url}?eventtype={eventType}, thin body
    {"eventId", "eventCreated", "storeId", "entityId", "eventType", "data": {"orderId", ...statuses}},
    ``X-Ecwid-Webhook-Signature: base64(HMAC-SHA256(client_secret, f"{eventCreated}.{eventId}"))``.
    200/201/202/204/209 count as delivered. No automatic retries: tests redeliver through the control API
    (a redelivery is the same bytes: same eventId and eventCreated, as Ecwid's retries are).

Control API: see the package docstring.
"""

from __future__ import annotations

import hmac
import json
import random
import string
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pycountry
from fastapi import Body, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..standin_kit import FixedWindow, Outbox, OutgoingWebhook
from .webhooks import CONNECT_TIMEOUT_SECONDS, SUCCESS_CODES, TOTAL_TIMEOUT_SECONDS, new_webhook

PAYMENT_STATUSES = ("AWAITING_PAYMENT", "PAID", "CANCELLED", "REFUNDED", "PARTIALLY_REFUNDED", "INCOMPLETE",
                    "CUSTOM_PAYMENT_STATUS_1", "CUSTOM_PAYMENT_STATUS_2", "CUSTOM_PAYMENT_STATUS_3")
FULFILLMENT_STATUSES = ("AWAITING_PROCESSING", "PROCESSING", "SHIPPED", "DELIVERED", "WILL_NOT_DELIVER",
                        "RETURNED", "READY_FOR_PICKUP", "OUT_FOR_DELIVERY", "CUSTOM_FULFILLMENT_STATUS_1",
                        "CUSTOM_FULFILLMENT_STATUS_2", "CUSTOM_FULFILLMENT_STATUS_3")
# Writable string fields whose JSON type the stand-in checks; other fields of a PUT are stored as sent.
STRING_FIELDS = ("trackingNumber", "trackingUrl", "privateAdminNotes", "orderComments", "email",
                 "paymentMethod", "externalTransactionId", "externalOrderId")
MAX_LIMIT = 100
ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK"})
DEFAULT_REQUESTS_PER_MINUTE = 600


def ecwid_date(moment: datetime) -> str:
    """``2024-05-01 05:26:28 +0000``: how Ecwid writes createDate/updateDate."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S +0000")


def error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"errorMessage": message}, status_code=status, headers=dict(headers or {}))


class StoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store_id: str = Field(pattern=r"^[0-9]{1,12}$")
    secret_token: str = Field(min_length=1)
    client_secret: str = Field(min_length=1, description="the app's client_secret: the webhook signing key")
    currency: str = "USD"
    webhook_url: str | None = None
    store_name: str = "Stand-in store"

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if pycountry.currencies.get(alpha_3=value) is None:
            raise ValueError(f"unknown ISO 4217 currency code {value!r}")
        return value


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paymentStatus: str | None = None  # noqa: N815 (Ecwid's own field names)
    fulfillmentStatus: str | None = None  # noqa: N815

    @field_validator("paymentStatus")
    @classmethod
    def _payment(cls, value: str | None) -> str | None:
        if value is not None and value not in PAYMENT_STATUSES:
            raise ValueError(f"paymentStatus must be one of {', '.join(PAYMENT_STATUSES)}")
        return value

    @field_validator("fulfillmentStatus")
    @classmethod
    def _fulfillment(cls, value: str | None) -> str | None:
        if value is not None and value not in FULFILLMENT_STATUSES:
            raise ValueError(f"fulfillmentStatus must be one of {', '.join(FULFILLMENT_STATUSES)}")
        return value


class DropRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(default=1, ge=0, le=1000)


class FailureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: int = Field(default=500, description="500 (or any 5xx) or 429")
    seconds: float = Field(gt=0, le=3600)
    retry_after: int = Field(default=1, ge=0, le=3600, description="Retry-After of a forced 429")

    @field_validator("status")
    @classmethod
    def _status(cls, value: int) -> int:
        if value != 429 and not 500 <= value <= 599:
            raise ValueError("status must be 429 or a 5xx")
        return value


class RateLimitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requests: int = Field(ge=1, description="requests per window per token (Ecwid: 600)")
    window_seconds: float = Field(gt=0, description="window length (Ecwid: 60)")


@dataclass
class ForcedFailure:
    status: int
    until: float  # monotonic
    retry_after: int


@dataclass
class Store:
    config: StoreConfig
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # order id -> Ecwid order JSON
    writes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # order id -> PUT bodies received
    # order id -> every change of trackingNumber a PUT made: {"at", "previous", "trackingNumber", "trackingUrl"}
    tracking_history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    webhook_ids: list[str] = field(default_factory=list)
    failure: ForcedFailure | None = None
    next_number: int = 1
    api_calls: int = 0

    def as_json(self) -> dict[str, Any]:
        return {**self.config.model_dump(), "orders": len(self.orders), "webhooks": len(self.webhook_ids),
                "api_calls": self.api_calls,
                "forced_failure": ({"status": self.failure.status,
                                    "seconds_left": round(max(self.failure.until - time.monotonic(), 0), 3)}
                                   if self.failure else None)}


def _parse_time(value: str) -> int | None:
    """updatedFrom & co.: UNIX timestamp, ``yyyy-MM-dd HH:mm:ss Z``, ``yyyy-MM-dd HH:mm:ss``, ``yyyy-MM-dd``."""
    text = value.strip()
    if text.isdigit():
        return int(text)
    for fmt in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            moment = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())
    return None


class EcwidStandin:
    """All stores and their state; one instance per app."""

    def __init__(self, *, webhook_transport: httpx.AsyncBaseTransport | None = None,
                 webhook_timeout_seconds: float = TOTAL_TIMEOUT_SECONDS,
                 initial_stores: Sequence[StoreConfig] = (), requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE,
                 clock: Callable[[], datetime] | None = None):
        self.stores: dict[str, Store] = {}
        self.outbox = Outbox(success_codes=SUCCESS_CODES, timeout_seconds=webhook_timeout_seconds)
        self.window = FixedWindow(quota=requests_per_minute, window_seconds=60.0)
        self._transport = webhook_transport
        self._timeout = webhook_timeout_seconds
        self._client: httpx.AsyncClient | None = None
        self._initial = list(initial_stores)
        self._default_quota = requests_per_minute
        self.clock = clock or (lambda: datetime.now(UTC))
        self._internal_id = 100_000_000
        self.reset()

    # -- lifecycle -----------------------------------------------------------------------------------

    def reset(self) -> None:
        self.stores.clear()
        self.outbox.sent.clear()
        self.outbox.drop_next = 0
        self.window.configure(quota=self._default_quota, window_seconds=60.0)
        for config in self._initial:
            self.create_store(config)

    def webhook_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport, follow_redirects=False,  # Ecwid: a redirect is a failed delivery
                timeout=httpx.Timeout(self._timeout, connect=min(CONNECT_TIMEOUT_SECONDS, self._timeout)))
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- stores, orders, webhooks --------------------------------------------------------------------

    def create_store(self, config: StoreConfig) -> Store:
        store = Store(config=config)
        self.stores[config.store_id] = store
        return store

    def _new_order_id(self, store: Store) -> str:
        alphabet = string.ascii_uppercase + string.digits
        while True:
            candidate = "".join(random.choices(alphabet, k=5))
            if candidate not in store.orders:
                return candidate

    def seed_order(self, store: Store, order: dict[str, Any]) -> dict[str, Any]:
        """Store an order given in Ecwid's JSON; fill what Ecwid assigns when it is missing."""
        now = self.clock()
        self._internal_id += 1
        stored = dict(order)
        stored.setdefault("id", self._new_order_id(store))
        stored["id"] = str(stored["id"])
        stored.setdefault("internalId", self._internal_id)
        stored.setdefault("orderNumber", stored["internalId"])
        stored.setdefault("vendorOrderNumber", stored["id"])
        stored.setdefault("paymentStatus", "PAID")
        stored.setdefault("fulfillmentStatus", "AWAITING_PROCESSING")
        stored.setdefault("createDate", ecwid_date(now))
        stored.setdefault("createTimestamp", int(now.timestamp()))
        stored.setdefault("updateDate", stored["createDate"])
        stored.setdefault("updateTimestamp", stored["createTimestamp"])
        store.orders[stored["id"]] = stored
        store.writes.setdefault(stored["id"], [])
        return stored

    def touch(self, order: dict[str, Any]) -> None:
        now = self.clock()
        stamp = max(int(now.timestamp()), int(order.get("updateTimestamp") or 0))
        order["updateTimestamp"] = stamp
        order["updateDate"] = ecwid_date(datetime.fromtimestamp(stamp, UTC))

    async def send(self, store: Store, event_type: str, order: Mapping[str, Any],
                   data: dict[str, Any]) -> OutgoingWebhook | None:
        if not store.config.webhook_url:
            return None
        webhook = new_webhook(url=store.config.webhook_url, client_secret=store.config.client_secret,
                              store_id=int(store.config.store_id), event_type=event_type,
                              entity_id=order.get("internalId"), data={"orderId": order.get("id"), **data},
                              now=self.clock())
        store.webhook_ids.append(webhook.id)
        return await self.outbox.deliver(self.webhook_client(), webhook)

    # -- the REST API ----------------------------------------------------------------------------------

    def gate(self, store_id: str, request: Request) -> Store | JSONResponse:
        """Forced failures, the per-token window, then the token itself."""
        store = self.stores.get(store_id)
        if store is None:
            return error(404, f"Store {store_id} not found")
        store.api_calls += 1
        if store.failure is not None:
            if store.failure.until > time.monotonic():
                if store.failure.status == 429:
                    return error(429, "Too many requests",
                                 {"Retry-After": str(store.failure.retry_after)})
                return error(store.failure.status, "Internal server error")
            store.failure = None
        authorization = request.headers.get("Authorization") or ""
        scheme, _, value = authorization.partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else ""
        token = token or request.query_params.get("token", "")
        verdict = self.window.take(f"token:{token}")
        if not verdict.allowed:
            return error(429, "Too many requests", {"Retry-After": str(verdict.retry_after_seconds)})
        if not token or not hmac.compare_digest(token.encode(), store.config.secret_token.encode()):
            return error(403, "Invalid access token" if token else "Access token is required")
        return store

    def profile(self, store: Store) -> dict[str, Any]:
        return {
            "generalInfo": {"storeId": int(store.config.store_id),
                            "storeUrl": f"https://store{store.config.store_id}.company.site"},
            "account": {"accountName": "Stand-in merchant", "accountEmail": "merchant@example.com"},
            "settings": {"storeName": store.config.store_name, "closed": False},
            "formatsAndUnits": {"currency": store.config.currency, "currencyPrefix": "", "currencySuffix": "",
                                "currencyPrecision": 0 if store.config.currency in ZERO_DECIMAL else 2,
                                "currencyGroupSeparator": ",", "currencyDecimalSeparator": ".",
                                "weightUnit": "KILOGRAM", "dateFormat": "dd-MM-yyyy", "timeFormat": "HH:mm:ss",
                                "timezone": "UTC"},
        }

    def search(self, store: Store, params: Mapping[str, str]) -> JSONResponse:
        try:
            offset = int(params.get("offset", "0"))
            limit = int(params.get("limit", str(MAX_LIMIT)))
        except ValueError:
            return error(400, "Request parameters are malformed: offset and limit must be numbers")
        if offset < 0 or limit < 0:
            return error(400, "Request parameters are malformed: offset and limit must not be negative")
        if limit > MAX_LIMIT:
            return error(400, f"Request parameters are malformed: limit must not exceed {MAX_LIMIT}")
        bounds: dict[str, int] = {}
        for name in ("createdFrom", "createdTo", "updatedFrom", "updatedTo"):
            if name in params:
                parsed = _parse_time(params[name])
                if parsed is None:
                    return error(400, f"Wrong parameter '{name}' value: {params[name]!r}")
                bounds[name] = parsed
        filters: dict[str, set[str]] = {}
        for name, allowed in (("paymentStatus", PAYMENT_STATUSES), ("fulfillmentStatus", FULFILLMENT_STATUSES)):
            if name in params:
                wanted = {v.strip() for v in params[name].split(",") if v.strip()}
                if not wanted <= set(allowed):
                    return error(400, f"Wrong parameter '{name}' value: {params[name]!r}")
                filters[name] = wanted
        ids = {v.strip() for v in params["ids"].split(",") if v.strip()} if "ids" in params else None

        def matches(order: Mapping[str, Any]) -> bool:
            if ids is not None and order.get("id") not in ids:
                return False
            created, updated = int(order.get("createTimestamp") or 0), int(order.get("updateTimestamp") or 0)
            checks = (("createdFrom", created, 1), ("createdTo", created, -1),
                      ("updatedFrom", updated, 1), ("updatedTo", updated, -1))
            for name, value, direction in checks:
                if name in bounds and (value < bounds[name] if direction > 0 else value > bounds[name]):
                    return False
            payment = filters.get("paymentStatus")
            if payment is None:
                if order.get("paymentStatus") == "INCOMPLETE":  # unfinished orders only when asked for
                    return False
            elif order.get("paymentStatus") not in payment:
                return False
            fulfilment = filters.get("fulfillmentStatus")
            return fulfilment is None or order.get("fulfillmentStatus") in fulfilment

        found = [o for o in store.orders.values() if matches(o)]
        found.sort(key=lambda o: (int(o.get("createTimestamp") or 0), int(o.get("internalId") or 0)), reverse=True)
        page = found[offset:offset + limit]
        return JSONResponse({"total": len(found), "count": len(page), "offset": offset, "limit": limit,
                             "items": page})

    async def update(self, store: Store, order: dict[str, Any], request: Request) -> JSONResponse:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in ("application/json", "text/json"):
            return error(415, "Unsupported content-type: expected application/json or text/json")
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            return error(400, "Request body is not valid JSON")
        if not isinstance(body, dict):
            return error(400, "Request body must be a JSON object")
        for name in STRING_FIELDS:
            if name in body and body[name] is not None and not isinstance(body[name], str):
                return error(400, f"Wrong value of the field '{name}': expected a string")
        if "paymentStatus" in body and body["paymentStatus"] not in PAYMENT_STATUSES:
            return error(400, f"Wrong value of the field 'paymentStatus': {body['paymentStatus']!r}")
        if "fulfillmentStatus" in body and body["fulfillmentStatus"] not in FULFILLMENT_STATUSES:
            return error(400, f"Wrong value of the field 'fulfillmentStatus': {body['fulfillmentStatus']!r}")
        if "items" in body and not isinstance(body["items"], list):
            return error(400, "Wrong value of the field 'items': expected a list")
        old_payment, old_fulfilment = order.get("paymentStatus"), order.get("fulfillmentStatus")
        old_tracking = order.get("trackingNumber")
        for key in ("id", "internalId", "orderNumber", "createDate", "createTimestamp", "updateDate",
                    "updateTimestamp"):
            body.pop(key, None)  # not writable
        order.update(body)  # omitted fields are kept; items, when sent, replace the list (omitted ones go)
        self.touch(order)
        store.writes.setdefault(order["id"], []).append({"at": ecwid_date(self.clock()), "body": body})
        if "trackingNumber" in body and body["trackingNumber"] != old_tracking:
            store.tracking_history.setdefault(order["id"], []).append({
                "at": ecwid_date(self.clock()), "previous": old_tracking,
                "trackingNumber": order.get("trackingNumber"), "trackingUrl": order.get("trackingUrl")})
        # Every change made through the API is an order.updated too (platforms.md §3.1 "Loops").
        await self.send(store, "order.updated", order, {
            "oldPaymentStatus": old_payment, "newPaymentStatus": order.get("paymentStatus"),
            "oldFulfillmentStatus": old_fulfilment, "newFulfillmentStatus": order.get("fulfillmentStatus")})
        return JSONResponse({"updateCount": 1})


def _webhook_result(webhook: OutgoingWebhook | None) -> dict[str, Any] | None:
    return webhook.as_json() if webhook is not None else None


def create_app(*, webhook_transport: httpx.AsyncBaseTransport | None = None,
               webhook_timeout_seconds: float = TOTAL_TIMEOUT_SECONDS,
               stores: Sequence[StoreConfig | Mapping[str, Any]] | None = None,
               requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE,
               clock: Callable[[], datetime] | None = None) -> FastAPI:
    """Build the stand-in.

    ``webhook_transport``: httpx transport for webhook deliveries (tests pass ``httpx.ASGITransport(app=
    receiver)``); default: the real network. ``stores``: created at start and after every reset.
    ``requests_per_minute``: the per-token window (Ecwid: 600). ``clock``: wall clock for eventCreated and
    order dates (tests pass a fixed one to make stale deliveries).
    """
    standin = EcwidStandin(
        webhook_transport=webhook_transport, webhook_timeout_seconds=webhook_timeout_seconds,
        initial_stores=[s if isinstance(s, StoreConfig) else StoreConfig.model_validate(s) for s in stores or []],
        requests_per_minute=requests_per_minute, clock=clock)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await standin.aclose()

    app = FastAPI(title="Ecwid stand-in (Dropline test support)", lifespan=lifespan)
    app.state.standin = standin

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "stores": len(standin.stores)}

    # -- REST API v3 ---------------------------------------------------------------------------------

    @app.get("/api/v3/{store_id}/profile")
    async def get_profile(store_id: str, request: Request) -> JSONResponse:
        store = standin.gate(store_id, request)
        if isinstance(store, JSONResponse):
            return store
        return JSONResponse(standin.profile(store))

    @app.get("/api/v3/{store_id}/orders")
    async def search_orders(store_id: str, request: Request) -> JSONResponse:
        store = standin.gate(store_id, request)
        if isinstance(store, JSONResponse):
            return store
        return standin.search(store, request.query_params)

    @app.get("/api/v3/{store_id}/orders/{order_id}")
    async def get_order(store_id: str, order_id: str, request: Request) -> JSONResponse:
        store = standin.gate(store_id, request)
        if isinstance(store, JSONResponse):
            return store
        order = store.orders.get(order_id)
        if order is None:
            return error(404, f"Order #{order_id} not found")
        return JSONResponse(order)

    @app.put("/api/v3/{store_id}/orders/{order_id}")
    async def update_order(store_id: str, order_id: str, request: Request) -> JSONResponse:
        store = standin.gate(store_id, request)
        if isinstance(store, JSONResponse):
            return store
        order = store.orders.get(order_id)
        if order is None:
            return error(404, f"Order #{order_id} not found")
        return await standin.update(store, order, request)

    # -- control API ---------------------------------------------------------------------------------

    def control_store(store_id: str) -> Store | JSONResponse:
        store = standin.stores.get(store_id)
        return store if store is not None else JSONResponse({"error": f"unknown store {store_id!r}"}, 404)

    def control_order(store: Store, order_id: str) -> dict[str, Any] | JSONResponse:
        order = store.orders.get(order_id)
        return order if order is not None else JSONResponse({"error": f"unknown order {order_id!r}"}, 404)

    @app.post("/_control/stores")
    async def create_store(config: StoreConfig) -> JSONResponse:
        existed = config.store_id in standin.stores
        return JSONResponse(standin.create_store(config).as_json(), status_code=200 if existed else 201)

    @app.get("/_control/stores")
    async def list_stores() -> dict[str, Any]:
        return {"stores": [s.as_json() for s in standin.stores.values()]}

    @app.get("/_control/stores/{store_id}")
    async def get_store(store_id: str) -> Any:
        store = control_store(store_id)
        return store if isinstance(store, JSONResponse) else store.as_json()

    @app.post("/_control/stores/{store_id}/orders")
    async def seed_order(store_id: str, order: Any = Body(...), webhook: bool = True) -> JSONResponse:  # noqa: B008
        store = control_store(store_id)
        if isinstance(store, JSONResponse):
            return store
        if not isinstance(order, dict):
            return JSONResponse({"error": "the order must be a JSON object (Ecwid's order JSON)"}, 422)
        if "items" in order and not isinstance(order["items"], list):
            return JSONResponse({"error": "'items' must be a list"}, 422)
        if order.get("id") is not None and str(order["id"]) in store.orders:
            return JSONResponse({"error": f"order {order['id']!r} exists"}, 409)
        stored = standin.seed_order(store, order)
        sent = None
        if webhook:
            sent = await standin.send(store, "order.created", stored, {
                "newPaymentStatus": stored.get("paymentStatus"),
                "newFulfillmentStatus": stored.get("fulfillmentStatus")})
        return JSONResponse({"order": stored, "webhook": _webhook_result(sent)}, status_code=201)

    @app.get("/_control/stores/{store_id}/orders")
    async def list_seeded(store_id: str) -> Any:
        store = control_store(store_id)
        if isinstance(store, JSONResponse):
            return store
        return {"orders": list(store.orders.values())}

    @app.get("/_control/stores/{store_id}/orders/{order_id}")
    async def get_seeded(store_id: str, order_id: str) -> Any:
        store = control_store(store_id)
        if isinstance(store, JSONResponse):
            return store
        order = control_order(store, order_id)
        if isinstance(order, JSONResponse):
            return order
        return {"order": order, "writes": store.writes.get(order_id, []),
                "tracking_number": order.get("trackingNumber"),
                "tracking_history": store.tracking_history.get(order_id, [])}

    @app.post("/_control/stores/{store_id}/orders/{order_id}/status")
    async def change_status(store_id: str, order_id: str, change: StatusChange) -> Any:
        store = control_store(store_id)
        if isinstance(store, JSONResponse):
            return store
        order = control_order(store, order_id)
        if isinstance(order, JSONResponse):
            return order
        old_payment, old_fulfilment = order.get("paymentStatus"), order.get("fulfillmentStatus")
        if change.paymentStatus is not None:
            order["paymentStatus"] = change.paymentStatus
        if change.fulfillmentStatus is not None:
            order["fulfillmentStatus"] = change.fulfillmentStatus
        standin.touch(order)
        sent = await standin.send(store, "order.updated", order, {
            "oldPaymentStatus": old_payment, "newPaymentStatus": order.get("paymentStatus"),
            "oldFulfillmentStatus": old_fulfilment, "newFulfillmentStatus": order.get("fulfillmentStatus")})
        return {"order": order, "webhook": _webhook_result(sent)}

    @app.delete("/_control/stores/{store_id}/orders/{order_id}")
    async def delete_order(store_id: str, order_id: str) -> Any:
        store = control_store(store_id)
        if isinstance(store, JSONResponse):
            return store
        order = control_order(store, order_id)
        if isinstance(order, JSONResponse):
            return order
        del store.orders[order_id]
        sent = await standin.send(store, "order.deleted", order, {})
        return {"deleted": order_id, "webhook": _webhook_result(sent)}

    @app.post("/_control/stores/{store_id}/failures")
    async def force_failures(store_id: str, failure: FailureRequest) -> Any:
        store = control_store(store_id)
        if isinstance(store, JSONResponse):
            return store
        store.failure = ForcedFailure(status=failure.status, until=time.monotonic() + failure.seconds,
                                      retry_after=failure.retry_after)
        return store.as_json()

    @app.delete("/_control/stores/{store_id}/failures")
    async def clear_failures(store_id: str) -> Any:
        store = control_store(store_id)
        if isinstance(store, JSONResponse):
            return store
        store.failure = None
        return store.as_json()

    @app.get("/_control/webhooks")
    async def list_webhooks(store_id: str | None = None) -> dict[str, Any]:
        wanted = set(standin.stores[store_id].webhook_ids) if store_id in standin.stores else None
        return {"drop_next": standin.outbox.drop_next,
                "webhooks": [w.as_json() for w in standin.outbox.sent if wanted is None or w.id in wanted]}

    @app.post("/_control/webhooks/drop")
    async def drop_webhooks(drop: DropRequest) -> dict[str, Any]:
        standin.outbox.drop_next = drop.count
        return {"drop_next": standin.outbox.drop_next}

    @app.post("/_control/webhooks/{webhook_id}/redeliver")
    async def redeliver(webhook_id: str) -> Any:
        webhook = standin.outbox.find(webhook_id)
        if webhook is None:
            return JSONResponse({"error": f"unknown webhook {webhook_id!r}"}, 404)
        await standin.outbox.deliver(standin.webhook_client(), webhook)
        attempt = webhook.attempts[-1]
        return {**webhook.as_json(), "ok": attempt.ok(standin.outbox.success_codes)}

    @app.post("/_control/rate-limit")
    async def rate_limit(config: RateLimitRequest) -> dict[str, Any]:
        standin.window.configure(quota=config.requests, window_seconds=config.window_seconds)
        return {"requests": standin.window.quota, "window_seconds": standin.window.window_seconds}

    @app.post("/_control/reset")
    async def reset() -> dict[str, Any]:
        standin.reset()
        return {"status": "reset", "stores": list(standin.stores)}

    return app


__all__ = ["EcwidStandin", "StoreConfig", "create_app", "ecwid_date"]
