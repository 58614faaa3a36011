"""Pure order logic: which store orders count, how one normalised store order (read by its
platform's package, dropline_integrations) is split into one Dropline order per supplier, plus one
for lines that match no listing, and when a store order seen again has changed. No I/O here."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from dropline_integrations.port import OrderState, StoreLine, StoreOrder
from dropline_schemas.events import DroplineOrder, OrderLine, OrderStatus, SupplierTerms

ORDER_NS = uuid.UUID("6f1c1d3e-8a4b-4c55-9d0e-2b7f6a1e9c42")


@dataclass(frozen=True)
class Listing:
    supplier_id: str
    supplier_sku: str
    unit_cost: Decimal


class Intake(StrEnum):
    """What to do with a store order read from a delivery, a fetch or a listing."""

    INGEST = "ingest"  # paid and new: split it into Dropline orders
    ALREADY_INGESTED = "already_ingested"  # same store order through another path: one Dropline order
    NOT_PAID_YET = "not_paid_yet"  # incomplete / awaiting payment: a later update or listing brings it
    CANCELLED_BEFORE_INGEST = "cancelled_before_ingest"


def intake(order: StoreOrder, *, already_ingested: bool) -> Intake:
    """Which store orders count: only paid ones, once (platforms.md: BigCommerce fires created for
    incomplete orders, Wix creates before approval, Ecwid has unfinished orders)."""
    if already_ingested:
        return Intake.ALREADY_INGESTED
    if order.state is OrderState.PAID:
        return Intake.INGEST
    if order.state is OrderState.CANCELLED:
        return Intake.CANCELLED_BEFORE_INGEST
    return Intake.NOT_PAID_YET


# --------------------------------------------------------------------------- changes after intake


def change_fingerprint(order: StoreOrder) -> str:
    """What of a store order matters once it is ingested: where it ships, whom to contact, whether
    it is cancelled. Lines and totals are the paid order's and are not followed."""
    seen = {"shipping_address": order.shipping_address.model_dump(mode="json") if order.shipping_address else None,
            "customer": order.customer.model_dump(mode="json") if order.customer else None,
            "cancelled": order.state is OrderState.CANCELLED}
    return hashlib.sha256(json.dumps(seen, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class Change:
    """The store order as it stands now, to tell each of its Dropline orders (StoreOrderChanged)."""

    fingerprint: str
    cancelled: bool


def store_order_change(order: StoreOrder, *, last_fingerprint: str | None,
                       last_updated_at: datetime | None) -> Change | None:
    """A store order Dropline has ingested came again (an update delivery, a fetch, a listing).
    Returns the change to publish, or None when the address, customer and cancelled state are as last
    seen (reconciliation's overlapping windows, a second delivery of the same update) or when this is
    an older version than the one seen last (deliveries are not ordered)."""
    fingerprint = change_fingerprint(order)
    if fingerprint == last_fingerprint:
        return None
    if last_updated_at is not None and order.updated_at is not None and order.updated_at < last_updated_at:
        return None
    return Change(fingerprint=fingerprint, cancelled=order.state is OrderState.CANCELLED)


def listing_window(watermark: datetime | None, now: datetime, *, overlap_seconds: float,
                   lookback_hours: float) -> datetime:
    """Where a reconciliation listing starts: a little before the watermark, or the look-back on the first run."""
    if watermark is None:
        return now - timedelta(hours=lookback_hours)
    return watermark - timedelta(seconds=overlap_seconds)


def dropline_order_id(store_id: str, platform_order_id: str, supplier_id: str | None) -> str:
    """Deterministic: the same store order always yields the same Dropline order ids."""
    return str(uuid.uuid5(ORDER_NS, f"{store_id}|{platform_order_id}|{supplier_id or 'unmatched'}"))


def find_listing(listings: dict[tuple[str, str], Listing], line: StoreLine) -> Listing | None:
    """Match by SKU first, then by platform variant id."""
    if line.sku and ("sku", line.sku) in listings:
        return listings[("sku", line.sku)]
    if line.variant_id and ("variant", line.variant_id) in listings:
        return listings[("variant", line.variant_id)]
    return None


def split_by_supplier(order: StoreOrder, *, retailer_id: str, store_id: str,
                      listings: dict[tuple[str, str], Listing], suppliers: dict[str, SupplierTerms]) -> list[DroplineOrder]:
    """One DroplineOrder per supplier; lines without a listing (or whose supplier is unknown) go to
    one 'unmatched' order so they are shown, never dropped. Order numbers default to the platform
    number with a suffix; the caller replaces them with Dropline numbers."""
    groups: dict[str | None, list[OrderLine]] = {}
    for line in order.lines:
        listing = find_listing(listings, line)
        supplier_id = listing.supplier_id if listing and listing.supplier_id in suppliers else None
        order_id = dropline_order_id(store_id, order.platform_order_id, supplier_id)
        groups.setdefault(supplier_id, []).append(OrderLine(
            line_id=str(uuid.uuid5(ORDER_NS, f"{order_id}|{line.platform_line_id}")),
            platform_line_id=line.platform_line_id, sku=line.sku, variant_id=line.variant_id, title=line.title,
            quantity=line.quantity, unit_price=line.unit_price, matched=supplier_id is not None,
            supplier_sku=listing.supplier_sku if supplier_id else None,
            unit_cost=listing.unit_cost if supplier_id else None))
    # Stable output: suppliers by id, unmatched last.
    keys = sorted(k for k in groups if k is not None) + ([None] if None in groups else [])
    result = []
    for i, supplier_id in enumerate(keys):
        terms = suppliers.get(supplier_id) if supplier_id else None
        if terms is None:
            status = OrderStatus.UNMATCHED
        elif terms.auto_order:
            status = OrderStatus.UNPAID
        else:
            status = OrderStatus.NON_AUTO_ORDER
        number = f"{order.platform_order_number or order.platform_order_id}-{i + 1}"
        result.append(DroplineOrder(
            order_id=dropline_order_id(store_id, order.platform_order_id, supplier_id), order_number=number,
            retailer_id=retailer_id, store_id=store_id, platform=order.platform,
            platform_order_id=order.platform_order_id, platform_order_number=order.platform_order_number,
            placed_at=order.placed_at, status=status, supplier=terms, lines=groups[supplier_id],
            shipping_address=order.shipping_address, customer=order.customer,
            shipping_method=order.shipping_method, store_totals=order.totals))
    return result
