"""The retailer corrects a wrong tracking number on the order page: "Correct number", the right number
and why, then the page shows the wrong number struck through with who corrected it and why, the right
one in the store — the store's one fulfilment now carries it (the Shopify stand-in), no second one."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from .conftest import assert_accessible, create_store_order, dropline_orders, line

pytestmark = pytest.mark.e2e
WRONG, RIGHT = "1Z999AA10123456784", "RB123456785GB"


def test_a_wrong_tracking_number_is_corrected_on_the_same_store_fulfilment(signed_in, stack, api):
    page = signed_in
    store_order = create_store_order(stack, [line("BASKET-L", 1, "24.00", "Large basket")], customer="Rita Fix")
    (order,) = dropline_orders(api, store_order["name"], 1)
    page.goto(f"/orders/{order['order_id']}")
    expect(page.get_by_role("heading", name=re.compile(order["order_number"]))).to_be_visible()
    heading_status = page.locator("h1 + .MuiChip-root")

    page.get_by_role("button", name="Add tracking number").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Tracking number").fill(WRONG)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(heading_status).to_have_text("Synced", timeout=60_000)

    page.get_by_role("button", name=f"Correct number {WRONG}").click()
    dialog = page.get_by_role("dialog", name=f"Correct tracking number {WRONG}")
    correct = dialog.get_by_role("button", name="Correct")
    dialog.get_by_label("Right tracking number").fill(RIGHT)
    expect(correct).to_be_disabled()  # the reason is required
    expect(dialog.get_by_label("Carrier")).to_have_value("Royal Mail")  # detected from the right number (S10 check digit)
    dialog.get_by_label("Why").fill("The supplier sent the number of another order")
    assert_accessible(page)
    correct.click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text(f"Tracking number corrected to {RIGHT}")).to_be_visible()

    tracking = page.get_by_role("region", name="Tracking")
    expect(tracking.locator("del", has_text=WRONG)).to_be_visible()  # struck through ("Wrong number" for readers)
    expect(tracking).to_contain_text(f"Wrong number {WRONG}")
    expect(tracking).to_contain_text("Why: The supplier sent the number of another order")
    expect(tracking).to_contain_text(re.compile(r"corrected .+ by demo@"))
    expect(tracking.get_by_role("link", name=RIGHT)).to_be_visible()
    expect(tracking).to_contain_text(f"Corrects {WRONG}")
    expect(tracking.get_by_text(re.compile(r"in the store since"))).to_be_visible(timeout=60_000)
    expect(page.get_by_role("button", name=f"Correct number {WRONG}")).to_have_count(0)
    expect(heading_status).to_have_text("Synced")
    assert_accessible(page)

    got = httpx.get(f"{stack.url('shopify')}/_control/shops/{stack.demo['shop']}/orders/{store_order['id']}",
                    timeout=30).json()
    assert [[t["number"] for t in f["trackingInfo"]] for f in got["fulfillments"]] == [[RIGHT]]
