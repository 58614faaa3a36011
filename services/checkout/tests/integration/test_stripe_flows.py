"""Cards beyond the simple charge, against PostgreSQL and localstripe: 3-D Secure, Stripe's signed
webhooks (localstripe posts them to checkout over real HTTP), refunds of rejected orders, and the
"never twice" cases (a webhook before the API answer, a duplicate webhook, a refund retried after a
crash) counted at localstripe."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid

import httpx
import pytest
import stripe
import uvicorn
from sqlmodel import select

from checkout import handlers
from checkout.adapters.stripe import StripeProvider
from checkout.adapters.stripe.settings import DEVELOPMENT_STRIPE_WEBHOOK_SECRET
from checkout.models import CheckoutProviderEvent
from dropline_schemas import topics as T
from dropline_schemas.events import OrderForwardingFailedData, OrderForwardingFailedV1
from dropline_testsupport._server import free_port

from .test_checkout_localstripe import STRIPE_KEY, Flaky, outbox, pay_body, seed, statuses

pytestmark = pytest.mark.integration
THREE_D_SECURE_CARD = "4000002500003155"  # localstripe (like Stripe) asks for authentication


async def eventually(check, timeout=20.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        if result := await check():
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def served(app):
    """checkout's ASGI app on a real port (localstripe posts webhooks to it); its lifespan already runs."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app.svc.app, host="127.0.0.1", port=port, lifespan="off",
                                           log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def register_webhook(localstripe, url):
    async with httpx.AsyncClient() as http:
        r = await http.post(f"{localstripe}/_config/webhooks/checkout",
                            data={"url": f"{url}/internal/v1/provider-webhooks/stripe",
                                  "secret": DEVELOPMENT_STRIPE_WEBHOOK_SECRET})
        r.raise_for_status()


async def three_d_secure_card(stripe_client) -> str:
    pm = await stripe_client.v1.payment_methods.create_async(params={
        "type": "card", "card": {"number": THREE_D_SECURE_CARD, "exp_month": 12, "exp_year": 2030, "cvc": "123"}})
    return pm.id


async def authenticate(localstripe, client_secret: str, success: bool) -> dict:
    """What stripe.js does when the buyer answers the 3-D Secure dialog (localstripe's own route)."""
    pi = client_secret.split("_secret_")[0]
    async with httpx.AsyncClient() as http:
        r = await http.post(f"{localstripe}/v1/payment_intents/{pi}/_authenticate?success={str(success).lower()}",
                            content=json.dumps({"key": "pk_test_x", "client_secret": client_secret}))
    r.raise_for_status()
    return r.json()


async def stored_events(app) -> list[CheckoutProviderEvent]:
    async with app.db.uow() as uow:
        return list((await uow.session.exec(select(CheckoutProviderEvent))).all())


async def test_3d_secure_cards_and_stripe_webhooks(start_app, payment_intents, stripe_client, localstripe,
                                                   make_order):
    """One checkout (each start costs Kafka group joins), several stories in turn, each with its own orders."""
    async with start_app(payment_recovery_interval_seconds=0.2) as app, served(app) as url:
        await register_webhook(localstripe, url)
        await paid_after_authentication_and_the_webhook_changes_nothing_more(app, payment_intents, stripe_client,
                                                                             localstripe, make_order)
        await the_webhook_can_finish_the_payment_before_the_buyer_returns(app, payment_intents, stripe_client,
                                                                          localstripe, make_order)
        await a_failed_authentication_releases_the_orders(app, stripe_client, localstripe, make_order)
        await duplicate_and_forged_stripe_webhooks(app, make_order)
        await abandoning_a_3d_secure_checkout_cancels_the_intent(app, payment_intents, stripe_client, make_order)


