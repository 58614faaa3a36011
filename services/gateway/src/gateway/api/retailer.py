"""The retailer API (the web app's and machine clients'): orders, live feed, export, checkout,
payments, tracking. Every route is scoped to the calling retailer."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StringConstraints, field_validator

from dropline_schemas.events import PaymentMethod

from ..services.orders import Orders, order_filter
from ..services.payments import CancelOut
from ..views import (
    CarrierGuess,
    CheckoutConfig,
    OrderDetail,
    OrderPage,
    Overview,
    PaymentOut,
    QuoteOut,
    RetailerSettings,
    ShippedLineIn,
    StoreList,
    SupplierList,
    TrackingAccepted,
    TrackingCorrectionAccepted,
    UnpaidOut,
)
from .common import ERRORS, ID_PATTERN, Id, Retailer, use_cases

router = APIRouter(prefix="/api/v1", tags=["retailer API"], responses=ERRORS)


def _filters(supplier_id: str | None, status: str | None, store_id: str | None,
             created_from: date | datetime | None, created_to: date | datetime | None, q: str | None,
             flag: str | None = None):
    return order_filter(supplier_id=supplier_id, status=status, store_id=store_id, created_from=created_from,
                        created_to=created_to, q=q, flag=flag)


FilterId = Annotated[str | None, Query(max_length=64)]
Search = Annotated[str | None, Query(max_length=100, description="Order number, store order number, customer, SKU")]
DateFrom = Annotated[date | datetime | None, Query(description="YYYY-MM-DD (UTC day, included) or ISO 8601 time")]
DateTo = Annotated[date | datetime | None, Query(description="YYYY-MM-DD (UTC day, included) or ISO 8601 time")]
Flag = Annotated[Literal["late", "not_synced"] | None,
                 Query(description="Only orders flagged late (no tracking in time) or not synced (write-back failing)")]


@router.get("/orders", response_model=OrderPage, summary="The retailer's Dropline orders, newest first")
async def list_orders(request: Request, who: Retailer, supplier_id: FilterId = None, status: FilterId = None,
                      store_id: FilterId = None, created_from: DateFrom = None, created_to: DateTo = None,
                      q: Search = None, flag: Flag = None, limit: Annotated[int, Query(ge=1, le=200)] = 50,
                      offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> OrderPage:
    f = _filters(supplier_id, status, store_id, created_from, created_to, q, flag)
    return await use_cases(request).orders.page(who, f, limit=limit, offset=offset)


@router.get("/orders/export.csv", response_class=StreamingResponse, summary="CSV of every order of the filter",
            responses={200: {"content": {"text/csv": {}}, "description": "One row per order, all pages"}})
async def export_orders(request: Request, who: Retailer, supplier_id: FilterId = None, status: FilterId = None,
                        store_id: FilterId = None, created_from: DateFrom = None, created_to: DateTo = None,
                        q: Search = None, flag: Flag = None) -> StreamingResponse:
    f = _filters(supplier_id, status, store_id, created_from, created_to, q, flag)
    name = f"dropline-orders-{date.today().isoformat()}.csv"
    return StreamingResponse(use_cases(request).orders.export_csv(who, f), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      "Cache-Control": "no-store"})


@router.get("/orders/events", response_class=EventSourceResponse,
            summary="Live changes of the retailer's orders (server-sent events; resumes from Last-Event-ID)",
            responses={200: {"description": "`event: order`, `id: <cursor>`, `data: <OrderSummary>`"}})
async def order_events(request: Request, who: Retailer,
                       last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None):
    resume = int(last_event_id) if last_event_id and last_event_id.isdigit() else None
    # A browser that goes away cancels this generator (Starlette watches for the disconnect).
    async for item in use_cases(request).feed.stream(who, resume):
        if item is None:
            yield ServerSentEvent(comment="keep-alive")
        else:
            seq, summary = item
            yield ServerSentEvent(event="order", id=str(seq), data=summary.model_dump(mode="json"), retry=2000)


@router.get("/overview", response_model=Overview,
            summary="The retailer's counts: orders flagged late, flagged not synced, unpaid")
async def overview(request: Request, who: Retailer) -> Overview:
    return await use_cases(request).orders.overview(who)


@router.get("/orders/{order_id}", response_model=OrderDetail,
            summary="One order: lines, shipping address, payment, tracking, timeline")
async def get_order(request: Request, order_id: Id, who: Retailer) -> OrderDetail:
    return await use_cases(request).orders.detail(who, order_id)


class _TrackingNumberIn(BaseModel):
    tracking_number: str = Field(min_length=3, max_length=100)
    carrier: str | None = Field(default=None, max_length=100)
    tracking_url: HttpUrl | None = None

    def url(self) -> str | None:
        return str(self.tracking_url) if self.tracking_url else None

    @field_validator("tracking_number")
    @classmethod
    def _clean(cls, v: str) -> str:
        v = v.strip()
        if not re.fullmatch(r"[A-Za-z0-9 \-]{3,100}", v):
            raise ValueError("tracking numbers are letters, digits, spaces and dashes")
        return v

    @field_validator("carrier")
    @classmethod
    def _carrier(cls, v: str | None) -> str | None:
        return (v or "").strip() or None


class TrackingIn(_TrackingNumberIn):
    supplier_order_id: str | None = Field(default=None, max_length=255)
    lines: list[ShippedLineIn] | None = Field(
        default=None, min_length=1, description="Lines and quantities this shipment carries; omitted: every "
        "quantity not shipped yet. 422 unknown_line / duplicate_line; 409 over_shipped (more than is left of a "
        "line) or already_shipped (nothing is left).")

    def lines_asked(self) -> list[dict] | None:
        return [x.model_dump() for x in self.lines] if self.lines is not None else None


class TrackingCorrectionIn(_TrackingNumberIn):
    """The right number for a shipment reported with a wrong one; carrier and URL are detected from the
    number when omitted (as for a new number)."""

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] = Field(
        description="Why the number is corrected, in words the retailer (and the timeline) reads.")


CORRECTION_REFUSALS = (
    "The shipment keeps its lines; the corrected record stays, marked superseded, with who and why. The same "
    "correction again answers 200 (status duplicate). 404 not_found: not an order of the caller, or not a tracking "
    "record of this order. 409 superseded (corrected already; details.corrected_by_tracking_id), same_number (the "
    "number it has), number_in_use (another shipment of the order has it, corrected ones included), not_trackable "
    "(a refunded or cancelled order).")


@router.post("/orders/{order_id}/tracking", status_code=201, response_model=TrackingAccepted,
             summary="Add a tracking number (e.g. for a non-auto-order supplier)",
             responses={200: {"model": TrackingAccepted, "description": "This number was already there"}})
async def add_tracking(request: Request, order_id: Id, body: TrackingIn, who: Retailer):
    out = await use_cases(request).orders.retailer_adds_tracking(
        who, order_id, body.tracking_number, body.carrier, str(body.tracking_url) if body.tracking_url else None,
        body.supplier_order_id, body.lines_asked())
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if out.status == "accepted" else 200)


@router.post("/orders/{order_id}/tracking/{tracking_id}/correction", status_code=201,
             response_model=TrackingCorrectionAccepted, summary="Correct a wrong tracking number",
             description=CORRECTION_REFUSALS,
             responses={200: {"model": TrackingCorrectionAccepted, "description": "Corrected to this number already"}})
async def correct_tracking(request: Request, order_id: Id, tracking_id: Id, body: TrackingCorrectionIn,
                           who: Retailer):
    out = await use_cases(request).orders.retailer_corrects_tracking(
        who, order_id, tracking_id, body.tracking_number, body.carrier, body.url(), body.reason)
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if out.status == "accepted" else 200)


@router.post("/orders/{order_id}/cancel", response_model=CancelOut,
             summary="Cancel an unpaid order (it will never be paid; the store order is not changed)",
             description="For an unpaid, non-auto-order or unmatched order. Cancelling twice answers 200 again "
                         "(cancelled_now false). 409 payment_in_progress: a payment holds the order; 409 "
                         "already_paid: cancel it with the supplier instead.")
async def cancel_order(request: Request, order_id: Id, who: Retailer) -> CancelOut:
    return await use_cases(request).payments.cancel(who, order_id)


@router.get("/carriers/detect", response_model=CarrierGuess, summary="The carrier a tracking number's format names")
async def detect_carrier(who: Retailer, tracking_number: Annotated[str, Query(min_length=1, max_length=100)]
                         ) -> CarrierGuess:
    return Orders.guess_carrier(tracking_number)


@router.get("/suppliers", response_model=SupplierList, summary="Suppliers of the retailer's listings and orders")
async def suppliers(request: Request, who: Retailer) -> SupplierList:
    return await use_cases(request).orders.suppliers(who)


@router.get("/stores", response_model=StoreList, summary="The retailer's connected stores")
async def stores(request: Request, who: Retailer) -> StoreList:
    return await use_cases(request).orders.stores(who)


# --------------------------------------------------------------------------- checkout and payments

OrderIdList = Annotated[list[Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]],
                        Field(min_length=1, max_length=200)]


class OrderIds(BaseModel):
    order_ids: OrderIdList


class PayIn(OrderIds):
    method: PaymentMethod = PaymentMethod.CARD
    payment_method: str | None = Field(default=None, max_length=255,
                                       description="From Stripe.js: a PaymentMethod id (pm_…) or card id (card_…)")
    confirm_flagged: bool = Field(
        default=False, description="The retailer saw the price check and pays orders it flags anyway (losing "
                                   "money, above the max buy price, margin unknown). Without it a payment with "
                                   "a flagged order answers 409 price_check_failed and charges nothing.")


@router.get("/unpaid", response_model=UnpaidOut, summary="Unpaid orders grouped by supplier")
async def unpaid(request: Request, who: Retailer) -> UnpaidOut:
    return await use_cases(request).payments.unpaid(who)


@router.get("/checkout/config", response_model=CheckoutConfig, summary="What the checkout page loads Stripe.js with")
async def checkout_config(request: Request, who: Retailer) -> CheckoutConfig:
    return use_cases(request).payments.config()


@router.post("/checkout/quote", response_model=QuoteOut,
             summary="Price orders of one supplier: per order and in total, supplier currency and USD")
async def quote(request: Request, body: OrderIds, who: Retailer) -> QuoteOut:
    return await use_cases(request).payments.quote(who, body.order_ids)


@router.post("/payments", status_code=201, response_model=PaymentOut,
             summary="Pay one order, or several orders of ONE supplier (Idempotency-Key: same key, same payment)",
             responses={402: {"model": PaymentOut, "description": "Declined: the payment, failed, with the reason"}})
async def pay(request: Request, body: PayIn, who: Retailer,
              idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None):
    status, payment = await use_cases(request).payments.pay(who, body.order_ids, body.method.value,
                                                            body.payment_method, idempotency_key,
                                                            confirm_flagged=body.confirm_flagged,
                                                            web_base_url=str(request.base_url))
    return JSONResponse(payment.model_dump(mode="json"), status_code=status,
                        headers={"Location": f"/api/v1/payments/{payment.payment_id}"})


@router.get("/payments/{payment_id}", response_model=PaymentOut, summary="A payment (the receipt)")
async def get_payment(request: Request, payment_id: Id, who: Retailer) -> PaymentOut:
    return await use_cases(request).payments.payment(who, payment_id)


@router.post("/payments/{payment_id}/complete", response_model=PaymentOut,
             summary="The retailer is back from the provider (PayPal approved, 3-D Secure done): carry the payment on",
             description="checkout asks the provider and captures or settles. The answer is the payment as it is "
                         "now: succeeded (the receipt), failed with the reason (nothing charged, the orders unpaid "
                         "again), or still requires_action. Calling it again answers the same payment.")
async def complete_payment(request: Request, payment_id: Id, who: Retailer) -> PaymentOut:
    return await use_cases(request).payments.complete(who, payment_id)


@router.post("/payments/{payment_id}/cancel", response_model=PaymentOut,
             summary="The retailer cancelled at PayPal: nothing is charged, the orders are unpaid again",
             description="Answers the payment, failed (\"you cancelled the payment; nothing was charged\"). A payment "
                         "that has already succeeded stays paid and is answered as it is.")
async def cancel_payment(request: Request, payment_id: Id, who: Retailer) -> PaymentOut:
    return await use_cases(request).payments.cancel_payment(who, payment_id)


# --------------------------------------------------------------------------- settings


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_buy_price_usd: Decimal | None = Field(
        gt=0, le=Decimal("999999.99"), decimal_places=2,
        description="The most one unit of a product may cost from the supplier, USD; null removes the maximum.")


@router.get("/settings", response_model=RetailerSettings, summary="The retailer's settings (the max buy price)")
async def get_settings(request: Request, who: Retailer) -> RetailerSettings:
    return await use_cases(request).payments.retailer_settings(who)


@router.put("/settings", response_model=RetailerSettings,
            summary="Change the retailer's settings: the maximum buy price per unit (USD) the price check uses")
async def put_settings(request: Request, body: SettingsIn, who: Retailer) -> RetailerSettings:
    return await use_cases(request).payments.update_retailer_settings(who, body.max_buy_price_usd)
