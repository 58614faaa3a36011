"""Pure rules: routing a paid order and the supplier request body."""

from __future__ import annotations

import pytest
from forwarder_testkit import make_order

from forwarder.domain import (
    NotForwardable,
    Route,
    SupplierConfig,
    idempotency_key,
    is_refusal,
    orders_endpoint,
    refusal_reason,
    refusal_summary,
    rejected_by_supplier,
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


@pytest.mark.parametrize("status, body, refused", [
    (422, {"error": "unknown_sku", "sku": "NOPE"}, True),
    (422, {"error": "order_rejected", "reason": "out_of_stock"}, True),
    (400, {"error": {"code": "cannot_ship", "message": "no shipping to KP"}}, True),
    (410, None, True),  # no body: still the supplier saying no
    (422, {"error": "invalid_json"}, False),
    (400, {"error": "idempotency_key_required"}, False),
    (401, {"error": "unauthorized"}, False),
    (404, {"error": "not_found"}, False),
    (409, {"error": "conflict"}, False),  # retried, not a refusal
    (429, {"error": "rate_limited"}, False),
    (503, {"error": "service_unavailable"}, False),
    (201, {"id": "SO-1"}, False),
])
def test_which_answers_are_the_supplier_refusing_the_order(status, body, refused):
    assert is_refusal(status, body) is refused


def test_the_refusal_reason_is_one_readable_line_the_give_up_handler_recognises():
    reason = refusal_reason(422, {"error": "order_rejected", "reason": "out_of_stock",
                                  "message": "ACME-CASE is sold out", "sku": "ACME-CASE"}, "")
    assert reason == ("the supplier's order API refused the order (HTTP 422): order_rejected: ACME-CASE is sold out "
                      "(reason out_of_stock, sku ACME-CASE)")
    assert rejected_by_supplier(reason) and status_code_from_reason(reason) == 422
    assert not rejected_by_supplier("gave up after 3 attempts: supplier order API: HTTP 503 {}")
    assert not rejected_by_supplier("supplier order API: HTTP 401 {\"error\": \"unauthorized\"}")
    assert refusal_summary(None, "  out of stock  ") == "out of stock"
    assert refusal_summary({}, "") == "no reason given"
    assert len(refusal_summary({"error": "x", "message": "m" * 2000}, "")) == 500
