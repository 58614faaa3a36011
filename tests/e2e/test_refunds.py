"""A supplier that accepted an order and then reports it cannot fulfil it (docs/supplier-api.md part C,
the supplier stand-in's `/_control/orders/{id}/reject`): Dropline refunds that order's share of its
bulk payment, once, and nothing of the other order; a second report is a duplicate that refunds
nothing more; a shipped order cannot be rejected. The rejection before forwarding (422
order_rejected) is tests/browser/test_refund.py's, with what the retailer sees."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from .conftest import wait_for
from .helpers import create_store_order, pay, wait_orders, wait_payable, wait_status

pytestmark = pytest.mark.e2e

STRIPE_KEY = "sk_test_dropline_local"  # checkout's local default; localstripe accepts any sk_test_ key
REASON = "Out of stock: the next delivery of desk lamps is in March"


def localstripe_refunds(stack, payment_intent: str) -> list[dict]:
    r = httpx.get(f"{stack.url('localstripe')}/v1/refunds", params={"payment_intent": payment_intent},
                  headers={"Authorization": f"Bearer {STRIPE_KEY}"}, timeout=10)
    r.raise_for_status()
    return r.json()["data"]


def one_order(stack, api, sku: str, price: str) -> dict:
    created = create_store_order(stack, [{"sku": sku, "title": sku, "quantity": 1, "price": price}])
    (order,) = wait_orders(api, created["order"]["name"], 1)
    return order


def supplier_report(stack, path: str, body: dict | None = None) -> dict:
    r = httpx.post(f"{stack.url('supplier')}/_control/orders/{path}", json=body or {}, timeout=30)
    r.raise_for_status()
    return r.json()


def test_a_rejection_after_forwarding_refunds_that_orders_share_once(stack, api):
    # Two orders of the EUR auto-order supplier, paid together; each share its own amount.
    lamp, mug = one_order(stack, api, "LAMP-01", "69.00"), one_order(stack, api, "MUG-BLUE", "29.99")
    ids = [lamp["order_id"], mug["order_id"]]
    wait_payable(api, ids)
    quote = api.post("/api/v1/checkout/quote", json={"order_ids": ids}).json()
    share = {o["order_id"]: o for o in quote["orders"]}
    paid = pay(api, ids)
    assert paid.status_code == 201, paid.text
    payment_id = paid.json()["payment_id"]
    forwarded_lamp = wait_status(api, lamp["order_id"], "forwarded")
    forwarded_mug = wait_status(api, mug["order_id"], "forwarded")
    supplier_lamp, supplier_mug = forwarded_lamp["supplier_order_id"], forwarded_mug["supplier_order_id"]
    assert supplier_lamp and supplier_mug

    # The supplier cannot fulfil the lamp after all and tells Dropline (part C).
    report = supplier_report(stack, f"{supplier_lamp}/reject", {"reason": REASON})
    assert report["delivered"] and report["status_code"] == 201, report
    assert report["response_body"]["status"] == "accepted"
    assert report["response_body"]["order_id"] == lamp["order_id"]

    refunded = wait_status(api, lamp["order_id"], "refunded", timeout=60)
    (order_refund,) = refunded["refunds"]
    assert order_refund["payment_id"] == payment_id and order_refund["method"] == "card"
    assert Decimal(order_refund["usd_amounts"]["total"]) == Decimal(share[lamp["order_id"]]["usd"]["total"])
    assert Decimal(order_refund["supplier_currency_amounts"]["total"]) == \
        Decimal(share[lamp["order_id"]]["supplier_currency"]["total"])
    assert REASON in order_refund["reason"]
    assert refunded["problem"] is None  # settled: the money is back
    summaries = [t["summary"] for t in refunded["timeline"]]
    assert any(s.startswith("Rejected by the supplier") and REASON in s for s in summaries), summaries
    assert any(s.startswith(f"Refunded {order_refund['usd_amounts']['total']} USD") for s in summaries), summaries

    payment = api.get(f"/api/v1/payments/{payment_id}").json()
    assert payment["status"] == "succeeded"
    (refund,) = payment["refunds"]
    assert refund["order_id"] == lamp["order_id"] and refund["status"] == "succeeded"
    assert Decimal(refund["amount_usd"]) == Decimal(share[lamp["order_id"]]["usd"]["total"])
    assert Decimal(payment["charge"]["amount"]) - Decimal(refund["amount_usd"]) == \
        Decimal(share[mug["order_id"]]["usd"]["total"])
    (at_stripe,) = localstripe_refunds(stack, payment["provider_reference"])
    assert at_stripe["amount"] == int(Decimal(refund["amount_usd"]) * 100) and at_stripe["status"] == "succeeded"
    assert at_stripe["id"] == refund["provider_reference"] == order_refund["provider_reference"]

    # The mug goes on: still forwarded, nothing refunded.
    mug_now = api.get(f"/api/v1/orders/{mug['order_id']}").json()
    assert mug_now["status"] == "forwarded" and mug_now["refunds"] == []

    # Reported again (a supplier retrying): a duplicate of the first report; nothing more refunded.
    again = supplier_report(stack, f"{supplier_lamp}/reject", {"reason": "another reason"})
    assert again["status_code"] == 200 and again["response_body"]["status"] == "duplicate", again
    assert again["response_body"]["reason"] == REASON
    assert len(localstripe_refunds(stack, payment["provider_reference"])) == 1
    assert len(api.get(f"/api/v1/payments/{payment_id}").json()["refunds"]) == 1

    # Once shipped, an order cannot be rejected: the mug stays paid.
    shipped = supplier_report(stack, f"{supplier_mug}/ship")
    assert shipped["delivered"], shipped
    wait_for("the mug to be shipped or synced",
             lambda: api.get(f"/api/v1/orders/{mug['order_id']}").json()["status"] in ("shipped", "synced"))
    late = supplier_report(stack, f"{supplier_mug}/reject", {"reason": REASON})
    assert late["status_code"] == 409 and late["response_body"]["error"] == "already_shipped", late
    assert len(localstripe_refunds(stack, payment["provider_reference"])) == 1
    mug_now = api.get(f"/api/v1/orders/{mug['order_id']}").json()
    assert mug_now["status"] in ("shipped", "synced") and mug_now["refunds"] == []
