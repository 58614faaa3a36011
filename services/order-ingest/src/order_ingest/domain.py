"""Pure order logic: a platform payload becomes one normalised store order, which is split into
one Dropline order per supplier (plus one for lines that match no listing). No I/O here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from dropline_schemas.events import (
    Address,
    Customer,
    DroplineOrder,
    OrderLine,
    OrderStatus,
    Platform,
    StoreTotals,
    SupplierTerms,
)

ORDER_NS = uuid.UUID("6f1c1d3e-8a4b-4c55-9d0e-2b7f6a1e9c42")


class InvalidStoreOrder(ValueError):
    """The payload is not an order we can read; the reason says which field."""


@dataclass(frozen=True)
class StoreLine:
    platform_line_id: str
    sku: str | None
    variant_id: str | None
    title: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class StoreOrder:
    platform: Platform
    platform_order_id: str
    platform_order_number: str | None
    placed_at: datetime | None
    currency: str
    lines: list[StoreLine]
    shipping_address: Address | None
    customer: Customer
    shipping_method: str | None
    totals: StoreTotals


@dataclass(frozen=True)
class Listing:
    supplier_id: str
    supplier_sku: str
    unit_cost: Decimal


def _dec(value: Any, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise InvalidStoreOrder(f"{field}: not a decimal: {value!r}") from exc


def _str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def normalise_shopify(payload: dict[str, Any]) -> StoreOrder:
    """Shopify REST Order (orders/create body), field names per platforms.md §1.2."""
    if not isinstance(payload, dict) or "id" not in payload:
        raise InvalidStoreOrder("Shopify order: missing 'id'")
    currency = payload.get("currency") or payload.get("presentment_currency")
    if not currency or len(str(currency)) != 3:
        raise InvalidStoreOrder("Shopify order: missing or invalid 'currency'")
    raw_lines = payload.get("line_items")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise InvalidStoreOrder("Shopify order: 'line_items' must be a non-empty list")
    lines = []
    for i, li in enumerate(raw_lines):
        if not isinstance(li, dict) or "id" not in li:
            raise InvalidStoreOrder(f"line_items[{i}]: missing 'id'")
        qty = li.get("quantity")
        if not isinstance(qty, int) or qty < 1:
            raise InvalidStoreOrder(f"line_items[{i}].quantity: must be a positive integer, got {qty!r}")
        lines.append(StoreLine(
            platform_line_id=str(li["id"]), sku=_str(li.get("sku")), variant_id=_str(li.get("variant_id")),
            title=str(li.get("name") or li.get("title") or ""), quantity=qty,
            unit_price=_dec(li.get("price"), f"line_items[{i}].price") or Decimal("0")))
    sa = payload.get("shipping_address") or None
    address = None
    if isinstance(sa, dict):
        name = sa.get("name") or " ".join(p for p in (sa.get("first_name"), sa.get("last_name")) if p) or None
        address = Address(name=name, **{k: _str(sa.get(k)) for k in (
            "first_name", "last_name", "company", "address1", "address2", "city", "province",
            "province_code", "zip", "country", "country_code", "phone")})
    cust = payload.get("customer") or {}
    cust_name = " ".join(p for p in (cust.get("first_name"), cust.get("last_name")) if p) or (address.name if address else None)
    customer = Customer(name=cust_name, email=_str(payload.get("email") or payload.get("contact_email") or cust.get("email")),
                        phone=_str(payload.get("phone") or cust.get("phone") or (address.phone if address else None)))
    shipping_lines = payload.get("shipping_lines") or []
    shipping_total = sum((_dec(s.get("price"), "shipping_lines.price") or Decimal("0") for s in shipping_lines
                          if isinstance(s, dict)), Decimal("0"))
    placed_at = None
    if payload.get("created_at"):
        try:
            placed_at = datetime.fromisoformat(str(payload["created_at"]))
        except ValueError as exc:
            raise InvalidStoreOrder(f"created_at: not an ISO date: {payload['created_at']!r}") from exc
    return StoreOrder(
        platform=Platform.SHOPIFY, platform_order_id=str(payload["id"]),
        platform_order_number=_str(payload.get("name") or payload.get("order_number")),
        placed_at=placed_at, currency=str(currency).upper(), lines=lines, shipping_address=address,
        customer=customer,
        shipping_method=_str(shipping_lines[0].get("title")) if shipping_lines and isinstance(shipping_lines[0], dict) else None,
        totals=StoreTotals(currency=str(currency).upper(), subtotal=_dec(payload.get("subtotal_price"), "subtotal_price"),
                           shipping=shipping_total, tax=_dec(payload.get("total_tax"), "total_tax"),
                           total=_dec(payload.get("total_price"), "total_price"),
                           taxes_included=payload.get("taxes_included")))


NORMALISERS = {Platform.SHOPIFY: normalise_shopify}


def normalise(platform: Platform, payload: dict[str, Any]) -> StoreOrder:
    try:
        fn = NORMALISERS[platform]
    except KeyError as exc:
        raise InvalidStoreOrder(f"no normaliser for platform {platform} yet") from exc
    return fn(payload)


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
