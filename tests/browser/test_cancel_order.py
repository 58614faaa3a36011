"""The retailer cancels an unpaid order on its page: "Cancel order", the confirmation ("Cancel this
order?"), then the order is Cancelled with "Cancelled by the retailer" in its timeline, live, and the
Pay flow no longer offers it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import assert_accessible, create_store_order, dropline_orders, line, wait_for, wait_payable

pytestmark = pytest.mark.e2e


def test_cancel_an_unpaid_order_and_it_is_no_longer_offered_for_payment(signed_in, stack, api):
    page = signed_in
    store_order = create_store_order(stack, [line("MUG-BLUE", 1, "14.99")])
    (order,) = dropline_orders(api, store_order["name"], 1)
    wait_payable(api, [order["order_id"]])

    page.goto(f"/orders/{order['order_id']}")
    expect(page.get_by_role("heading", name=f"Order {order['order_number']}")).to_be_visible()
    page.get_by_role("button", name="Cancel order").click()
    dialog = page.get_by_role("dialog", name="Cancel this order?")
    expect(dialog).to_contain_text("will not be paid")
    expect(dialog).to_contain_text("The store order itself is not changed")
    assert_accessible(page)
    dialog.get_by_role("button", name="Keep order").click()  # changing one's mind changes nothing
    expect(dialog).to_be_hidden()
    assert api.get(f"/api/v1/orders/{order['order_id']}").json()["status"] == "unpaid"

    page.get_by_role("button", name="Cancel order").click()
    dialog.get_by_role("button", name="Cancel order").click()
    expect(dialog).to_be_hidden()
    timeline = page.get_by_role("region", name="Timeline")
    expect(timeline).to_contain_text("Cancelled by the retailer")
    expect(page.get_by_role("heading", name=f"Order {order['order_number']}").locator("..")).to_contain_text(
        "Cancelled")
    expect(page.get_by_role("button", name="Cancel order")).to_have_count(0)

    # Not in the unpaid list, not quotable: the Pay flow does not offer it any more.
    page.goto("/?status=unpaid")
    expect(page.get_by_role("table", name="Orders")).to_be_visible()
    expect(page.get_by_role("link", name=order["order_number"], exact=True)).to_have_count(0)
    unpaid = api.get("/api/v1/unpaid").json()
    assert all(order["order_id"] not in g["order_ids"] for g in unpaid["suppliers"])
    assert api.post("/api/v1/checkout/quote", json={"order_ids": [order["order_id"]]}).status_code == 409
    # Cancelling again through the API is a no-op.
    again = wait_for("the cancel to answer", lambda: api.post(f"/api/v1/orders/{order['order_id']}/cancel"))
    assert again.status_code == 200 and again.json()["cancelled_now"] is False
