"""checkout's tables: its copy of the orders it may charge for, the payments, and each order's
status history. Amounts are stored as JSON strings of Decimals (never floats)."""

from datetime import date, datetime

from sqlalchemy import Column, Date, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from dropline_infra.db import UtcDateTime


def _ts(nullable: bool = False) -> Column:
    return Column(UtcDateTime(), nullable=nullable)


class CheckoutOrder(SQLModel, table=True):
    """One Dropline order as received (OrderReceived), with its checkout status.

    `status` is unpaid / payment_pending / paid (or the non-payable initial statuses
    non_auto_order / unmatched), or cancelled (in the store, before any payment claimed it: it can
    never be paid). `payment_id` is set while a payment holds the order (payment_pending) and stays
    set once it is paid. `order_json` is the order as it will be paid: a store change made before a
    payment claims it is applied there (StoreOrderChanged)."""

    __tablename__ = "checkout_orders"
    __table_args__ = (Index("ix_checkout_orders_retailer_status", "retailer_id", "status"),)

    order_id: str = Field(primary_key=True, max_length=64)
    order_number: str = Field(max_length=64)
    retailer_id: str = Field(max_length=64)
    supplier_id: str | None = Field(default=None, max_length=64)
    status: str = Field(max_length=32)
    payment_id: str | None = Field(default=None, max_length=64, index=True)
    order_json: str = Field(sa_column=Column(Text, nullable=False))
    correlation_id: str = Field(max_length=255, description="The order's story (from OrderReceived).")
    received_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())
    paid_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    pending_change_json: str | None = Field(
        default=None, sa_column=Column(Text, nullable=True),
        description="A store change that came while a payment held the order (StoreOrderChanged data): "
                    "applied if that payment fails, dropped once it succeeds.")


class CheckoutPayment(SQLModel, table=True):
    """One checkout attempt: one retailer, one supplier, one or more orders, one PaymentIntent.

    status: created (orders claimed, no PaymentIntent id saved yet) → processing (PaymentIntent
    created, being confirmed) → succeeded | failed."""

    __tablename__ = "checkout_payments"
    __table_args__ = (UniqueConstraint("retailer_id", "request_id", name="uq_checkout_payments_request"),
                      Index("ix_checkout_payments_open", "status", "updated_at"))

    payment_id: str = Field(primary_key=True, max_length=64)
    retailer_id: str = Field(max_length=64)
    request_id: str = Field(max_length=255, description="The client's idempotency key.")
    supplier_id: str = Field(max_length=64)
    status: str = Field(max_length=16)
    method: str = Field(max_length=16)
    payment_method: str | None = Field(default=None, max_length=255, description="Provider payment method id.")
    order_ids: str = Field(sa_column=Column(Text, nullable=False), description="JSON list, in request order.")
    quote_json: str = Field(sa_column=Column(Text, nullable=False),
                            description="The priced quote that was charged (per order + totals, fx).")
    amount_cents: int = Field(description="USD amount charged, in cents.")
    provider: str = Field(max_length=32)
    provider_reference: str | None = Field(default=None, max_length=255, description="Stripe PaymentIntent id.")
    failure_reason: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())
    completed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class CheckoutOrderTransition(SQLModel, table=True):
    """Every status change of an order in checkout, with its time and cause (the order timeline)."""

    __tablename__ = "checkout_order_transitions"

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(max_length=64, index=True)
    from_status: str | None = Field(default=None, max_length=32)
    to_status: str = Field(max_length=32)
    payment_id: str | None = Field(default=None, max_length=64)
    cause: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime = Field(sa_column=_ts())


class CheckoutReferenceRate(SQLModel, table=True):
    """One ECB euro reference rate as fetched by the rates refresher (rates.py): units of
    `currency` per 1 EUR on `rate_date`. A day is stored once; a later document never rewrites it
    (payments may already record it)."""

    __tablename__ = "checkout_reference_rates"

    rate_date: date = Field(sa_column=Column(Date, primary_key=True))
    currency: str = Field(primary_key=True, max_length=3)
    rate_per_eur: str = Field(max_length=32, description="Decimal string, exactly as the ECB published it.")
    source_url: str = Field(sa_column=Column(Text, nullable=False), description="The address it was fetched from.")
    fetched_at: datetime = Field(sa_column=_ts())
