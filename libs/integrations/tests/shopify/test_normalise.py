"""Shopify normaliser: the documented sample (platforms.md §1.2 "Minimal example") field by field, order
states, and arbitrary JSON / mutated samples → a StoreOrder or InvalidStoreOrder, never anything else."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dropline_integrations.port import InvalidStoreOrder, OrderState, StoreLine, StoreOrder
from dropline_integrations.shopify import ShopifyPlatform
from dropline_integrations.shopify.normalise import normalise
from dropline_schemas.events import Address, Customer, Platform, StoreTotals

# platforms.md §1.2, verbatim.
SAMPLE: dict[str, Any] = {
    "id": 450789469,
    "admin_graphql_api_id": "gid://shopify/Order/450789469",
    "name": "#1001",
    "order_number": 1001,
    "email": "bob.norman@example.com",
    "created_at": "2008-01-10T11:00:00-05:00",
    "currency": "USD",
    "financial_status": "paid",
    "fulfillment_status": None,
    "subtotal_price": "398.00",
    "total_tax": "11.94",
    "taxes_included": False,
    "total_price": "409.94",
    "tax_lines": [{"title": "State Tax", "rate": 0.06, "price": "11.94"}],
    "line_items": [
        {"id": 466157049, "variant_id": 39072856, "product_id": 632910392, "sku": "IPOD2008GREEN",
         "title": "IPod Nano - 8gb", "variant_title": "green", "quantity": 1, "price": "199.00",
         "requires_shipping": True, "fulfillment_status": None}
    ],
    "shipping_lines": [{"code": "Free Shipping", "title": "Free Shipping", "price": "0.00", "source": "shopify"}],
    "shipping_address": {"first_name": "Bob", "last_name": "Norman", "address1": "Chestnut Street 92",
                         "address2": "", "city": "Louisville", "province": "Kentucky", "province_code": "KY",
                         "zip": "40202", "country": "United States", "country_code": "US",
                         "phone": "555-625-1199"},
}


def sample(**changes: Any) -> dict[str, Any]:
    order = copy.deepcopy(SAMPLE)
    order.update(changes)
    return order


def test_the_documented_sample_field_by_field() -> None:
    order = normalise(sample())
    address = Address(name="Bob Norman", first_name="Bob", last_name="Norman", company=None,
                      address1="Chestnut Street 92", address2=None, city="Louisville", province="Kentucky",
                      province_code="KY", zip="40202", country="United States", country_code="US",
                      phone="555-625-1199")
    assert order == StoreOrder(
        platform=Platform.SHOPIFY,
        platform_order_id="450789469",
        platform_order_number="#1001",
        placed_at=datetime(2008, 1, 10, 16, 0, 0, tzinfo=UTC),
        currency="USD",
        lines=[StoreLine(platform_line_id="466157049", sku="IPOD2008GREEN", variant_id="39072856",
                         title="IPod Nano - 8gb", quantity=1, unit_price=Decimal("199.00"))],
        shipping_address=address,
        customer=Customer(name="Bob Norman", email="bob.norman@example.com", phone="555-625-1199"),
        shipping_method="Free Shipping",
        totals=StoreTotals(currency="USD", subtotal=Decimal("398.00"), shipping=Decimal("0.00"),
                           tax=Decimal("11.94"), total=Decimal("409.94"), taxes_included=False),
        state=OrderState.PAID,
        updated_at=None,
    )
    # placed_at is the same instant, told in UTC
    assert order.placed_at is not None and order.placed_at.utcoffset().total_seconds() == 0
    assert order.placed_at == datetime.fromisoformat(SAMPLE["created_at"])


def test_the_platform_normalises_through_the_same_function() -> None:
    import httpx

    from dropline_integrations.limits import StoreLimiter

    platform = ShopifyPlatform(httpx.AsyncClient(), StoreLimiter())
    assert platform.normalise(sample()) == normalise(sample())


def test_updated_at_and_names() -> None:
    order = normalise(sample(updated_at="2008-01-10T12:30:00+01:00", name=None,
                             line_items=[dict(SAMPLE["line_items"][0], name="IPod Nano - 8gb - green")]))
    assert order.updated_at == datetime(2008, 1, 10, 11, 30, tzinfo=UTC)
    assert order.platform_order_number == "1001"  # falls back to order_number
    assert order.lines[0].title == "IPod Nano - 8gb - green"  # `name` wins over `title`


@pytest.mark.parametrize(("changes", "state"), [
    ({"financial_status": "paid"}, OrderState.PAID),
    ({"financial_status": "authorized"}, OrderState.PAID),  # payment secured, captured later
    ({"financial_status": "partially_paid"}, OrderState.PAID),
    ({"financial_status": "pending"}, OrderState.AWAITING_PAYMENT),
    ({"financial_status": "voided"}, OrderState.CANCELLED),
    ({"financial_status": "refunded"}, OrderState.CANCELLED),
    ({"cancelled_at": "2008-01-11T09:00:00-05:00"}, OrderState.CANCELLED),
    ({"cancelled_at": "2008-01-11T09:00:00-05:00", "financial_status": "pending"}, OrderState.CANCELLED),
    ({"cancelled_at": None, "financial_status": "pending"}, OrderState.AWAITING_PAYMENT),
])
def test_states(changes: dict[str, Any], state: OrderState) -> None:
    assert normalise(sample(**changes)).state is state


@pytest.mark.parametrize(("changes", "field"), [
    ({"id": None}, "'id'"),
    ({"currency": "US"}, "currency"),
    ({"line_items": []}, "line_items"),
    ({"line_items": [dict(SAMPLE["line_items"][0], quantity=0)]}, "quantity"),
    ({"line_items": [dict(SAMPLE["line_items"][0], price="free")]}, "price"),
    ({"created_at": "yesterday"}, "created_at"),
    ({"total_price": "NaN"}, "total_price"),
    ({"financial_status": ["paid"]}, "financial_status"),
    ({"shipping_lines": [{"price": "1e999999"}, {"price": "9e999999"}]}, "shipping_lines"),
])
def test_unreadable_orders_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidStoreOrder, match=field):
        normalise(sample(**changes))


def test_not_an_object() -> None:
    for payload in (None, [], "order", 42, [SAMPLE]):
        with pytest.raises(InvalidStoreOrder):
            normalise(payload)


# ------------------------------------------------------------------------------------------------
# Property: anything → StoreOrder | InvalidStoreOrder
# ------------------------------------------------------------------------------------------------

json_scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
                | st.text(max_size=30)
                | st.sampled_from(["", "0", "-1", "1e999999", "9e999999", "NaN", "Infinity", "paid", "pending",
                                   "USD", "usd", "ÅÅÅ", "straße", "2008-01-10T11:00:00-05:00", "2008-13-40",
                                   "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00"]))
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


def outcome(payload: Any) -> StoreOrder | None:
    try:
        return normalise(payload)
    except InvalidStoreOrder:
        return None


FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(json_values)
def test_arbitrary_json_is_an_order_or_a_clear_rejection(payload: Any) -> None:
    result = outcome(payload)
    assert result is None or isinstance(result, StoreOrder)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


ALL_PATHS = _paths(SAMPLE)


def _mutate(order: dict[str, Any], path: tuple[Any, ...], drop: bool, replacement: Any) -> dict[str, Any]:
    parent: Any = order
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if drop and isinstance(parent, dict):
        del parent[last]
    elif drop and isinstance(parent, list):
        parent.pop(last)
    else:
        parent[last] = replacement
    return order


mutation = st.tuples(st.sampled_from(ALL_PATHS), st.booleans(), json_values)


@FAST
@given(st.lists(mutation, min_size=1, max_size=4))
def test_mutated_samples_are_an_order_or_a_clear_rejection(mutations: list[tuple[Any, bool, Any]]) -> None:
    order = sample()
    for path, drop, replacement in mutations:
        try:
            order = _mutate(order, path, drop, replacement)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    result = outcome(order)
    assert result is None or isinstance(result, StoreOrder)
    if result is not None:
        assert result.platform_order_id and result.lines and len(result.currency) == 3


@FAST
@given(st.sampled_from(sorted(SAMPLE)), json_values)
def test_any_top_level_key_replaced(key: str, value: Any) -> None:
    result = outcome(sample(**{key: value}))
    assert result is None or isinstance(result, StoreOrder)
