"""Wix eCommerce Order (``wix.ecom.v1.order``: the Order Created/Approved webhook entity and
GET /ecom/v1/orders/{id}), field names per platforms.md §4.2.

State (what Dropline may act on):
- ``status`` CANCELED, or ``paymentStatus`` FULLY_REFUNDED → CANCELLED;
- ``status`` APPROVED with ``paymentStatus`` PAID or PARTIALLY_REFUNDED → PAID;
- everything else → AWAITING_PAYMENT. That includes APPROVED orders that are NOT_PAID / PENDING /
  PARTIALLY_PAID / UNSPECIFIED: Wix approves offline-payment orders (cash, bank transfer, "pay later")
  before any money arrives. A retailer does not want the supplier paid for an order the customer has not
  paid, so those wait for the Payment Status Updated webhook (or the listing) that shows them PAID.
  INITIALIZED orders (checkout not finished) wait too.

Other choices:
- ``catalogReference.options.variantId`` is the variant; Wix writes the all-zero GUID for a product
  without variants, which is read as "no variant".
- ``subdivision`` is ISO 3166-2 (``US-NY``): province_code is the part after the country prefix.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from dropline_schemas.events import Address, Customer, Platform, StoreTotals

from ..parsing import currency, dec, ident, items, joined, obj, opt_obj, quantity, text, timestamp
from ..port import InvalidStoreOrder, OrderState, StoreLine, StoreOrder

PAID_PAYMENT_STATUSES = {"PAID", "PARTIALLY_REFUNDED"}
NO_VARIANT = "00000000-0000-0000-0000-000000000000"


def state_of(order: Mapping[str, Any]) -> OrderState:
    status = order.get("status") if isinstance(order.get("status"), str) else None
    payment = order.get("paymentStatus") if isinstance(order.get("paymentStatus"), str) else None
    if status == "CANCELED" or payment == "FULLY_REFUNDED":
        return OrderState.CANCELLED
    if status == "APPROVED" and payment in PAID_PAYMENT_STATUSES:
        return OrderState.PAID
    return OrderState.AWAITING_PAYMENT


def money(value: Any, where: str) -> Decimal | None:
    """Wix money is ``{"amount": "10.00", "formattedAmount": "$10.00"}``; null/absent is None."""
    if value is None:
        return None
    return dec(obj(value, where).get("amount"), f"{where}.amount")


def _province_code(subdivision: str | None, country: str | None) -> str | None:
    if not subdivision:
        return None
    prefix, sep, rest = subdivision.partition("-")
    if sep and rest and (country is None or prefix.upper() == country.upper() or len(prefix) == 2):
        return rest
    return subdivision


def _address(destination: Mapping[str, Any] | None) -> Address | None:
    if destination is None:
        return None
    where = "shippingInfo.logistics.shippingDestination"
    address = opt_obj(destination.get("address"), f"{where}.address") or {}
    contact = opt_obj(destination.get("contactDetails"), f"{where}.contactDetails") or {}
    if not address and not contact:
        return None
    street = opt_obj(address.get("streetAddress"), f"{where}.address.streetAddress") or {}
    country = text(address.get("country"))
    subdivision = text(address.get("subdivision"))
    first, last = text(contact.get("firstName")), text(contact.get("lastName"))
    return Address(
        name=joined(first, last), first_name=first, last_name=last, company=text(contact.get("company")),
        address1=text(address.get("addressLine")) or text(address.get("addressLine1"))
        or joined(street.get("number"), street.get("name")),
        address2=text(address.get("addressLine2")) or text(street.get("apt")),
        city=text(address.get("city")),
        province=text(address.get("subdivisionFullname")) or subdivision,
        province_code=_province_code(subdivision, country),
        zip=text(address.get("postalCode")),
        country=text(address.get("countryFullname")) or country,
        country_code=country.upper() if country else None,
        phone=text(contact.get("phone")))


def _line(raw: Any, i: int) -> StoreLine:
    li = obj(raw, f"lineItems[{i}]")
    name = li.get("productName")
    if isinstance(name, Mapping):
        title = text(name.get("original")) or text(name.get("translated")) or ""
    else:
        title = text(name) or ""
    physical = opt_obj(li.get("physicalProperties"), f"lineItems[{i}].physicalProperties") or {}
    reference = opt_obj(li.get("catalogReference"), f"lineItems[{i}].catalogReference") or {}
    options = opt_obj(reference.get("options"), f"lineItems[{i}].catalogReference.options") or {}
    variant = text(options.get("variantId"))
    return StoreLine(
        platform_line_id=ident(li.get("id"), f"lineItems[{i}].id"), sku=text(physical.get("sku")),
        variant_id=None if variant == NO_VARIANT else variant, title=title,
        quantity=quantity(li.get("quantity"), f"lineItems[{i}].quantity"),
        unit_price=money(li.get("price"), f"lineItems[{i}].price") or Decimal("0"))


def normalise(payload: Any) -> StoreOrder:
    order = obj(payload, "Wix order")
    order_id = ident(order.get("id"), "Wix order: 'id'")
    code = currency(order.get("currency"), "Wix order: 'currency'")
    lines = [_line(raw, i) for i, raw in
             enumerate(items(order.get("lineItems"), "Wix order: 'lineItems'", non_empty=True))]

    shipping = opt_obj(order.get("shippingInfo"), "shippingInfo") or {}
    logistics = opt_obj(shipping.get("logistics"), "shippingInfo.logistics") or {}
    address = _address(opt_obj(logistics.get("shippingDestination"), "shippingInfo.logistics.shippingDestination"))
    cost = opt_obj(shipping.get("cost"), "shippingInfo.cost") or {}

    buyer = opt_obj(order.get("buyerInfo"), "buyerInfo") or {}
    billing = opt_obj(order.get("billingInfo"), "billingInfo") or {}
    billing_contact = opt_obj(billing.get("contactDetails"), "billingInfo.contactDetails") or {}
    customer = Customer(
        name=joined(billing_contact.get("firstName"), billing_contact.get("lastName"))
        or (address.name if address else None),
        email=text(buyer.get("email")),
        phone=text(billing_contact.get("phone")) or (address.phone if address else None))

    prices = opt_obj(order.get("priceSummary"), "priceSummary") or {}
    tax_summary = opt_obj(order.get("taxSummary"), "taxSummary") or {}
    shipping_total = money(prices.get("shipping"), "priceSummary.shipping")
    if shipping_total is None:
        shipping_total = money(cost.get("price"), "shippingInfo.cost.price")
    tax = money(prices.get("tax"), "priceSummary.tax")
    if tax is None:
        tax = money(tax_summary.get("totalTax"), "taxSummary.totalTax")
    total = money(prices.get("total"), "priceSummary.total")
    if total is None:
        total = money(prices.get("totalPrice"), "priceSummary.totalPrice")
    taxes_included = order.get("taxIncludedInPrices")
    return StoreOrder(
        platform=Platform.WIX, platform_order_id=order_id, platform_order_number=text(order.get("number")),
        placed_at=timestamp(order.get("createdDate"), "createdDate"), currency=code, lines=lines,
        shipping_address=address, customer=customer, shipping_method=text(shipping.get("title")),
        totals=StoreTotals(currency=code, subtotal=money(prices.get("subtotal"), "priceSummary.subtotal"),
                           shipping=shipping_total, tax=tax, total=total,
                           taxes_included=taxes_included if isinstance(taxes_included, bool) else None),
        state=state_of(order), updated_at=timestamp(order.get("updatedDate"), "updatedDate"))


__all__ = ["InvalidStoreOrder", "normalise", "state_of"]
