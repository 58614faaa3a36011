"""The Shopify stand-in as a FastAPI app: the Admin GraphQL and REST order endpoints of many shops, plus a
control API.

Admin API:  POST /shops/{shop_domain}/admin/api/{version}/graphql.json
            GET  /shops/{shop_domain}/admin/api/{version}/orders/{order_id}.json   (REST, see rest.py)
            GET  /shops/{shop_domain}/admin/api/{version}/orders.json              (REST, see rest.py)
            (Dropline's Shopify base URL for a shop is http://HOST:PORT/shops/{shop_domain}; against real
            Shopify it is https://{shop_domain})
Control:    /_control/... (test and demo only; the package README lists the older endpoints)

Control endpoints added with the REST order endpoints (shop = its domain, order_id = the numeric id):

``POST /_control/shops/{shop}/drop-webhooks`` ``{"count": N}`` (0..1000) → 200 ``{"drop_next_webhooks": N}``
    The next N orders/* webhooks of the shop (create, updated, paid, cancelled) are recorded with
    ``"dropped": true`` in ``webhook_deliveries`` but never sent: Shopify "lost" them, so reconciliation
    must find the orders through ``orders.json``. Sets the counter (0 cancels). ``redeliver`` still sends
    a dropped delivery.
``POST /_control/shops/{shop}/orders/{order_id}/shipping-address`` body: a full address as in the order
    spec (``address1``, ``city``, ``country_code`` required) → 200 ``{"order": <REST order now>,
    "deliveries": [<delivery result of orders/updated>]}``.
``POST /_control/shops/{shop}/orders/{order_id}/mark-paid`` (no body) → 200 ``{"order", "deliveries":
    [orders/paid, orders/updated]}``: ``financial_status`` "paid", ``total_outstanding`` "0.00". Only from
    pending / authorized / partially_paid; otherwise 409 ``{"detail": {"error": ...}}``.
``POST /_control/shops/{shop}/orders/{order_id}/cancel`` optional ``{"reason": "customer" | "fraud" |
    "inventory" | "declined" | "other" (default "other"), "refund": false}`` → 200 ``{"order", "deliveries":
    [orders/cancelled, orders/updated]}``: ``cancelled_at`` (= the new ``updated_at``), ``cancel_reason``,
    ``financial_status`` "voided" for a pending/authorized order, "refunded" for a paid one with
    ``refund: true`` (else unchanged); its open fulfillment orders are closed. 409 when already cancelled
    or when the order has fulfillments (REST Order docs: such orders cannot be cancelled).
``POST /_control/shops/{shop}/rest-rate-limit`` any of ``{"bucket_size": 40, "leak_rate": 2.0, "used": 0}``
    → 200 ``{"bucket_size", "leak_rate", "used"}`` (the REST bucket now; ``GET /_control/shops/{shop}``
    shows it as ``rest_rate_limit``). ``ShopConfig`` takes ``rest_bucket_size`` / ``rest_leak_rate`` too.
``GET /_control/shops/{shop}/rest-log`` → ``{"requests": [{"at", "method", "path", "query",
    "status_code"}]}`` (every REST request, 401/429 included).
``POST /_control/shops/{shop}/fulfillment-service`` ``{"name": "Dropline"}`` (or ``null``) → 200 the shop: its
    location becomes a fulfillment service's location (``ShopConfig.fulfillment_service`` does the same at
    creation); fulfillment orders assigned to it (existing ones too) can carry fulfillment requests.
``POST /_control/shops/{shop}/orders/{order_id}/request-fulfillment`` optional ``{"message": "Fragile",
    "fulfillment_order_id": <numeric or gid>, "notify_customer": true}`` → 200 ``{"fulfillment_order",
    "delivery"}``: the merchant presses Request fulfillment. The order's (or the given) OPEN fulfillment order
    at a fulfillment service location with request status UNSUBMITTED/REJECTED gets SUBMITTED and a
    merchant request, and ``fulfillment_orders/fulfillment_request_submitted`` is sent, signed like every
    delivery, in Shopify's documented shape (``original_fulfillment_order``, ``submitted_fulfillment_order``
    with gid ids and lower-case statuses, ``fulfillment_order_merchant_request`` with ``id`` and
    ``message``; no order id). 409 otherwise (not a fulfillment service location, not OPEN, already
    submitted/accepted). GraphQL ``fulfillmentOrderAcceptFulfillmentRequest(id:, message:)`` then moves it
    to ACCEPTED / IN_PROGRESS (userErrors for any other request status); the order's
    ``displayFulfillmentStatus`` is IN_PROGRESS until something is fulfilled; ``fulfillmentCreate`` works on
    the IN_PROGRESS fulfillment order as on an OPEN one. Neither moves the order's ``updated_at`` nor sends
    an orders/* webhook.
``POST /_control/shops/{shop}/orders/{order_id}/redeliver`` now also takes ``"topic"``: redeliver the
    latest delivery of that topic (default: the latest delivery of any topic).

Every delivery result is ``{"webhook_id", "event_id", "topic", "dropped", "status_code", "response_body",
"error", "ok", "attempt"}``. Each change moves ``updated_at`` (second precision, at least one second past the
previous value) and sends webhooks signed exactly like ``orders/create`` (webhooks.py), carrying the REST
order as it stands after the change. Seeding an order with ``"financial_status": "pending"`` (or
"authorized") sends only ``orders/create``; creating an order sends nothing else either (real Shopify may
also send orders/updated / orders/paid at creation). Fulfilment through GraphQL moves ``updated_at`` but
sends no webhook.
"""

