"""Ecwid REST order → StoreOrder: the documented sample (platforms.md §3.2), Ecwid's own date and address
forms, the state rule, the currency rule, and arbitrary input (a StoreOrder or InvalidStoreOrder, never
another exception)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dropline_integrations.ecwid.normalise import DROPLINE_KEY, normalise
from dropline_integrations.port import InvalidStoreOrder, OrderState, StoreLine, StoreOrder
from dropline_schemas.events import Address, Customer, Platform, StoreTotals


def with_currency(order: dict[str, Any], code: str = "USD") -> dict[str, Any]:
    return {**order, DROPLINE_KEY: {"currency": code, "storeId": "1003"}}


def test_golden_documented_sample(sample_order):
    got = normalise(with_currency(sample_order))
    assert got == StoreOrder(
        platform=Platform.ECWID,
        platform_order_id="XJ12H",
        platform_order_number="XJ12H",
        placed_at=None,
        currency="USD",
        lines=[StoreLine(platform_line_id="1000001", sku="TSHIRT-RED-M", variant_id=None, title="T-shirt",
                         quantity=2, unit_price=Decimal("20.0"))],
        shipping_address=Address(name="Michael Scott", first_name="Michael", last_name="Scott", company=None,
                                 address1="555 Lackawanna Ave", address2=None, city="Scranton", province=None,
                                 province_code="PA", zip="18508", country=None, country_code="US", phone=None),
        customer=Customer(name="Michael Scott", email="michael@example.com", phone=None),
        shipping_method="USPS Priority Mail",
        totals=StoreTotals(currency="USD", subtotal=Decimal("40.0"), shipping=Decimal("10.0"), tax=Decimal("3.2"),
                           total=Decimal("53.2"), taxes_included=False),
        state=OrderState.PAID,
        updated_at=None,
    )
    # Field by field as well, so a failure names the field (and Decimal/str types are what they claim).
    assert got.lines[0].unit_price == Decimal("20") and isinstance(got.lines[0].unit_price, Decimal)
    assert got.totals.subtotal == Decimal("40") and got.totals.total == Decimal("53.2")
    assert got.totals.tax == Decimal("3.2") and got.totals.shipping == Decimal("10")
    assert got.totals.taxes_included is False
    assert got.shipping_address is not None and got.shipping_address.phone is None  # "" is no phone
    assert got.customer.phone is None


def test_ecwid_dates_street_lines_billing_and_variation(sample_order):
    order = with_currency(sample_order, "eur")
    order.update({"createDate": "2014-09-20 19:59:43 +0000", "updateDate": "2014-09-21 00:00:12 +0200",
                  "vendorOrderNumber": "MYSTORE-XJ12H-S", "orderNumber": 20})
    order["items"][0]["combinationId"] = 4242
    order["shippingPerson"] = {"firstName": "Mary Ann", "lastName": "Smith", "street": "W 3d st\nApt 5\n",
                               "countryName": "United States", "stateOrProvinceName": "New York",
                               "phone": "+1234567890"}
    order["billingPerson"] = {"name": "John Smith", "phone": "+10987654321"}
    got = normalise(order)
    assert got.currency == "EUR" and got.totals.currency == "EUR"
    assert got.platform_order_id == "XJ12H" and got.platform_order_number == "MYSTORE-XJ12H-S"
    assert got.placed_at == datetime(2014, 9, 20, 19, 59, 43, tzinfo=UTC)
    assert got.updated_at == datetime(2014, 9, 20, 22, 0, 12, tzinfo=UTC)
    assert got.lines[0].variant_id == "4242"
    a = got.shipping_address
    assert (a.name, a.first_name, a.last_name) == ("Mary Ann Smith", "Mary Ann", "Smith")
    assert (a.address1, a.address2, a.country, a.province) == ("W 3d st", "Apt 5", "United States", "New York")
    assert got.customer == Customer(name="John Smith", email="michael@example.com", phone="+1234567890")


def test_unix_timestamps_win_over_date_strings(sample_order):
    order = with_currency(sample_order)
    order.update({"createTimestamp": 1714541188, "updateTimestamp": 1714541200,
                  "createDate": "not a date", "updateDate": "2024-05-01 05:26:28 +0000"})
    got = normalise(order)
    assert got.placed_at == datetime.fromtimestamp(1714541188, UTC)
    assert got.updated_at == datetime.fromtimestamp(1714541200, UTC)


def test_legacy_order_without_id_uses_order_number(sample_order):
    order = with_currency(sample_order)
    del order["id"]
    order.update({"orderNumber": 20, "vendorOrderNumber": "20"})
    got = normalise(order)
    assert got.platform_order_id == "20" and got.platform_order_number == "20"


@pytest.mark.parametrize(("status", "state"), [
    ("PAID", OrderState.PAID), ("PARTIALLY_REFUNDED", OrderState.PAID),
    ("CANCELLED", OrderState.CANCELLED), ("REFUNDED", OrderState.CANCELLED),
    ("AWAITING_PAYMENT", OrderState.AWAITING_PAYMENT), ("INCOMPLETE", OrderState.AWAITING_PAYMENT),
    ("CUSTOM_PAYMENT_STATUS_1", OrderState.AWAITING_PAYMENT), (None, OrderState.AWAITING_PAYMENT),
])
def test_state_from_payment_status(sample_order, status, state):
    order = with_currency(sample_order)
    order["paymentStatus"] = status
    assert normalise(order).state is state


def test_an_order_without_currency_is_refused_clearly(sample_order):
    with pytest.raises(InvalidStoreOrder, match="currency"):
        normalise(sample_order)
    with pytest.raises(InvalidStoreOrder, match="currency"):
        normalise(with_currency(sample_order, "EURO"))


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda o: o.pop("items"), "items"),
    (lambda o: o.update(items=[]), "items"),
    (lambda o: o["items"][0].update(quantity=0), "quantity"),
    (lambda o: o["items"][0].update(price="twenty"), "price"),
    (lambda o: o["items"][0].pop("id"), "id"),
    (lambda o: o.update(id=None), "id"),
    (lambda o: o.update(total={"amount": 1}), "total"),
    (lambda o: o.update(shippingPerson="Scranton"), "shippingPerson"),
    (lambda o: o.update(createTimestamp="yesterday"), "createTimestamp"),
])
def test_unreadable_fields_are_named(sample_order, mutate, field):
    order = with_currency(sample_order)
    mutate(order)
    with pytest.raises(InvalidStoreOrder, match=field):
        normalise(order)


# --------------------------------------------------------------------------- arbitrary input

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)
KEYS = ["id", "orderNumber", "vendorOrderNumber", "items", "paymentStatus", "email", "shippingPerson",
        "billingPerson", "shippingOption", "subtotal", "tax", "total", "pricesIncludeTax", "createDate",
        "updateDate", "createTimestamp", "updateTimestamp", DROPLINE_KEY, "currency", "quantity", "price", "sku",
        "name", "combinationId", "street", "firstName", "lastName", "shippingRate", "shippingMethodName"]


def _outcome(payload: Any) -> None:
    try:
        result = normalise(payload)
    except InvalidStoreOrder:
        return
    assert isinstance(result, StoreOrder)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_arbitrary_json_is_an_order_or_a_clear_refusal(payload):
    _outcome(payload)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=10))
def test_arbitrary_objects_with_ecwid_keys(payload):
    _outcome(payload)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_sample_is_an_order_or_a_clear_refusal(sample_order, data):
    order = with_currency(copy.deepcopy(sample_order))  # the fixture is shared by every example
    paths = _paths(order)
    for _ in range(data.draw(st.integers(1, 4))):
        path = data.draw(st.sampled_from(paths))
        parent: Any = order
        try:
            for step in path[:-1]:
                parent = parent[step]
            if data.draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = data.draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation replaced this branch
    _outcome(copy.deepcopy(order))
