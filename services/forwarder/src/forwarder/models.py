"""forwarder's tables: its projection of the supplier catalog, and the orders it has forwarded."""

from datetime import datetime

from sqlalchemy import Column, DateTime, Text
from sqlmodel import Field, SQLModel


class ForwarderSupplier(SQLModel, table=True):
    """How a supplier takes orders. The API key stays encrypted here; it is decrypted only for a call."""

    __tablename__ = "forwarder_suppliers"
    supplier_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=255)
    auto_order: bool = False
    order_api_url: str | None = Field(default=None, max_length=1000)
    order_api_key_encrypted: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # occurred_at of the catalog event applied last: an older event replayed later must not win.
    as_of: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ForwarderForward(SQLModel, table=True):
    """One row per order the supplier accepted: its order reference and how many tries it took."""

    __tablename__ = "forwarder_forwards"
    order_id: str = Field(primary_key=True, max_length=64)
    supplier_id: str = Field(max_length=64, index=True)
    supplier_order_id: str = Field(max_length=255)
    forwarded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    attempts: int = 1
