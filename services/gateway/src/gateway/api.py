"""HTTP routes: platform webhooks, the retailer API, the supplier API, the operator (admin) API.
Routes parse and authenticate, open one unit of work, and call the service functions."""

from __future__ import annotations

import json
import re
import secrets as pysecrets
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

import httpx
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, HttpUrl, field_validator
from sqlalchemy.exc import IntegrityError

from dropline_platform.db import utcnow
from dropline_platform.observability import get_logger
from dropline_schemas import topics as T
from dropline_schemas.events import (
    ListingUpsertedData,
    ListingUpsertedV1,
    PaymentMethod,
    Platform,
    StoreConnectedData,
    StoreConnectedV1,
    StoreWebhookReceivedData,
    StoreWebhookReceivedV1,
    SupplierRegisteredData,
    SupplierRegisteredV1,
    SupplierTerms,
    TrackingAddedData,
    TrackingAddedV1,
)

from .carriers import detect_carrier, tracking_url
from .models import Listing, OrderView, Retailer, Store, Supplier, TrackingReport, WebhookDelivery
from .repository import Repository
from .webhooks import key_hash, shopify_signature_ok

log = get_logger(__name__)
PRODUCER = "gateway"
HANDLED_SHOPIFY_TOPICS = {"orders/create"}
TRACKING_NS = uuid.UUID("0b7f0f0e-2f7d-4d61-9a3c-3a4f6f1de5a1")


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str, **extra: Any):
        self.status, self.error, self.message, self.extra = status, error, message, extra


def api_error_handler(_request: Request, exc: ApiError) -> JSONResponse:
    return JSONResponse({"error": exc.error, "message": exc.message, **exc.extra}, status_code=exc.status)


def svc(request: Request):
    return request.app.state.service


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None


# =========================================================================== auth

async def current_retailer(request: Request, authorization: Annotated[str | None, Header()] = None) -> Retailer:
    key = _bearer(authorization)
    if not key:
        raise ApiError(401, "unauthorized", "send the retailer API key as 'Authorization: Bearer <key>'")
    async with svc(request).db.uow() as uow:
        retailer = await Repository(uow.session).retailer_by_key_hash(key_hash(key))
    if retailer is None:
        raise ApiError(401, "unauthorized", "unknown API key")
    return retailer


async def current_supplier(request: Request, authorization: Annotated[str | None, Header()] = None) -> Supplier:
    key = _bearer(authorization)
    if not key:
        raise ApiError(401, "unauthorized", "send the supplier API key as 'Authorization: Bearer <key>'")
    async with svc(request).db.uow() as uow:
        supplier = await Repository(uow.session).supplier_by_key_hash(key_hash(key))
    if supplier is None:
        raise ApiError(401, "unauthorized", "unknown API key")
    return supplier


