"""Supplier stand-in: an auto-order supplier implementing the order API contract that Dropline publishes
for suppliers (docs/supplier-api.md), plus a control API that ships orders and reports tracking
back to Dropline the way the contract says a supplier does, and makes the supplier refuse orders
(422 ``order_rejected``: SKUs out of stock, or the next orders) or report that it cannot fulfil one
it accepted (Dropline's rejection endpoint).

Run: ``python -m dropline_testsupport.supplier_standin --host 127.0.0.1 --port 8102``; in-process:
``create_app(...)`` with ``httpx.ASGITransport``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import logging
import math
import secrets
import string
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

import httpx
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._server import add_server_arguments, iso_utc, serve

log = logging.getLogger("dropline_testsupport.supplier_standin")

# Failures a careful supplier retries when reporting tracking to Dropline.
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
DEFAULT_NOTIFY_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)  # seconds before attempts 2 to 6
NOTIFY_TIMEOUT_SECONDS = 10.0
MAX_RETRY_AFTER_SECONDS = 5.0


# --------------------------------------------------------------------------------------------------
# Tracking numbers (formats with valid check digits, so carrier detection on Dropline's side works)
# --------------------------------------------------------------------------------------------------


def ups_check_digit(body: str) -> str:
    """Check digit of a 1Z number over the 15 characters after "1Z" (letters count as (ord - 63) mod 10,
    odd positions x1, even positions x2, mod 10) — gives 4 for 1Z999AA1012345678[4]."""
    values = [int(c) if c.isdigit() else (ord(c) - 63) % 10 for c in body]
    total = sum(v if i % 2 == 0 else 2 * v for i, v in enumerate(values))
    return str((10 - total % 10) % 10)


def _digits(n: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(n))


def ups_tracking_number() -> str:
    """1Z + 6-character shipper number + 2-digit service code + 7-digit package number + check digit."""
    shipper = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(6))
    body = f"{shipper}03{_digits(7)}"
    return f"1Z{body}{ups_check_digit(body)}"


def fedex_tracking_number() -> str:
    """12 digits; check digit = (sum of the first 11 weighted 1,7,3 from the right) mod 11 mod 10."""
    body = _digits(11)
    weights = itertools.cycle((1, 7, 3))
    total = sum(int(d) * w for d, w in zip(reversed(body), weights, strict=False))
    return body + str(total % 11 % 10)


def usps_tracking_number() -> str:
    """22 digits starting 9400 (IMpb); mod-10 check digit with weights 3,1 from the right."""
    body = "9400" + _digits(17)
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def dhl_tracking_number() -> str:
    """10 digits: 9 digits + (number mod 7)."""
    body = _digits(9)
    return body + str(int(body) % 7)


CARRIERS: dict[str, tuple[Any, str]] = {
    "UPS": (ups_tracking_number, "https://www.ups.com/track?tracknum={number}"),
    "FedEx": (fedex_tracking_number, "https://www.fedex.com/fedextrack/?trknbr={number}"),
    "USPS": (usps_tracking_number, "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}"),
    "DHL Express": (dhl_tracking_number, "https://www.dhl.com/en/express/tracking.html?AWB={number}"),
}


def tracking_for(carrier: str, number: str | None = None) -> tuple[str, str | None]:
    """A tracking number (generated unless given) and its public tracking URL (None for unknown carriers)."""
    known = CARRIERS.get(carrier)
    if number is None:
        number = known[0]() if known else _digits(14)
    url = known[1].format(number=quote(number, safe="")) if known else None
    return number, url


# --------------------------------------------------------------------------------------------------
# Contract models (validated by pydantic)
# --------------------------------------------------------------------------------------------------


class OrderLine(BaseModel):
    sku: str = Field(min_length=1, max_length=100)
    quantity: int = Field(ge=1, le=10_000)
    title: str | None = Field(default=None, max_length=500)


class ShipTo(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    address1: str = Field(min_length=1, max_length=200)
    address2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    province: str | None = Field(default=None, max_length=100)
    province_code: str | None = Field(default=None, max_length=10)
    zip: str | None = Field(default=None, max_length=20)
    country_code: str = Field(pattern=r"^[A-Z]{2}$")
    phone: str | None = Field(default=None, max_length=50)


class Customer(BaseModel):
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=50)


class OrderRequest(BaseModel):
    """``POST /v1/orders`` body. Unknown fields are ignored (forward compatible)."""

    model_config = ConfigDict(extra="ignore")

    external_id: str = Field(min_length=1, max_length=100)
    order_number: str = Field(min_length=1, max_length=100)
    lines: list[OrderLine] = Field(min_length=1, max_length=250)
    ship_to: ShipTo
    customer: Customer | None = None
    note: str | None = Field(default=None, max_length=1000)


class SupplierConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: str = Field(default="sup_test_key", min_length=1)
    catalog: list[str] | None = None  # None: every SKU exists
    dropline_tracking_url: str | None = None  # may contain {external_id}
    dropline_api_key: str | None = None
    auto_ship_after_seconds: float | None = Field(default=None, ge=0)
    carrier: str = "UPS"
    rate_limit_per_second: float | None = Field(default=10.0, gt=0)  # None: no limit
    # SKUs the supplier sells but cannot deliver now: an order with one is refused (422 order_rejected).
    out_of_stock: list[str] = Field(default_factory=list)
    # Where rejections of accepted orders are reported (may contain {external_id}); None: derived from
    # dropline_tracking_url (…/orders/{external_id}/tracking → …/orders/{external_id}/rejection).
    dropline_rejection_url: str | None = None

    def rejection_url(self) -> str | None:
        if self.dropline_rejection_url:
            return self.dropline_rejection_url
        tracking = self.dropline_tracking_url
        if tracking and tracking.rstrip("/").endswith("/tracking"):
            return tracking.rstrip("/").removesuffix("/tracking") + "/rejection"
        return None


class FailNext(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(default=1, ge=1, le=1000)
    status: int = Field(default=503, ge=400, le=599)
    # before: the request is refused untouched; after: POST /v1/orders creates the order, then fails
    apply: Literal["before", "after"] = "before"


class RejectNext(BaseModel):
    """The next ``count`` orders that would be accepted are refused with 422 ``order_rejected``."""

    model_config = ConfigDict(extra="forbid")

    count: int = Field(default=1, ge=1, le=1000)
    reason: str = Field(default="out_of_stock", min_length=1, max_length=64,
                        description="Machine-readable: out_of_stock, cannot_ship_to_address, discontinued, …")
    message: str | None = Field(default=None, max_length=500)


class RejectOrder(BaseModel):
    """Report to Dropline that the supplier cannot fulfil an order it accepted."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="Out of stock: we cannot fulfil this order.", min_length=1, max_length=500)


