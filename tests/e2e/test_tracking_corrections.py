"""Tracking corrections end to end (issue 8): a wrong number, once in the store, is corrected through the
retailer API. The store's fulfilment (Shopify, BigCommerce, Wix) or order (Ecwid) then shows the right
number — the same fulfilment, never a second one — and Dropline keeps the wrong number in the order's
history, marked corrected, with who did it and why."""

from __future__ import annotations

import uuid

import httpx
import pytest

from dropline_testsupport.demo_stores import Customer

from .conftest import wait_for
from .helpers import store_shipments, tracking_number, wait_orders

pytestmark = pytest.mark.e2e
BASKETS_AND_CANDLE = [("BASKET-L", "Large basket", 2, "24.00"), ("CANDLE-SOY", "Soy candle", 1, "11.00")]
REASON = "The supplier sent the number of another order"


def shipments(api, order_id: str) -> dict[str, dict]:
    return {t["tracking_number"]: t for t in api.get(f"/api/v1/orders/{order_id}").json()["tracking"]}


@pytest.mark.parametrize("platform", ["shopify", "bigcommerce", "wix", "ecwid"])
def test_a_corrected_number_replaces_the_wrong_one_on_the_same_store_fulfilment(stack, api, platform):
    store = stack.demo_stores[platform]
    placed = store.place(Customer("Ada", f"Fix{uuid.uuid4().hex[:6]}", "Berlin", "DE"), BASKETS_AND_CANDLE)
    [order] = wait_orders(api, placed.number, 1)
    order_id = order["order_id"]
    wrong, right = tracking_number(), tracking_number()
    added = api.post(f"/api/v1/orders/{order_id}/tracking", json={"tracking_number": wrong, "carrier": "UPS"})
    assert added.status_code == 201, added.text
    wait_for("the wrong number in the store", lambda: shipments(api, order_id).get(wrong, {}).get("synced"))
    status_before = api.get(f"/api/v1/orders/{order_id}").json()["status"]

    url = f"/api/v1/orders/{order_id}/tracking/{added.json()['tracking_id']}/correction"
    corrected = api.post(url, json={"tracking_number": right, "carrier": "UPS", "reason": REASON})
    assert corrected.status_code == 201, corrected.text
    body = corrected.json()
    assert body["corrects_tracking_id"] == added.json()["tracking_id"] and body["previous_tracking_number"] == wrong
    again = api.post(url, json={"tracking_number": right, "carrier": "UPS", "reason": REASON})
    assert again.status_code == 200 and again.json()["status"] == "duplicate", again.text
    assert again.json()["tracking_id"] == body["tracking_id"]

    wait_for("the right number in the store", lambda: shipments(api, order_id).get(right, {}).get("synced"))
    if platform == "ecwid":
        view = httpx.get(f"{store.url}/_control/stores/{store.store_key}/orders/{placed.platform_order_id}").json()
        assert view["order"]["trackingNumber"] == right
    else:
        # One fulfilment, the same lines, now with the right number.
        assert store_shipments(store, platform, placed) == {right: {"BASKET-L": 2, "CANDLE-SOY": 1}}

    detail = api.get(f"/api/v1/orders/{order_id}").json()
    by_number = {t["tracking_number"]: t for t in detail["tracking"]}
    old, new = by_number[wrong], by_number[right]
    assert old["superseded_at"] and old["corrected_by_tracking_id"] == body["tracking_id"]
    assert old["changed_by"] == "retailer:api key" and old["change_reason"] == REASON
    assert new["corrects_tracking_id"] == added.json()["tracking_id"] and new["superseded_at"] is None
    assert detail["status"] == status_before  # a correction never moves the order back
    assert any(wrong in t["summary"] and right in t["summary"] and "corrected" in t["summary"]
               for t in detail["timeline"]), detail["timeline"]
