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

    status: created (orders claimed, no provider reference saved yet) → processing (the provider
    holds the payment, being charged) ⇄ requires_action (waiting for the buyer: PayPal approval,
    3-D Secure) → succeeded | failed. A provider success that comes after the payment failed (it was
    abandoned) is honoured: succeeded again if its orders can still be paid, else refunded."""

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
    provider_reference: str | None = Field(default=None, max_length=255,
                                           description="The provider's id: Stripe PaymentIntent, PayPal order.")
    capture_reference: str | None = Field(default=None, max_length=255,
                                          description="What a refund refers to (PayPal capture id).")
    action_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True),
                                    description="requires_action: what the buyer must do (BuyerAction as JSON).")
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


class CheckoutProviderEvent(SQLModel, table=True):
    """The inbox of payment-provider webhooks: stored (verified) before anything is applied, once per
    provider event id; `applied_at` is set when checkout has acted on it (the recovery loop applies
    any left behind)."""

    __tablename__ = "checkout_provider_events"

    provider: str = Field(primary_key=True, max_length=32)
    event_id: str = Field(primary_key=True, max_length=255)
    type: str = Field(max_length=128)
    kind: str = Field(max_length=32)
    reference: str | None = Field(default=None, max_length=255, index=True)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(sa_column=_ts())
    applied_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    outcome: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class CheckoutRefund(SQLModel, table=True):
    """One refund: an order's share of a payment (supplier rejection), or a whole late payment.

    status: pending (to be sent; the refund loop sends it with `refund_id` as idempotency key and
    looks before it writes) → succeeded | failed. Unique per (payment, order): an order is refunded
    at most once."""

    __tablename__ = "checkout_refunds"
    __table_args__ = (UniqueConstraint("payment_id", "order_id", name="uq_checkout_refunds_order"),
                      Index("ix_checkout_refunds_status", "status", "updated_at"))

    refund_id: str = Field(primary_key=True, max_length=64)
    payment_id: str = Field(max_length=64, index=True)
    order_id: str = Field(max_length=64, description="The order refunded, or '*' for a whole payment.")
    retailer_id: str = Field(max_length=64)
    status: str = Field(max_length=16)
    amount_cents: int = Field(description="USD cents refunded.")
    usd_json: str = Field(sa_column=Column(Text, nullable=False), description="Amounts (USD) as JSON.")
    supplier_json: str = Field(sa_column=Column(Text, nullable=False),
                               description="Amounts (supplier currency) as JSON.")
    reason: str = Field(sa_column=Column(Text, nullable=False))
    provider_reference: str | None = Field(default=None, max_length=255, description="The provider's refund id.")
    failure_reason: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())
    completed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
