"""Around the payment: PayPal's approval, the buyer cancelling, abandoned checkouts, late provider
answers, provider webhooks (inbox first) and refunds of rejected orders — on the real wiring with
fake providers (SQLite)."""

from __future__ import annotations

import json

import pytest
from sqlmodel import col, select

from checkout import handlers
from checkout.app import build
from checkout.models import CheckoutOrder, CheckoutPayment, CheckoutProviderEvent
from dropline_infra.models import OutboxMessage
from dropline_schemas import topics as T
from dropline_schemas.events import (
    OrderForwardingFailedData,
    OrderForwardingFailedV1,
    OrderRefundedV1,
    PaymentMethod,
)

from ..conftest import SimulatedCrash
from .conftest import TODAY, Harness

RET = "ret-1"


@pytest.fixture
async def both(settings_for, fake_provider, fake_paypal):
    svc = build(settings_for(), providers={PaymentMethod.CARD: fake_provider, PaymentMethod.PAYPAL: fake_paypal},
                today=lambda: TODAY)
    h = Harness(svc, fake_provider)
    h.paypal = fake_paypal
    yield h
    await h.http.aclose()
    await svc.db.dispose()


def card(order_ids, request_id="req-card", payment_method="pm_card_visa"):
    return {"retailer_id": RET, "order_ids": order_ids, "method": "card", "payment_method": payment_method,
            "request_id": request_id}


def paypal(order_ids, request_id="req-pp"):
    return {"retailer_id": RET, "order_ids": order_ids, "method": "paypal", "request_id": request_id,
            "return_url": "http://web.test/checkout/return", "cancel_url": "http://web.test/checkout/cancelled"}


async def seed(h, *orders):
    for o in orders:
        assert await h.deliver(_received(o)) == "applied"
    return [o.order_id for o in orders]


def _received(o):
    from dropline_schemas.events import OrderReceivedV1

    return OrderReceivedV1.create(data=o, producer="order-ingest", tenant_id=o.retailer_id,
                                  correlation_id=f"store-order-{o.platform_order_id}")


async def statuses(h, ids):
    async with h.db.uow() as uow:
        return {i: (await uow.session.get(CheckoutOrder, i)).status for i in ids}


async def outbox(h, topic):
    async with h.db.uow() as uow:
        return (await uow.session.exec(select(OutboxMessage).where(OutboxMessage.topic == topic.name)
                                       .order_by(col(OutboxMessage.id)))).all()


async def action(h, payment_id, what, retailer_id=RET):
    return await h.http.post(f"/internal/v1/payments/{payment_id}/{what}", json={"retailer_id": retailer_id})


def pp_terms(make_terms):
    return make_terms("sup-pp", methods=("paypal",), name="PayPal Only Supplies").model_copy(
        update={"paypal_email": "pay@pp.example"})


# --------------------------------------------------------------------------- PayPal


async def test_paypal_sends_the_buyer_to_approve_then_captures_once_on_return(both, make_order, make_terms):
    ids = await seed(both, make_order(supplier=pp_terms(make_terms)), make_order(supplier=pp_terms(make_terms)))
    r = await both.http.post("/internal/v1/payments", json=paypal(ids))
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["status"] == "requires_action" and p["provider"] == "paypal"
    assert p["next_action"]["type"] == "redirect" and p["next_action"]["url"].startswith("https://paypal.test/")
    assert await statuses(both, ids) == dict.fromkeys(ids, "payment_pending")  # visible while the checkout is open
    req = both.paypal.orders[p["provider_reference"]]["request"]
    assert req.amount_minor == p["charge"]["amount_minor"] and req.payee.supplier_id == "sup-pp"
    assert req.payee.email == "pay@pp.example"  # the supplier is the payee
    assert sum(req.breakdown.values()) == req.amount_minor  # item_total + shipping + tax_total = the charge

    both.paypal.approve(p["provider_reference"])
    done = await action(both, p["payment_id"], "complete")
    assert done.status_code == 200 and done.json()["status"] == "succeeded"
    again = await action(both, p["payment_id"], "complete")  # the return page reloaded
    assert again.json()["status"] == "succeeded"
    assert both.paypal.count("capture") == 1
    assert await statuses(both, ids) == dict.fromkeys(ids, "paid")
    assert len(await outbox(both, T.ORDER_PAID)) == 2


async def test_a_capture_whose_answer_is_lost_is_finished_by_the_regular_sweep(both, make_order, make_terms):
    ids = await seed(both, make_order(supplier=pp_terms(make_terms)))
    p = (await both.http.post("/internal/v1/payments", json=paypal(ids))).json()
    both.paypal.approve(p["provider_reference"])
    both.paypal.network_drops_at_capture = True
    r = await action(both, p["payment_id"], "complete")
    assert r.json()["status"] == "processing"  # taken at PayPal, not known here yet: no longer waiting for the buyer
    both.checkout.settings.payment_recovery_after_seconds = 0  # long before the abandonment time (1 h)
    await both.checkout.recover_once()
    assert await statuses(both, ids) == dict.fromkeys(ids, "paid") and both.paypal.count("capture") == 1


