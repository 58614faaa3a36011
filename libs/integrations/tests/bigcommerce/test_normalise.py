"""BigCommerce normaliser: the documented sample reads exactly; anything else reads or is refused clearly."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dropline_integrations.bigcommerce.normalise import normalise, state_of
from dropline_integrations.port import InvalidStoreOrder, OrderState, StoreLine, StoreOrder
from dropline_schemas.events import Address, Customer, Platform, StoreTotals
from dropline_testsupport.bigcommerce_standin.samples import sample


def test_documented_sample_reads_exactly() -> None:
    order = normalise(sample())
    assert order == StoreOrder(
        platform=Platform.BIGCOMMERCE, platform_order_id="247", platform_order_number="247", placed_at=None,
        currency="USD",
        lines=[StoreLine(platform_line_id="65", sku="S-ORAN", variant_id="99",
                         title="Fog Linen Chambray Towel - Beige Stripe", quantity=1, unit_price=Decimal("65.2300"))],
        shipping_address=Address(name="Jane Doe", first_name="Jane", last_name="Doe", address1="555 Main Street",
                                 city="Austin", province="Texas", zip="78751", country="United States",
                                 country_code="US"),
        customer=Customer(name="Jane Doe", email="janedoe@example.com"),
        shipping_method="Flat Rate",
        totals=StoreTotals(currency="USD", subtotal=Decimal("924.47"), shipping=Decimal("8"),
                           tax=Decimal("76.88"), total=Decimal("1008.74"), taxes_included=None),
        state=OrderState.PAID, updated_at=None)


def test_rfc2822_dates_and_tax_inclusive_prices() -> None:
    payload = sample()
    payload["order"].update(date_created="Tue, 05 Mar 2019 21:40:11 +0000",
                            date_modified="Mon, 11 Mar 2019 10:17:25 -0500", is_tax_inclusive_pricing=True,
                            subtotal_inc_tax="1000.74", shipping_cost_ex_tax="7.39")
    payload["products"][0]["price_ex_tax"] = "55.9900"
    order = normalise(payload)
    assert order.placed_at == datetime(2019, 3, 5, 21, 40, 11, tzinfo=UTC)
    assert order.updated_at == datetime(2019, 3, 11, 15, 17, 25, tzinfo=UTC)
    assert order.totals.subtotal == Decimal("1000.74") and order.totals.shipping == Decimal("8")
    assert order.totals.taxes_included is True and order.lines[0].unit_price == Decimal("65.2300")
    payload["order"]["is_tax_inclusive_pricing"] = False
    ex = normalise(payload)
    assert ex.totals.subtotal == Decimal("924.47") and ex.totals.shipping == Decimal("7.39")
    assert ex.lines[0].unit_price == Decimal("55.9900")


def test_transactional_currency_wins_and_display_currency_is_the_fallback() -> None:
    payload = sample()
    payload["order"].update(currency_code="EUR", default_currency_code="GBP")
    assert normalise(payload).currency == "GBP"
    del payload["order"]["default_currency_code"]
    assert normalise(payload).currency == "EUR"


@pytest.mark.parametrize(("status_id", "state"), [
    (0, OrderState.AWAITING_PAYMENT), (1, OrderState.AWAITING_PAYMENT), (7, OrderState.AWAITING_PAYMENT),
    (12, OrderState.AWAITING_PAYMENT), (4, OrderState.CANCELLED), (5, OrderState.CANCELLED),
    (6, OrderState.CANCELLED), (2, OrderState.PAID), (3, OrderState.PAID), (8, OrderState.PAID),
    (9, OrderState.PAID), (10, OrderState.PAID), (11, OrderState.PAID), (13, OrderState.PAID),
    (14, OrderState.PAID)])
def test_every_documented_status_has_a_state(status_id: int, state: OrderState) -> None:
    assert state_of({"status_id": status_id}) is state


@pytest.mark.parametrize("status_id", [None, 15, -1, "x", True, 2.5])
def test_unknown_status_is_refused(status_id: Any) -> None:
    with pytest.raises(InvalidStoreOrder, match="status_id"):
        state_of({"status_id": status_id})


def test_custom_product_has_no_variant_and_digital_order_has_no_address() -> None:
    payload = sample()
    payload["products"][0]["variant_id"] = 0
    payload["shipping_addresses"] = []
    order = normalise(payload)
    assert order.lines[0].variant_id is None and order.shipping_address is None and order.shipping_method is None
    assert order.customer.email == "janedoe@example.com"


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda p: p.pop("order"), "'order'"),
    (lambda p: p.__setitem__("products", []), "products"),
    (lambda p: p["products"][0].__setitem__("quantity", 0), "quantity"),
    (lambda p: p["order"].__setitem__("default_currency_code", "US"), "currency"),
    (lambda p: p["order"].__setitem__("total_inc_tax", "lots"), "total_inc_tax"),
    (lambda p: p["order"].__setitem__("date_modified", "Tue, 99 Foo 2019"), "date_modified"),
    (lambda p: p["order"].pop("id"), "'id'"),
])
def test_unreadable_fields_are_named(mutate: Any, field: str) -> None:
    payload = sample()
    mutate(payload)
    with pytest.raises(InvalidStoreOrder, match=field):
        normalise(payload)


def _check(value: Any) -> None:
    try:
        result = normalise(value)
    except InvalidStoreOrder:
        return
    assert isinstance(result, StoreOrder)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
    | st.sampled_from(["", "0", "11", "USD", "Tue, 05 Mar 2019 21:40:11 +0000", "1e999", "NaN", "2019-03-05"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)

FIELDS = {
    "order": ["id", "status_id", "currency_code", "default_currency_code", "subtotal_ex_tax", "subtotal_inc_tax",
              "shipping_cost_inc_tax", "total_tax", "total_inc_tax", "billing_address", "date_created",
              "date_modified", "is_tax_inclusive_pricing"],
    "products": ["id", "sku", "variant_id", "name", "quantity", "price_inc_tax", "price_ex_tax", "base_price"],
    "shipping_addresses": ["first_name", "street_1", "state", "zip", "country_iso2", "email", "shipping_method"],
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_arbitrary_json_reads_or_is_refused(value: Any) -> None:
    _check(value)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(FIELDS)), st.data(), json_values)
def test_mutated_sample_reads_or_is_refused(part: str, data: st.DataObject, replacement: Any) -> None:
    payload = sample()
    key = data.draw(st.sampled_from(FIELDS[part]))
    target = payload[part] if part == "order" else payload[part][0]
    if data.draw(st.booleans()):
        target[key] = replacement
    else:
        target.pop(key, None)
    if data.draw(st.booleans()):
        payload[data.draw(st.sampled_from(sorted(FIELDS)))] = copy.deepcopy(replacement)
    _check(payload)