from __future__ import annotations

import asyncio
import copy
import hmac
import json
import math
import re
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import httpx
import pycountry
from fastapi import Body, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from graphql import (
    GraphQLError,
    execute_sync,
    get_operation_ast,
    get_variable_values,
    parse,
    validate,
)
from graphql.language import FragmentDefinitionNode
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .._server import iso_utc
from .cost import LeakyBucket, QueryCost
from .fulfillment import (
    RequestRefused,
    fulfillment_json,
    fulfillment_order_json,
    fulfillment_request_submitted_payload,
    parse_gid,
    submit_fulfillment_request,
)
from .models import (
    DEFAULT_API_VERSION,
    REST_BUCKET_SIZE,
    REST_LEAK_PER_SECOND,
    Location,
    Order,
    Shop,
    new_fulfillment_order,
)
from .orders import DEFAULT_TIMEZONE, AddressSpec, IdAllocator, OrderSpec, address_json, build_order_payload
from .rest import (
    NOT_FOUND,
    PAGE_INFO_COMPANIONS,
    OrderFilter,
    RestError,
    decode_page_info,
    link_header,
    only_fields,
    paginate,
    parse_fields,
    parse_limit,
)
from .rest import retry_after as retry_after_value
from .schema import Context, build_admin_schema, default_field_resolver
from .webhooks import (
    CONNECT_TIMEOUT_SECONDS,
    TOTAL_TIMEOUT_SECONDS,
    DeliveryAttempt,
    WebhookDelivery,
    new_delivery,
    send,
)

# Shopify's 401 body for a missing or wrong X-Shopify-Access-Token.
INVALID_TOKEN_BODY = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
# Stable versions are quarterly (YYYY-01/04/07/10) plus "unstable"; anything else is not a route.
API_VERSION = re.compile(r"^(\d{4}-(01|04|07|10)|unstable)$")
SHOP_DOMAIN = r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$"
RATE_LIMIT_DOCS = "https://shopify.dev/api/usage/rate-limits"


class ShopConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shop_domain: str = Field(pattern=SHOP_DOMAIN)
    access_token: str = Field(min_length=1)
    webhook_secret: str = Field(min_length=1)
    webhook_url: str | None = None
    api_version: str = Field(default=DEFAULT_API_VERSION, pattern=API_VERSION.pattern)
    timezone: str = DEFAULT_TIMEZONE
    currency: str = "USD"
    # GraphQL bucket: platforms.md §1.4 (2000 points, 100 points/s restore by default here).
    maximum_available: float = Field(default=2000.0, gt=0)
    restore_rate: float = Field(default=100.0, ge=0)
    throttled_status_code: int = Field(default=200, ge=200, le=599)
    max_query_cost: int = Field(default=1000, gt=0)
    # REST bucket: platforms.md §1.4 (40 requests, 2 requests/s on Standard).
    rest_bucket_size: int = Field(default=REST_BUCKET_SIZE, gt=0)
    rest_leak_rate: float = Field(default=REST_LEAK_PER_SECOND, ge=0)
    # The shop's location belongs to this fulfillment service (e.g. "Dropline"): "Request fulfillment" flow.
    fulfillment_service: str | None = None

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if pycountry.currencies.get(alpha_3=value) is None:
            raise ValueError(f"unknown ISO 4217 currency code {value!r}")
        return value


class RateLimitConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    maximum_available: float | None = Field(default=None, gt=0)
    restore_rate: float | None = Field(default=None, ge=0)
    currently_available: float | None = Field(default=None, ge=0)
    throttled_status_code: int | None = Field(default=None, ge=200, le=599)
    max_query_cost: int | None = Field(default=None, gt=0)


class HoldRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(gt=0, le=3600)
    count: int = Field(default=1, ge=1, le=100)


class RedeliverRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_webhook_id: bool = False
    topic: str | None = None  # the latest delivery of this topic (default: the latest of any topic)


class RestRateLimitConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bucket_size: int | None = Field(default=None, gt=0)
    leak_rate: float | None = Field(default=None, ge=0)
    used: float | None = Field(default=None, ge=0)


class DropWebhooksRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(ge=0, le=1000)


class FulfillmentServiceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=255)


class FulfillmentRequestControl(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str | None = Field(default=None, max_length=5000)
    fulfillment_order_id: str | int | None = None  # default: the order's requestable fulfillment order
    notify_customer: bool = True


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # REST Order cancel: reason is one of customer, fraud, inventory, declined, other.
    reason: Literal["customer", "fraud", "inventory", "declined", "other"] = "other"
    refund: bool = False


# Payment states a merchant can capture / mark as paid from.
PAYABLE_STATUSES = frozenset({"pending", "authorized", "partially_paid"})


def _delivery_result(delivery: WebhookDelivery | None, attempt: DeliveryAttempt | None,
                     error: str | None = None) -> dict[str, Any]:
    return {
        "webhook_id": delivery.webhook_id if delivery else None,
        "event_id": delivery.event_id if delivery else None,
        "topic": delivery.topic if delivery else None,
        "dropped": bool(delivery and delivery.dropped),
        "status_code": attempt.status_code if attempt else None,
        "response_body": attempt.response_body if attempt else None,
        "error": attempt.error if attempt else error,
        "ok": bool(attempt and attempt.ok),
        "attempt": len(delivery.attempts) if delivery else 0,
    }


class ShopifyStandin:
    """All shops and their state; one instance per app."""

    def __init__(
        self,
        *,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
        webhook_timeout_seconds: float = TOTAL_TIMEOUT_SECONDS,
        initial_shops: list[ShopConfig] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.schema = build_admin_schema()
        self.new_id = IdAllocator()
        self.shops: dict[str, Shop] = {}
        self._transport = webhook_transport
        self._timeout = webhook_timeout_seconds
        self._client: httpx.AsyncClient | None = None
        self._initial = list(initial_shops or [])
        self._clock = clock or (lambda: datetime.now(UTC))
        self.reset()

    # -- lifecycle -----------------------------------------------------------------------------------

    def reset(self) -> None:
        self.shops.clear()
        for config in self._initial:
            self.create_shop(config)

    def webhook_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport,
                timeout=httpx.Timeout(self._timeout, connect=min(CONNECT_TIMEOUT_SECONDS, self._timeout)),
                follow_redirects=False,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- shops and orders ----------------------------------------------------------------------------

    def create_shop(self, config: ShopConfig) -> Shop:
        try:
            ZoneInfo(config.timezone)
        except (KeyError, ValueError) as exc:
            raise HTTPException(422, {"error": f"unknown time zone {config.timezone!r}"}) from exc
        shop = Shop(
            domain=config.shop_domain,
            access_token=config.access_token,
            webhook_secret=config.webhook_secret,
            webhook_url=config.webhook_url,
            api_version=config.api_version,
            timezone=config.timezone,
            currency=config.currency,
            location=Location(id=self.new_id(), name=config.fulfillment_service or "Shop location",
                              fulfillment_service=config.fulfillment_service),
            bucket=LeakyBucket(maximum_available=config.maximum_available, restore_rate=config.restore_rate),
            throttled_status_code=config.throttled_status_code,
            max_query_cost=config.max_query_cost,
            rest_bucket=LeakyBucket(maximum_available=config.rest_bucket_size, restore_rate=config.rest_leak_rate),
        )
        self.shops[shop.domain] = shop
        return shop

    def shop(self, domain: str) -> Shop:
        shop = self.shops.get(domain)
        if shop is None:
            raise HTTPException(404, {"error": f"unknown shop {domain!r}"})
        return shop

    def order(self, shop: Shop, order_id: int) -> Order:
        order = shop.orders.get(order_id)
        if order is None:
            raise HTTPException(404, {"error": f"unknown order {order_id} in {shop.domain}"})
        return order

    def create_order(self, shop: Shop, spec: OrderSpec) -> Order:
        now = self._clock()
        payload = build_order_payload(
            spec, shop_domain=shop.domain, order_number=shop.next_order_number, new_id=self.new_id,
            now=now, timezone=shop.timezone,
        )
        shop.next_order_number += 1
        created = datetime.fromisoformat(payload["created_at"])
        order = Order(id=payload["id"], payload=payload, created_at=created, updated_at=created,
                      timezone=shop.timezone, created_payload=copy.deepcopy(payload))
        order.fulfillment_orders.append(new_fulfillment_order(order, shop.location, self.new_id))
        shop.orders[order.id] = order
        return order

    async def deliver(self, shop: Shop, order: Order, *, again: bool = False,
                      new_webhook_id: bool = False, topic: str | None = None) -> dict[str, Any]:
        """First delivery of ``orders/create`` or (``again``) a redelivery of the latest delivery (of
        ``topic`` when given). An order never delivered gets its first ``orders/create`` here."""
        if again:
            previous = next((d for d in reversed(order.deliveries) if topic is None or d.topic == topic), None)
            if previous is not None:
                delivery = previous.with_new_webhook_id() if new_webhook_id else previous
                if new_webhook_id:
                    order.deliveries.append(delivery)
                attempt = await send(self.webhook_client(), delivery, total_timeout=self._timeout)
                return _delivery_result(delivery, attempt)
            if topic not in (None, "orders/create"):
                raise HTTPException(404, {"error": f"order {order.id} has no {topic} delivery to redeliver"})
        return await self.emit(shop, order, "orders/create", order.created_payload or order.payload)

    async def emit(self, shop: Shop, order: Order, topic: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A new event: one signed delivery of ``payload`` (bytes fixed now), sent unless it is dropped."""
        if not shop.webhook_url:
            return _delivery_result(None, None, error="the shop has no webhook_url")
        delivery = new_delivery(
            payload=payload, secret=shop.webhook_secret, topic=topic, url=shop.webhook_url,
            shop_domain=shop.domain, api_version=shop.api_version, now=self._clock(),
        )
        order.deliveries.append(delivery)
        if shop.drop_next_webhooks > 0:
            shop.drop_next_webhooks -= 1
            delivery.dropped = True
            return _delivery_result(delivery, None)
        attempt = await send(self.webhook_client(), delivery, total_timeout=self._timeout)
        return _delivery_result(delivery, attempt)

    async def emit_changed(self, shop: Shop, order: Order, *topics: str) -> dict[str, Any]:
        """After a change: each topic carries the REST order as it stands now."""
        deliveries = [await self.emit(shop, order, topic, order.current_rest()) for topic in topics]
        return {"order": order.current_rest(), "deliveries": deliveries}

    # -- order changes (control API) -----------------------------------------------------------------

    async def change_shipping_address(self, shop: Shop, order: Order, address: AddressSpec) -> dict[str, Any]:
        order.payload["shipping_address"] = address_json(address)
        order.touch(self._clock())
        return await self.emit_changed(shop, order, "orders/updated")

    async def mark_paid(self, shop: Shop, order: Order) -> dict[str, Any]:
        status = order.payload.get("financial_status")
        if order.is_cancelled:
            raise HTTPException(409, {"error": f"order {order.id} is cancelled"})
        if status not in PAYABLE_STATUSES:
            raise HTTPException(409, {"error": f"order {order.id} is {status}, not pending/authorized/partially_paid"})
        order.payload["financial_status"] = "paid"
        order.payload["total_outstanding"] = "0.00"
        order.touch(self._clock())
        return await self.emit_changed(shop, order, "orders/paid", "orders/updated")

    async def cancel(self, shop: Shop, order: Order, request: CancelRequest) -> dict[str, Any]:
        if order.is_cancelled:
            raise HTTPException(409, {"error": f"order {order.id} is cancelled already"})
        if any(f.status not in ("CANCELLED", "ERROR", "FAILURE") for f in order.fulfillments):
            raise HTTPException(409, {"error": f"order {order.id} has fulfillments and cannot be cancelled"})
        order.touch(self._clock())
        payload = order.payload
        payload["cancelled_at"] = order.rest_time(order.updated_at)
        payload["cancel_reason"] = request.reason
        status = payload.get("financial_status")
        if status in ("pending", "authorized"):
            payload["financial_status"] = "voided"
        elif request.refund and status in ("paid", "partially_paid"):
            payload["financial_status"] = "refunded"
            payload["total_outstanding"] = "0.00"
        for fo in order.fulfillment_orders:
            if fo.status in ("OPEN", "IN_PROGRESS"):
                fo.status = "CLOSED"
                fo.updated_at = order.updated_at
        return await self.emit_changed(shop, order, "orders/cancelled", "orders/updated")

    async def request_fulfillment(self, shop: Shop, order: Order, request: FulfillmentRequestControl) -> dict[str, Any]:
        """The merchant presses Request fulfillment (see the module docstring)."""
        if request.fulfillment_order_id is not None:
            raw = str(request.fulfillment_order_id)
            fo_id = parse_gid(raw, "FulfillmentOrder") if raw.startswith("gid://") else (int(raw) if raw.isdigit() else None)
            fo = next((f for f in order.fulfillment_orders if f.id == fo_id), None)
            if fo is None:
                raise HTTPException(404, {"error": f"order {order.id} has no fulfillment order {raw}"})
        else:
            fo = next((f for f in order.fulfillment_orders if f.can_request_fulfillment), None) or \
                (order.fulfillment_orders[0] if order.fulfillment_orders else None)
            if fo is None:
                raise HTTPException(409, {"error": f"order {order.id} has no fulfillment order"})
        before = (fo.status, fo.request_status)
        try:
            merchant_request = submit_fulfillment_request(fo, request.message, new_id=self.new_id, now=self._clock(),
                                                          notify_customer=request.notify_customer)
        except RequestRefused as exc:
            raise HTTPException(409, {"error": str(exc)}) from None
        payload = fulfillment_request_submitted_payload(fo, before, merchant_request)
        delivery = await self.emit(shop, order, "fulfillment_orders/fulfillment_request_submitted", payload)
        return {"fulfillment_order": fulfillment_order_json(order, fo), "delivery": delivery}

    # -- Admin REST (orders) -------------------------------------------------------------------------

    async def rest(self, shop_domain: str, version: str, request: Request, order_id: str | None) -> JSONResponse:
        shop = self.shops.get(shop_domain)
        if shop is None or not API_VERSION.match(version):
            return JSONResponse(NOT_FOUND, status_code=404)
        entry: dict[str, Any] = {"at": iso_utc(self._clock()), "method": request.method,
                                 "path": request.url.path, "query": dict(request.query_params)}
        shop.rest_log.append(entry)
        base_headers = {"X-Shopify-API-Version": version, "X-Request-Id": str(uuid.uuid4())}

        def reply(body: Any, status: int = 200, extra: dict[str, str] | None = None) -> JSONResponse:
            entry["status_code"] = status
            size = int(shop.rest_bucket.maximum_available)
            headers = {**base_headers, "X-Shopify-Shop-Api-Call-Limit": f"{min(shop.rest_used(), size)}/{size}",
                       **(extra or {})}
            return JSONResponse(body, status_code=status, headers=headers)

        token = request.headers.get("X-Shopify-Access-Token") or ""
        if not hmac.compare_digest(token.encode(), shop.access_token.encode()):
            return reply(INVALID_TOKEN_BODY, 401)
        if not shop.rest_bucket.try_take(1):
            rate = shop.rest_bucket.restore_rate
            return reply({"errors": f"Exceeded {rate:g} calls per second for api client. Reduce request rates "
                                    "to resume uninterrupted service."}, 429,
                         {"Retry-After": retry_after_value(shop.rest_bucket.seconds_until(1))})
        params = request.query_params
        try:
            fields = parse_fields(params)
            if order_id is not None:
                order = shop.orders.get(int(order_id)) if order_id.isdigit() else None
                if order is None:
                    return reply(NOT_FOUND, 404)
                return reply({"order": only_fields(order.current_rest(), fields)})
            limit = parse_limit(params)
            after = before = None
            if params.get("page_info"):
                extra = sorted(set(params) - PAGE_INFO_COMPANIONS)
                if extra:
                    return reply({"errors": {"page_info": "cannot be combined with "
                                                          f"{', '.join(extra)}; only limit and fields"}}, 400)
                flt, after, before = decode_page_info(params["page_info"])
            else:
                flt = OrderFilter.parse(params, shop.timezone)
        except RestError as error:
            return reply(error.body, error.status)
        page = paginate(flt, flt.select(list(shop.orders.values())), limit, after=after, before=before)
        link = link_header(str(request.url.replace(query="")).rstrip("?"), page, limit, fields)
        return reply({"orders": [only_fields(o.current_rest(), fields) for o in page.orders]},
                     extra={"Link": link} if link else None)

    def order_view(self, order: Order) -> dict[str, Any]:
        return {
            "order": order.current_rest(),
            "display_fulfillment_status": order.display_fulfillment_status,
            "fulfillment_orders": [fulfillment_order_json(order, fo) for fo in order.fulfillment_orders],
            "fulfillments": [fulfillment_json(order, f) for f in order.fulfillments],
            "webhook_deliveries": [d.as_json() for d in order.deliveries],
        }

    # -- Admin GraphQL -------------------------------------------------------------------------------

    async def graphql(self, shop_domain: str, version: str, request: Request) -> JSONResponse:
        shop = self.shops.get(shop_domain)
        if shop is None or not API_VERSION.match(version):
            return JSONResponse({"errors": "Not Found"}, status_code=404)
        entry: dict[str, Any] = {
            "at": iso_utc(self._clock()),
            "api_version": version,
            "operation_name": None,
            "query": None,
            "variables": None,
        }
        shop.graphql_log.append(entry)
        headers = {"X-Shopify-API-Version": version, "X-Request-Id": str(uuid.uuid4())}

        def reply(body: Any, status: int = 200, extra: dict[str, str] | None = None) -> JSONResponse:
            entry["status_code"] = status
            entry["response"] = body
            return JSONResponse(body, status_code=status, headers={**headers, **(extra or {})})

        token = request.headers.get("X-Shopify-Access-Token") or ""
        if not hmac.compare_digest(token.encode(), shop.access_token.encode()):
            return reply(INVALID_TOKEN_BODY, 401)

        raw = await request.body()
        query, variables, operation_name = self._read_request(request, raw)
        entry.update(query=query, variables=variables, operation_name=operation_name)
        if query is None:
            return reply({"errors": {"query": "Required parameter missing or invalid"}}, 400)

        try:
            document = parse(query)
        except GraphQLError as error:
            return reply({"errors": [error.formatted]})
        validation_errors = validate(self.schema, document)
        if validation_errors:
            return reply({"errors": [e.formatted for e in validation_errors]})
        operation = get_operation_ast(document, operation_name)
        if operation is None:  # let graphql-core word the "which operation?" error
            result = execute_sync(self.schema, document, operation_name=operation_name)
            return reply(result.formatted)
        coerced = get_variable_values(self.schema, operation.variable_definitions or (), variables or {})
        if isinstance(coerced, list):
            return reply({"errors": [e.formatted for e in coerced]})

        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        cost = QueryCost(self.schema, fragments, coerced)
        requested = cost.requested(operation)
        entry["requested_cost"] = requested

        if requested > shop.max_query_cost:  # platforms.md §1.4: single-query ceiling (UNCONFIRMED)
            return reply(self._max_cost_body(shop, requested))
        if not shop.bucket.try_take(requested):
            entry["throttled"] = True
            retry = shop.bucket.seconds_until(requested)
            extra = ({"Retry-After": str(max(1, math.ceil(retry)) if math.isfinite(retry) else 60)}
                     if shop.throttled_status_code == 429 else None)
            return reply(self._throttled_body(shop, requested), shop.throttled_status_code, extra)

        context = Context(shop=shop, new_id=self.new_id, now=self._clock)
        result = execute_sync(
            self.schema, document, context_value=context, variable_values=variables,
            operation_name=operation_name, field_resolver=default_field_resolver,
        )
        actual = cost.actual(operation, result.data)
        shop.bucket.refund(requested - actual)  # the bucket is refunded what the query did not use
        entry["actual_cost"] = actual
        body: dict[str, Any] = dict(result.formatted)
        extensions: dict[str, Any] = {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": actual,
                "throttleStatus": shop.bucket.throttle_status(),
            }
        }
        if context.search_warnings:
            extensions["search"] = context.search_warnings
        body["extensions"] = {**(body.get("extensions") or {}), **extensions}

        if "fulfillmentCreate" in context.mutated and shop.held_mutations:
            # Crash tests: the fulfillment is already applied; the caller waits (and gets killed).
            await asyncio.sleep(shop.held_mutations.pop(0))
        return reply(body)

    @staticmethod
    def _read_request(request: Request, raw: bytes) -> tuple[str | None, dict[str, Any] | None, str | None]:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "application/graphql":
            text = raw.decode("utf-8", errors="replace")
            return (text or None), None, None
        try:
            data = json.loads(raw or b"null")
        except ValueError:
            return None, None, None
        if not isinstance(data, dict) or not isinstance(data.get("query"), str) or not data["query"].strip():
            return None, None, None
        variables = data.get("variables")
        if variables is not None and not isinstance(variables, dict):
            return None, None, None
        name = data.get("operationName")
        return data["query"], variables, name if isinstance(name, str) else None

    @staticmethod
    def _throttled_body(shop: Shop, requested: int) -> dict[str, Any]:
        # platforms.md §1.4 "Throttled GraphQL" shape; actualQueryCost is null because nothing ran.
        return {
            "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": RATE_LIMIT_DOCS}}],
            "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": None,
                                    "throttleStatus": shop.bucket.throttle_status()}},
        }

    @staticmethod
    def _max_cost_body(shop: Shop, requested: int) -> dict[str, Any]:
        return {
            "errors": [{
                "message": f"Query cost is {requested}, which exceeds the single query max cost limit "
                           f"({shop.max_query_cost}).",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": shop.max_query_cost,
                               "documentation": RATE_LIMIT_DOCS},
            }],
            "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": None,
                                    "throttleStatus": shop.bucket.throttle_status()}},
        }


def create_app(
    *,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
    webhook_timeout_seconds: float = TOTAL_TIMEOUT_SECONDS,
    shops: Sequence[ShopConfig | Mapping[str, Any]] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """Build the stand-in.

    ``webhook_transport``: httpx transport for webhook deliveries (tests pass ``httpx.ASGITransport(app=
    receiver)``); default: real network. ``webhook_timeout_seconds``: total delivery timeout (Shopify: 5 s).
    ``shops``: shops to create at start and again after every ``POST /_control/reset``.
    ``clock``: the wall clock of order timestamps (``created_at``, ``updated_at``, ``cancelled_at``); tests
    pass a settable one to place orders in time. Rate-limit buckets always use the monotonic clock.
    """
    standin = ShopifyStandin(
        webhook_transport=webhook_transport,
        webhook_timeout_seconds=webhook_timeout_seconds,
        initial_shops=[s if isinstance(s, ShopConfig) else ShopConfig.model_validate(s) for s in shops or []],
        clock=clock,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await standin.aclose()

    app = FastAPI(title="Shopify stand-in (Dropline test support)", lifespan=lifespan)
    app.state.standin = standin

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "shops": len(standin.shops)}

    @app.post("/shops/{shop_domain}/admin/api/{version}/graphql.json")
    async def admin_graphql(shop_domain: str, version: str, request: Request) -> JSONResponse:
        return await standin.graphql(shop_domain, version, request)

    @app.get("/shops/{shop_domain}/admin/api/{version}/orders.json")
    async def rest_orders(shop_domain: str, version: str, request: Request) -> JSONResponse:
        return await standin.rest(shop_domain, version, request, None)

    @app.get("/shops/{shop_domain}/admin/api/{version}/orders/{order_id}.json")
    async def rest_order(shop_domain: str, version: str, order_id: str, request: Request) -> JSONResponse:
        return await standin.rest(shop_domain, version, request, order_id)

    # -- control API ---------------------------------------------------------------------------------

    @app.post("/_control/shops")
    async def create_shop(config: ShopConfig) -> JSONResponse:
        existed = config.shop_domain in standin.shops
        shop = standin.create_shop(config)
        return JSONResponse(shop.as_json(), status_code=200 if existed else 201)

    @app.get("/_control/shops")
    async def list_shops() -> dict[str, Any]:
        return {"shops": [s.as_json() for s in standin.shops.values()]}

    @app.get("/_control/shops/{shop_domain}")
    async def get_shop(shop_domain: str) -> dict[str, Any]:
        return standin.shop(shop_domain).as_json()

    @app.post("/_control/shops/{shop_domain}/orders")
    async def create_order(shop_domain: str, spec: dict[str, Any] = Body(...)) -> JSONResponse:  # noqa: B008
        shop = standin.shop(shop_domain)
        try:  # the order is in the shop's currency unless the spec says otherwise
            order_spec = OrderSpec.model_validate({"currency": shop.currency, **spec})
        except ValidationError as exc:
            return JSONResponse({"error": "invalid_order_spec",
                                 "details": json.loads(exc.json(include_url=False))}, status_code=422)
        order = standin.create_order(shop, order_spec)
        delivery = await standin.deliver(shop, order) if order_spec.deliver_webhook else None
        body = {
            "order": order.payload,
            "fulfillment_orders": [fulfillment_order_json(order, fo) for fo in order.fulfillment_orders],
            "delivery": delivery,
        }
        return JSONResponse(body, status_code=201)

    @app.get("/_control/shops/{shop_domain}/orders")
    async def list_orders(shop_domain: str) -> dict[str, Any]:
        shop = standin.shop(shop_domain)
        return {"orders": [standin.order_view(o) for o in shop.orders.values()]}

    @app.get("/_control/shops/{shop_domain}/orders/{order_id}")
    async def get_order(shop_domain: str, order_id: int) -> dict[str, Any]:
        shop = standin.shop(shop_domain)
        return standin.order_view(standin.order(shop, order_id))

    @app.post("/_control/shops/{shop_domain}/orders/{order_id}/redeliver")
    async def redeliver(shop_domain: str, order_id: int,
                        body: RedeliverRequest | None = None) -> dict[str, Any]:
        shop = standin.shop(shop_domain)
        order = standin.order(shop, order_id)
        options = body or RedeliverRequest()
        return await standin.deliver(shop, order, again=True, new_webhook_id=options.new_webhook_id,
                                     topic=options.topic)

    @app.post("/_control/shops/{shop_domain}/orders/{order_id}/shipping-address")
    async def change_shipping_address(shop_domain: str, order_id: int, address: AddressSpec) -> dict[str, Any]:
        shop = standin.shop(shop_domain)
        return await standin.change_shipping_address(shop, standin.order(shop, order_id), address)

    @app.post("/_control/shops/{shop_domain}/orders/{order_id}/mark-paid")
    async def mark_paid(shop_domain: str, order_id: int) -> dict[str, Any]:
        shop = standin.shop(shop_domain)
        return await standin.mark_paid(shop, standin.order(shop, order_id))

    @app.post("/_control/shops/{shop_domain}/orders/{order_id}/cancel")
    async def cancel(shop_domain: str, order_id: int, body: CancelRequest | None = None) -> dict[str, Any]:
        shop = standin.shop(shop_domain)
        return await standin.cancel(shop, standin.order(shop, order_id), body or CancelRequest())

    @app.post("/_control/shops/{shop_domain}/fulfillment-service")
    async def fulfillment_service(shop_domain: str, body: FulfillmentServiceConfig) -> dict[str, Any]:
        shop = standin.shop(shop_domain)
        shop.location.fulfillment_service = body.name
        shop.location.name = body.name or "Shop location"
        return shop.as_json()

    @app.post("/_control/shops/{shop_domain}/orders/{order_id}/request-fulfillment")
    async def request_fulfillment(shop_domain: str, order_id: int,
                                  body: FulfillmentRequestControl | None = None) -> dict[str, Any]:
        shop = standin.shop(shop_domain)
        return await standin.request_fulfillment(shop, standin.order(shop, order_id),
                                                 body or FulfillmentRequestControl())

    @app.post("/_control/shops/{shop_domain}/drop-webhooks")
    async def drop_webhooks(shop_domain: str, body: DropWebhooksRequest) -> dict[str, Any]:
        shop = standin.shop(shop_domain)
        shop.drop_next_webhooks = body.count
        return {"drop_next_webhooks": shop.drop_next_webhooks}

    @app.post("/_control/shops/{shop_domain}/rest-rate-limit")
    async def rest_rate_limit(shop_domain: str, config: RestRateLimitConfig) -> dict[str, Any]:
        shop = standin.shop(shop_domain)
        bucket = shop.rest_bucket
        used = config.used if config.used is not None else bucket.maximum_available - bucket.currently_available_exact()
        if config.bucket_size is not None:
            bucket.maximum_available = float(config.bucket_size)
        bucket.configure(restore_rate=config.leak_rate,  # a resized bucket keeps what it holds
                         currently_available=max(bucket.maximum_available - used, 0.0))
        return shop.rest_rate_limit_json()

    @app.get("/_control/shops/{shop_domain}/rest-log")
    async def rest_log(shop_domain: str) -> dict[str, Any]:
        return {"requests": standin.shop(shop_domain).rest_log}

    @app.get("/_control/shops/{shop_domain}/webhook-deliveries")
    async def webhook_deliveries(shop_domain: str) -> dict[str, Any]:
        shop = standin.shop(shop_domain)
        return {"deliveries": [
            {"order_id": o.id, **d.as_json()} for o in shop.orders.values() for d in o.deliveries
        ]}

    @app.get("/_control/shops/{shop_domain}/graphql-log")
    async def graphql_log(shop_domain: str) -> dict[str, Any]:
        return {"requests": standin.shop(shop_domain).graphql_log}

    @app.post("/_control/shops/{shop_domain}/hold-mutations")
    async def hold_mutations(shop_domain: str, hold: HoldRequest) -> dict[str, Any]:
        shop = standin.shop(shop_domain)
        shop.held_mutations.extend([hold.seconds] * hold.count)
        return {"held_mutations": shop.held_mutations}

    @app.post("/_control/shops/{shop_domain}/rate-limit")
    async def rate_limit(shop_domain: str, config: RateLimitConfig) -> dict[str, Any]:
        shop = standin.shop(shop_domain)
        shop.bucket.configure(
            maximum_available=config.maximum_available,
            restore_rate=config.restore_rate,
            currently_available=config.currently_available,
        )
        if config.throttled_status_code is not None:
            shop.throttled_status_code = config.throttled_status_code
        if config.max_query_cost is not None:
            shop.max_query_cost = config.max_query_cost
        return shop.rate_limit_json()

    @app.post("/_control/reset")
    async def reset() -> dict[str, Any]:
        standin.reset()
        return {"status": "reset", "shops": list(standin.shops)}

    return app
