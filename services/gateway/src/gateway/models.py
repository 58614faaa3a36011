"""gateway's tables: master data (retailers, stores, suppliers, listings), the webhook inbox,
and the orders read model (a projection of every order event) with its timeline."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, Index, Numeric, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from dropline_infra.db import UtcDateTime


def _ts(nullable: bool = False) -> Column:
    return Column(UtcDateTime(), nullable=nullable)


class Retailer(SQLModel, table=True):
    __tablename__ = "gateway_retailers"
    retailer_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=255)
    api_key_hash: str = Field(max_length=64, unique=True)
    max_buy_price_usd: str | None = Field(
        default=None, max_length=32,
        description="Settings: the most one unit may cost from a supplier, USD decimal string (null: no maximum); "
                    "checkout's price guardrail flags orders above it.")
    created_at: datetime = Field(sa_column=_ts())


class RetailerUser(SQLModel, table=True):
    """A person who signs in to the web app for one retailer (the tenant)."""

    __tablename__ = "gateway_retailer_users"
    user_id: str = Field(primary_key=True, max_length=64)
    retailer_id: str = Field(max_length=64, index=True)
    email: str = Field(max_length=320, unique=True, description="Lower-cased.")
    password_hash: str = Field(sa_column=Column(Text, nullable=False), description="argon2id (argon2-cffi).")
    created_at: datetime = Field(sa_column=_ts())


class WebSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "gateway_web_sessions"
    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(max_length=64, index=True)
    retailer_id: str = Field(max_length=64)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=_ts())
    expires_at: datetime = Field(sa_column=_ts())


class SignInFailure(SQLModel, table=True):
    """A failed sign-in, counted per account and per client address to slow guessing down."""

    __tablename__ = "gateway_signin_failures"
    __table_args__ = (Index("ix_gateway_signin_failures_key_at", "key", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=400, description="'email:<address>' or 'ip:<client address>'.")
    at: datetime = Field(sa_column=_ts())


class Store(SQLModel, table=True):
    __tablename__ = "gateway_stores"
    __table_args__ = (UniqueConstraint("platform", "shop", name="uq_gateway_store_platform_shop"),)
    store_id: str = Field(primary_key=True, max_length=64)
    retailer_id: str = Field(max_length=64, index=True)
    platform: str = Field(max_length=32)
    shop: str = Field(max_length=255)
    api_base_url: str = Field(max_length=1000)
    webhook_secret_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    header_secret_encrypted: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    credentials_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_ts())


class StoreHealth(SQLModel, table=True):
    """How a store's intake and write-back go (projected from store-health and sync events)."""

    __tablename__ = "gateway_store_health"
    store_id: str = Field(primary_key=True, max_length=64)
    last_reconciled_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_reconcile_examined: int | None = None
    last_reconcile_ingested: int | None = None
    last_reconcile_error: str | None = Field(default=None, sa_column=Column(Text))
    last_write_back_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_failure_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_failure_reason: str | None = Field(default=None, sa_column=Column(Text))


class Supplier(SQLModel, table=True):
    __tablename__ = "gateway_suppliers"
    supplier_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=255)
    terms_json: str = Field(sa_column=Column(Text, nullable=False))
    api_key_hash: str = Field(max_length=64, unique=True)
    order_api_url: str | None = Field(default=None, max_length=1000)
    order_api_key_encrypted: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=_ts())


class Listing(SQLModel, table=True):
    __tablename__ = "gateway_listings"
    __table_args__ = (UniqueConstraint("store_id", "sku", name="uq_gateway_listing_store_sku"),)
    listing_id: str = Field(primary_key=True, max_length=64)
    retailer_id: str = Field(max_length=64, index=True)
    store_id: str = Field(max_length=64)
    sku: str = Field(max_length=255)
    variant_id: str | None = Field(default=None, max_length=255)
    supplier_id: str = Field(max_length=64)
    supplier_sku: str = Field(max_length=255)
    unit_cost: Decimal = Field(sa_column=Column(Numeric(18, 4), nullable=False))
    active: bool = True
    updated_at: datetime = Field(sa_column=_ts())


class WebhookDelivery(SQLModel, table=True):
    """Every accepted platform delivery, stored before we answer 200; unique per platform delivery id."""

    __tablename__ = "gateway_webhook_deliveries"
    __table_args__ = (UniqueConstraint("platform", "platform_delivery_id", name="uq_gateway_delivery"),)
    delivery_id: str = Field(primary_key=True, max_length=64)
    platform: str = Field(max_length=32)
    platform_delivery_id: str = Field(max_length=255)
    store_id: str = Field(max_length=64)
    topic: str = Field(max_length=100)
    body: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(sa_column=_ts())


