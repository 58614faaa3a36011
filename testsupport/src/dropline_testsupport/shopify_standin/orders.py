"""REST-shaped Shopify orders, as delivered in the body of an ``orders/create`` webhook.

Field names and value formats follow platforms.md §1.2 (the REST Order representation, example values from
Shopify/shopify_python_api ``test/fixtures/order.json``): numeric ids, ``admin_graphql_api_id`` GIDs,
``name`` "#1001", money as decimal strings with two places, ``*_set`` money bags (shop + presentment
money), ``financial_status`` "paid" (or what the spec says: "pending", "authorized", ...),
``fulfillment_status`` null, full addresses, customer, tax lines.

``build_order_payload`` is pure (ids and clock can be injected) so tests and the bench can build and sign
their own webhook bodies without running the stand-in.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pycountry
from pydantic import BaseModel, ConfigDict, Field, field_validator

CENT = Decimal("0.01")
FinancialStatus = Literal["pending", "authorized", "partially_paid", "paid", "partially_refunded", "refunded",
                          "voided"]
DEFAULT_TIMEZONE = "America/New_York"


class IdAllocator:
    """Shopify-like numeric ids: unique across every kind of object and increasing.

    Seeded from the wall clock in milliseconds (13 digits, like today's Shopify ids), so a restarted
    stand-in never hands out an id that an earlier run (whose orders may still sit in Dropline's
    database) already used.
    """

    def __init__(self, start: int | None = None) -> None:
        self._counter = itertools.count(start if start is not None else int(time.time() * 1000))
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            return next(self._counter)


def gid(kind: str, numeric_id: int) -> str:
    """Global id as Shopify writes it: ``gid://shopify/Order/450789469``."""
    return f"gid://shopify/{kind}/{numeric_id}"


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def money_set(value: Decimal, currency: str) -> dict[str, Any]:
    """A REST money bag: the same amount in shop and presentment currency (one-currency shops)."""
    amount = {"amount": money(value), "currency_code": currency}
    return {"shop_money": dict(amount), "presentment_money": dict(amount)}


# --------------------------------------------------------------------------------------------------
# The partial order spec accepted by the control API (validated by pydantic, not by hand)
# --------------------------------------------------------------------------------------------------


class LineItemSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str
    title: str = Field(min_length=1)
    quantity: int = Field(ge=1)
    price: Decimal = Field(ge=0)
    variant_id: int | None = None
    product_id: int | None = None
    variant_title: str | None = None
    vendor: str | None = None
    grams: int = Field(default=250, ge=0)
    requires_shipping: bool = True
    taxable: bool = True
    properties: list[dict[str, str]] = Field(default_factory=list)


class AddressSpec(BaseModel):
    """An address as a test gives it; ``province`` and ``country`` names are filled in from the codes."""

    model_config = ConfigDict(extra="forbid")

    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address1: str = Field(min_length=1)
    address2: str | None = None
    city: str = Field(min_length=1)
    province: str | None = None
    province_code: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str = Field(pattern=r"^[A-Z]{2}$")
    phone: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    @field_validator("country_code")
    @classmethod
    def _known_country(cls, value: str) -> str:
        if pycountry.countries.get(alpha_2=value) is None:
            raise ValueError(f"unknown ISO 3166-1 country code {value!r}")
        return value


# Used when the spec has no shipping address: the address of Shopify's order fixture (platforms.md §1.2).
DEFAULT_ADDRESS = AddressSpec(
    first_name="Bob", last_name="Norman", address1="Chestnut Street 92", address2="", city="Louisville",
    province_code="KY", zip="40202", country_code="US", phone="555-625-1199",
)


class CustomerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None


class ShippingLineSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = "Standard Shipping"
    price: Decimal = Field(default=Decimal("5.00"), ge=0)
    code: str | None = None
    source: str = "shopify"


class OrderSpec(BaseModel):
    """What a test says about an order; everything else gets realistic defaults."""

    model_config = ConfigDict(extra="forbid")

    currency: str = "USD"
    email: str | None = "bob.norman@example.com"
    phone: str | None = None
    line_items: list[LineItemSpec] = Field(min_length=1)
    shipping_address: AddressSpec | None = None
    billing_address: AddressSpec | None = None
    customer: CustomerSpec | None = None
    shipping_lines: list[ShippingLineSpec] | None = None
    tax_rate: Decimal = Field(default=Decimal("0.10"), ge=0, le=1)
    tax_title: str = "Tax"
    taxes_included: bool = False
    # REST financial_status values; "pending" / "authorized" orders can be marked paid later through the
    # control API (which sends orders/paid + orders/updated).
    financial_status: FinancialStatus = "paid"
    note: str | None = None
    tags: str = ""
    test: bool = False
    # Control-API only (ignored by build_order_payload): deliver the orders/create webhook now.
    deliver_webhook: bool = True

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if pycountry.currencies.get(alpha_3=value) is None:
            raise ValueError(f"unknown ISO 4217 currency code {value!r}")
        return value


# --------------------------------------------------------------------------------------------------
# Building the payload
# --------------------------------------------------------------------------------------------------


def _country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)


