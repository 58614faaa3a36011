"""BigCommerce v2 order, as `fetch_order` returns it (platforms.md §2.2): the answers of three calls
merged into ``{"order": GET /v2/orders/{id}, "products": GET …/products, "shipping_addresses": GET
…/shipping_addresses}``. Money values are decimal strings ("69.8400"); dates are RFC 2822
("Tue, 05 Mar 2019 21:40:11 +0000").

Order state from ``status_id`` (reference/orders.v2.oas2.yml ``/order_statuses``):

- AWAITING_PAYMENT: 0 Incomplete ("reached the payment page, but did not complete the transaction"
  — ``store/order/created`` fires for these too), 1 Pending ("started the checkout process, but did not
  complete it"), 7 Awaiting Payment ("payment has yet to be confirmed"), 12 Manual Verification Required
  ("on hold while some aspect needs to be manually confirmed"): nothing to ship yet, maybe later.
- CANCELLED: 4 Refunded, 5 Cancelled, 6 Declined ("declined for lack of manual payment").
- PAID: 11 Awaiting Fulfillment ("payment has been confirmed"), 9 Awaiting Shipment, 8 Awaiting Pickup,
  2 Shipped, 3 Partially Shipped, 10 Completed — all past payment; 13 Disputed (a PayPal dispute opened
  on a paid order: still paid until resolved) and 14 Partially Refunded (paid, part given back).
- Any other or no ``status_id``: not an order we can read (InvalidStoreOrder).

Currency: ``default_currency_code`` — the transactional currency the shopper pays in — falling back
to ``currency_code`` (the display currency; v2 sets them equal for API orders).

Prices follow ``is_tax_inclusive_pricing``: the inc-tax figures when the store prices include tax,
the ex-tax ones otherwise, each falling back to the other when absent. The total is ``total_inc_tax``.
An order with several shipping addresses is read with its first address (Dropline ships one address
per store order; fulfilment still writes one shipment per ``order_address_id``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

from dropline_schemas.events import Address, Customer, Platform, StoreTotals

from ..parsing import currency, dec, ident, items, joined, obj, opt_obj, quantity, text, timestamp
from ..port import InvalidStoreOrder, OrderState, StoreLine, StoreOrder

AWAITING_PAYMENT_STATUSES = frozenset({0, 1, 7, 12})
CANCELLED_STATUSES = frozenset({4, 5, 6})
PAID_STATUSES = frozenset({2, 3, 8, 9, 10, 11, 13, 14})


def state_of(order: Mapping[str, Any]) -> OrderState:
    status = order.get("status_id")
    if isinstance(status, str) and status.strip().isdigit():
        status = int(status)
    if isinstance(status, bool) or not isinstance(status, int):
        raise InvalidStoreOrder(f"BigCommerce order: 'status_id' missing or not an integer: {status!r}")
    if status in PAID_STATUSES:
        return OrderState.PAID
    if status in AWAITING_PAYMENT_STATUSES:
        return OrderState.AWAITING_PAYMENT
    if status in CANCELLED_STATUSES:
        return OrderState.CANCELLED
    raise InvalidStoreOrder(f"BigCommerce order: unknown status_id {status}")


def bc_date(value: Any, where: str) -> datetime | None:
    """RFC 2822 (what v2 answers), ISO 8601 or Unix seconds; aware, in UTC; None for null/""."""
    if isinstance(value, str) and value.strip() and "," in value:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError) as exc:
            raise InvalidStoreOrder(f"{where}: not a date: {value!r}") from exc
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    return timestamp(value, where)


def _money(record: Mapping[str, Any], ex_key: str, inc_key: str, taxes_included: bool | None,
           where: str) -> Decimal | None:
    first, second = (inc_key, ex_key) if taxes_included else (ex_key, inc_key)
    value = dec(record.get(first), f"{where}.{first}")
    return value if value is not None else dec(record.get(second), f"{where}.{second}")


def _variant(value: Any) -> str | None:
    # Custom products carry variant_id 0 (reference example "Custom Product"): no variant.
    if value in (0, "0"):
        return None
    return text(value)


def normalise(payload: Any) -> StoreOrder:
    merged = obj(payload, "BigCommerce order")
    order = obj(merged.get("order"), "BigCommerce order: 'order'")
    order_id = ident(order.get("id"), "BigCommerce order: 'id'")
    money = currency(order.get("default_currency_code") or order.get("currency_code"),
                     "BigCommerce order: 'default_currency_code'")
    state = state_of(order)
    taxes_raw = order.get("is_tax_inclusive_pricing")
    taxes_included = taxes_raw if isinstance(taxes_raw, bool) else None

    lines = []
    for i, raw in enumerate(items(merged.get("products"), "BigCommerce order: 'products'", non_empty=True)):
        product = obj(raw, f"products[{i}]")
        lines.append(StoreLine(
            platform_line_id=ident(product.get("id"), f"products[{i}].id"),
            sku=text(product.get("sku")), variant_id=_variant(product.get("variant_id")),
            title=text(product.get("name")) or text(product.get("name_customer")) or "",
            quantity=quantity(product.get("quantity"), f"products[{i}].quantity"),
            unit_price=(_money(product, "price_ex_tax", "price_inc_tax", taxes_included, f"products[{i}]")
                        or dec(product.get("base_price"), f"products[{i}].base_price") or Decimal("0"))))

    addresses = [obj(a, f"shipping_addresses[{i}]") for i, a in
                 enumerate(items(merged.get("shipping_addresses") or [], "BigCommerce order: 'shipping_addresses'"))]
    first = addresses[0] if addresses else None
    address = None
    if first is not None:
        address = Address(
            name=joined(first.get("first_name"), first.get("last_name")),
            first_name=text(first.get("first_name")), last_name=text(first.get("last_name")),
            company=text(first.get("company")), address1=text(first.get("street_1")),
            address2=text(first.get("street_2")), city=text(first.get("city")), province=text(first.get("state")),
            zip=text(first.get("zip")), country=text(first.get("country")),
            country_code=text(first.get("country_iso2")), phone=text(first.get("phone")))

    billing = opt_obj(order.get("billing_address") or None, "billing_address") or {}
    customer = Customer(
        name=joined(billing.get("first_name"), billing.get("last_name")) or (address.name if address else None),
        email=text(billing.get("email")) or (text(first.get("email")) if first else None),
        phone=text(billing.get("phone")) or (address.phone if address else None))

    return StoreOrder(
        platform=Platform.BIGCOMMERCE, platform_order_id=order_id, platform_order_number=order_id,
        placed_at=bc_date(order.get("date_created"), "date_created"), currency=money, lines=lines,
        shipping_address=address, customer=customer,
        shipping_method=text(first.get("shipping_method")) if first else None,
        totals=StoreTotals(
            currency=money,
            subtotal=_money(order, "subtotal_ex_tax", "subtotal_inc_tax", taxes_included, "order"),
            shipping=_money(order, "shipping_cost_ex_tax", "shipping_cost_inc_tax", taxes_included, "order"),
            tax=dec(order.get("total_tax"), "total_tax"),
            total=dec(order.get("total_inc_tax"), "total_inc_tax"),
            taxes_included=taxes_included),
        state=state, updated_at=bc_date(order.get("date_modified"), "date_modified"))


__all__ = ["InvalidStoreOrder", "bc_date", "normalise", "state_of"]
