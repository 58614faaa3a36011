"""Shopify REST Order (the orders/* webhook body and GET orders/{id}.json), field names per platforms.md §1.2."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from dropline_schemas.events import Address, Customer, Platform, StoreTotals

from ..parsing import currency, dec, ident, items, joined, obj, opt_obj, quantity, text, timestamp
from ..port import InvalidStoreOrder, OrderState, StoreLine, StoreOrder

ADDRESS_FIELDS = ("first_name", "last_name", "company", "address1", "address2", "city", "province",
                  "province_code", "zip", "country", "country_code", "phone")
# "authorized": the payment is secured (captured later by the merchant); "pending": not paid yet.
PAID_STATUSES = {"paid", "partially_paid", "authorized", "partially_refunded"}
CANCELLED_STATUSES = {"voided", "refunded"}
# Money beyond this is not an order amount (and sums of such Decimals overflow the decimal context).
MAX_MONEY = Decimal(10) ** 15
MAX_MONEY_PLACES = 10


def state_of(order: Mapping[str, Any]) -> OrderState:
    if order.get("cancelled_at"):
        return OrderState.CANCELLED
    status = order.get("financial_status")
    if status is not None and not isinstance(status, str):
        raise InvalidStoreOrder(f"Shopify order: 'financial_status' must be a string, got {type(status).__name__}")
    if status is None or status in PAID_STATUSES:
        return OrderState.PAID
    if status in CANCELLED_STATUSES:
        return OrderState.CANCELLED
    return OrderState.AWAITING_PAYMENT


def amount(value: Any, where: str) -> Decimal | None:
    """A money amount: a decimal (see `dec`) of sane size and precision."""
    result = dec(value, where)
    if result is not None:
        exponent = result.as_tuple().exponent
        if abs(result) >= MAX_MONEY or (isinstance(exponent, int) and exponent < -MAX_MONEY_PLACES):
            raise InvalidStoreOrder(f"{where}: not a money amount: {value!r}")
    return result


def currency_code(value: Any, where: str) -> str:
    """ISO 4217 shape: three ASCII letters (``currency`` alone lets 'ß' through, which upper-cases to 'SS')."""
    if isinstance(value, str) and not value.isascii():
        raise InvalidStoreOrder(f"{where}: missing or invalid currency code: {value!r}")
    return currency(value, where)


def normalise(payload: Any) -> StoreOrder:
    order = obj(payload, "Shopify order")
    order_id = ident(order.get("id"), "Shopify order: 'id'")
    money = currency_code(order.get("currency") or order.get("presentment_currency"), "Shopify order: 'currency'")
    lines = []
    for i, raw in enumerate(items(order.get("line_items"), "Shopify order: 'line_items'", non_empty=True)):
        li = obj(raw, f"line_items[{i}]")
        lines.append(StoreLine(
            platform_line_id=ident(li.get("id"), f"line_items[{i}].id"), sku=text(li.get("sku")),
            variant_id=text(li.get("variant_id")), title=text(li.get("name")) or text(li.get("title")) or "",
            quantity=quantity(li.get("quantity"), f"line_items[{i}].quantity"),
            unit_price=amount(li.get("price"), f"line_items[{i}].price") or Decimal("0")))
    sa = opt_obj(order.get("shipping_address") or None, "shipping_address")
    address = None
    if sa is not None:
        address = Address(name=text(sa.get("name")) or joined(sa.get("first_name"), sa.get("last_name")),
                          **{k: text(sa.get(k)) for k in ADDRESS_FIELDS})
    cust = opt_obj(order.get("customer") or None, "customer") or {}
    customer = Customer(
        name=joined(cust.get("first_name"), cust.get("last_name")) or (address.name if address else None),
        email=text(order.get("email")) or text(order.get("contact_email")) or text(cust.get("email")),
        phone=text(order.get("phone")) or text(cust.get("phone")) or (address.phone if address else None))
    shipping_lines = [obj(s, f"shipping_lines[{i}]") for i, s in
                      enumerate(items(order.get("shipping_lines") or [], "shipping_lines"))]
    shipping_total = sum((amount(s.get("price"), f"shipping_lines[{i}].price") or Decimal("0")
                          for i, s in enumerate(shipping_lines)), Decimal("0"))
    taxes_included = order.get("taxes_included")
    return StoreOrder(
        platform=Platform.SHOPIFY, platform_order_id=order_id,
        platform_order_number=text(order.get("name")) or text(order.get("order_number")),
        placed_at=timestamp(order.get("created_at"), "created_at"), currency=money, lines=lines,
        shipping_address=address, customer=customer,
        shipping_method=text(shipping_lines[0].get("title")) if shipping_lines else None,
        totals=StoreTotals(currency=money, subtotal=amount(order.get("subtotal_price"), "subtotal_price"),
                           shipping=shipping_total, tax=amount(order.get("total_tax"), "total_tax"),
                           total=amount(order.get("total_price"), "total_price"),
                           taxes_included=taxes_included if isinstance(taxes_included, bool) else None),
        state=state_of(order), updated_at=timestamp(order.get("updated_at"), "updated_at"))


__all__ = ["InvalidStoreOrder", "normalise", "state_of"]