async def paid_after_authentication_and_the_webhook_changes_nothing_more(app, payment_intents, stripe_client,
                                                                         localstripe, make_order):
    ids = await seed(app, make_order(), make_order())
    r = await app.http.post("/internal/v1/payments", json=pay_body(ids, payment_method=await three_d_secure_card(stripe_client)))
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["status"] == "requires_action" and p["next_action"]["type"] == "authenticate_card"
    assert await statuses(app, ids) == dict.fromkeys(ids, "payment_pending")
    await authenticate(localstripe, p["next_action"]["client_secret"], success=True)
    done = await app.http.post(f"/internal/v1/payments/{p['payment_id']}/complete", json={"retailer_id": "ret-1"})
    assert done.json()["status"] == "succeeded"
    # localstripe's signed payment_intent.succeeded arrives about a second later: stored, verified, no effect.
    (event,) = await eventually(lambda: events_about(app, p["provider_reference"]))
    assert event.type == "payment_intent.succeeded"
    await eventually(lambda: _applied(app))
    assert (await events_about(app, p["provider_reference"]))[0].outcome == "payment already succeeded"
    (pi,) = [pi for pi in await payment_intents() if pi.id == p["provider_reference"]]
    assert pi.status == "succeeded" and pi.amount == p["charge"]["amount_minor"]
    assert await statuses(app, ids) == dict.fromkeys(ids, "paid")
    assert len([m for m in await outbox(app.db, T.ORDER_PAID) if m.key in ids]) == 2


async def events_about(app, reference) -> list[CheckoutProviderEvent]:
    return [e for e in await stored_events(app) if e.reference == reference]


async def _applied(app):
    events = await stored_events(app)
    return events and all(e.applied_at is not None for e in events)


async def the_webhook_can_finish_the_payment_before_the_buyer_returns(app, payment_intents, stripe_client,
                                                                     localstripe, make_order):
    """The page was closed right after the 3-D Secure dialog: Stripe's webhook pays the orders."""
    ids = await seed(app, make_order())
    p = (await app.http.post("/internal/v1/payments",
                             json=pay_body(ids, payment_method=await three_d_secure_card(stripe_client)))).json()
    await authenticate(localstripe, p["next_action"]["client_secret"], success=True)

    async def paid():
        return await statuses(app, ids) == dict.fromkeys(ids, "paid")

    await eventually(paid)
    await eventually(lambda: _applied(app))
    (event,) = await events_about(app, p["provider_reference"])
    assert event.outcome == "payment succeeded"
    late = await app.http.post(f"/internal/v1/payments/{p['payment_id']}/complete", json={"retailer_id": "ret-1"})
    assert late.json()["status"] == "succeeded"
    assert len([m for m in await outbox(app.db, T.ORDER_PAID) if m.key in ids]) == 1
    assert [pi.status for pi in await payment_intents() if pi.id == p["provider_reference"]] == ["succeeded"]


async def a_failed_authentication_releases_the_orders(app, stripe_client, localstripe, make_order):
    ids = await seed(app, make_order())
    p = (await app.http.post("/internal/v1/payments",
                             json=pay_body(ids, payment_method=await three_d_secure_card(stripe_client)))).json()
    await authenticate(localstripe, p["next_action"]["client_secret"], success=False)
    done = await app.http.post(f"/internal/v1/payments/{p['payment_id']}/complete", json={"retailer_id": "ret-1"})
    assert done.json()["status"] == "failed"
    assert await statuses(app, ids) == dict.fromkeys(ids, "unpaid")


