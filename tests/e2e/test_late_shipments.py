"""Late-shipment alerts end to end (issue 8): an order paid to a supplier that promises to ship the same
business day (handling_days 0) and sends no tracking is flagged late by tracking-sync's scan; the
retailer sees it in the Orders list filtered by ?flag=late, in the overview's count and on the order, an
operator in tracking-sync's /metrics; tracking clears it by itself."""

from __future__ import annotations

import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from dropline_testsupport.devstack import ADMIN_TOKEN

from .conftest import wait_for
from .helpers import create_store_order, pay, tracking_number, wait_orders, wait_status

pytestmark = pytest.mark.e2e


def late_gauge(stack) -> float:
    text = httpx.get(f"{stack.url('tracking-sync')}/metrics", timeout=10).text
    return next(s.value for f in text_string_to_metric_families(text) for s in f.samples
                if s.name == "dropline_orders_flagged" and s.labels.get("kind") == "late")


@pytest.fixture(scope="module")
def same_day_sku(stack) -> str:
    """A supplier with 0 handling days on the demo supplier stand-in, and one listing of it in the Shopify
    store; returns the store SKU once order-ingest knows it."""
    admin = httpx.Client(base_url=stack.url("gateway"), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                         timeout=30)
    catalog = f"{stack.url('order-ingest')}/internal/v1/catalog"
    listings = httpx.get(catalog, timeout=5).json()["listings"]
    supplier = admin.post("/admin/v1/suppliers", json={
        "name": "Same Day Supplies", "currency": "EUR", "auto_order": True, "payment_methods": ["card"],
        "vat_rate": "0.19", "shipping_first_item": "4.90", "handling_days": 0,
        "order_api_url": stack.url("supplier"), "order_api_key": stack.demo["order_api_keys"]["auto"]})
    assert supplier.status_code == 201, supplier.text
    sku = f"SAMEDAY-{uuid.uuid4().hex[:6]}"
    listing = admin.put(f"/admin/v1/retailers/{stack.demo['retailer']['retailer_id']}/listings", json={
        "store_id": stack.demo["store"]["store_id"], "sku": sku, "supplier_id": supplier.json()["supplier_id"],
        "supplier_sku": "BG-MUG-01", "unit_cost": "6.40"})
    assert listing.status_code < 300, listing.text
    wait_for("order-ingest to know the listing",
             lambda: httpx.get(catalog, timeout=5).json()["listings"] > listings)
    return sku


def test_an_order_without_tracking_after_the_handling_days_is_late_until_tracking_arrives(stack, api, same_day_sku):
    store_order = create_store_order(stack, [{"sku": same_day_sku, "title": "Same-day mug", "quantity": 1,
                                              "price": "19.00"}])
    [order] = wait_orders(api, store_order["order"]["name"], 1)
    order_id = order["order_id"]
    assert order["late_since"] is None
    paid = pay(api, [order_id])
    assert paid.status_code == 201, paid.text
    wait_status(api, order_id, "forwarded")  # the supplier took it, and ships nothing (no auto-ship in e2e)

    late = wait_for("the order flagged late", lambda: (o := api.get(f"/api/v1/orders/{order_id}").json())[
        "late_since"] and o, timeout=30)
    assert late["not_synced_since"] is None
    flagged = api.get("/api/v1/orders", params={"flag": "late", "limit": 200}).json()
    assert order_id in {o["order_id"] for o in flagged["orders"]}
    assert all(o["late_since"] for o in flagged["orders"])
    assert api.get("/api/v1/overview").json()["late"] >= 1
    assert any(t["summary"].startswith("Flagged late: no tracking 0 business days after the order was paid")
               for t in late["timeline"]), late["timeline"]
    wait_for("the next scan to count it in /metrics", lambda: late_gauge(stack) >= 1, timeout=15)

    added = api.post(f"/api/v1/orders/{order_id}/tracking", json={"tracking_number": tracking_number()})
    assert added.status_code == 201, added.text
    cleared = wait_for("the late flag cleared", lambda: (o := api.get(f"/api/v1/orders/{order_id}").json())[
        "late_since"] is None and o, timeout=30)
    assert order_id not in {o["order_id"] for o in api.get(
        "/api/v1/orders", params={"flag": "late", "limit": 200}).json()["orders"]}
    assert cleared["status"] in ("shipped", "synced")