class HoldNext(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(gt=0, le=3600)


class ShipRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tracking_number: str | None = Field(default=None, min_length=1)
    carrier: str | None = Field(default=None, min_length=1)


# --------------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------------


@dataclass
class SupplierOrder:
    id: str
    api_key: str
    idempotency_key: str
    request: OrderRequest
    created_at: datetime
    status: str = "accepted"
    shipments: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "external_id": self.request.external_id,
            "order_number": self.request.order_number,
            "created_at": iso_utc(self.created_at),
            "lines": [line.model_dump() for line in self.request.lines],
            "ship_to": self.request.ship_to.model_dump(),
            "customer": self.request.customer.model_dump() if self.request.customer else None,
            "note": self.request.note,
            "shipments": [
                {k: v for k, v in s.items() if k != "notification"} for s in self.shipments
            ],
        }


@dataclass
class IdempotencyRecord:
    """A key becomes bound to a request only when that request created an order."""

    key: str
    posts: int = 0
    fingerprint: str | None = None
    order_id: str | None = None
    response: dict[str, Any] | None = None


@dataclass
class TokenBucket:
    rate: float
    tokens: float
    updated: float

    def take(self) -> float:
        """0 if a request may pass now, else the seconds until it may."""
        now = time.monotonic()
        capacity = max(1.0, self.rate)
        self.tokens = min(capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


def fingerprint(body: Any) -> str:
    """Requests are "the same" when their JSON is equal (key order and whitespace don't matter)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class SupplierStandin:
    def __init__(
        self,
        config: SupplierConfig,
        *,
        dropline_transport: httpx.AsyncBaseTransport | None = None,
        notify_retry_delays: Sequence[float] = DEFAULT_NOTIFY_RETRY_DELAYS,
    ) -> None:
        self._initial_config = config
        self._transport = dropline_transport
        self._retry_delays = tuple(notify_retry_delays)
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.config = config
        self.orders: dict[str, SupplierOrder] = {}
        # Idempotency keys are scoped to the API key on a real service; the stand-in has one API key.
        self.keys: dict[str, IdempotencyRecord] = {}
        self.requests: list[dict[str, Any]] = []
        self.failures: list[FailNext] = []
        self.rejections: list[RejectNext] = []
        self.holds: list[float] = []
        self.buckets: dict[str, TokenBucket] = {}
        self._numbers = itertools.count(100001)

    # -- lifecycle -----------------------------------------------------------------------------------

    def reset(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        self.config = self._initial_config
        self.orders.clear()
        self.keys.clear()
        self.requests.clear()
        self.failures.clear()
        self.rejections.clear()
        self.holds.clear()
        self.buckets.clear()
        self._numbers = itertools.count(100001)

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport, timeout=NOTIFY_TIMEOUT_SECONDS)
        return self._client

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- API helpers ---------------------------------------------------------------------------------

    def authorized_key(self, request: Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        expected = self.config.api_key
        return token if hmac.compare_digest(token.encode(), expected.encode()) else None

    def rate_limited(self, api_key: str) -> float:
        rate = self.config.rate_limit_per_second
        if rate is None:
            return 0.0
        bucket = self.buckets.get(api_key)
        if bucket is None or bucket.rate != rate:
            bucket = self.buckets[api_key] = TokenBucket(rate=rate, tokens=max(1.0, rate), updated=time.monotonic())
        return bucket.take()

    def next_failure(self, *, apply: str) -> FailNext | None:
        if self.failures and self.failures[0].apply == apply:
            failure = self.failures[0]
            failure.count -= 1
            if failure.count == 0:
                self.failures.pop(0)
            return failure
        return None

    def refusal(self, order_request: OrderRequest) -> dict[str, Any] | None:
        """The 422 body when the supplier will not take this (valid) order, else None."""
        for line in order_request.lines:
            if line.sku in self.config.out_of_stock:
                return {"error": "order_rejected", "reason": "out_of_stock", "sku": line.sku,
                        "message": f"{line.sku} is out of stock"}
        if self.rejections:
            rejection = self.rejections[0]
            rejection.count -= 1
            if rejection.count == 0:
                self.rejections.pop(0)
            return {"error": "order_rejected", "reason": rejection.reason,
                    "message": rejection.message or "the supplier cannot accept this order"}
        return None

    def create_order(self, api_key: str, key: str, order_request: OrderRequest) -> SupplierOrder:
        order = SupplierOrder(
            id=f"SUP-{next(self._numbers)}", api_key=api_key, idempotency_key=key, request=order_request,
            created_at=datetime.now(UTC),
        )
        self.orders[order.id] = order
        if self.config.auto_ship_after_seconds is not None:
            task = asyncio.get_running_loop().create_task(
                self._auto_ship(order.id, self.config.auto_ship_after_seconds))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return order

    async def _auto_ship(self, order_id: str, delay: float) -> None:
        await asyncio.sleep(delay)
        try:
            await self.ship(self.orders[order_id])
        except Exception:  # a background job must not die silently
            log.exception("auto-ship of %s failed", order_id)

    # -- shipping and the tracking report to Dropline ------------------------------------------------

    async def ship(self, order: SupplierOrder, tracking_number: str | None = None,
                   carrier: str | None = None) -> dict[str, Any]:
        carrier = carrier or self.config.carrier
        number, url = tracking_for(carrier, tracking_number)
        shipment: dict[str, Any] = {
            "tracking_number": number, "carrier": carrier, "tracking_url": url,
            "shipped_at": iso_utc(datetime.now(UTC)), "notification": None,
        }
        order.shipments.append(shipment)
        order.status = "shipped"
        shipment["notification"] = note = await self.notify_dropline(order, shipment, len(order.shipments))
        # A supplier that gives up on a report leaves an order without tracking: say so in the log.
        (log.info if note["delivered"] else log.warning)(
            "tracking report for %s (%s): %s %s", order.id, order.request.external_id,
            note["status_code"], note["error"] or note["response_body"])
        return {"order": order.as_json(), "shipment": {k: v for k, v in shipment.items() if k != "notification"},
                **shipment["notification"]}

    async def notify_dropline(self, order: SupplierOrder, shipment: dict[str, Any], n: int) -> dict[str, Any]:
        """``POST dropline_tracking_url`` with the tracking report, retrying transient failures."""
        if not self.config.dropline_tracking_url:
            return {"delivered": False, "status_code": None, "response_body": None,
                    "error": "dropline_tracking_url is not configured", "attempts": []}
        payload = {
            "supplier_order_id": order.id,
            "tracking_number": shipment["tracking_number"],
            "carrier": shipment["carrier"],
            "tracking_url": shipment["tracking_url"],
        }
        return await self.post_to_dropline(self.config.dropline_tracking_url, order, payload,
                                           f"{order.id}-shipment-{n}")

    async def reject(self, order: SupplierOrder, reason: str) -> dict[str, Any]:
        """Tell Dropline the supplier cannot fulfil an order it accepted (``POST …/rejection``)."""
        url = self.config.rejection_url()
        if not url:
            return {"delivered": False, "status_code": None, "response_body": None, "attempts": [],
                    "error": "dropline_rejection_url is not configured (nor a …/tracking URL to derive it from)"}
        report = await self.post_to_dropline(url, order, {"supplier_order_id": order.id, "reason": reason},
                                             f"{order.id}-rejection")
        if report["delivered"]:
            order.status = "rejected"
        return {"order": order.as_json(), **report}

    async def post_to_dropline(self, url_template: str, order: SupplierOrder, payload: dict[str, Any],
                               idempotency_key: str) -> dict[str, Any]:
        """POST a report about ``order`` to Dropline, retrying transient failures."""
        config = self.config
        url = url_template.replace("{external_id}", quote(order.request.external_id, safe=""))
        headers = {"Idempotency-Key": idempotency_key}
        if config.dropline_api_key:
            headers["Authorization"] = f"Bearer {config.dropline_api_key}"
        attempts: list[dict[str, Any]] = []
        delays = (0.0, *self._retry_delays)
        for index, delay in enumerate(delays):
            if delay:
                await asyncio.sleep(delay)
            try:
                response = await self.client().post(url, json=payload, headers=headers)
            except httpx.HTTPError as exc:
                attempts.append({"status_code": None, "error": f"{type(exc).__name__}: {exc}"})
                continue
            attempts.append({"status_code": response.status_code, "error": None})
            if response.status_code in TRANSIENT_STATUSES and index + 1 < len(delays):
                retry_after = response.headers.get("retry-after", "")
                if retry_after.replace(".", "", 1).isdigit():
                    await asyncio.sleep(min(float(retry_after), MAX_RETRY_AFTER_SECONDS))
                continue
            try:
                body: Any = response.json()
            except ValueError:
                body = response.text
            return {"delivered": 200 <= response.status_code < 300, "status_code": response.status_code,
                    "response_body": body, "error": None, "attempts": attempts, "url": url, "request": payload}
        last = attempts[-1]
        return {"delivered": False, "status_code": last["status_code"], "response_body": None,
                "error": last["error"] or "gave up after transient failures", "attempts": attempts,
                "url": url, "request": payload}


# --------------------------------------------------------------------------------------------------
# App
# --------------------------------------------------------------------------------------------------


def create_app(
    config: SupplierConfig | dict[str, Any] | None = None,
    *,
    dropline_transport: httpx.AsyncBaseTransport | None = None,
    notify_retry_delays: Sequence[float] = DEFAULT_NOTIFY_RETRY_DELAYS,
) -> FastAPI:
    """Build the supplier stand-in.

    ``config``: the start-up configuration (restored by ``POST /_control/reset``).
    ``dropline_transport``: httpx transport for tracking reports (tests: ``httpx.ASGITransport(app=...)``).
    ``notify_retry_delays``: back-off before each retry of a tracking report.
    """
    initial = config if isinstance(config, SupplierConfig) else SupplierConfig.model_validate(config or {})
    standin = SupplierStandin(initial, dropline_transport=dropline_transport,
                              notify_retry_delays=notify_retry_delays)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await standin.aclose()

    app = FastAPI(title="Supplier stand-in (Dropline test support)", lifespan=lifespan)
    app.state.standin = standin

    def record(request: Request, raw: bytes) -> dict[str, Any]:
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", errors="replace")
        entry = {
            "at": iso_utc(datetime.now(UTC)),
            "method": request.method,
            "path": request.url.path,
            "query": str(request.url.query),
            "headers": {k: v for k, v in request.headers.items()},
            "body": body,
        }
        standin.requests.append(entry)
        return entry

    def reply(entry: dict[str, Any], status: int, body: Any,
              headers: dict[str, str] | None = None) -> JSONResponse:
        entry["status_code"] = status
        entry["response"] = body
        return JSONResponse(body, status_code=status, headers=headers)

    def failure_reply(entry: dict[str, Any], failure: FailNext) -> JSONResponse:
        error = "service_unavailable" if failure.status == 503 else "injected_failure"
        headers = {"Retry-After": "1"} if failure.status in (429, 503) else None
        return reply(entry, failure.status, {"error": error}, headers)

    async def gate(request: Request, entry: dict[str, Any]) -> tuple[str | None, JSONResponse | None]:
        """Injected failure, then auth, then rate limit: the order a real edge + app would apply them."""
        failure = standin.next_failure(apply="before")
        if failure is not None:
            return None, failure_reply(entry, failure)
        api_key = standin.authorized_key(request)
        if api_key is None:
            return None, reply(entry, 401, {"error": "unauthorized"}, {"WWW-Authenticate": "Bearer"})
        wait = standin.rate_limited(api_key)
        if wait > 0:
            return None, reply(entry, 429, {"error": "rate_limited"},
                               {"Retry-After": str(max(1, math.ceil(wait)))})
        return api_key, None

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "orders": len(standin.orders)}

    @app.post("/v1/orders")
    async def create_order(request: Request) -> JSONResponse:
        raw = await request.body()
        entry = record(request, raw)
        key = request.headers.get("idempotency-key", "").strip()
        api_key, refused = await gate(request, entry)
        if key:  # counted for every POST carrying the key, refused or not
            standin.keys.setdefault(key, IdempotencyRecord(key=key)).posts += 1
        if refused is not None:
            return refused
        assert api_key is not None
        if not key:
            return reply(entry, 400, {"error": "idempotency_key_required"})
        if len(key) > 255:
            return reply(entry, 400, {"error": "idempotency_key_too_long", "max_length": 255})
        try:
            parsed = json.loads(raw)
        except ValueError as exc:
            return reply(entry, 422, {"error": "invalid_json", "details": str(exc)})

        record_ = standin.keys[key]
        if record_.fingerprint is not None:
            if record_.fingerprint != fingerprint(parsed):
                return reply(entry, 422, {"error": "idempotency_key_reused",
                                          "message": "this Idempotency-Key was used with a different body"})
            return reply(entry, 200, record_.response, {"Idempotent-Replayed": "true"})

        try:
            order_request = OrderRequest.model_validate(parsed)
        except ValidationError as exc:
            return reply(entry, 422, {"error": "invalid_request",
                                      "details": json.loads(exc.json(include_url=False, include_input=False))})
        catalog = standin.config.catalog
        if catalog is not None:
            for line in order_request.lines:
                if line.sku not in catalog:
                    return reply(entry, 422, {"error": "unknown_sku", "sku": line.sku})
        refusal = standin.refusal(order_request)
        if refusal is not None:  # refused: the key stays free, like every 4xx
            return reply(entry, 422, refusal)

        order = standin.create_order(api_key, key, order_request)
        body = {k: v for k, v in order.as_json().items() if k != "shipments"}
        record_.fingerprint, record_.order_id, record_.response = fingerprint(parsed), order.id, body

        failure = standin.next_failure(apply="after")
        if failure is not None:  # created, but the client never learns it (lost response)
            return failure_reply(entry, failure)
        if standin.holds:
            await asyncio.sleep(standin.holds.pop(0))  # crash tests: created, response held
        return reply(entry, 201, body, {"Location": f"/v1/orders/{order.id}"})

    @app.get("/v1/orders/{order_id}")
    async def get_order(order_id: str, request: Request) -> JSONResponse:
        entry = record(request, b"")
        api_key, refused = await gate(request, entry)
        if refused is not None:
            return refused
        order = standin.orders.get(order_id)
        if order is None or order.api_key != api_key:
            return reply(entry, 404, {"error": "not_found"})
        return reply(entry, 200, order.as_json())

    @app.get("/v1/orders")
    async def find_orders(request: Request, external_id: str | None = None) -> JSONResponse:
        entry = record(request, b"")
        api_key, refused = await gate(request, entry)
        if refused is not None:
            return refused
        found = [
            o.as_json() for o in standin.orders.values()
            if o.api_key == api_key and (external_id is None or o.request.external_id == external_id)
        ]
        return reply(entry, 200, {"orders": found})

    # -- control API ---------------------------------------------------------------------------------

    @app.get("/_control/config")
    async def get_config() -> dict[str, Any]:
        return standin.config.model_dump()

    @app.post("/_control/configure")
    async def configure(request: Request) -> JSONResponse:
        try:
            update = await request.json()
        except ValueError as exc:
            return JSONResponse({"error": "invalid_config", "details": str(exc)}, status_code=422)
        if not isinstance(update, dict):
            return JSONResponse({"error": "invalid_config", "details": "body must be a JSON object"},
                                status_code=422)
        try:
            standin.config = SupplierConfig.model_validate(standin.config.model_dump() | update)
        except ValidationError as exc:
            return JSONResponse({"error": "invalid_config", "details": json.loads(exc.json(include_url=False))},
                                status_code=422)
        standin.buckets.clear()
        return JSONResponse(standin.config.model_dump())

    @app.post("/_control/fail-next")
    async def fail_next(failure: FailNext) -> dict[str, Any]:
        standin.failures.append(failure)
        return {"pending_failures": [f.model_dump() for f in standin.failures]}

    @app.post("/_control/reject-next")
    async def reject_next(rejection: RejectNext) -> dict[str, Any]:
        standin.rejections.append(rejection)
        return {"pending_rejections": [r.model_dump() for r in standin.rejections]}

    @app.post("/_control/orders/{order_id}/reject")
    async def reject(order_id: str, body: RejectOrder | None = None) -> dict[str, Any]:
        order = standin.orders.get(order_id)
        if order is None:
            raise HTTPException(404, {"error": "not_found"})
        return await standin.reject(order, (body or RejectOrder()).reason)

    @app.post("/_control/hold-next")
    async def hold_next(hold: HoldNext) -> dict[str, Any]:
        standin.holds.append(hold.seconds)
        return {"pending_holds": standin.holds}

    @app.get("/_control/orders")
    async def control_orders() -> dict[str, Any]:
        by_order = {r.order_id: r for r in standin.keys.values() if r.order_id}
        return {
            "orders": [
                {**o.as_json(), "idempotency_key": o.idempotency_key,
                 "idempotency_key_posts": by_order[o.id].posts if o.id in by_order else 0,
                 "shipments": o.shipments}
                for o in standin.orders.values()
            ],
            "idempotency_keys": [
                {"key": r.key, "posts": r.posts, "order_id": r.order_id} for r in standin.keys.values()
            ],
        }

    @app.get("/_control/requests")
    async def control_requests() -> dict[str, Any]:
        return {"requests": standin.requests}

    @app.post("/_control/orders/{order_id}/ship")
    async def ship(order_id: str, body: ShipRequest | None = None) -> dict[str, Any]:
        order = standin.orders.get(order_id)
        if order is None:
            raise HTTPException(404, {"error": "not_found"})
        options = body or ShipRequest()
        return await standin.ship(order, options.tracking_number, options.carrier)

    @app.post("/_control/reset")
    async def reset() -> dict[str, Any]:
        standin.reset()
        return {"status": "reset", "config": standin.config.model_dump()}

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dropline_testsupport.supplier_standin",
                                     description="Auto-order supplier stand-in for Dropline tests and demos.")
    add_server_arguments(parser, default_port=8102)
    parser.add_argument("--api-key", default="sup_test_key", help="Bearer key Dropline must send")
    parser.add_argument("--catalog", help="comma-separated SKUs the supplier sells (default: any SKU)")
    parser.add_argument("--dropline-tracking-url",
                        help="e.g. http://127.0.0.1:8000/supplier/v1/orders/{external_id}/tracking")
    parser.add_argument("--dropline-api-key", help="Bearer key sent with tracking reports")
    parser.add_argument("--auto-ship-after", type=float, help="ship every accepted order after N seconds")
    parser.add_argument("--carrier", default="UPS", help="carrier of generated shipments (default UPS)")
    parser.add_argument("--rate-limit", type=float, default=10.0,
                        help="requests per second per API key (0 = unlimited; default 10)")
    parser.add_argument("--out-of-stock", help="comma-separated SKUs refused with 422 order_rejected")
    parser.add_argument("--dropline-rejection-url",
                        help="default: the tracking URL with /tracking replaced by /rejection")
    args = parser.parse_args(argv)
    config = SupplierConfig(
        api_key=args.api_key,
        catalog=[s.strip() for s in args.catalog.split(",") if s.strip()] if args.catalog else None,
        dropline_tracking_url=args.dropline_tracking_url,
        dropline_api_key=args.dropline_api_key,
        auto_ship_after_seconds=args.auto_ship_after,
        carrier=args.carrier,
        rate_limit_per_second=args.rate_limit or None,
        out_of_stock=[s.strip() for s in args.out_of_stock.split(",") if s.strip()] if args.out_of_stock else [],
        dropline_rejection_url=args.dropline_rejection_url,
    )
    serve(create_app(config), args)


if __name__ == "__main__":
    main()
