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


# --------------------------------------------------------------------------- the supplier refusing an order
#
# A permanent 4xx is either the supplier saying no to the ORDER (422 out of stock, unknown SKU, an
# address it cannot ship to: rejected_by_supplier, and checkout refunds the retailer) or a complaint
# about Dropline's REQUEST that says nothing about the order: a wrong key or URL (401/403/404/405/407,
# an operator fixes the supplier's configuration) or a broken protocol (no Idempotency-Key, a body that
# is not JSON: a Dropline bug). Those are "could not forward": the money stays, an operator looks.

RETRYABLE_4XX = frozenset({408, 409, 425, 429})  # the ones dropline_infra.http.classify retries
NOT_ABOUT_THE_ORDER = frozenset({401, 403, 404, 405, 407, 411, 413, 414, 415, 431})
PROTOCOL_ERRORS = frozenset({"idempotency_key_required", "idempotency_key_too_long", "idempotency_key_reused",
                             "invalid_json"})
# Every refusal's reason starts with this: the job's give-up handler only receives the reason text.
REFUSED_PREFIX = "the supplier's order API refused the order"


def error_code(body: Any) -> str | None:
    """The machine-readable code of an error body: {"error": "code"} or {"error": {"code": ...}}."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict):
        error = error.get("code")
    return str(error) if isinstance(error, (str, int)) and error != "" else None


def is_refusal(status_code: int, body: Any) -> bool:
    """Does this answer to POST /v1/orders mean the supplier will not take the order?"""
    if not 400 <= status_code < 500 or status_code in RETRYABLE_4XX or status_code in NOT_ABOUT_THE_ORDER:
        return False
    return error_code(body) not in PROTOCOL_ERRORS


def refusal_summary(body: Any, text: str) -> str:
    """The supplier's reason in one line: its code, its message and any other plain fields
    ("out_of_stock: ACME-CASE is sold out", "unknown_sku (sku NOPE)"), else its raw answer."""
    if isinstance(body, dict):
        error = body.get("error")
        message = error.get("message") if isinstance(error, dict) else None
        message = message or body.get("message") or body.get("detail")
        parts = [p for p in (error_code(body), message) if isinstance(p, (str, int)) and str(p).strip()]
        extras = [f"{k} {v}" for k, v in body.items()
                  if k not in ("error", "message", "detail", "details") and isinstance(v, (str, int, float))
                  and not isinstance(v, bool)]
        summary = ": ".join(str(p) for p in parts) + (f" ({', '.join(extras)})" if extras else "")
        if summary.strip():
            return summary[:500]
    return text.strip()[:500] or "no reason given"


def refusal_reason(status_code: int, body: Any, text: str) -> str:
    return f"{REFUSED_PREFIX} (HTTP {status_code}): {refusal_summary(body, text)}"


def rejected_by_supplier(reason: str) -> bool:
    """The give-up reason of a job the supplier refused (not one that ran out of attempts, nor a
    request Dropline could not make)."""
    return reason.startswith(REFUSED_PREFIX)


_HTTP_STATUS = re.compile(r"\bHTTP (\d{3})\b")


def status_code_from_reason(reason: str) -> int | None:
    """The supplier's last HTTP status, when the failure reason carries one."""
    found = _HTTP_STATUS.findall(reason)
    return int(found[-1]) if found else None
