"""order-ingest's tables: its projection of the catalog, and the store orders it has split."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, DateTime, Index, Numeric, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from dropline_infra.types import UtcDateTime


class IngestStore(SQLModel, table=True):
    __tablename__ = "ingest_stores"
    store_id: str = Field(primary_key=True, max_length=64)
    retailer_id: str = Field(max_length=64, index=True)
    platform: str = Field(max_length=32)
    shop: str = Field(max_length=255)
    api_base_url: str | None = Field(default=None, max_length=500)
    credentials_encrypted: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Reconciliation: the platform's updated-at up to which every order has been looked at.
    watermark: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))


class IngestSupplier(SQLModel, table=True):
    __tablename__ = "ingest_suppliers"
    supplier_id: str = Field(primary_key=True, max_length=64)
    terms_json: str = Field(sa_column=Column(Text, nullable=False))


class IngestListing(SQLModel, table=True):
    __tablename__ = "ingest_listings"
    __table_args__ = (Index("ix_ingest_listings_store_sku", "store_id", "sku"),)
    listing_id: str = Field(primary_key=True, max_length=64)
    retailer_id: str = Field(max_length=64)
    store_id: str = Field(max_length=64)
    sku: str = Field(max_length=255)
    variant_id: str | None = Field(default=None, max_length=255)
    supplier_id: str = Field(max_length=64)
    supplier_sku: str = Field(max_length=255)
    unit_cost: Decimal = Field(sa_column=Column(Numeric(18, 4), nullable=False))
    active: bool = True


class IngestStoreOrder(SQLModel, table=True):
    """One row per store order ever ingested: the idempotency record on (store, platform order id),
    whatever delivery (webhook, duplicate, reconciliation) brought it, and what was last seen of it."""

    __tablename__ = "ingest_store_orders"
    __table_args__ = (UniqueConstraint("store_id", "platform_order_id", name="uq_ingest_store_order"),)
    id: int | None = Field(default=None, primary_key=True)
    store_id: str = Field(max_length=64)
    platform_order_id: str = Field(max_length=255)
    retailer_id: str = Field(max_length=64)
    delivery_id: str = Field(max_length=64)
    dropline_order_ids: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # What the store said last about the order's shipping address, customer contact and cancelled
    # state (domain.change_fingerprint), and the store's updated-at of that version: a later delivery,
    # fetch or listing publishes StoreOrderChanged only when it differs and is not older. Null for rows
    # from before they were kept (the first look then publishes once; checkout ignores a no-op).
    change_fingerprint: str | None = Field(default=None, max_length=64)
    store_updated_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))


class IngestCounter(SQLModel, table=True):
    """Sequence for Dropline order numbers (portable: a locked row, not a PostgreSQL sequence)."""

    __tablename__ = "ingest_counters"
    name: str = Field(primary_key=True, max_length=64)
    value: int = 0
