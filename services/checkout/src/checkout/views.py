"""Request and response bodies of checkout's internal HTTP API (they make its OpenAPI schema).
Amounts are JSON strings of decimals ("12.30"), never floats."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from dropline_schemas.events import FxRecord, PaymentMethod

from .domain import Amounts, Charge, OrderQuote, Quote, SupplierInfo, Totals
from .guardrail import PriceCheck

OrderId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# The retailer's maximum buy price per unit (USD), kept by the gateway with the retailer's account.
MaxBuyPrice = Annotated[Decimal | None, Field(
    gt=0, le=Decimal("999999.99"), decimal_places=2,
    description="The retailer's maximum buy price per unit, USD (set by the gateway; none: not checked).")]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuoteRequest(_Request):
    retailer_id: str = Field(min_length=1, max_length=64, description="Set by the gateway from the session.")
    order_ids: list[OrderId] = Field(description="Orders of one supplier, each listed once.")
    max_buy_price_usd: MaxBuyPrice = None


class PaymentRequest(QuoteRequest):
    method: str = Field(description="card | paypal.", examples=["card"])
    payment_method: str | None = Field(default=None, max_length=255,
                                       description="Card payments: the provider's payment method id.",
                                       examples=["pm_card_visa"])
    return_url: str | None = Field(default=None, max_length=2048,
                                   description="Redirect flows (PayPal): where the buyer comes back after approving.")
    cancel_url: str | None = Field(default=None, max_length=2048,
                                   description="Redirect flows (PayPal): where the buyer comes back after cancelling.")
    request_id: str = Field(min_length=1, max_length=255,
                            description="The client's idempotency key: the same key returns the same payment.")
    confirm_flagged: bool = Field(
        default=False, description="The retailer confirmed paying orders the price check flags (losing money, "
                                   "above the max buy price, margin unknown); without it such a payment is "
                                   "refused with 409 price_check_failed and nothing is charged.")


class QuoteView(Quote):
    retailer_id: str
    price_check: PriceCheck = Field(description="Each order's price guardrail (pay flagged ones with "
                                                "confirm_flagged=true).")


class SupplierUnpaid(BaseModel):
    supplier_id: str
    name: str
    currency: str
    payment_methods: list[PaymentMethod]
    order_count: int
    order_ids: list[str]
    amounts: Amounts = Field(description="Sum over the orders that could be priced, supplier currency.")
    unpriced: list[dict] = Field(default_factory=list, description="Orders that cannot be priced, with why.")


class UnpaidView(BaseModel):
    retailer_id: str
    suppliers: list[SupplierUnpaid]
    price_check: PriceCheck = Field(description="Each unpaid order's price guardrail, at today's rates.")


class NextAction(BaseModel):
    type: Literal["redirect", "authenticate_card"] = Field(
        description="redirect: send the buyer to `url` (PayPal approval); authenticate_card: confirm "
                    "`client_secret` with stripe.js (3-D Secure).")
    url: str | None = None
    client_secret: str | None = None


class RefundView(BaseModel):
    refund_id: str
    order_id: str | None = Field(description="The order refunded; null: the whole payment.")
    status: Literal["pending", "succeeded", "failed"]
    amount_usd: Decimal
    amount_supplier_currency: Decimal
    currency: str = Field(description="The supplier's currency.")
    reason: str
    provider_reference: str | None = Field(description="The provider's refund id.")
    failure_reason: str | None = None
    created_at: datetime
    completed_at: datetime | None = None

    @classmethod
    def of(cls, r, quote: Quote) -> RefundView:
        usd = Amounts.read(r.usd_json)
        supplier = Amounts.read(r.supplier_json)
        return cls(refund_id=r.refund_id, order_id=None if r.order_id == "*" else r.order_id, status=r.status,
                   amount_usd=usd.total, amount_supplier_currency=supplier.total, currency=quote.supplier.currency,
                   reason=r.reason, provider_reference=r.provider_reference, failure_reason=r.failure_reason,
                   created_at=r.created_at, completed_at=r.completed_at)


class PaymentView(BaseModel):
    payment_id: str
    retailer_id: str
    request_id: str
    status: Literal["processing", "requires_action", "succeeded", "failed", "refunded"] = Field(
        description="requires_action: the buyer must act (next_action); refunded: the provider took the money "
                    "after the checkout was abandoned and its orders had been paid or cancelled meanwhile, so "
                    "all of it was given back.")
    method: PaymentMethod
    order_ids: list[str]
    supplier: SupplierInfo
    orders: list[OrderQuote]
    total: Totals
    charge: Charge
    fx: FxRecord
    provider: str
    provider_reference: str | None = Field(description="The provider's id (Stripe PaymentIntent, PayPal order).")
    next_action: NextAction | None = Field(default=None, description="What the buyer must do (requires_action).")
    refunds: list[RefundView] = Field(default_factory=list, description="Money given back, per order.")
    failure_reason: str | None
    created_at: datetime
    completed_at: datetime | None


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorView(BaseModel):
    error: ErrorBody
