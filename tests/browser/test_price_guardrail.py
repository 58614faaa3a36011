"""The price guardrail in the browser: an order sold below its cost is flagged "Loses money" on the
Orders page and at checkout (customer paid, cost, margin), and the pay button works only once the
retailer ticks "Pay the flagged orders anyway"; the max buy price set on the Settings page flags
orders with a product above it ("Above your max buy price"). The demo data has such an order."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import (
    SECOND_SKU,
    assert_accessible,
    create_store_order,
    dropline_orders,
    line,
    order_status,
    wait_for,
    wait_payable,
)

pytestmark = pytest.mark.e2e

PAY_BUTTON = re.compile(r"^Pay \$[\d,]+\.\d{2}$")
NEGATIVE_MARGIN = re.compile(r"margin −\$\d+\.\d{2}")
CONFIRM = "Pay the flagged orders anyway"


def row(page, order_number: str):
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=order_number, exact=True))


def type_card(page, number: str) -> None:
    # localstripe's stand-in card element: plain inputs named by their placeholders.
    page.get_by_placeholder("number", exact=True).fill(number)
    page.get_by_placeholder("exp_month", exact=True).fill("12")
    page.get_by_placeholder("exp_year", exact=True).fill("34")
    page.get_by_placeholder("cvc", exact=True).fill("123")
    page.get_by_placeholder("postal_code", exact=True).fill("10115")


def test_the_demo_data_has_an_order_that_loses_money(signed_in, api):
    page = signed_in
    (demo,) = [o for o in api.get("/api/v1/orders", params={"q": "Lena Fischer"}).json()["orders"]]
    page.goto("/?status=unpaid&q=Lena%20Fischer")
    expect(row(page, demo["order_number"])).to_contain_text("Loses money")


def test_a_losing_order_is_flagged_and_paid_only_after_the_confirmation(signed_in, stack, api):
    page = signed_in
    # A 9.99 EUR mug the supplier sells for 6.40 + 4.90 shipping + 19 % VAT = 13.45 EUR.
    store_order = create_store_order(stack, [line("MUG-BLUE", 1, "9.99", "Blue mug")], customer="Lossy Buyer")
    (order,) = dropline_orders(api, store_order["name"], 1)
    wait_payable(api, [order["order_id"]])

    # The API refuses it without the confirmation; nothing is charged.
    refused = api.post("/api/v1/payments", json={"order_ids": [order["order_id"]], "method": "card",
                                                 "payment_method": "pm_card_visa"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "price_check_failed" and order["order_number"] in refused.json()["message"]
    assert order_status(api, order["order_id"]) == "unpaid"

    page.goto("/?status=unpaid")
    mine = row(page, order["order_number"])
    expect(mine).to_contain_text("Loses money")
    expect(mine).to_contain_text(NEGATIVE_MARGIN)
    mine.get_by_role("checkbox", name=f"Select order {order['order_number']}").check()
    page.get_by_role("button", name="Pay now").click()

    expect(page).to_have_url(re.compile(r"/checkout\?orders="))
    check = page.get_by_role("table", name="Price check")
    for header in ("Customer paid", "Cost (USD)", "Margin (USD)"):
        expect(check.get_by_role("columnheader", name=header)).to_be_visible()
    check_row = check.get_by_role("row").filter(has=page.get_by_role("rowheader", name=order["order_number"]))
    expect(check_row).to_contain_text("€9.99")
    expect(check_row).to_contain_text("Loses money")
    expect(check_row).to_contain_text("−$")
    expect(page.get_by_role("alert").filter(has_text="1 order is flagged")).to_contain_text("Loses money")

    pay = page.get_by_role("button", name=PAY_BUTTON)
    confirm = page.get_by_role("checkbox", name=CONFIRM)
    type_card(page, "4242424242424242")
    expect(confirm).not_to_be_checked()
    expect(pay).to_be_disabled()
    assert_accessible(page, exclude=['[data-testid="card-element"]'])
    confirm.check()
    expect(pay).to_be_enabled()
    confirm.uncheck()
    expect(pay).to_be_disabled()
    confirm.check()
    pay.click()
    expect(page.get_by_role("heading", name="Receipt")).to_be_visible(timeout=30_000)
    wait_for("the order to be paid", lambda: order_status(api, order["order_id"]) != "unpaid")


def test_the_max_buy_price_from_settings_flags_orders_above_it(signed_in, stack, api):
    page = signed_in
    # A profitable order (49.00 EUR for a 12.80 GBP tea set) whose product costs more than $5 a unit.
    store_order = create_store_order(stack, [line(SECOND_SKU, 1, "49.00", "Tea set")], customer="Max Buyer")
    (order,) = dropline_orders(api, store_order["name"], 1)
    wait_payable(api, [order["order_id"]])
    try:
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
        expect(page.get_by_role("heading", name="Settings")).to_be_visible()
        field = page.get_by_label("Max buy price (USD)")
        expect(field).to_have_value("")
        field.fill("abc")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Enter an amount in US dollars")).to_be_visible()
        assert api.get("/api/v1/settings").json() == {"max_buy_price_usd": None}
        field.fill("5")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Saved.")).to_be_visible()
        assert_accessible(page)
        assert api.get("/api/v1/settings").json() == {"max_buy_price_usd": "5.00"}
        page.reload()
        expect(page.get_by_label("Max buy price (USD)")).to_have_value("5.00")

        page.goto("/?status=unpaid")
        expect(row(page, order["order_number"])).to_contain_text("Above your max buy price")
        page.goto(f"/checkout?orders={order['order_id']}")
        check_row = page.get_by_role("table", name="Price check").get_by_role("row").filter(
            has=page.get_by_role("rowheader", name=order["order_number"]))
        expect(check_row).to_contain_text("Above your max buy price")
        expect(check_row).not_to_contain_text("Loses money")
        expect(page.get_by_role("checkbox", name=CONFIRM)).to_be_visible()
        type_card(page, "4242424242424242")
        expect(page.get_by_role("button", name=PAY_BUTTON)).to_be_disabled()

        # Cleared: no maximum, and the same order pays without a confirmation.
        page.goto("/settings")
        page.get_by_label("Max buy price (USD)").fill("")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Saved. There is no max buy price")).to_be_visible()
        page.goto(f"/checkout?orders={order['order_id']}")
        expect(page.get_by_role("table", name="Price check")).to_contain_text("OK")
        expect(page.get_by_role("checkbox", name=CONFIRM)).to_have_count(0)
        type_card(page, "4242424242424242")
        expect(page.get_by_role("button", name=PAY_BUTTON)).to_be_enabled()
    finally:  # the other browser tests pay without a max buy price
        api.put("/api/v1/settings", json={"max_buy_price_usd": None}).raise_for_status()