def _province_name(country_code: str, province_code: str | None) -> str | None:
    if not province_code:
        return None
    subdivision = pycountry.subdivisions.get(code=f"{country_code}-{province_code}")
    return str(subdivision.name) if subdivision is not None else province_code


def address_json(spec: AddressSpec) -> dict[str, Any]:
    """REST address with every documented field (platforms.md §1.2 ``shipping_address``)."""
    name = " ".join(part for part in (spec.first_name, spec.last_name) if part)
    return {
        "first_name": spec.first_name,
        "last_name": spec.last_name,
        "name": name,
        "company": spec.company,
        "address1": spec.address1,
        "address2": spec.address2,
        "city": spec.city,
        "province": spec.province or _province_name(spec.country_code, spec.province_code),
        "province_code": spec.province_code,
        "zip": spec.zip,
        "country": spec.country or _country_name(spec.country_code),
        "country_code": spec.country_code,
        "phone": spec.phone,
        "latitude": spec.latitude,
        "longitude": spec.longitude,
    }


def _tax(amount: Decimal, rate: Decimal, included: bool) -> Decimal:
    if rate == 0:
        return Decimal("0.00")
    if included:  # the price already contains the tax: take it out
        return (amount - amount / (1 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)
    return (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def build_order_payload(
    spec: OrderSpec | Mapping[str, Any],
    *,
    shop_domain: str,
    order_number: int = 1001,
    new_id: Callable[[], int] | None = None,
    now: datetime | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> dict[str, Any]:
    """The full REST Order (platforms.md §1.2) for ``spec``, as Shopify sends it in ``orders/create``.

    ``spec`` is an :class:`OrderSpec` or a mapping validated into one (pydantic ``ValidationError`` on bad
    input). Ids come from ``new_id`` (default: a fresh clock-seeded :class:`IdAllocator`); times are in
    the shop's ``timezone`` with its UTC offset, like Shopify's REST timestamps.
    """
    order = spec if isinstance(spec, OrderSpec) else OrderSpec.model_validate(spec)
    next_id = new_id or IdAllocator()
    tz = ZoneInfo(timezone)
    created = (now or datetime.now(tz)).astimezone(tz).replace(microsecond=0)
    stamp = created.isoformat()
    currency = order.currency
    rate = order.tax_rate

    shipping_spec = order.shipping_address or DEFAULT_ADDRESS
    shipping_address = address_json(shipping_spec)
    billing_address = address_json(order.billing_address or shipping_spec)

    order_id = next_id()
    line_items: list[dict[str, Any]] = []
    total_line_items = Decimal(0)
    total_tax = Decimal(0)
    total_grams = 0
    for item in order.line_items:
        line_total = item.price * item.quantity
        tax = _tax(line_total, rate, order.taxes_included) if item.taxable else Decimal(0)
        tax_lines = (
            [{"title": order.tax_title, "rate": float(rate), "price": money(tax),
              "price_set": money_set(tax, currency), "channel_liable": False}]
            if item.taxable and rate > 0
            else []
        )
        line_id = next_id()
        line_items.append(
            {
                "id": line_id,
                "admin_graphql_api_id": gid("LineItem", line_id),
                "variant_id": item.variant_id if item.variant_id is not None else next_id(),
                "product_id": item.product_id if item.product_id is not None else next_id(),
                "sku": item.sku,
                "title": item.title,
                "variant_title": item.variant_title,
                "name": f"{item.title} - {item.variant_title}" if item.variant_title else item.title,
                "vendor": item.vendor,
                "quantity": item.quantity,
                "current_quantity": item.quantity,
                "fulfillable_quantity": item.quantity,
                "price": money(item.price),
                "price_set": money_set(item.price, currency),
                "total_discount": "0.00",
                "total_discount_set": money_set(Decimal(0), currency),
                "grams": item.grams,
                "requires_shipping": item.requires_shipping,
                "taxable": item.taxable,
                "gift_card": False,
                "product_exists": True,
                "fulfillment_service": "manual",
                "fulfillment_status": None,
                "variant_inventory_management": "shopify",
                "properties": [dict(p) for p in item.properties],
                "tax_lines": tax_lines,
                "discount_allocations": [],
                "duties": [],
                "attributed_staffs": [],
            }
        )
        total_line_items += line_total
        total_tax += tax
        total_grams += item.grams * item.quantity

    shipping_specs = (
        order.shipping_lines if order.shipping_lines is not None else [ShippingLineSpec()]
    )
    shipping_lines: list[dict[str, Any]] = []
    total_shipping = Decimal(0)
    for line in shipping_specs:
        line_id = next_id()
        shipping_lines.append(
            {
                "id": line_id,
                "code": line.code or line.title,
                "title": line.title,
                "price": money(line.price),
                "price_set": money_set(line.price, currency),
                "discounted_price": money(line.price),
                "discounted_price_set": money_set(line.price, currency),
                "source": line.source,
                "carrier_identifier": None,
                "requested_fulfillment_service_id": None,
                "tax_lines": [],
                "discount_allocations": [],
            }
        )
        total_shipping += line.price

    subtotal = total_line_items  # no discounts in the stand-in
    total = subtotal + total_shipping + (Decimal(0) if order.taxes_included else total_tax)
    order_tax_lines = (
        [{"title": order.tax_title, "rate": float(rate), "price": money(total_tax),
          "price_set": money_set(total_tax, currency), "channel_liable": False}]
        if total_tax > 0
        else []
    )

    customer_spec = order.customer or CustomerSpec()
    customer_id = next_id()
    customer = {
        "id": customer_id,
        "admin_graphql_api_id": gid("Customer", customer_id),
        "email": customer_spec.email or order.email,
        "first_name": customer_spec.first_name or shipping_address["first_name"],
        "last_name": customer_spec.last_name or shipping_address["last_name"],
        "phone": customer_spec.phone,
        "state": "disabled",
        "note": None,
        "verified_email": True,
        "multipass_identifier": None,
        "tax_exempt": False,
        "tags": "",
        "currency": currency,
        "created_at": stamp,
        "updated_at": stamp,
        "default_address": {
            "id": next_id(),
            "customer_id": customer_id,
            **{k: v for k, v in shipping_address.items() if k not in ("latitude", "longitude")},
            "country_name": shipping_address["country"],
            "default": True,
        },
    }

    token = secrets.token_hex(16)
    return {
        "id": order_id,
        "admin_graphql_api_id": gid("Order", order_id),
        "app_id": 580111,
        "browser_ip": "203.0.113.7",
        "buyer_accepts_marketing": False,
        "cancel_reason": None,
        "cancelled_at": None,
        "cart_token": secrets.token_hex(16),
        "checkout_id": next_id(),
        "checkout_token": secrets.token_hex(16),
        "client_details": {"accept_language": "en-US", "browser_ip": "203.0.113.7", "user_agent": None},
        "closed_at": None,
        "confirmation_number": secrets.token_hex(5).upper()[:9],
        "confirmed": True,
        "contact_email": order.email,
        "created_at": stamp,
        "currency": currency,
        "presentment_currency": currency,
        "current_subtotal_price": money(subtotal),
        "current_subtotal_price_set": money_set(subtotal, currency),
        "current_total_discounts": "0.00",
        "current_total_discounts_set": money_set(Decimal(0), currency),
        "current_total_price": money(total),
        "current_total_price_set": money_set(total, currency),
        "current_total_tax": money(total_tax),
        "current_total_tax_set": money_set(total_tax, currency),
        "customer_locale": "en",
        "discount_applications": [],
        "discount_codes": [],
        "email": order.email,
        "estimated_taxes": False,
        "financial_status": order.financial_status,
        "fulfillment_status": None,
        "landing_site": "/",
        "location_id": None,
        "name": f"#{order_number}",
        "note": order.note,
        "note_attributes": [],
        "number": order_number - 1000,
        "order_number": order_number,
        "order_status_url": f"https://{shop_domain}/{order_id}/orders/{token}/authenticate?key={token}",
        "payment_gateway_names": ["bogus"],
        "phone": order.phone,
        "po_number": None,
        "processed_at": stamp,
        "reference": None,
        "referring_site": None,
        "source_identifier": None,
        "source_name": "web",
        "subtotal_price": money(subtotal),
        "subtotal_price_set": money_set(subtotal, currency),
        "tags": order.tags,
        "tax_lines": order_tax_lines,
        "taxes_included": order.taxes_included,
        "test": order.test,
        "token": token,
        "total_discounts": "0.00",
        "total_discounts_set": money_set(Decimal(0), currency),
        "total_line_items_price": money(total_line_items),
        "total_line_items_price_set": money_set(total_line_items, currency),
        "total_outstanding": "0.00" if order.financial_status == "paid" else money(total),
        "total_price": money(total),
        "total_price_set": money_set(total, currency),
        "total_shipping_price_set": money_set(total_shipping, currency),
        "total_tax": money(total_tax),
        "total_tax_set": money_set(total_tax, currency),
        "total_tip_received": "0.00",
        "total_weight": total_grams,
        "updated_at": stamp,
        "user_id": None,
        "billing_address": billing_address,
        "customer": customer,
        "line_items": line_items,
        "shipping_address": shipping_address,
        "shipping_lines": shipping_lines,
        "fulfillments": [],
        "refunds": [],
    }