class OrderView(SQLModel, table=True):
    """Read model for the retailer's order list and detail view."""

    __tablename__ = "gateway_orders"
    # The Orders page: one retailer, newest first, optionally one status or one supplier.
    __table_args__ = (Index("ix_gateway_orders_retailer_created", "retailer_id", "created_at", "order_id"),
                      Index("ix_gateway_orders_retailer_status", "retailer_id", "status", "created_at"),
                      Index("ix_gateway_orders_retailer_supplier", "retailer_id", "supplier_id", "created_at"))
    order_id: str = Field(primary_key=True, max_length=64)
    retailer_id: str = Field(max_length=64)
    store_id: str | None = Field(default=None, max_length=64)
    supplier_id: str | None = Field(default=None, max_length=64)
    supplier_name: str | None = Field(default=None, max_length=255)
    order_number: str | None = Field(default=None, max_length=64)
    platform: str | None = Field(default=None, max_length=32)
    platform_order_number: str | None = Field(default=None, max_length=64)
    customer_name: str | None = Field(default=None, max_length=255)
    status: str = Field(max_length=32)
    status_rank: int = 0
    order_json: str | None = Field(default=None, sa_column=Column(Text))
    payment_json: str | None = Field(default=None, sa_column=Column(Text))
    supplier_order_id: str | None = Field(default=None, max_length=255)
    tracking_json: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    problem: str | None = Field(default=None, sa_column=Column(Text))
    item_count: int = 0
    unmatched_line_count: int = 0
    search_text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""),
                             description="Lower-cased SKUs and supplier SKUs, space-separated, for search.")
    cost_json: str | None = Field(default=None, sa_column=Column(Text),
                                  description="Supplier-currency amounts priced by checkout.")
    usd_total: str | None = Field(default=None, max_length=32, description="Decimal string, once checkout began.")
    pending_payment_id: str | None = Field(default=None, max_length=64)
    closed_payment_ids: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"),
                                    description="Payments that ended (a late OrderPaymentStarted of one is ignored).")
    correlation_id: str | None = Field(default=None, max_length=255)
    refunds_json: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"),
                              description="checkout's refunds of this order (OrderRefunded), one per refund id.")
    # tracking-sync's OrderAlert: since when the order is late (no tracking within the supplier's handling
    # days) / not synced (write-back failing longer than the threshold); null = not flagged.
    late_since: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    not_synced_since: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    created_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())


class TimelineEntry(SQLModel, table=True):
    __tablename__ = "gateway_timeline"
    __table_args__ = (Index("ix_gateway_timeline_order", "order_id", "occurred_at"),)
    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(max_length=64)
    event_id: str = Field(max_length=64, unique=True)
    event_type: str = Field(max_length=64)
    status: str | None = Field(default=None, max_length=32)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    occurred_at: datetime = Field(sa_column=_ts())
    recorded_at: datetime = Field(sa_column=_ts())


class TrackingReport(SQLModel, table=True):
    """Tracking accepted from a supplier or the retailer; one per (order, tracking number)."""

    __tablename__ = "gateway_tracking_reports"
    __table_args__ = (UniqueConstraint("order_id", "tracking_number", name="uq_gateway_tracking"),)
    tracking_id: str = Field(primary_key=True, max_length=64)
    order_id: str = Field(max_length=64)
    tracking_number: str = Field(max_length=255)
    carrier: str | None = Field(default=None, max_length=100)
    tracking_url: str | None = Field(default=None, max_length=1000)
    source: str = Field(max_length=16)
    created_at: datetime = Field(sa_column=_ts())
    lines_json: str | None = Field(default=None, sa_column=Column(Text),
                                   description='JSON [{"line_id", "quantity"}] this shipment carries; null = all lines '
                                   "(reports from before partial shipments).")
    # A correction (wrong number) is an explicit action: the new report names the one it corrects, the
    # old one is kept and marked superseded, with who changed it and why.
    corrects_tracking_id: str | None = Field(default=None, max_length=64)
    superseded_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    changed_by: str | None = Field(default=None, max_length=255)
    change_reason: str | None = Field(default=None, sa_column=Column(Text))


class SupplierRejection(SQLModel, table=True):
    """A supplier's report (supplier API) that it cannot fulfil an order forwarded to it: one per order,
    so a repeated report answers with the first and publishes nothing."""

    __tablename__ = "gateway_supplier_rejections"
    order_id: str = Field(primary_key=True, max_length=64)
    rejection_id: str = Field(max_length=64, unique=True)
    supplier_id: str = Field(max_length=64)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    supplier_order_id: str | None = Field(default=None, max_length=255)
    reported_at: datetime = Field(sa_column=_ts())


class OrderChange(SQLModel, table=True):
    """One row per change the projection applied: the live feed's durable record. A browser's
    stream resumes from its last seq (SSE Last-Event-ID)."""

    __tablename__ = "gateway_order_changes"
    __table_args__ = (Index("ix_gateway_order_changes_retailer_seq", "retailer_id", "seq"),
                      Index("ix_gateway_order_changes_recorded", "recorded_at"))
    seq: int | None = Field(default=None, primary_key=True)
    retailer_id: str = Field(max_length=64)
    order_id: str = Field(max_length=64)
    recorded_at: datetime = Field(sa_column=_ts())
