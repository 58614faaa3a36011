"""Wix eCom Order → StoreOrder: the documented sample (platforms.md §4.2), the state rule, and arbitrary
input (a StoreOrder or InvalidStoreOrder, never another exception)."""

from __future__ import annotations

import copy
import importlib.util
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dropline_integrations.port import InvalidStoreOrder, OrderState, StoreLine
from dropline_integrations.wix.normalise import normalise
from dropline_schemas.events import Address, Customer, Platform, StoreTotals


def _samples():
    spec = importlib.util.spec_from_file_location("wix_samples", Path(__file__).with_name("wix_samples.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


S = _samples()


def test_golden_documented_sample() -> None:
    order = normalise(S.sample_order())
    assert order.platform is Platform.WIX
    assert order.platform_order_id == S.ORDER_ID
    assert order.platform_order_number == "10001"
    assert order.currency == "USD"
    assert order.state is OrderState.PAID
    assert order.lines == [StoreLine(platform_line_id=S.LINE_ID, sku="TS-RED-M",
                                     variant_id="00000000-0000-0020-0005-ad9cdc10d3b8", title="T-shirt",
                                     quantity=2, unit_price=Decimal("20.00"))]
    assert order.shipping_address == Address(
        name="Jane Doe", first_name="Jane", last_name="Doe", address1="1 Main St", address2="Apt 2",
        city="New York", province="US-NY", province_code="NY", zip="10001", country="US", country_code="US",
        phone="+1 555 0100")
    assert order.customer == Customer(name="Jane Doe", email="jane@example.com", phone="+1 555 0100")
    assert order.shipping_method == "Standard"
    assert order.totals == StoreTotals(currency="USD", subtotal=Decimal("40.00"), shipping=Decimal("5.00"),
                                       tax=Decimal("3.20"), total=Decimal("48.20"), taxes_included=None)
    assert order.placed_at is None and order.updated_at is None


def test_dates_tax_flag_and_fallbacks() -> None:
    raw = S.sample_order(createdDate="2023-03-07T10:24:03.380Z", updatedDate="2023-09-10T11:19:33.792Z",
                         taxIncludedInPrices=True)
    del raw["priceSummary"]["shipping"], raw["priceSummary"]["tax"]
    raw["lineItems"][0]["catalogReference"]["options"]["variantId"] = "00000000-0000-0000-0000-000000000000"
    order = normalise(raw)
    assert order.placed_at == datetime(2023, 3, 7, 10, 24, 3, 380000, tzinfo=UTC)
    assert order.updated_at == datetime(2023, 9, 10, 11, 19, 33, 792000, tzinfo=UTC)
    assert order.totals.taxes_included is True
    assert order.totals.shipping == Decimal("5.00")  # shippingInfo.cost.price
    assert order.totals.tax == Decimal("3.20")  # taxSummary.totalTax
    assert order.lines[0].variant_id is None  # the all-zero GUID: a product without variants


def test_pickup_order_has_no_shipping_address() -> None:
    raw = S.sample_order()
    raw["shippingInfo"]["logistics"] = {"pickupDetails": {"address": {"country": "US"}}}
    assert normalise(raw).shipping_address is None


@pytest.mark.parametrize(("status", "payment", "state"), [
    ("APPROVED", "PAID", OrderState.PAID),
    ("APPROVED", "PARTIALLY_REFUNDED", OrderState.PAID),
    ("APPROVED", "NOT_PAID", OrderState.AWAITING_PAYMENT),  # offline payment: approved, money not in yet
    ("APPROVED", "PENDING", OrderState.AWAITING_PAYMENT),
    ("APPROVED", "PARTIALLY_PAID", OrderState.AWAITING_PAYMENT),
    ("APPROVED", "UNSPECIFIED", OrderState.AWAITING_PAYMENT),
    ("APPROVED", "FULLY_REFUNDED", OrderState.CANCELLED),
    ("INITIALIZED", "PAID", OrderState.AWAITING_PAYMENT),
    ("INITIALIZED", "NOT_PAID", OrderState.AWAITING_PAYMENT),
    ("CANCELED", "PAID", OrderState.CANCELLED),
    ("CANCELED", "NOT_PAID", OrderState.CANCELLED),
])
def test_state_rule(status: str, payment: str, state: OrderState) -> None:
    assert normalise(S.sample_order(status=status, paymentStatus=payment)).state is state


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda o: o.pop("id"), "'id'"),
    (lambda o: o.update(currency="US"), "currency"),
    (lambda o: o.update(lineItems=[]), "lineItems"),
    (lambda o: o["lineItems"][0].update(quantity=0), "quantity"),
    (lambda o: o["lineItems"][0].update(price={"amount": "abc"}), "price"),
    (lambda o: o["lineItems"][0].update(price="20.00"), "price"),
    (lambda o: o.update(createdDate="yesterday"), "createdDate"),
    (lambda o: o["lineItems"][0].pop("id"), "lineItems[0].id"),
])
def test_unreadable_orders_name_the_field(mutate: Any, field: str) -> None:
    raw = S.sample_order()
    mutate(raw)
    with pytest.raises(InvalidStoreOrder, match=field.replace("[", r"\[").replace("]", r"\]")):
        normalise(raw)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=12)
PATHS = [("id",), ("number",), ("currency",), ("status",), ("paymentStatus",), ("lineItems",),
         ("lineItems", 0), ("lineItems", 0, "quantity"), ("lineItems", 0, "price"), ("lineItems", 0, "id"),
         ("lineItems", 0, "productName"), ("lineItems", 0, "catalogReference"),
         ("lineItems", 0, "catalogReference", "options"), ("lineItems", 0, "physicalProperties"),
         ("shippingInfo",), ("shippingInfo", "logistics"), ("shippingInfo", "logistics", "shippingDestination"),
         ("shippingInfo", "logistics", "shippingDestination", "address"),
         ("shippingInfo", "logistics", "shippingDestination", "contactDetails"), ("shippingInfo", "cost"),
         ("buyerInfo",), ("priceSummary",), ("priceSummary", "total"), ("taxSummary",), ("createdDate",),
         ("updatedDate",), ("taxIncludedInPrices",), ("billingInfo",)]


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        if isinstance(doc, dict) and key in doc or isinstance(doc, list) and isinstance(key, int) and key < len(doc):
            doc = doc[key]
        else:
            return
    if isinstance(doc, dict) or (isinstance(doc, list) and isinstance(path[-1], int) and path[-1] < len(doc)):
        doc[path[-1]] = value


def _only_clean_outcomes(payload: Any) -> None:
    try:
        order = normalise(payload)
    except InvalidStoreOrder:
        return
    assert order.lines and order.platform_order_id and len(order.currency) == 3


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_arbitrary_json_is_an_order_or_invalid(payload: Any) -> None:
    _only_clean_outcomes(payload)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), JSON), min_size=1, max_size=4))
def test_mutated_sample_is_an_order_or_invalid(mutations: list[tuple[tuple[Any, ...], Any]]) -> None:
    raw = copy.deepcopy(S.sample_order())
    for path, value in mutations:
        _set(raw, path, value)
    _only_clean_outcomes(raw)
