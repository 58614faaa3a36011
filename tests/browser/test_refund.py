"""A supplier rejects one order of a bulk card payment: Dropline refunds that order's share only.

The retailer pays two orders of the demo's EUR auto-order supplier in one payment through the checkout
(Stripe.js card element of localstripe). The supplier stand-in answers the forwarder's first order call
with 422 order_rejected (`/_control/reject-next`, set just before Pay): that order is refunded its share
of the payment, the other one goes on to the supplier. In the browser: the Orders page shows the
rejected order "Refunded" and the other one forwarded (or later); the order page says what was
refunded, to where and why; the receipt lists one refund row, for that order only, and the net
charged. The amounts are those of the quote (the API's payment) and localstripe holds exactly one
refund of that amount for the PaymentIntent.

A rejection reported by the supplier after it accepted an order (part C of docs/supplier-api.md) is
tests/e2e/test_refunds.py's (its stack does not auto-ship, so an accepted order stays unshipped)."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import httpx
import pytest
from playwright.sync_api import expect

from .conftest import create_store_order, dropline_orders, line, order_status, sign_in, wait_for, wait_payable

pytestmark = pytest.mark.e2e

PAY_BUTTON = re.compile(r"^Pay \$[\d,]+\.\d{2}$")
FORWARDED_OR_LATER = ("forwarded", "shipped", "synced")
STRIPE_KEY = "sk_test_dropline_local"  # localstripe accepts any sk_test_ key; checkout's local default
REJECTION_MESSAGE = f"Refund test {uuid.uuid4().hex[:6]}: the warehouse has none left"


def usd(amount: str) -> str:
    """The web app's money(…, "USD") for the amounts of these tests (below $1,000)."""
    return f"${Decimal(amount):,.2f}"


def eur(amount: str) -> str:
    return f"€{Decimal(amount):,.2f}"


def type_card(page, number: str) -> None:
    # localstripe's stand-in card element: plain inputs named by their placeholders.
    page.get_by_placeholder("number", exact=True).fill(number)
    page.get_by_placeholder("exp_month", exact=True).fill("12")
    page.get_by_placeholder("exp_year", exact=True).fill("34")
    page.get_by_placeholder("cvc", exact=True).fill("123")
    page.get_by_placeholder("postal_code", exact=True).fill("10115")


def order_calls(stack, order_ids: set[str]) -> list[dict]:
    """The forwarder's POST /v1/orders calls to the EUR supplier's stand-in for these orders."""
    requests = httpx.get(f"{stack.url('supplier')}/_control/requests", timeout=10).json()["requests"]
    return [r for r in requests if r["method"] == "POST" and r["path"] == "/v1/orders"
            and isinstance(r["body"], dict) and r["body"].get("external_id") in order_ids and "status_code" in r]


def rejected_calls(stack, order_ids: set[str]) -> list[dict]:
    return [r for r in order_calls(stack, order_ids)
            if r["status_code"] == 422 and r["response"].get("error") == "order_rejected"]


def drain_rejection(stack) -> None:
    """The pending reject-next was not used by this test's orders (it failed before they were forwarded):
    use it up with an order of nobody's, so later tests' orders are accepted as they expect."""
    config = httpx.get(f"{stack.url('supplier')}/_control/config", timeout=10).json()
    httpx.post(f"{stack.url('supplier')}/v1/orders", timeout=10,
               headers={"Authorization": f"Bearer {config['api_key']}", "Idempotency-Key": uuid.uuid4().hex},
               json={"external_id": f"drain-{uuid.uuid4().hex[:8]}", "order_number": "DRAIN",
                     "lines": [{"sku": (config["catalog"] or ["BG-MUG-01"])[0], "quantity": 1}],
                     "ship_to": {"name": "Nobody", "address1": "Nowhere 1", "city": "Berlin",
                                 "country_code": "DE"}})


def localstripe_refunds(stack, payment_intent: str) -> list[dict]:
    r = httpx.get(f"{stack.url('localstripe')}/v1/refunds", params={"payment_intent": payment_intent},
                  headers={"Authorization": f"Bearer {STRIPE_KEY}"}, timeout=10)
    r.raise_for_status()
    return r.json()["data"]


