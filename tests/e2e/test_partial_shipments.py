"""Partial shipments end to end (issue 8): a store order whose one Dropline order (a manual supplier) is
shipped in two parcels, each reported through the retailer API with its lines and quantities. Shopify,
BigCommerce and Wix end up with two fulfilments/shipments, each with exactly its lines; Ecwid keeps one
tracking number per order, so the store keeps the first number and the second is not written."""

from __future__ import annotations

import uuid

import httpx
import pytest

from dropline_testsupport.demo_stores import Customer

from .conftest import wait_for
from .helpers import store_shipments, tracking_number, wait_orders

pytestmark = pytest.mark.e2e
BASKETS_AND_CANDLE = [("BASKET-L", "Large basket", 2, "24.00"), ("CANDLE-SOY", "Soy candle", 1, "11.00")]


def ship_in_two_parcels(api, order_id: str) -> tuple[str, str]:
    lines = {line["sku"]: line["line_id"] for line in api.get(f"/api/v1/orders/{order_id}").json()["lines"]}
    first, second = tracking_number(), tracking_number()
    r1 = api.post(f"/api/v1/orders/{order_id}/tracking", json={
        "tracking_number": first, "carrier": "UPS", "lines": [{"line_id": lines["BASKET-L"], "quantity": 1}]})
    assert r1.status_code == 201, r1.text
    r2 = api.post(f"/api/v1/orders/{order_id}/tracking", json={
        "tracking_number": second, "carrier": "UPS", "lines": [{"line_id": lines["BASKET-L"], "quantity": 1},
                                                               {"line_id": lines["CANDLE-SOY"], "quantity": 1}]})
    assert r2.status_code == 201, r2.text
    return first, second


@pytest.mark.parametrize("platform", ["shopify", "bigcommerce", "wix", "ecwid"])
def test_two_parcels_are_two_fulfilments_in_the_store_or_the_first_number_kept(stack, api, platform):
    store = stack.demo_stores[platform]
    placed = store.place(Customer("Ada", f"Parcels{uuid.uuid4().hex[:6]}", "Berlin", "DE"), BASKETS_AND_CANDLE)
    [order] = wait_orders(api, placed.number, 1)
    first, second = ship_in_two_parcels(api, order["order_id"])

    if platform == "ecwid":
        # Both shipments reach tracking-sync; once both are synced the store must still show the first.
        tracking = wait_for("both shipments synced", lambda: (
            t := api.get(f"/api/v1/orders/{order['order_id']}").json()["tracking"]) and all(
            x["synced"] for x in t) and len(t) == 2 and t)
        view = httpx.get(f"{store.url}/_control/stores/{store.store_key}/orders/{placed.platform_order_id}").json()
        assert view["order"]["trackingNumber"] == first
        assert [w["body"]["trackingNumber"] for w in view["writes"] if "trackingNumber" in w["body"]] == [first]
        kept = {x["tracking_number"]: x["store_kept_number"] for x in tracking}
        assert kept == {first: None, second: first}
        return

    shipments = wait_for("two fulfilments in the store", lambda: (
        s := store_shipments(store, platform, placed)) and len(s) == 2 and s)
    assert shipments == {first: {"BASKET-L": 1}, second: {"BASKET-L": 1, "CANDLE-SOY": 1}}
