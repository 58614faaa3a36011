"""A card that needs 3-D Secure (localstripe's 4000002500003155): Pay opens the bank's check (localstripe's
stripe.js shows a "3D Secure" dialog), the page says the payment is pending meanwhile; "Complete
authentication" → the receipt, the orders paid; "Fail authentication" → the reason in words, the
orders unpaid again, and paying again (another card) works."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import create_store_order, dropline_orders, line, order_status, wait_for, wait_payable

pytestmark = pytest.mark.e2e

THREE_D_SECURE_CARD = "4000002500003155"
PAY_BUTTON = re.compile(r"^Pay \$[\d,]+\.\d{2}$")
PAID_OR_LATER = ("paid", "forwarded", "shipped", "synced")


def type_card(page, number: str) -> None:
    # localstripe's stand-in card element: plain inputs named by their placeholders.
    page.get_by_placeholder("number", exact=True).fill(number)
    page.get_by_placeholder("exp_month", exact=True).fill("12")
    page.get_by_placeholder("exp_year", exact=True).fill("34")
    page.get_by_placeholder("cvc", exact=True).fill("123")
    page.get_by_placeholder("postal_code", exact=True).fill("10115")


def unpaid_card_order(stack, api, customer: str) -> dict:
    # The demo's EUR supplier takes cards; sold well above cost, so the price check flags nothing.
    store_order = create_store_order(stack, [line("MUG-BLUE", 2, "24.99")], customer=customer)
    (order,) = dropline_orders(api, store_order["name"], 1)
    wait_payable(api, [order["order_id"]])
    return order


def start_3ds_payment(page, order: dict) -> None:
    page.goto(f"/checkout?orders={order['order_id']}")
    expect(page.get_by_role("radio", name="Credit/Debit Card")).to_be_checked()
    type_card(page, THREE_D_SECURE_CARD)
    page.get_by_role("button", name=PAY_BUTTON).click()
    # localstripe's 3-D Secure dialog, and our page saying what it waits for.
    expect(page.get_by_text("3D Secure")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Payment pending: confirm it with your bank (3-D Secure)")).to_be_visible()
    expect(page.get_by_role("button", name="Paying…")).to_be_disabled()


def test_a_3ds_card_authenticated_is_paid(signed_in, stack, api):
    page = signed_in
    order = unpaid_card_order(stack, api, "Tess Secure")
    start_3ds_payment(page, order)
    assert order_status(api, order["order_id"]) in ("unpaid", "payment_pending")  # nothing settled yet

    page.get_by_role("button", name="Complete authentication").click()
    expect(page.get_by_role("heading", name="Receipt")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("alert").filter(has_text="Paid")).to_be_visible()
    expect(page.get_by_text("Credit/Debit Card")).to_be_visible()
    expect(page.get_by_role("link", name=order["order_number"])).to_be_visible()
    payment_id = re.search(r"/payments/([^/?#]+)", page.url).group(1)
    expect(page.get_by_text(payment_id, exact=True)).to_be_visible()

    payment = api.get(f"/api/v1/payments/{payment_id}").json()
    assert payment["status"] == "succeeded" and payment["method"] == "card" and payment["next_action"] is None
    wait_for("the order to be paid", lambda: order_status(api, order["order_id"]) in PAID_OR_LATER)


def test_a_3ds_card_that_fails_authentication_says_why_and_the_orders_are_unpaid_again(signed_in, stack, api):
    page = signed_in
    order = unpaid_card_order(stack, api, "Fay Failing")
    start_3ds_payment(page, order)

    page.get_by_role("button", name="Fail authentication").click()
    alert = page.get_by_role("alert").filter(has_text="declined")
    expect(alert).to_be_visible(timeout=30_000)
    expect(alert).to_contain_text("authentication")
    expect(alert).to_contain_text("the orders are unpaid again")
    expect(page.get_by_role("heading", name="Receipt")).to_have_count(0)
    wait_for("the order to be unpaid again", lambda: order_status(api, order["order_id"]) == "unpaid")
    quote = api.post("/api/v1/checkout/quote", json={"order_ids": [order["order_id"]]})
    assert quote.status_code == 200, quote.text  # payable again

    # Try again with another card: a new attempt, paid.
    pay = page.get_by_role("button", name=PAY_BUTTON)
    expect(pay).to_be_enabled()
    page.get_by_placeholder("number", exact=True).fill("4242424242424242")
    pay.click()
    expect(page.get_by_role("heading", name="Receipt")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("alert").filter(has_text="Paid")).to_be_visible()
    wait_for("the order to be paid", lambda: order_status(api, order["order_id"]) in PAID_OR_LATER)
