"""Request and response bodies of checkout's internal HTTP API (they make its OpenAPI schema).
Amounts are JSON strings of decimals ("12.30"), never floats."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from dropline_schemas.events import FxRecord, PaymentMethod

from .domain import Amounts, Charge, OrderQuote, Quote, SupplierInfo, Totals

OrderId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuoteRequest(_Request):
    retailer_id: str = Field(min_length=1, max_length=64, description="Set by the gateway from the session.")
    order_ids: list[OrderId] = Field(description="Orders of one supplier, each listed once.")


class PaymentRequest(QuoteRequest):
    method: str = Field(description="card | paypal (PayPal answers 501 for now).", examples=["card"])
    payment_method: str | None = Field(default=None, max_length=255,
                                       description="Stripe PaymentMethod id for card payments.",
                                       examples=["pm_card_visa"])
    request_id: str = Field(min_length=1, max_length=255,
                            description="The client's idempotency key: the same key returns the same payment.")


class QuoteView(Quote):
    retailer_id: str


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


class PaymentView(BaseModel):
    payment_id: str
    retailer_id: str
    request_id: str
    status: Literal["processing", "succeeded", "failed"]
    method: PaymentMethod
    order_ids: list[str]
    supplier: SupplierInfo
    orders: list[OrderQuote]
    total: Totals
    charge: Charge
    fx: FxRecord
    provider: str
    provider_reference: str | None = Field(description="Stripe PaymentIntent id.")
    failure_reason: str | None
    created_at: datetime
    completed_at: datetime | None


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorView(BaseModel):
    error: ErrorBody
