"""tracking-sync's tables: its projection of store connections and orders, and the fulfilments it wrote."""

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text
from sqlmodel import Field, SQLModel

from dropline_infra.db import UtcDateTime


class SyncStore(SQLModel, table=True):
    """A connected store. Credentials stay encrypted here; they are decrypted only for a call."""

    __tablename__ = "sync_stores"
    store_id: str = Field(primary_key=True, max_length=64)
    retailer_id: str = Field(max_length=64, index=True)
    platform: str = Field(max_length=32)
    shop: str = Field(max_length=255)
    api_base_url: str = Field(max_length=1000)
    credentials_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    # occurred_at of the catalog event applied last: an older event replayed later must not win.
    as_of: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class SyncOrder(SQLModel, table=True):
    """Where a Dropline order lives in its store."""

    __tablename__ = "sync_orders"
    order_id: str = Field(primary_key=True, max_length=64)
    retailer_id: str = Field(max_length=64)
    store_id: str = Field(max_length=64, index=True)
    platform: str = Field(max_length=32)
    platform_order_id: str = Field(max_length=255)
    order_number: str = Field(max_length=64)
    received_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class SyncOrderLine(SQLModel, table=True):
    """One line of a Dropline order and the store line item it fulfils."""

    __tablename__ = "sync_order_lines"
    order_id: str = Field(primary_key=True, max_length=64)
    line_id: str = Field(primary_key=True, max_length=64)
    platform_line_id: str = Field(max_length=255)
    sku: str | None = Field(default=None, max_length=255)
    quantity: int


class SyncFulfillment(SQLModel, table=True):
    """One row per tracking record written to (or found already in) the store."""

    __tablename__ = "sync_fulfillments"
    tracking_id: str = Field(primary_key=True, max_length=64)
    order_id: str = Field(max_length=64, index=True)
    platform_fulfillment_id: str = Field(max_length=1000)
    synced_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    already_present: bool = False


class SyncFulfilmentRequest(SQLModel, table=True):
    """One store fulfilment request (Shopify "Request fulfillment") per delivery: which Dropline orders it
    is for (found before anything is written to the store) and how answering it went.
    status: pending (orders found, not answered yet) → accepted | duplicate (another delivery of the same
    fulfillment order was answered already) | failed."""

    __tablename__ = "sync_fulfilment_requests"
    __table_args__ = (Index("ix_sync_fulfilment_requests_fo", "store_id", "platform_fulfillment_order_id"),)
    delivery_id: str = Field(primary_key=True, max_length=64)
    store_id: str = Field(max_length=64)
    platform: str = Field(max_length=32)
    platform_fulfillment_order_id: str = Field(max_length=255)
    platform_order_id: str = Field(max_length=255)
    order_ids: str = Field(sa_column=Column(Text, nullable=False), description="JSON list of Dropline order ids.")
    message: str | None = Field(default=None, sa_column=Column(Text))
    status: str = Field(default="pending", max_length=16)
    reason: str | None = Field(default=None, sa_column=Column(Text))
    already_accepted: bool = False
    accepted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class SyncOrderAlert(SQLModel, table=True):
    """An order's shipment clock for the late-shipment alerts (one row per Dropline order): when its
    handling time started (paid, or forwarded when that came first), the supplier's handling days, when
    tracking arrived, when it was closed (refunded), and the alerts published so far (each the moment
    its condition began; null = not raised). Filled from OrderReceived, OrderPaid, OrderForwarded,
    TrackingAdded and OrderRefunded in whatever order they arrive."""

    __tablename__ = "sync_order_alerts"
    __table_args__ = (Index("ix_sync_order_alerts_open", "closed_at", "tracked_at", "started_at"),)
    order_id: str = Field(primary_key=True, max_length=64)
    retailer_id: str = Field(max_length=64)
    correlation_id: str | None = Field(default=None, max_length=255)
    started_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    handling_days: int | None = None
    terms_known: bool = False
    tracked_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    late_since: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    not_synced_since: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