def test_a_rejected_order_of_a_bulk_payment_is_refunded_its_share_and_the_other_goes_on(page, stack, api,
                                                                                         web_user):
    supplier_id = stack.demo["suppliers"]["auto"]["supplier_id"]
    # Two orders of the EUR auto-order supplier at different costs, so each share is its own amount;
    # both sold well above cost (the price check flags nothing).
    mug = create_store_order(stack, [line("MUG-BLUE", 1, "29.99")], customer="Rita Rossi")
    lamp = create_store_order(stack, [line("LAMP-01", 1, "69.00")], customer="Otto Olsen")
    (a,) = dropline_orders(api, mug["name"], 1)
    (b,) = dropline_orders(api, lamp["name"], 1)
    ids = {a["order_id"], b["order_id"]}
    by_id = {a["order_id"]: a, b["order_id"]: b}
    wait_payable(api, [a["order_id"], b["order_id"]])
    quote = api.post("/api/v1/checkout/quote", json={"order_ids": [a["order_id"], b["order_id"]]}).json()
    share = {o["order_id"]: o for o in quote["orders"]}
    assert share[a["order_id"]]["usd"]["total"] != share[b["order_id"]]["usd"]["total"]

    sign_in(page, web_user, f"/checkout?orders={a['order_id']},{b['order_id']}")
    table = page.get_by_role("table", name="Orders to pay")
    for o in (a, b):
        expect(table.get_by_role("cell", name=o["order_number"], exact=True)).to_be_visible()
    expect(page.get_by_role("radio", name="Credit/Debit Card")).to_be_checked()
    type_card(page, "4242424242424242")
    pay = page.get_by_role("button", name=PAY_BUTTON)
    expect(pay).to_have_text(f"Pay {usd(quote['charge']['amount'])}")

    # The supplier refuses the next order it is sent: one of ours, as nothing else of this supplier is
    # paid and waiting to be forwarded.
    wait_for("no other order of the supplier waiting to be forwarded", lambda: api.get(
        "/api/v1/orders", params={"supplier_id": supplier_id, "status": "paid", "limit": 1}).json()["total"] == 0)
    r = httpx.post(f"{stack.url('supplier')}/_control/reject-next", timeout=10,
                   json={"count": 1, "reason": "out_of_stock", "message": REJECTION_MESSAGE})
    r.raise_for_status()
    try:
        pay.click()
        expect(page.get_by_role("heading", name="Receipt")).to_be_visible(timeout=30_000)
        payment_id = re.search(r"/payments/([^/?#]+)", page.url).group(1)

        # The forwarder's two calls: one refused (422 order_rejected), one accepted.
        calls = wait_for("the forwarder to call the supplier for both orders",
                         lambda: (c := order_calls(stack, ids)) and {x["body"]["external_id"] for x in c} == ids
                         and c)
    finally:
        if not rejected_calls(stack, ids):
            drain_rejection(stack)
    (refused,) = rejected_calls(stack, ids)
    rejected = by_id[refused["body"]["external_id"]]
    (other,) = (o for o in (a, b) if o is not rejected)
    accepted = [c for c in calls if c["body"]["external_id"] == other["order_id"]]
    assert [c["status_code"] for c in accepted][-1:] == [201], accepted
    assert not [c for c in order_calls(stack, {rejected["order_id"]}) if c["status_code"] in (200, 201)]

    # API: the rejected order refunded, its share exactly; the other one forwarded (and on).
    wait_for("the rejected order to be refunded",
             lambda: order_status(api, rejected["order_id"]) == "refunded", timeout=60)
    wait_for("the other order to be forwarded",
             lambda: order_status(api, other["order_id"]) in FORWARDED_OR_LATER)
    payment = api.get(f"/api/v1/payments/{payment_id}").json()
    assert payment["status"] == "succeeded" and payment["method"] == "card"
    assert payment["charge"]["amount"] == quote["charge"]["amount"]
    assert sorted(payment["order_ids"]) == sorted(ids)
    (refund,) = payment["refunds"]
    rejected_share = share[rejected["order_id"]]
    assert refund["order_id"] == rejected["order_id"]
    assert refund["status"] == "succeeded"
    assert Decimal(refund["amount_usd"]) == Decimal(rejected_share["usd"]["total"])
    assert Decimal(refund["amount_supplier_currency"]) == Decimal(rejected_share["supplier_currency"]["total"])
    assert refund["currency"] == "EUR"
    assert REJECTION_MESSAGE in refund["reason"]
    net = Decimal(payment["charge"]["amount"]) - Decimal(refund["amount_usd"])
    assert net == Decimal(share[other["order_id"]]["usd"]["total"])

    # localstripe: exactly one refund of that PaymentIntent, of that amount.
    assert payment["provider"] == "stripe" and payment["provider_reference"].startswith("pi_")
    (at_stripe,) = localstripe_refunds(stack, payment["provider_reference"])
    assert at_stripe["amount"] == int(Decimal(refund["amount_usd"]) * 100)
    assert at_stripe["status"] == "succeeded"
    assert at_stripe["id"] == refund["provider_reference"]

    # The receipt: the refund row of the rejected order only, what was refunded and the net charged.
    page.reload()
    expect(page.get_by_role("heading", name="Receipt")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="Refunded")).to_have_text(
        f"Refunded {usd(refund['amount_usd'])} of this payment to the Credit/Debit Card "
        "for 1 order the supplier rejected.")
    refunds = page.get_by_role("table", name="Refunded orders")
    rows = refunds.locator("tbody").get_by_role("row")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link", name=rejected["order_number"], exact=True)).to_be_visible()
    expect(rows.first).to_contain_text(usd(refund["amount_usd"]))
    expect(rows.first).to_contain_text(eur(refund["amount_supplier_currency"]))
    expect(rows.first).to_contain_text(REJECTION_MESSAGE)
    expect(rows.first.get_by_role("cell", name="Refunded", exact=True)).to_be_visible()
    expect(refunds.get_by_role("link", name=other["order_number"], exact=True)).to_have_count(0)
    paid = page.get_by_role("table", name="Paid orders")
    for o in (a, b):  # both stay on the receipt as paid by it
        expect(paid.get_by_role("link", name=o["order_number"], exact=True)).to_be_visible()
    facts = page.locator("dl")
    expect(facts).to_contain_text(f"Charged{usd(payment['charge']['amount'])} USD")
    expect(facts).to_contain_text(f"Refunded{usd(refund['amount_usd'])} USD")
    expect(facts).to_contain_text(f"Net charged{usd(str(net))} USD")

    # Orders: the rejected order "Refunded", the other forwarded or later.
    page.goto("/")
    orders = page.get_by_role("table", name="Orders")

    def row(o):
        return orders.get_by_role("row").filter(has=page.get_by_role("link", name=o["order_number"], exact=True))
    expect(row(rejected)).to_contain_text("Refunded")
    expect(row(other)).to_contain_text(re.compile(r"Forwarded|Shipped|Synced"))
    expect(row(other)).not_to_contain_text("Refunded")

    # The rejected order's page: refunded, how much, to where and why.
    row(rejected).get_by_role("link", name=rejected["order_number"], exact=True).click()
    expect(page.get_by_role("heading", name=f"Order {rejected['order_number']}")).to_be_visible()
    amount_line = f"{usd(refund['amount_usd'])} ({eur(refund['amount_supplier_currency'])} EUR)"
    notice = page.get_by_role("alert").filter(has_text="Refunded")
    expect(notice).to_contain_text(f"Refunded {amount_line} to the Credit/Debit Card: ")
    expect(notice).to_contain_text(REJECTION_MESSAGE)
    expect(page.get_by_role("heading", name=f"Order {rejected['order_number']}").locator("..")).to_contain_text(
        "Refunded")
    payment_section = page.get_by_role("region", name="Payment")
    expect(payment_section).to_contain_text(f"Refunded {amount_line} · Credit/Debit Card")
    expect(payment_section).to_contain_text(f"Reason: {refund['reason']}")
    expect(payment_section).to_contain_text(f"Refund {refund['provider_reference']} (stripe)")
    timeline = page.get_by_role("region", name="Timeline")
    expect(timeline).to_contain_text("Rejected by the supplier")
    expect(timeline).to_contain_text(f"Refunded {refund['amount_usd']} USD")
    expect(page.get_by_text("can no longer be changed")).to_have_count(0)

    # The other order's page: paid by the same payment, nothing refunded.
    page.goto(f"/orders/{other['order_id']}")
    expect(page.get_by_role("heading", name=f"Order {other['order_number']}")).to_be_visible()
    expect(page.get_by_role("link", name=payment_id)).to_be_visible()
    expect(page.get_by_role("region", name="Payment")).not_to_contain_text("Refunded")
    expect(page.get_by_role("alert").filter(has_text="Refunded")).to_have_count(0)
    # Still one refund at localstripe once everything has settled.
    assert len(localstripe_refunds(stack, payment["provider_reference"])) == 1