async def duplicate_and_forged_stripe_webhooks(app, make_order):
    ids = await seed(app, make_order())
    p = (await app.http.post("/internal/v1/payments", json=pay_body(ids))).json()
    assert p["status"] == "succeeded"
    body = json.dumps({"id": "evt_dup_1", "object": "event", "type": "payment_intent.succeeded",
                       "created": int(time.time()), "data": {"object": {"id": p["provider_reference"],
                                                                        "object": "payment_intent"}}}).encode()

    def signed(payload: bytes, secret=DEVELOPMENT_STRIPE_WEBHOOK_SECRET, at=None) -> dict:
        t = int(at or time.time())
        sig = stripe.WebhookSignature._compute_signature(f"{t}.{payload.decode()}", secret)
        return {"Stripe-Signature": f"t={t},v1={sig}", "Content-Type": "application/json"}

    url = "/internal/v1/provider-webhooks/stripe"
    first = await app.http.post(url, content=body, headers=signed(body))
    second = await app.http.post(url, content=body, headers=signed(body))
    assert first.json()["duplicate"] is False and second.json()["duplicate"] is True
    for bad in (signed(body, secret="whsec_wrong"), signed(body, at=time.time() - 301),
                {"Content-Type": "application/json"}):
        r = await app.http.post(url, content=body, headers=bad)
        assert r.status_code == 400 and r.json()["error"]["code"] == "webhook_rejected", bad
    tampered = body.replace(b"evt_dup_1", b"evt_dup_2")
    assert (await app.http.post(url, content=tampered, headers=signed(body))).status_code == 400
    assert [e.event_id for e in await stored_events(app) if e.event_id.startswith("evt_dup")] == ["evt_dup_1"]
    assert len([m for m in await outbox(app.db, T.ORDER_PAID) if m.key in ids]) == 1


async def test_a_refund_retried_after_a_crash_is_one_refund_at_stripe(
        start_app, stripe_client, localstripe, make_order):
    provider = Flaky(StripeProvider(STRIPE_KEY, localstripe), crash_after_refund=True)
    async with start_app(provider=provider, payment_recovery_after_seconds=0) as app:
        a, b = await seed(app, make_order(("10.00", 1)), make_order(("6.00", 1)))
        p = (await app.http.post("/internal/v1/payments", json=pay_body([a, b]))).json()
        assert p["status"] == "succeeded"
        event = OrderForwardingFailedV1.create(
            data=OrderForwardingFailedData(order_id=b, supplier_id="sup-eu", reason="out of stock", status_code=422,
                                           rejected_by_supplier=True),
            producer="forwarder", tenant_id="ret-1", correlation_id="c")
        await app.svc.consumers.process("checkout.order_forwarding_failed", T.ORDER_FORWARDING_FAILED,
                                        event.model_dump_json().encode(), handlers.on_order_forwarding_failed,
                                        OrderForwardingFailedV1)
        with pytest.raises(RuntimeError, match="after the provider refunded"):
            await app.checkout.refunds.process_due()
        provider.crash_after_refund = False
        await app.checkout.refunds.process_due()
        refunds = await stripe_client.v1.refunds.list_async(params={"payment_intent": p["provider_reference"]})
        share = next(o for o in p["orders"] if o["order_id"] == b)["usd"]["total"]
        assert [r.amount for r in refunds.data] == [int(share.replace(".", ""))]  # one refund, that order's share
        assert await statuses(app, [a, b]) == {a: "paid", b: "refunded"}
        assert len(await outbox(app.db, T.ORDER_REFUNDED)) == 1
        view = (await app.http.get(f"/internal/v1/payments/{p['payment_id']}", params={"retailer_id": "ret-1"})).json()
        assert view["refunds"][0]["provider_reference"] == refunds.data[0].id
        assert not provider.closed
    assert provider.closed  # the service's shutdown hooks closed the provider's HTTP client


async def abandoning_a_3d_secure_checkout_cancels_the_intent(app, payment_intents, stripe_client, make_order):
    ids = await seed(app, make_order())
    p = (await app.http.post("/internal/v1/payments",
                             json=pay_body(ids, request_id=str(uuid.uuid4()),
                                           payment_method=await three_d_secure_card(stripe_client)))).json()
    assert p["status"] == "requires_action"
    app.checkout.settings.payment_abandon_after_seconds = 0.001

    async def released():
        return await statuses(app, ids) == dict.fromkeys(ids, "unpaid")

    await eventually(released)  # the background sweep abandons it
    (pi,) = [pi for pi in await payment_intents() if pi.id == p["provider_reference"]]
    assert pi.status == "canceled"  # it can never charge now
