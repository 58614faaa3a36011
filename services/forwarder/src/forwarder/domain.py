"""Pure forwarding rules: whether a paid order goes to a supplier's order API, and the request body
the supplier receives. No I/O here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dropline_schemas.events import DroplineOrder


class NotForwardable(ValueError):
    """The order cannot be sent as it is (e.g. a line without a supplier SKU); the reason says why."""


@dataclass(frozen=True)
class SupplierConfig:
    supplier_id: str
    name: str
    auto_order: bool
    order_api_url: str | None
    has_api_key: bool


class Route(StrEnum):
    FORWARD = "forward"                # auto-order supplier with an order API
    NOT_AUTO_ORDER = "not_auto_order"  # the retailer orders on the supplier's website
    NO_ORDER_API = "no_order_api"      # auto-order, but no order API to send to
    UNKNOWN_SUPPLIER = "unknown_supplier"


def route(supplier: SupplierConfig | None) -> Route:
    if supplier is None:
        return Route.UNKNOWN_SUPPLIER
    if not supplier.auto_order:
        return Route.NOT_AUTO_ORDER
    if not supplier.order_api_url or not supplier.has_api_key:
        return Route.NO_ORDER_API
    return Route.FORWARD


def idempotency_key(order_id: str) -> str:
    """Same order, same key, on every attempt: the supplier answers a retry with the order it already made."""
    return f"dropline-order-{order_id}"


def orders_endpoint(order_api_url: str) -> str:
    return f"{order_api_url.rstrip('/')}/v1/orders"


def supplier_order_request(order: DroplineOrder) -> dict[str, Any]:
    """The body of POST /v1/orders for one paid Dropline order."""
    lines = []
    for line in order.lines:
        if not line.matched or not line.supplier_sku:
            raise NotForwardable(f"line {line.line_id} ({line.sku or line.title}) has no supplier SKU")
        lines.append({"sku": line.supplier_sku, "quantity": line.quantity, "title": line.title})
    if not lines:
        raise NotForwardable("order has no lines")
    address = order.shipping_address
    if address is None or not address.address1 or not address.country_code:
        raise NotForwardable("order has no usable shipping address")
    name = address.name or " ".join(p for p in (address.first_name, address.last_name) if p) or None
    customer = order.customer
    return {
        "external_id": order.order_id,
        "order_number": order.order_number,
        "lines": lines,
        "ship_to": {
            "name": name,
            "address1": address.address1,
            "address2": address.address2,
            "city": address.city,
            "province": address.province,
            "province_code": address.province_code,
            "zip": address.zip,
            "country_code": address.country_code,
            "phone": address.phone,
        },
        "customer": {
            "email": customer.email if customer else None,
            "phone": customer.phone if customer else None,
        },
    }


def supplier_order_id(body: Any) -> str | None:
    """The supplier's own reference from its answer to POST /v1/orders."""
    if not isinstance(body, dict):
        return None
    for key in ("id", "supplier_order_id", "order_id"):
        value = body.get(key)
        if value not in (None, ""):
            return str(value)
    return None


_HTTP_STATUS = re.compile(r"\bHTTP (\d{3})\b")


def status_code_from_reason(reason: str) -> int | None:
    """The supplier's last HTTP status, when the failure reason carries one."""
    found = _HTTP_STATUS.findall(reason)
    return int(found[-1]) if found else None
