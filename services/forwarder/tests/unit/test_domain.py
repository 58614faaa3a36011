"""Pure rules: routing a paid order and the supplier request body."""

from __future__ import annotations

import pytest
from forwarder_testkit import make_order

from forwarder.domain import (
    NotForwardable,
    Route,
    SupplierConfig,
    idempotency_key,
    orders_endpoint,
    route,
    status_code_from_reason,
    supplier_order_id,
    supplier_order_request,
)
from forwarder.forwarding import api_key_from


def config(**kw) -> SupplierConfig:
    values = {"supplier_id": "s", "name": "S", "auto_order": True, "order_api_url": "https://s.example", "has_api_key": True}
    values.update(kw)
    return SupplierConfig(**values)


def test_routes():
    assert route(None) is Route.UNKNOWN_SUPPLIER
    assert route(config()) is Route.FORWARD
    assert route(config(auto_order=False)) is Route.NOT_AUTO_ORDER
    assert route(config(order_api_url=None)) is Route.NO_ORDER_API
    assert route(config(has_api_key=False)) is Route.NO_ORDER_API


def test_idempotency_key_and_endpoint():
    assert idempotency_key("o-1") == "dropline-order-o-1"
    assert orders_endpoint("https://s.example/api/") == "https://s.example/api/v1/orders"


def test_name_is_built_from_first_and_last_name_when_missing():
    order = make_order()
    order = order.model_copy(update={"shipping_address": order.shipping_address.model_copy(update={"name": None}),
                                     "customer": None})
    body = supplier_order_request(order)
    assert body["ship_to"]["name"] == "Bob Norman"
    assert body["customer"] == {"email": None, "phone": None}


def test_order_without_address_is_not_forwardable():
    with pytest.raises(NotForwardable, match="shipping address"):
        supplier_order_request(make_order().model_copy(update={"shipping_address": None}))


def test_unmatched_line_is_not_forwardable():
    order = make_order()
    line = order.lines[0].model_copy(update={"matched": False})
    with pytest.raises(NotForwardable, match="no supplier SKU"):
        supplier_order_request(order.model_copy(update={"lines": [line]}))


def test_supplier_order_id_and_status_code_parsing():
    assert supplier_order_id({"id": 42}) == "42"
    assert supplier_order_id({"supplier_order_id": "SO-1"}) == "SO-1"
    assert supplier_order_id({"status": "ok"}) is None
    assert supplier_order_id(["SO-1"]) is None
    assert status_code_from_reason("gave up after 3 attempts: supplier order API: HTTP 503 {}") == 503
    assert status_code_from_reason("supplier order API: ConnectError: refused") is None


def test_api_key_may_be_sealed_as_text_or_json():
    assert api_key_from("sk_1") == "sk_1"
    assert api_key_from('{"api_key": "sk_2"}') == "sk_2"
