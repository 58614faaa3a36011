"""What ``POST /v2/checkout/orders`` accepts (payments.md §3.1–§3.2, PayPal's order_request schema):
schema problems answer 400 INVALID_REQUEST, business rules 422 UNPROCESSABLE_ENTITY, each with the
``field`` path PayPal writes (``/purchase_units/@reference_id=='default'/amount/value``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from .errors import PayPalError, invalid_request, unprocessable

# PayPal's supported currency codes (developer.paypal.com/api/rest/reference/currency-codes).
CURRENCIES = frozenset({"AUD", "BRL", "CAD", "CNY", "CZK", "DKK", "EUR", "HKD", "HUF", "ILS", "JPY", "MYR", "MXN",
                        "TWD", "NZD", "NOK", "PHP", "PLN", "GBP", "SGD", "SEK", "CHF", "THB", "USD"})
NO_DECIMALS = frozenset({"HUF", "JPY", "TWD"})  # "HUF, JPY and TWD take no decimals" (payments.md §3.2)
VALUE_PATTERN = re.compile(r"^((-?[0-9]+)|(-?([0-9]+)?[.][0-9]+))$")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
MERCHANT_ID_PATTERN = re.compile(r"^[2-9A-HJ-NP-Z]{13}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
REQUEST_ID_MAX = 108
MAX_UNITS = 10
ADDING = ("item_total", "tax_total", "shipping", "handling", "insurance")
SUBTRACTING = ("shipping_discount", "discount")
INTENTS = ("CAPTURE", "AUTHORIZE")


def decimals(currency: str) -> int:
    return 0 if currency in NO_DECIMALS else 2


def format_value(amount: Decimal, currency: str) -> str:
    places = decimals(currency)
    return f"{amount:.{places}f}"


def money(currency: str, amount: Decimal) -> dict[str, str]:
    return {"currency_code": currency, "value": format_value(amount, currency)}


def unit_path(reference_id: str) -> str:
    return f"/purchase_units/@reference_id=='{reference_id}'"


def parse_money(value: Any, path: str, *, currency: str | None = None, positive: bool = False,
                info: str | None = None) -> tuple[str, Decimal]:
    """``{currency_code, value}`` → (currency, Decimal), or the PayPal error for it."""
    extra = {"info": info} if info else {}
    if not isinstance(value, dict):
        raise invalid_request("INVALID_PARAMETER_SYNTAX" if value is not None else "MISSING_REQUIRED_PARAMETER", path)
    code, raw = value.get("currency_code"), value.get("value")
    if code is None:
        raise invalid_request("MISSING_REQUIRED_PARAMETER", f"{path}/currency_code")
    if not isinstance(code, str) or not CURRENCY_PATTERN.match(code):
        raise invalid_request("INVALID_PARAMETER_SYNTAX", f"{path}/currency_code", code)
    if raw is None:
        raise invalid_request("MISSING_REQUIRED_PARAMETER", f"{path}/value")
    if not isinstance(raw, str) or len(raw) > 32 or not VALUE_PATTERN.match(raw):
        raise invalid_request("INVALID_PARAMETER_SYNTAX", f"{path}/value", raw)
    if code not in CURRENCIES:
        raise unprocessable("CURRENCY_NOT_SUPPORTED", f"{path}/currency_code", code, **extra)
    if currency is not None and code != currency:
        raise unprocessable("CURRENCY_MISMATCH", f"{path}/currency_code", code, **extra)
    amount = Decimal(raw)
    exponent = -amount.as_tuple().exponent if amount.as_tuple().exponent < 0 else 0
    if "." in raw and code in NO_DECIMALS:
        raise unprocessable("DECIMALS_NOT_SUPPORTED", f"{path}/value", raw, **extra)
    if exponent > decimals(code):
        raise unprocessable("DECIMAL_PRECISION", f"{path}/value", raw, **extra)
    if positive and amount <= 0:
        raise unprocessable("CANNOT_BE_ZERO_OR_NEGATIVE", f"{path}/value", raw, **extra)
    if amount < 0:
        raise unprocessable("CANNOT_BE_NEGATIVE", f"{path}/value", raw, **extra)
    return code, amount


def _string(unit: dict[str, Any], key: str, path: str, max_length: int, *, truncate: bool = False) -> str | None:
    value = unit.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_request("INVALID_PARAMETER_SYNTAX", f"{path}/{key}", value)
    if len(value) > max_length:
        if truncate:
            return value[:max_length]
        raise invalid_request("INVALID_STRING_LENGTH", f"{path}/{key}", value)
    if not value:
        raise invalid_request("INVALID_STRING_LENGTH", f"{path}/{key}", value)
    return value


def _url(value: Any, path: str) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or len(value) > 4000:
        raise invalid_request("INVALID_PARAMETER_SYNTAX", path, value)
    return value


@dataclass
class OrderRequest:
    """A validated create-order request, as the stand-in keeps it."""

    intent: str
    purchase_units: list[dict[str, Any]]  # normalised: reference_id, amount, payee, description, ids, items
    payment_source: dict[str, Any] | None  # {"paypal": {...}} when given
    return_url: str | None
    cancel_url: str | None
    shipping_preference: str
    user_action: str


def validate_order(body: Any) -> OrderRequest:
    if not isinstance(body, dict):
        raise invalid_request("MALFORMED_REQUEST_JSON", location="body")
    intent = body.get("intent")
    if intent is None:
        raise invalid_request("MISSING_REQUIRED_PARAMETER", "/intent")
    if intent not in INTENTS:
        raise invalid_request("INVALID_PARAMETER_VALUE", "/intent", intent)
    units = body.get("purchase_units")
    if units is None:
        raise invalid_request("MISSING_REQUIRED_PARAMETER", "/purchase_units")
    if not isinstance(units, list):
        raise invalid_request("INVALID_PARAMETER_SYNTAX", "/purchase_units")
    if not units:
        raise invalid_request("INVALID_ARRAY_MIN_ITEMS", "/purchase_units")
    if len(units) > MAX_UNITS:
        raise invalid_request("INVALID_ARRAY_MAX_ITEMS", "/purchase_units", len(units))
    seen: set[str] = set()
    normalised = []
    for index, unit in enumerate(units):
        if not isinstance(unit, dict):
            raise invalid_request("INVALID_PARAMETER_SYNTAX", f"/purchase_units/{index}")
        reference_id = unit.get("reference_id")
        if reference_id is None:
            if len(units) > 1:
                raise unprocessable("REFERENCE_ID_REQUIRED", f"/purchase_units/{index}/reference_id")
            reference_id = "default"
        if not isinstance(reference_id, str) or not 1 <= len(reference_id) <= 256:
            raise invalid_request("INVALID_STRING_LENGTH", f"/purchase_units/{index}/reference_id", reference_id)
        if reference_id in seen:
            raise unprocessable("DUPLICATE_REFERENCE_ID", f"/purchase_units/{index}/reference_id", reference_id)
        seen.add(reference_id)
        normalised.append(_validate_unit(unit, reference_id))
    source = body.get("payment_source")
    experience: dict[str, Any] = {}
    if source is not None:
        if not isinstance(source, dict) or not source:
            raise invalid_request("INVALID_PARAMETER_SYNTAX", "/payment_source")
        unknown = [k for k in source if k != "paypal"]
        if unknown:
            raise unprocessable("PAYMENT_SOURCE_NOT_SUPPORTED", f"/payment_source/{unknown[0]}")
        wallet = source.get("paypal") or {}
        if not isinstance(wallet, dict):
            raise invalid_request("INVALID_PARAMETER_SYNTAX", "/payment_source/paypal")
        experience = wallet.get("experience_context") or {}
        if not isinstance(experience, dict):
            raise invalid_request("INVALID_PARAMETER_SYNTAX", "/payment_source/paypal/experience_context")
    legacy = body.get("application_context") or {}
    if not isinstance(legacy, dict):
        raise invalid_request("INVALID_PARAMETER_SYNTAX", "/application_context")
    ctx_path = "/payment_source/paypal/experience_context" if experience else "/application_context"
    context = experience or legacy
    return_url = _url(context.get("return_url"), f"{ctx_path}/return_url")
    cancel_url = _url(context.get("cancel_url"), f"{ctx_path}/cancel_url")
    shipping_preference = context.get("shipping_preference") or "GET_FROM_FILE"
    if shipping_preference not in ("GET_FROM_FILE", "NO_SHIPPING", "SET_PROVIDED_ADDRESS"):
        raise invalid_request("INVALID_PARAMETER_VALUE", f"{ctx_path}/shipping_preference", shipping_preference)
    user_action = context.get("user_action") or "CONTINUE"
    if user_action not in ("CONTINUE", "PAY_NOW"):
        raise invalid_request("INVALID_PARAMETER_VALUE", f"{ctx_path}/user_action", user_action)
    return OrderRequest(intent=intent, purchase_units=normalised,
                        payment_source={"paypal": {}} if source is not None else None,
                        return_url=return_url, cancel_url=cancel_url, shipping_preference=shipping_preference,
                        user_action=user_action)


def _validate_unit(unit: dict[str, Any], reference_id: str) -> dict[str, Any]:
    path = unit_path(reference_id)
    amount = unit.get("amount")
    if amount is None:
        raise invalid_request("MISSING_REQUIRED_PARAMETER", f"{path}/amount")
    currency, total = parse_money(amount, f"{path}/amount", positive=True)
    breakdown = amount.get("breakdown")
    parts: dict[str, Decimal] = {}
    if breakdown is not None:
        if not isinstance(breakdown, dict):
            raise invalid_request("INVALID_PARAMETER_SYNTAX", f"{path}/amount/breakdown")
        for key, value in breakdown.items():
            if key not in ADDING + SUBTRACTING:
                raise invalid_request("INVALID_PARAMETER_VALUE", f"{path}/amount/breakdown/{key}")
            parts[key] = parse_money(value, f"{path}/amount/breakdown/{key}", currency=currency)[1]
    items = unit.get("items")
    if items is not None:
        _validate_items(items, path, currency, parts)
    if breakdown is not None:
        expected = sum((parts.get(k, Decimal(0)) for k in ADDING), Decimal(0)) - sum(
            (parts.get(k, Decimal(0)) for k in SUBTRACTING), Decimal(0))
        if expected != total:
            raise unprocessable("AMOUNT_MISMATCH", f"{path}/amount/value", amount["value"])
    payee = unit.get("payee")
    if payee is not None:
        if not isinstance(payee, dict):
            raise invalid_request("INVALID_PARAMETER_SYNTAX", f"{path}/payee")
        email, merchant = payee.get("email_address"), payee.get("merchant_id")
        if email is not None and (not isinstance(email, str) or len(email) > 254 or not EMAIL_PATTERN.match(email)):
            raise invalid_request("INVALID_PARAMETER_SYNTAX", f"{path}/payee/email_address", email)
        if merchant is not None and (not isinstance(merchant, str) or not MERCHANT_ID_PATTERN.match(merchant)):
            raise invalid_request("INVALID_PARAMETER_SYNTAX", f"{path}/payee/merchant_id", merchant)
        if email is None and merchant is None:
            raise invalid_request("MISSING_REQUIRED_PARAMETER", f"{path}/payee/email_address")
        payee = {k: v for k, v in (("email_address", email), ("merchant_id", merchant)) if v is not None}
    return {
        "reference_id": reference_id,
        "amount": amount,
        "currency": currency,
        "total": total,
        "payee": payee,
        "description": _string(unit, "description", path, 127, truncate=True),  # PayPal truncates at 127
        "custom_id": _string(unit, "custom_id", path, 255),
        "invoice_id": _string(unit, "invoice_id", path, 127),
        "soft_descriptor": _string(unit, "soft_descriptor", path, 22, truncate=True),
        "items": items,
    }


def _validate_items(items: Any, path: str, currency: str, parts: dict[str, Decimal]) -> None:
    if not isinstance(items, list):
        raise invalid_request("INVALID_PARAMETER_SYNTAX", f"{path}/items")
    item_total = Decimal(0)
    tax_total = Decimal(0)
    has_tax = False
    for index, item in enumerate(items):
        item_path = f"{path}/items/{index}"
        if not isinstance(item, dict):
            raise invalid_request("INVALID_PARAMETER_SYNTAX", item_path)
        name = item.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 127:
            raise invalid_request("MISSING_REQUIRED_PARAMETER" if name is None else "INVALID_STRING_LENGTH",
                                  f"{item_path}/name")
        quantity = item.get("quantity")
        if not isinstance(quantity, str) or not quantity.isdigit() or len(quantity) > 10:
            raise invalid_request("MISSING_REQUIRED_PARAMETER" if quantity is None else "INVALID_PARAMETER_SYNTAX",
                                  f"{item_path}/quantity", quantity)
        if "unit_amount" not in item:
            raise invalid_request("MISSING_REQUIRED_PARAMETER", f"{item_path}/unit_amount")
        unit_amount = parse_money(item["unit_amount"], f"{item_path}/unit_amount", currency=currency)[1]
        item_total += unit_amount * int(quantity)
        if "tax" in item:
            has_tax = True
            tax_total += parse_money(item["tax"], f"{item_path}/tax", currency=currency)[1] * int(quantity)
    if items:
        if "item_total" not in parts:
            raise unprocessable("ITEM_TOTAL_REQUIRED", f"{path}/amount/breakdown/item_total")
        if parts["item_total"] != item_total:
            raise unprocessable("ITEM_TOTAL_MISMATCH", f"{path}/amount/breakdown/item_total/value",
                                format_value(parts["item_total"], currency))
        if has_tax:
            if "tax_total" not in parts:
                raise unprocessable("TAX_TOTAL_REQUIRED", f"{path}/amount/breakdown/tax_total")
            if parts["tax_total"] != tax_total:
                raise unprocessable("TAX_TOTAL_MISMATCH", f"{path}/amount/breakdown/tax_total/value",
                                    format_value(parts["tax_total"], currency))


def check_request_id(value: str | None) -> str | None:
    if value is not None and (not value or len(value) > REQUEST_ID_MAX):
        raise invalid_request("INVALID_STRING_LENGTH", "PayPal-Request-Id", value, location="header")
    return value


def parse_prefer(value: str | None) -> str:
    """``Prefer: return=minimal`` (PayPal's default) or ``return=representation``."""
    if value and "return=representation" in value.replace(" ", "").lower():
        return "representation"
    return "minimal"


__all__ = ["CURRENCIES", "NO_DECIMALS", "OrderRequest", "PayPalError", "check_request_id", "decimals",
           "format_value", "money", "parse_money", "parse_prefer", "unit_path", "validate_order"]