async def test_paypal_cancelled_at_paypal_releases_the_orders_and_charges_nothing(both, make_order, make_terms):
    ids = await seed(both, make_order(supplier=pp_terms(make_terms)))
    p = (await both.http.post("/internal/v1/payments", json=paypal(ids))).json()
    r = await action(both, p["payment_id"], "cancel")
    assert r.json()["status"] == "failed" and r.json()["failure_reason"] == "you cancelled the payment; nothing was charged"
    assert await statuses(both, ids) == dict.fromkeys(ids, "unpaid")
    assert both.paypal.count("capture") == 0
    assert len(await outbox(both, T.ORDER_PAYMENT_FAILED)) == 1


async def test_a_declined_paypal_capture_releases_the_orders(both, make_order, make_terms):
    ids = await seed(both, make_order(supplier=pp_terms(make_terms)))
    p = (await both.http.post("/internal/v1/payments", json=paypal(ids))).json()
    both.paypal.approve(p["provider_reference"])
    both.paypal.decline_capture = True
    r = await action(both, p["payment_id"], "complete")
    assert r.json()["status"] == "failed" and "INSTRUMENT_DECLINED" in r.json()["failure_reason"]
    assert await statuses(both, ids) == dict.fromkeys(ids, "unpaid")


async def test_paypal_needs_return_urls_and_no_payment_method(both, make_order, make_terms):
    ids = await seed(both, make_order(supplier=pp_terms(make_terms)))
    body = paypal(ids)
    del body["return_url"]
    r = await both.http.post("/internal/v1/payments", json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "return_url_required"
    r = await both.http.post("/internal/v1/payments", json={**paypal(ids), "payment_method": "pm_card_visa"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "payment_method_not_allowed"
    assert await statuses(both, ids) == dict.fromkeys(ids, "unpaid") and both.paypal.calls == []


# --------------------------------------------------------------------------- abandonment and late answers


async def test_an_abandoned_paypal_checkout_returns_its_orders_to_unpaid(both, make_order, make_terms):
    ids = await seed(both, make_order(supplier=pp_terms(make_terms)))
    p = (await both.http.post("/internal/v1/payments", json=paypal(ids))).json()
    both.checkout.settings.payment_abandon_after_seconds = 3600
    assert await both.checkout.recover_once() == 0  # not yet: the buyer may still be at PayPal
    assert await statuses(both, ids) == dict.fromkeys(ids, "payment_pending")
    both.checkout.settings.payment_abandon_after_seconds = 0.0001
    assert await both.checkout.recover_once() == 1
    got = (await both.http.get(f"/internal/v1/payments/{p['payment_id']}", params={"retailer_id": RET})).json()
    assert got["status"] == "failed" and "abandoned" in got["failure_reason"]
    assert await statuses(both, ids) == dict.fromkeys(ids, "unpaid")


async def test_a_late_paypal_approval_is_taken_if_the_orders_are_still_unpaid(both, make_order, make_terms):
    ids = await seed(both, make_order(supplier=pp_terms(make_terms)))
    p = (await both.http.post("/internal/v1/payments", json=paypal(ids))).json()
    both.checkout.settings.payment_abandon_after_seconds = 0.0001
    await both.checkout.recover_once()
    assert await statuses(both, ids) == dict.fromkeys(ids, "unpaid")
    both.paypal.approve(p["provider_reference"])  # the buyer finally approves in the old tab
    both.paypal.webhook_queue.append(both.paypal.event("approved", p["provider_reference"]))
    r = await both.http.post("/internal/v1/provider-webhooks/paypal", content=b"{}", headers={"x-fake-signature": "ok"})
    assert r.status_code == 200 and r.json()["outcome"] == "late approval: payment succeeded"
    assert await statuses(both, ids) == dict.fromkeys(ids, "paid") and both.paypal.count("capture") == 1


async def test_a_late_paypal_approval_for_orders_paid_meanwhile_is_never_captured(both, make_order, make_terms):
    ids = await seed(both, make_order(supplier=make_terms("sup-2", methods=("card", "paypal"))))
    p = (await both.http.post("/internal/v1/payments", json=paypal(ids))).json()
    both.checkout.settings.payment_abandon_after_seconds = 0.0001
    await both.checkout.recover_once()
    assert (await both.http.post("/internal/v1/payments", json=card(ids))).json()["status"] == "succeeded"
    both.paypal.approve(p["provider_reference"])
    both.paypal.webhook_queue.append(both.paypal.event("approved", p["provider_reference"]))
    r = await both.http.post("/internal/v1/provider-webhooks/paypal", content=b"{}", headers={"x-fake-signature": "ok"})
    assert r.json()["outcome"] == "late approval: payment failed"
    assert both.paypal.count("capture") == 0 and await statuses(both, ids) == dict.fromkeys(ids, "paid")


async def test_a_late_card_success_is_honoured_or_refunded_never_lost(both, make_order):
    """The provider took the money for a payment checkout had closed (a card authenticated at the
    moment the checkout was given up): paid by it if the orders are still unpaid, else refunded."""
    first, second = await seed(both, make_order()), await seed(both, make_order())
    late = []
    for ids, rid in ((first, "a"), (second, "b")):
        p = (await both.http.post("/internal/v1/payments",
                                  json=card(ids, f"req-{rid}", "pm_card_authenticationRequired"))).json()
        assert p["status"] == "requires_action"
        await action(both, p["payment_id"], "cancel")  # the buyer closed the 3-D Secure dialog
        assert await statuses(both, ids) == dict.fromkeys(ids, "unpaid")
        late.append(p)
    # Meanwhile the second batch is paid by another card; then both old intents turn out to have succeeded.
    assert (await both.http.post("/internal/v1/payments", json=card(second, "req-c"))).json()["status"] == "succeeded"
    for p in late:
        both.provider.intents[p["provider_reference"]]["status"] = "succeeded"
        flow = both.checkout.flow
        async with both.db.uow() as uow:
            row = await uow.session.get(CheckoutPayment, p["payment_id"])
        await flow.settle(row, await both.provider.look_up(p["provider_reference"]))
    assert await statuses(both, first) == dict.fromkeys(first, "paid")  # honoured
    assert await statuses(both, second) == dict.fromkeys(second, "paid")  # by the other payment, once
    refunded = (await both.http.get(f"/internal/v1/payments/{late[1]['payment_id']}", params={"retailer_id": RET})).json()
    assert refunded["status"] == "refunded" and refunded["refunds"][0]["status"] == "pending"
    await both.checkout.recover_once()
    refunded = (await both.http.get(f"/internal/v1/payments/{late[1]['payment_id']}", params={"retailer_id": RET})).json()
    (refund,) = refunded["refunds"]
    assert refund["status"] == "succeeded" and refund["order_id"] is None
    assert [r["amount"] for r in both.provider.refunds.values()] == [late[1]["charge"]["amount_minor"]]
    paid = [json.loads(m.payload)["data"]["order_id"] for m in await outbox(both, T.ORDER_PAID)]
    assert sorted(paid) == sorted(first + second)  # each order paid exactly once


# --------------------------------------------------------------------------- webhooks


async def test_a_provider_webhook_is_stored_once_and_applied_once(both, make_order, make_terms):
    ids = await seed(both, make_order(supplier=pp_terms(make_terms)))
    p = (await both.http.post("/internal/v1/payments", json=paypal(ids))).json()
    both.paypal.approve(p["provider_reference"])
    event = both.paypal.event("approved", p["provider_reference"], event_id="WH-1")
    both.paypal.webhook_queue += [event, event]
    first = await both.http.post("/internal/v1/provider-webhooks/paypal", content=b"{}", headers={"x-fake-signature": "ok"})
    second = await both.http.post("/internal/v1/provider-webhooks/paypal", content=b"{}", headers={"x-fake-signature": "ok"})
    assert first.json() == {"received": True, "duplicate": False, "outcome": "payment succeeded"}
    assert second.json()["duplicate"] is True
    assert both.paypal.count("capture") == 1 and await statuses(both, ids) == dict.fromkeys(ids, "paid")
    # The buyer's return arrives after the webhook did the work: same answer, no second capture.
    assert (await action(both, p["payment_id"], "complete")).json()["status"] == "succeeded"
    assert both.paypal.count("capture") == 1


async def test_a_webhook_that_does_not_verify_is_refused_and_stored_nowhere(both):
    r = await both.http.post("/internal/v1/provider-webhooks/paypal", content=b"{}", headers={"x-fake-signature": "no"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "webhook_rejected"
    r = await both.http.post("/internal/v1/provider-webhooks/bitcoin", content=b"{}")
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_provider"
    async with both.db.uow() as uow:
        assert (await uow.session.exec(select(CheckoutProviderEvent))).all() == []


async def test_a_stored_webhook_left_unapplied_is_applied_by_the_sweep(both, make_order, make_terms):
    ids = await seed(both, make_order(supplier=pp_terms(make_terms)))
    p = (await both.http.post("/internal/v1/payments", json=paypal(ids))).json()
    both.paypal.approve(p["provider_reference"])
    real = both.checkout.webhooks.apply

    async def crash(*_a, **_k):
        raise SimulatedCrash("died right after storing the webhook")

    both.checkout.webhooks.apply = crash
    both.paypal.webhook_queue.append(both.paypal.event("approved", p["provider_reference"]))
    r = await both.http.post("/internal/v1/provider-webhooks/paypal", content=b"{}", headers={"x-fake-signature": "ok"})
    assert r.status_code == 200 and r.json()["outcome"] == "stored; applied later"
    both.checkout.webhooks.apply = real
    both.checkout.settings.payment_recovery_after_seconds = 0
    await both.checkout.recover_once()
    assert await statuses(both, ids) == dict.fromkeys(ids, "paid") and both.paypal.count("capture") == 1


# --------------------------------------------------------------------------- refunds


def rejected(order_id, *, by_supplier=True, event_id=None):
    return OrderForwardingFailedV1.create(
        data=OrderForwardingFailedData(order_id=order_id, supplier_id="sup-eu", reason="SKU discontinued",
                                       status_code=422, rejected_by_supplier=by_supplier),
        producer="forwarder", tenant_id=RET, correlation_id="c")


async def deliver_rejection(h, event) -> str:
    return await h.svc.consumers.process("checkout.order_forwarding_failed", T.ORDER_FORWARDING_FAILED,
                                         event.model_dump_json().encode(), handlers.on_order_forwarding_failed,
                                         OrderForwardingFailedV1)


async def test_a_rejected_order_of_a_bulk_payment_is_refunded_alone_once(both, make_order):
    a, b = await seed(both, make_order(("10.00", 1)), make_order(("6.00", 1)))
    p = (await both.http.post("/internal/v1/payments", json=card([a, b]))).json()
    assert p["status"] == "succeeded"
    share = next(o for o in p["orders"] if o["order_id"] == b)
    event = rejected(b)
    assert await deliver_rejection(both, event) == "applied"
    assert await deliver_rejection(both, event) != "applied"  # redelivered: no second refund row
    assert await deliver_rejection(both, rejected(b)) == "applied"  # a second report of the same rejection
    both.provider.crash_after_refund = True
    with pytest.raises(SimulatedCrash):
        await both.checkout.recover_once()  # the provider refunded; checkout died before recording it
    both.provider.crash_after_refund = False
    await both.checkout.recover_once()
    assert await statuses(both, [b]) == {b: "paid"}  # the crashed attempt's lease still holds it
    both.checkout.settings.payment_recovery_after_seconds = 0  # time passes: the lease runs out
    await both.checkout.recover_once()
    await both.checkout.recover_once()
    (refund,) = both.provider.refunds.values()
    assert refund["amount"] == int(share["usd"]["total"].replace(".", ""))  # that order's share only
    assert await statuses(both, [a, b]) == {a: "paid", b: "refunded"}
    (msg,) = await outbox(both, T.ORDER_REFUNDED)
    ev = OrderRefundedV1.model_validate_json(msg.payload)
    assert ev.data.order_id == b and str(ev.data.usd_amounts.total) == share["usd"]["total"]
    assert str(ev.data.supplier_currency_amounts.total) == share["supplier_currency"]["total"]
    assert ev.data.provider_reference == refund["id"] and ev.data.fx.rate_date == p["fx"]["rate_date"]
    view = (await both.http.get(f"/internal/v1/payments/{p['payment_id']}", params={"retailer_id": RET})).json()
    assert view["status"] == "succeeded" and [r["order_id"] for r in view["refunds"]] == [b]
    assert view["refunds"][0]["amount_usd"] == share["usd"]["total"]


async def test_a_paypal_payment_is_refunded_through_paypal_against_its_capture(both, make_order, make_terms):
    ids = await seed(both, make_order(supplier=pp_terms(make_terms)))
    p = (await both.http.post("/internal/v1/payments", json=paypal(ids))).json()
    both.paypal.approve(p["provider_reference"])
    await action(both, p["payment_id"], "complete")
    await deliver_rejection(both, rejected(ids[0]))
    await both.checkout.recover_once()
    (refund,) = both.paypal.refunds.values()
    assert refund["amount"] == p["charge"]["amount_minor"] and both.provider.refunds == {}
    assert await statuses(both, ids) == dict.fromkeys(ids, "refunded")


async def test_a_failure_dropline_caused_refunds_nothing(both, make_order):
    ids = await seed(both, make_order())
    await both.http.post("/internal/v1/payments", json=card(ids))
    await deliver_rejection(both, rejected(ids[0], by_supplier=False))
    await both.checkout.recover_once()
    assert both.provider.refunds == {} and await statuses(both, ids) == dict.fromkeys(ids, "paid")
