"""Ecwid REST order (GET /api/v3/{storeId}/orders/{orderId}, and each item of a search), field names per
platforms.md §3.2 and Ecwid's order reference.

Currency: Ecwid orders carry none; the store's currency is ``formatsAndUnits.currency`` of
``GET /api/v3/{storeId}/profile``. `EcwidOrders.fetch` / `.list` put it into every order they return under
the Dropline-namespaced key ``"_dropline": {"currency": "EUR", "storeId": "1003"}`` (`DROPLINE_KEY`), a key
Ecwid never uses. An order without it (and without an order-level ``currency``, should Ecwid ever add one)
is refused: prices without a currency are not an order Dropline can price.

Dates: ``createTimestamp``/``updateTimestamp`` (Unix seconds) when present, else ``createDate``/``updateDate``
in Ecwid's ``"2024-05-01 05:26:28 +0000"`` form (ISO 8601 is accepted too).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from dropline_schemas.events import Address, Customer, Platform, StoreTotals

from ..parsing import currency, dec, ident, items, joined, obj, opt_obj, quantity, text, timestamp
from ..port import InvalidStoreOrder, OrderState, StoreLine, StoreOrder

DROPLINE_KEY = "_dropline"  # {"currency": ..., "storeId": ...}: added by Dropline, never sent by Ecwid

PAID_STATUSES = {"PAID", "PARTIALLY_REFUNDED"}
CANCELLED_STATUSES = {"CANCELLED", "REFUNDED"}


def state_of(order: Mapping[str, Any]) -> OrderState:
    """PAID / PARTIALLY_REFUNDED → paid; CANCELLED / REFUNDED → cancelled; AWAITING_PAYMENT, INCOMPLETE,
    CUSTOM_PAYMENT_STATUS_n and anything unknown or missing → awaiting payment (not ingested yet)."""
    status = order.get("paymentStatus")
    status = status.upper() if isinstance(status, str) else None
    if status in PAID_STATUSES:
        return OrderState.PAID
    if status in CANCELLED_STATUSES:
        return OrderState.CANCELLED
    return OrderState.AWAITING_PAYMENT


def ecwid_time(value: Any, where: str) -> datetime | None:
    """``2024-05-01 05:26:28 +0000`` (Ecwid's form), ISO 8601, or Unix seconds; aware, in UTC."""
    if isinstance(value, str) and value.strip():
        try:
            return datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S %z").astimezone(UTC)
        except ValueError:
            pass
    return timestamp(value, where)


def _moment(order: Mapping[str, Any], stamp_key: str, date_key: str) -> datetime | None:
    stamp = order.get(stamp_key)
    if stamp is not None and stamp != "":
        if isinstance(stamp, bool) or not isinstance(stamp, (int, float)):
            raise InvalidStoreOrder(f"Ecwid order: {stamp_key!r} must be Unix seconds, got {stamp!r}")
        return timestamp(stamp, stamp_key)
    return ecwid_time(order.get(date_key), date_key)


def _currency(order: Mapping[str, Any]) -> str:
    extra = order.get(DROPLINE_KEY)
    value = extra.get("currency") if isinstance(extra, Mapping) else None
    if value is None:
        value = order.get("currency")
    if value is None:
        raise InvalidStoreOrder(
            f"Ecwid order: no currency: Ecwid orders carry none; '{DROPLINE_KEY}.currency' (the store profile's "
            "formatsAndUnits.currency, added when the order is fetched) is missing")
    return currency(value, f"Ecwid order: '{DROPLINE_KEY}.currency'")


def _split_name(name: str | None) -> tuple[str | None, str | None]:
    """"Michael Scott" → ("Michael", "Scott"); "Mary Ann Smith" → ("Mary Ann", "Smith"); one word → first."""
    if not name:
        return None, None
    parts = name.rsplit(None, 1)
    return (parts[0], parts[1]) if len(parts) == 2 else (parts[0], None)


def _address(person: Mapping[str, Any]) -> Address | None:
    first, last = text(person.get("firstName")), text(person.get("lastName"))
    name = text(person.get("name")) or joined(first, last)
    if first is None and last is None:
        first, last = _split_name(name)
    street = text(person.get("street"))
    lines = [line.strip() for line in street.split("\n") if line.strip()] if street else []
    address = Address(
        name=name, first_name=first, last_name=last, company=text(person.get("companyName")),
        address1=lines[0] if lines else None, address2=", ".join(lines[1:]) or None,
        city=text(person.get("city")), province=text(person.get("stateOrProvinceName")),
        province_code=text(person.get("stateOrProvinceCode")), zip=text(person.get("postalCode")),
        country=text(person.get("countryName")), country_code=text(person.get("countryCode")),
        phone=text(person.get("phone")))
    return address if any(v is not None for v in address.model_dump().values()) else None


def _variant(value: Any) -> str | None:
    """``combinationId``: the product variation; 0 or absent means the base product."""
    if value in (None, 0, "0", ""):
        return None
    return text(value)


def normalise(payload: Any) -> StoreOrder:
    order = obj(payload, "Ecwid order")
    order_id = ident(order.get("id") if order.get("id") not in (None, "") else order.get("orderNumber"),
                     "Ecwid order: 'id'")
    money = _currency(order)
    lines = []
    for i, raw in enumerate(items(order.get("items"), "Ecwid order: 'items'", non_empty=True)):
        item = obj(raw, f"items[{i}]")
        lines.append(StoreLine(
            platform_line_id=ident(item.get("id"), f"items[{i}].id"), sku=text(item.get("sku")),
            variant_id=_variant(item.get("combinationId")), title=text(item.get("name")) or "",
            quantity=quantity(item.get("quantity"), f"items[{i}].quantity"),
            unit_price=dec(item.get("price"), f"items[{i}].price") or Decimal("0")))
    shipping_person = opt_obj(order.get("shippingPerson") or None, "shippingPerson")
    billing_person = opt_obj(order.get("billingPerson") or None, "billingPerson")
    address = _address(shipping_person) if shipping_person is not None else None
    billing = _address(billing_person) if billing_person is not None else None
    customer = Customer(
        name=(billing.name if billing else None) or (address.name if address else None),
        email=text(order.get("email")),
        phone=(address.phone if address else None) or (billing.phone if billing else None))
    option = opt_obj(order.get("shippingOption") or None, "shippingOption") or {}
    prices_include_tax = order.get("pricesIncludeTax")
    return StoreOrder(
        platform=Platform.ECWID, platform_order_id=order_id,
        platform_order_number=text(order.get("vendorOrderNumber")) or text(order.get("id"))
        or text(order.get("orderNumber")),
        placed_at=_moment(order, "createTimestamp", "createDate"), currency=money, lines=lines,
        shipping_address=address, customer=customer,
        shipping_method=text(option.get("shippingMethodName")) or text(option.get("shippingCarrierName")),
        totals=StoreTotals(currency=money, subtotal=dec(order.get("subtotal"), "subtotal"),
                           shipping=dec(option.get("shippingRate"), "shippingOption.shippingRate"),
                           tax=dec(order.get("tax"), "tax"), total=dec(order.get("total"), "total"),
                           taxes_included=prices_include_tax if isinstance(prices_include_tax, bool) else None),
        state=state_of(order), updated_at=_moment(order, "updateTimestamp", "updateDate"))


__all__ = ["DROPLINE_KEY", "InvalidStoreOrder", "ecwid_time", "normalise", "state_of"]
