"""Paying a PayPal-only supplier's orders: the checkout offers PayPal only; Pay goes to PayPal's approval
page (the PayPal stand-in); "Approve payment" comes back to the web app, which completes the payment
and shows the receipt, paid; "Cancel and return" comes back and says nothing was charged, the orders
unpaid again, with a way back to the orders and to try again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from dropline_testsupport.demo import LISTINGS

from .conftest import (
    assert_accessible,
    create_store_order,
    dropline_orders,
    line,
    order_status,
    wait_for,
    wait_payable,
)

pytestmark = pytest.mark.e2e

PAYPAL_PAY_BUTTON = re.compile(r"^Pay \$[\d,]+\.\d{2} with PayPal$")
PAID_OR_LATER = ("paid", "forwarded", "shipped", "synced")


@pytest.fixture(scope="module")
def paypal_supplier(stack, api) -> dict:
    """The demo's auto-order supplier that accepts PayPal only, and a store SKU of it."""
    suppliers = api.get("/api/v1/suppliers").json()["suppliers"]
    matches = [s for s in suppliers if s["auto_order"] and s["payment_methods"] == ["paypal"]]
    assert matches, f"the demo data has no PayPal-only auto-order supplier: {suppliers}"
    supplier = matches[0]
    keys = [who for who, s in stack.demo["suppliers"].items() if s["supplier_id"] == supplier["supplier_id"]]
    skus = [sku for sku, who, _, _ in LISTINGS if who in keys]
    assert skus, f"no demo listing for {supplier['name']}"
    return {**supplier, "sku": skus[0]}


def unpaid_paypal_order(stack, api, supplier: dict, customer: str) -> dict:
    # Sold well above cost, so the price check flags nothing.
    store_order = create_store_order(stack, [line(supplier["sku"], 1, "99.00")], customer=customer)
    (order,) = dropline_orders(api, store_order["name"], 1)
    assert order["supplier"]["supplier_id"] == supplier["supplier_id"]
    wait_payable(api, [order["order_id"]])
    return order


def go_to_paypal(page, stack, order: dict) -> None:
    page.goto(f"/checkout?orders={order['order_id']}")
    expect(page.get_by_role("radio", name="PayPal")).to_be_checked()
    expect(page.get_by_role("radio", name="Credit/Debit Card")).to_have_count(0)  # not accepted by this supplier
    expect(page.get_by_test_id("card-element")).to_have_count(0)
    page.get_by_role("button", name=PAYPAL_PAY_BUTTON).click()
    paypal = stack.url("paypal")
    expect(page).to_have_url(re.compile(rf"^{re.escape(paypal)}/checkoutnow\?token=[A-Z0-9]+"), timeout=30_000)
    expect(page.get_by_role("heading", name="Review your payment")).to_be_visible()


def test_approved_at_paypal_the_receipt_shows_the_payment_paid(signed_in, stack, api, paypal_supplier):
    page = signed_in
    order = unpaid_paypal_order(stack, api, paypal_supplier, "Paula Pal")
    go_to_paypal(page, stack, order)
    paypal_order = re.search(r"token=([A-Z0-9]+)", page.url).group(1)
    wait_for("the order to be held while the buyer is at PayPal",
             lambda: order_status(api, order["order_id"]) == "payment_pending")

    page.get_by_role("button", name="Approve payment").click()
    expect(page.get_by_role("heading", name="Receipt")).to_be_visible(timeout=30_000)
    assert page.url.startswith(stack.url("gateway") + "/payments/")
    expect(page.get_by_role("alert").filter(has_text="Paid")).to_be_visible()
    expect(page.get_by_text("PayPal", exact=True)).to_be_visible()  # the method
    expect(page.get_by_role("link", name=order["order_number"])).to_be_visible()
    payment_id = re.search(r"/payments/([^/?#]+)", page.url).group(1)
    expect(page.get_by_text(payment_id, exact=True)).to_be_visible()

    payment = api.get(f"/api/v1/payments/{payment_id}").json()
    assert payment["status"] == "succeeded" and payment["method"] == "paypal"
    assert payment["provider_reference"] == paypal_order
    wait_for("the order to be paid", lambda: order_status(api, order["order_id"]) in PAID_OR_LATER)


def test_cancelled_at_paypal_nothing_is_charged_and_the_orders_are_unpaid_again(signed_in, stack, api,
                                                                                paypal_supplier):
    page = signed_in
    order = unpaid_paypal_order(stack, api, paypal_supplier, "Carl Cancel")
    go_to_paypal(page, stack, order)

    page.get_by_role("button", name="Cancel and return").click()
    expect(page).to_have_url(re.compile(r"/checkout/paypal/cancelled\?token="), timeout=30_000)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("You cancelled the payment at PayPal", timeout=30_000)
    expect(alert).to_contain_text("Nothing was charged and the orders are unpaid again")
    expect(page.get_by_role("link", name="Back to Orders")).to_be_visible()
    assert_accessible(page)
    wait_for("the order to be unpaid again", lambda: order_status(api, order["order_id"]) == "unpaid")
    assert api.post("/api/v1/checkout/quote", json={"order_ids": [order["order_id"]]}).status_code == 200

    # "Try again": the checkout of the same order, payable.
    page.get_by_role("link", name="Try again").click()
    expect(page).to_have_url(re.compile(rf"/checkout\?orders={order['order_id']}$"))
    expect(page.get_by_role("cell", name=order["order_number"], exact=True)).to_be_visible()
    expect(page.get_by_role("button", name=PAYPAL_PAY_BUTTON)).to_be_enabled()

    # Back on the return page, nothing is done twice (this tab's PayPal payment is finished); the way
    # back to the orders shows the order unpaid.
    page.go_back()
    expect(page.get_by_role("alert")).to_contain_text("no PayPal payment waiting")
    page.get_by_role("link", name="Back to Orders").click()
    expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=order["order_number"], exact=True))
    expect(row).to_contain_text("Unpaid")


def test_left_paypal_without_finishing_the_checkout_offers_to_cancel_that_payment_and_pay_again(
        signed_in, stack, api, paypal_supplier):
    page = signed_in
    order = unpaid_paypal_order(stack, api, paypal_supplier, "Leah Left")
    go_to_paypal(page, stack, order)
    # Back to the checkout without approving or cancelling at PayPal: the order is held by that payment.
    page.goto(f"/checkout?orders={order['order_id']}")
    notice = page.get_by_role("status").filter(has_text="waits for your approval at PayPal")
    expect(notice).to_be_visible(timeout=30_000)
    expect(notice.get_by_role("button", name="Continue at PayPal")).to_be_visible()
    assert_accessible(page)
    notice.get_by_role("button", name="Cancel that payment").click()
    wait_for("the order to be unpaid again", lambda: order_status(api, order["order_id"]) == "unpaid")

    pay = page.get_by_role("button", name=PAYPAL_PAY_BUTTON)
    expect(pay).to_be_enabled(timeout=30_000)
    pay.click()
    expect(page.get_by_role("heading", name="Review your payment")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Approve payment").click()
    expect(page.get_by_role("heading", name="Receipt")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("alert").filter(has_text="Paid")).to_be_visible()
    wait_for("the order to be paid", lambda: order_status(api, order["order_id"]) in PAID_OR_LATER)