async def operator(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    key = _bearer(authorization) or ""
    expected = svc(request).settings.admin_token.get_secret_value()
    if not pysecrets.compare_digest(key.encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "operator token required: 'Authorization: Bearer <GATEWAY_ADMIN_TOKEN>'")


# =========================================================================== webhooks

webhooks = APIRouter(prefix="/webhooks", tags=["platform webhooks"])


@webhooks.post("/shopify", summary="Shopify webhook (orders/create), HMAC-signed")
async def shopify_webhook(request: Request) -> JSONResponse:
    s = svc(request)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > s.settings.max_webhook_bytes:
        raise ApiError(413, "too_large", f"body over {s.settings.max_webhook_bytes} bytes")
    raw = await request.body()
    if len(raw) > s.settings.max_webhook_bytes:
        raise ApiError(413, "too_large", f"body over {s.settings.max_webhook_bytes} bytes")
    h = request.headers
    signature = h.get("x-shopify-hmac-sha256")
    if not signature:
        raise ApiError(401, "missing_signature", "X-Shopify-Hmac-Sha256 header is required")
    shop, topic, webhook_id = h.get("x-shopify-shop-domain"), h.get("x-shopify-topic"), h.get("x-shopify-webhook-id")
    missing = [n for n, v in (("X-Shopify-Shop-Domain", shop), ("X-Shopify-Topic", topic),
                              ("X-Shopify-Webhook-Id", webhook_id)) if not v]
    if missing:
        raise ApiError(400, "missing_header", f"required header(s) missing: {', '.join(missing)}")
    async with s.db.uow() as uow:
        store = await Repository(uow.session).store_by_shop(Platform.SHOPIFY.value, shop.lower())
    if store is None:
        raise ApiError(404, "unknown_shop", f"no store connection for shop {shop!r}")
    if not shopify_signature_ok(raw, signature, s.secret_box.open(store.webhook_secret_encrypted)):
        log.warning("shopify webhook with a bad signature", shop=shop, webhook_id=webhook_id)
        raise ApiError(401, "invalid_signature", "X-Shopify-Hmac-Sha256 does not match the body")
    try:
        payload = json.loads(raw.decode("utf-8"))  # webhooks are UTF-8 JSON; anything else is malformed
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "malformed_json", f"body is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise ApiError(400, "malformed_json", "body must be a JSON object")
    if topic not in HANDLED_SHOPIFY_TOPICS:
        return JSONResponse({"status": "ignored", "reason": f"topic {topic} is not handled"})
    if "id" not in payload:
        raise ApiError(400, "invalid_order", "order payload has no 'id'")
    return await _accept_delivery(s, store, Platform.SHOPIFY, topic, webhook_id, h.get("x-shopify-event-id"),
                                  h.get("x-shopify-triggered-at"), raw, payload,
                                  correlation_id=f"shopify:{store.shop}:order:{payload['id']}")


async def _accept_delivery(s, store: Store, platform: Platform, topic: str, delivery_id: str, event_id: str | None,
                           triggered_at: str | None, raw: bytes, payload: dict, correlation_id: str) -> JSONResponse:
    """Store the delivery and its event in one transaction; answer 200 only after that commit.
    A second delivery with the same platform delivery id is acknowledged and has no effect."""
    try:
        async with s.db.uow() as uow:
            repo = Repository(uow.session)
            if await repo.delivery(platform.value, delivery_id):
                return JSONResponse({"status": "duplicate"})
            ours = str(uuid.uuid4())
            repo.add(WebhookDelivery(delivery_id=ours, platform=platform.value, platform_delivery_id=delivery_id,
                                     store_id=store.store_id, topic=topic, body=raw.decode("utf-8"),
                                     received_at=utcnow()))
            ev = StoreWebhookReceivedV1.create(
                data=StoreWebhookReceivedData(delivery_id=ours, platform=platform, store_id=store.store_id,
                                              shop=store.shop, topic=topic, platform_delivery_id=delivery_id,
                                              platform_event_id=event_id, triggered_at=triggered_at,
                                              payload=payload),
                producer=PRODUCER, tenant_id=store.retailer_id, correlation_id=correlation_id,
                causation_id=f"{platform.value}-delivery:{delivery_id}")
            uow.publish(ev, T.STORE_WEBHOOK_RECEIVED, key=store.store_id)
            await uow.commit()
    except IntegrityError:  # the same delivery arrived twice at the same moment; the other one won
        return JSONResponse({"status": "duplicate"})
    log.info("webhook accepted", platform=platform.value, shop=store.shop, delivery=delivery_id)
    return JSONResponse({"status": "accepted", "delivery_id": ours})


# =========================================================================== retailer API

retailer_api = APIRouter(prefix="/api/v1", tags=["retailer API"])
RetailerDep = Annotated[Retailer, Depends(current_retailer)]


def order_summary(row: OrderView) -> dict:
    payment = json.loads(row.payment_json) if row.payment_json else None
    return {
        "order_id": row.order_id, "order_number": row.order_number, "status": row.status,
        "store_id": row.store_id, "platform": row.platform, "platform_order_number": row.platform_order_number,
        "supplier": {"supplier_id": row.supplier_id, "name": row.supplier_name} if row.supplier_id else None,
        "customer_name": row.customer_name,
        "usd_total": payment["usd_amounts"]["total"] if payment else None,
        "supplier_order_id": row.supplier_order_id, "tracking": json.loads(row.tracking_json or "[]"),
        "problem": row.problem, "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat(),
    }


@retailer_api.get("/orders", summary="List the retailer's Dropline orders")
async def list_orders(request: Request, retailer: RetailerDep,
                      supplier_id: str | None = None, status: str | None = None, store_id: str | None = None,
                      q: Annotated[str | None, Query(max_length=100)] = None,
                      limit: Annotated[int, Query(ge=1, le=200)] = 50,
                      offset: Annotated[int, Query(ge=0)] = 0) -> dict:
    from .projection import RANK

    if status and status not in RANK:
        raise ApiError(422, "invalid_status", f"status must be one of {sorted(RANK)}")
    async with svc(request).db.uow() as uow:
        rows, total = await Repository(uow.session).orders(retailer.retailer_id, supplier_id=supplier_id,
                                                          status=status, store_id=store_id, q=q,
                                                          limit=limit, offset=offset)
    return {"total": total, "limit": limit, "offset": offset, "orders": [order_summary(r) for r in rows]}


@retailer_api.get("/orders/{order_id}", summary="One order with its lines, shipping address and timeline")
async def get_order(request: Request, order_id: str, retailer: RetailerDep) -> dict:
    async with svc(request).db.uow() as uow:
        repo = Repository(uow.session)
        row = await repo.order(order_id)
        if row is None or row.retailer_id != retailer.retailer_id:
            raise ApiError(404, "not_found", "no such order")
        timeline = await repo.timeline(order_id)
    order = json.loads(row.order_json) if row.order_json else {}
    supplier = order.get("supplier") or {}
    detail = order_summary(row) | {
        "lines": order.get("lines", []), "shipping_address": order.get("shipping_address"),
        "customer": order.get("customer"), "shipping_method": order.get("shipping_method"),
        "store_totals": order.get("store_totals"),
        "payment": json.loads(row.payment_json) if row.payment_json else None,
        "timeline": [{"at": t.occurred_at.isoformat(), "event": t.event_type, "status": t.status,
                      "summary": t.summary} for t in timeline],
    }
    if row.status == "non_auto_order":
        detail["supplier_website_url"] = supplier.get("website_url")
        detail["search_hints"] = [{"sku": line.get("supplier_sku") or line.get("sku"), "title": line.get("title"),
                                   "quantity": line.get("quantity")} for line in order.get("lines", [])]
    return detail


class TrackingIn(BaseModel):
    tracking_number: str = Field(min_length=3, max_length=100)
    carrier: str | None = Field(default=None, max_length=100)
    tracking_url: HttpUrl | None = None
    supplier_order_id: str | None = Field(default=None, max_length=255)

    @field_validator("tracking_number")
    @classmethod
    def _clean(cls, v: str) -> str:
        v = v.strip()
        if not re.fullmatch(r"[A-Za-z0-9 \-]{3,100}", v):
            raise ValueError("tracking numbers are letters, digits, spaces and dashes")
        return v


async def add_tracking(s, order: OrderView, body: TrackingIn, source: Literal["supplier", "retailer"]) -> JSONResponse:
    carrier = body.carrier or detect_carrier(body.tracking_number)
    url = str(body.tracking_url) if body.tracking_url else tracking_url(carrier, body.tracking_number)
    try:
        async with s.db.uow() as uow:
            repo = Repository(uow.session)
            existing = await repo.tracking_report(order.order_id, body.tracking_number)
            if existing:
                return JSONResponse({"tracking_id": existing.tracking_id, "status": "duplicate"}, status_code=200)
            tracking_id = str(uuid.uuid5(TRACKING_NS, f"{order.order_id}|{body.tracking_number}"))
            repo.add(TrackingReport(tracking_id=tracking_id, order_id=order.order_id,
                                    tracking_number=body.tracking_number, carrier=carrier, tracking_url=url,
                                    source=source, created_at=utcnow()))
            ev = TrackingAddedV1.create(
                data=TrackingAddedData(order_id=order.order_id, tracking_id=tracking_id,
                                       tracking_number=body.tracking_number, carrier=carrier, tracking_url=url,
                                       source=source, supplier_order_id=body.supplier_order_id),
                producer=PRODUCER, tenant_id=order.retailer_id,
                correlation_id=order.correlation_id or f"order:{order.order_id}")
            uow.publish(ev, T.TRACKING_ADDED, key=order.order_id)
            await uow.commit()
    except IntegrityError:
        return JSONResponse({"status": "duplicate"}, status_code=200)
    return JSONResponse({"tracking_id": tracking_id, "status": "accepted", "carrier": carrier, "tracking_url": url},
                        status_code=201)


RETAILER_TRACKABLE = {"non_auto_order", "paid", "forwarded", "shipped", "synced"}


@retailer_api.post("/orders/{order_id}/tracking", status_code=201,
                   summary="Add a tracking number (e.g. for a non-auto-order supplier)")
async def retailer_add_tracking(request: Request, order_id: str, body: TrackingIn, retailer: RetailerDep):
    s = svc(request)
    async with s.db.uow() as uow:
        row = await Repository(uow.session).order(order_id)
    if row is None or row.retailer_id != retailer.retailer_id:
        raise ApiError(404, "not_found", "no such order")
    if row.status not in RETAILER_TRACKABLE:
        raise ApiError(409, "not_trackable", f"an order in status {row.status} cannot get tracking yet")
    return await add_tracking(s, row, body, "retailer")


# ---- payments: checkout owns them; the gateway authenticates and passes the retailer on

async def _checkout(request: Request, method: str, path: str, **kwargs) -> JSONResponse:
    s = svc(request)
    headers = {}
    if s.settings.checkout_internal_token:
        headers["X-Internal-Token"] = s.settings.checkout_internal_token.get_secret_value()
    try:
        resp = await s.http.request(method, s.settings.checkout_url.rstrip("/") + path, headers=headers,
                                    timeout=httpx.Timeout(60.0, connect=3.0), **kwargs)
    except httpx.HTTPError as exc:
        raise ApiError(503, "checkout_unavailable", f"checkout did not answer: {type(exc).__name__}") from exc
    try:
        body = resp.json()
    except ValueError:
        body = {"error": "checkout_error", "message": resp.text[:500]}
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        # One error shape for the whole public API: {"error": code, "message": ..., details...}
        err = body["error"]
        body = {"error": err.get("code", "checkout_error"), "message": err.get("message", ""),
                **{k: v for k, v in err.items() if k not in ("code", "message")}}
    return JSONResponse(body, status_code=resp.status_code)


class OrderIds(BaseModel):
    order_ids: list[str] = Field(min_length=1, max_length=200)


class PayIn(OrderIds):
    method: PaymentMethod = PaymentMethod.CARD
    payment_method: str | None = Field(default=None, max_length=255,
                                       description="Stripe PaymentMethod id from Stripe.js, e.g. pm_card_visa")


@retailer_api.get("/unpaid", summary="Unpaid orders grouped by supplier")
async def unpaid(request: Request, retailer: RetailerDep) -> JSONResponse:
    return await _checkout(request, "GET", "/internal/v1/unpaid", params={"retailer_id": retailer.retailer_id})


async def _not_ready_yet(request: Request, retailer: Retailer, resp: JSONResponse) -> JSONResponse:
    """checkout answers 404 for an order it has not received yet. If the retailer can already see
    those orders (the read model got OrderReceived first), say "not ready, retry" instead of 404."""
    if resp.status_code != 404:
        return resp
    body = json.loads(resp.body)
    missing = body.get("order_ids") or []
    if not missing:
        return resp
    async with svc(request).db.uow() as uow:
        repo = Repository(uow.session)
        rows = [await repo.order(oid) for oid in missing]
    if all(r is not None and r.retailer_id == retailer.retailer_id for r in rows):
        return JSONResponse({"error": "not_ready_yet", "order_ids": missing, "retry_after_seconds": 1,
                             "message": "these orders have just arrived and checkout is still receiving them; retry"},
                            status_code=409, headers={"Retry-After": "1"})
    return resp


@retailer_api.post("/checkout/quote", summary="Price orders of one supplier: product cost, shipping, VAT, USD")
async def quote(request: Request, body: OrderIds, retailer: RetailerDep) -> JSONResponse:
    resp = await _checkout(request, "POST", "/internal/v1/quotes",
                           json={"retailer_id": retailer.retailer_id, "order_ids": body.order_ids})
    return await _not_ready_yet(request, retailer, resp)


@retailer_api.post("/payments", summary="Pay one order, or several orders of ONE supplier",
                   responses={402: {"description": "declined"}, 409: {"description": "not payable"}})
async def pay(request: Request, body: PayIn, retailer: RetailerDep,
              idempotency_key: Annotated[str | None, Header(max_length=255)] = None) -> JSONResponse:
    # Without a client key every click is a new request; the order-level claim still stops a double charge.
    request_id = idempotency_key or str(uuid.uuid4())
    resp = await _checkout(request, "POST", "/internal/v1/payments", json={
        "retailer_id": retailer.retailer_id, "order_ids": body.order_ids, "method": body.method.value,
        "payment_method": body.payment_method, "request_id": request_id})
    return await _not_ready_yet(request, retailer, resp)


@retailer_api.get("/payments/{payment_id}", summary="A payment (receipt: amounts, USD, rate, rate date)")
async def get_payment(request: Request, payment_id: str, retailer: RetailerDep) -> JSONResponse:
    return await _checkout(request, "GET", f"/internal/v1/payments/{payment_id}",
                           params={"retailer_id": retailer.retailer_id})


# =========================================================================== supplier API

supplier_api = APIRouter(prefix="/supplier/v1", tags=["supplier API"])
# Not "paid or later": this read model may not have seen OrderPaid/OrderForwarded yet when a fast
# supplier ships (seen in the benchmark), and only a supplier the order was forwarded to knows its id.
SUPPLIER_NOT_TRACKABLE = {"unmatched", "non_auto_order", "cancelled", "refunded"}


@supplier_api.post("/orders/{order_id}/tracking", status_code=201, summary="Report tracking for a shipped order")
async def supplier_add_tracking(request: Request, order_id: str, body: TrackingIn,
                                supplier: Annotated[Supplier, Depends(current_supplier)]):
    s = svc(request)
    async with s.db.uow() as uow:
        row = await Repository(uow.session).order(order_id)
    if row is None or row.supplier_id != supplier.supplier_id:
        raise ApiError(404, "not_found", "no such order for this supplier")
    if row.status in SUPPLIER_NOT_TRACKABLE:
        raise ApiError(409, "not_trackable", f"order is {row.status}; it was not forwarded to a supplier")
    return await add_tracking(s, row, body, "supplier")


# =========================================================================== operator API

admin_api = APIRouter(prefix="/admin/v1", tags=["operator API"], dependencies=[Depends(operator)])


class RetailerIn(BaseModel):
    name: str = Field(min_length=1, max_length=255)


@admin_api.post("/retailers", status_code=201, summary="Register a retailer; returns its API key once")
async def create_retailer(request: Request, body: RetailerIn) -> dict:
    api_key = "dlr_" + pysecrets.token_urlsafe(32)
    retailer_id = "ret_" + pysecrets.token_hex(8)
    async with svc(request).db.uow() as uow:
        uow.session.add(Retailer(retailer_id=retailer_id, name=body.name, api_key_hash=key_hash(api_key),
                                 created_at=utcnow()))
        await uow.commit()
    return {"retailer_id": retailer_id, "name": body.name, "api_key": api_key}


class StoreIn(BaseModel):
    platform: Platform
    shop: str = Field(min_length=3, max_length=255, description="Shopify: the myshopify.com domain")
    api_base_url: HttpUrl | None = Field(default=None, description="Admin API base; default https://{shop}")
    webhook_secret: str = Field(min_length=8, max_length=500, description="Key the platform signs webhooks with")
    access_token: str = Field(min_length=8, max_length=500, description="Admin API access token")

    @field_validator("shop")
    @classmethod
    def _shop(cls, v: str) -> str:
        return v.strip().lower()


@admin_api.post("/retailers/{retailer_id}/stores", status_code=201, summary="Connect a store (secrets are never returned)")
async def connect_store(request: Request, retailer_id: str, body: StoreIn) -> dict:
    s = svc(request)
    if body.platform != Platform.SHOPIFY:
        raise ApiError(501, "platform_not_supported_yet", f"{body.platform.value} comes in a later release")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*\.myshopify\.com", body.shop):
        raise ApiError(422, "invalid_shop", "a Shopify shop is its <name>.myshopify.com domain")
    base = str(body.api_base_url).rstrip("/") if body.api_base_url else f"https://{body.shop}"
    store_id = "sto_" + pysecrets.token_hex(8)
    credentials = s.secret_box.seal({"access_token": body.access_token})
    try:
        async with s.db.uow() as uow:
            repo = Repository(uow.session)
            if await repo.retailer(retailer_id) is None:
                raise ApiError(404, "not_found", "no such retailer")
            repo.add(Store(store_id=store_id, retailer_id=retailer_id, platform=body.platform.value, shop=body.shop,
                           api_base_url=base, webhook_secret_encrypted=s.secret_box.seal(body.webhook_secret),
                           credentials_encrypted=credentials, created_at=utcnow()))
            ev = StoreConnectedV1.create(
                data=StoreConnectedData(store_id=store_id, retailer_id=retailer_id, platform=body.platform,
                                        shop=body.shop, api_base_url=base, credentials_encrypted=credentials),
                producer=PRODUCER, tenant_id=retailer_id, correlation_id=f"store:{store_id}")
            uow.publish(ev, T.CATALOG, key=store_id)
            await uow.commit()
    except IntegrityError as exc:
        raise ApiError(409, "already_connected", f"{body.platform.value} shop {body.shop} is already connected") from exc
    return {"store_id": store_id, "retailer_id": retailer_id, "platform": body.platform.value, "shop": body.shop,
            "api_base_url": base, "webhook_url": str(request.url_for("shopify_webhook"))}


class SupplierIn(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    auto_order: bool
    website_url: HttpUrl | None = None
    payment_methods: list[PaymentMethod] = Field(default_factory=list)
    vat_rate: Decimal = Field(default=Decimal("0"), ge=0, le=1)
    shipping_first_item: Decimal = Field(default=Decimal("0"), ge=0)
    shipping_additional_item: Decimal = Field(default=Decimal("0"), ge=0)
    handling_days: int | None = Field(default=None, ge=0, le=365)
    order_api_url: HttpUrl | None = None
    order_api_key: str | None = Field(default=None, min_length=8, max_length=500)


@admin_api.post("/suppliers", status_code=201, summary="Register a supplier; returns its supplier-API key once")
async def create_supplier(request: Request, body: SupplierIn) -> dict:
    s = svc(request)
    if body.auto_order and not (body.order_api_url and body.order_api_key and body.payment_methods):
        raise ApiError(422, "incomplete_auto_order",
                       "an auto-order supplier needs order_api_url, order_api_key and payment_methods")
    supplier_id = "sup_" + pysecrets.token_hex(8)
    api_key = "dls_" + pysecrets.token_urlsafe(32)
    terms = SupplierTerms(supplier_id=supplier_id, name=body.name, currency=body.currency, auto_order=body.auto_order,
                          website_url=str(body.website_url) if body.website_url else None,
                          payment_methods=body.payment_methods, vat_rate=body.vat_rate,
                          shipping_first_item=body.shipping_first_item,
                          shipping_additional_item=body.shipping_additional_item, handling_days=body.handling_days)
    order_api_url = str(body.order_api_url).rstrip("/") if body.order_api_url else None
    key_sealed = s.secret_box.seal(body.order_api_key) if body.order_api_key else None
    async with s.db.uow() as uow:
        uow.session.add(Supplier(supplier_id=supplier_id, name=body.name, terms_json=terms.model_dump_json(),
                                 api_key_hash=key_hash(api_key), order_api_url=order_api_url,
                                 order_api_key_encrypted=key_sealed, created_at=utcnow()))
        ev = SupplierRegisteredV1.create(
            data=SupplierRegisteredData(terms=terms, order_api_url=order_api_url, order_api_key_encrypted=key_sealed),
            producer=PRODUCER, tenant_id="marketplace", correlation_id=f"supplier:{supplier_id}")
        uow.publish(ev, T.CATALOG, key=supplier_id)
        await uow.commit()
    return {"supplier_id": supplier_id, "api_key": api_key, "terms": terms.model_dump(mode="json"),
            "order_api_url": order_api_url}


class ListingIn(BaseModel):
    store_id: str
    sku: str = Field(min_length=1, max_length=255)
    variant_id: str | None = Field(default=None, max_length=255)
    supplier_id: str
    supplier_sku: str = Field(min_length=1, max_length=255)
    unit_cost: Decimal = Field(ge=0, max_digits=14, decimal_places=4)
    active: bool = True


@admin_api.put("/retailers/{retailer_id}/listings", summary="Create or update a listing (store SKU → supplier product)")
async def upsert_listing(request: Request, retailer_id: str, body: ListingIn) -> dict:
    s = svc(request)
    async with s.db.uow() as uow:
        repo = Repository(uow.session)
        store = await repo.store(body.store_id)
        if store is None or store.retailer_id != retailer_id:
            raise ApiError(404, "not_found", "no such store for this retailer")
        if await repo.supplier(body.supplier_id) is None:
            raise ApiError(404, "not_found", "no such supplier")
        listing = await repo.listing(body.store_id, body.sku)
        if listing is None:
            listing = Listing(listing_id="lst_" + pysecrets.token_hex(8), retailer_id=retailer_id,
                              store_id=body.store_id, sku=body.sku, supplier_id=body.supplier_id,
                              supplier_sku=body.supplier_sku, unit_cost=body.unit_cost, updated_at=utcnow())
        for field in ("variant_id", "supplier_id", "supplier_sku", "unit_cost", "active"):
            setattr(listing, field, getattr(body, field))
        listing.updated_at = utcnow()
        repo.add(listing)
        ev = ListingUpsertedV1.create(
            data=ListingUpsertedData(listing_id=listing.listing_id, retailer_id=retailer_id, store_id=body.store_id,
                                     sku=body.sku, variant_id=body.variant_id, supplier_id=body.supplier_id,
                                     supplier_sku=body.supplier_sku, unit_cost=body.unit_cost, active=body.active),
            producer=PRODUCER, tenant_id=retailer_id, correlation_id=f"listing:{listing.listing_id}")
        uow.publish(ev, T.CATALOG, key=listing.listing_id)
        await uow.commit()
    return {"listing_id": listing.listing_id, **body.model_dump(mode="json")}
