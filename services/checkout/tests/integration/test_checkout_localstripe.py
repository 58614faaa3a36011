"""checkout against PostgreSQL, Kafka and localstripe: real money paths, races and recovery."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer
from sqlmodel import col, select

from checkout import handlers
from checkout.adapters.port import ProviderUnavailable
from checkout.adapters.stripe import StripeProvider
from checkout.repository import Repository
from checkout.views import PaymentRequest
from dropline_infra.models import OutboxMessage
from dropline_schemas import topics as T
from dropline_schemas.events import (
    OrderPaidV1,
    OrderReceivedV1,
    PaymentMethod,
    StoreOrderChangedData,
    StoreOrderChangedV1,
)

STRIPE_KEY = "sk_test_dropline_local"
pytestmark = pytest.mark.integration


def received(o) -> OrderReceivedV1:
    return OrderReceivedV1.create(data=o, producer="order-ingest", tenant_id=o.retailer_id,
                                  correlation_id=f"store-order-{o.platform_order_id}")


def pay_body(order_ids, request_id=None, payment_method="pm_card_visa"):
    return {"retailer_id": "ret-1", "order_ids": order_ids, "method": "card", "payment_method": payment_method,
            "request_id": request_id or str(uuid.uuid4())}


async def seed(app, *orders) -> list[str]:
    for o in orders:
        assert await app.deliver(received(o)) == "applied"
    return [o.order_id for o in orders]


async def outbox(db, topic) -> list[OutboxMessage]:
    async with db.uow() as uow:
        return list((await uow.session.exec(select(OutboxMessage).where(OutboxMessage.topic == topic.name)
                                            .order_by(col(OutboxMessage.id)))).all())


async def statuses(app, ids) -> dict[str, str]:
    async with app.db.uow() as uow:
        return {i: (await Repository(uow.session).order(i)).status for i in ids}


async def eventually(check, timeout=30.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


class Flaky:
    """The real Stripe provider, with chosen calls failing like a dropped connection (the call is not
    made), an optional crash right after the PaymentIntent was created, and an optional crash right
    after the provider refunded (before checkout could record it)."""

    name = "stripe"
    method = PaymentMethod.CARD

    def __init__(self, inner: StripeProvider, fail=(), crash_after_create=False, crash_after_refund=False):
        self.inner, self.fail = inner, set(fail)
        self.crash_after_create, self.crash_after_refund = crash_after_create, crash_after_refund

    def _drop(self, kind):
        if kind in self.fail:
            self.fail.discard(kind)
            raise ProviderUnavailable(f"simulated connection reset on {kind}")

    async def open(self, req):
        opened = await self.inner.open(req)
        if self.crash_after_create:
            raise RuntimeError("process died after creating the PaymentIntent")
        return opened

    async def charge(self, **kw):
        self._drop("confirm")
        return await self.inner.charge(**kw)

    async def look_up(self, reference):
        self._drop("retrieve")
        return await self.inner.look_up(reference)

    async def abandon(self, **kw):
        return await self.inner.abandon(**kw)

    async def refund(self, req):
        refund = await self.inner.refund(req)
        if self.crash_after_refund:
            raise RuntimeError("process died after the provider refunded")
        return refund

    async def verify_webhook(self, headers, body):
        return await self.inner.verify_webhook(headers, body)

    closed = False

    async def aclose(self):
        await self.inner.aclose()
        self.closed = True


# --------------------------------------------------------------------------- happy path


async def test_card_payment_end_to_end(start_app, payment_intents, kafka_bootstrap, make_order):
    orders = [make_order(("12.50", 2), ("3.333", 1)), make_order(("7.99", 1))]
    ids = [o.order_id for o in orders]
    async with start_app() as app:
        # Orders arrive over Kafka, through the real consumer.
        for o in orders:
            await app.svc.broker.publish(received(o).model_dump_json().encode(), topic=T.ORDER_RECEIVED.name,
                                         key=o.order_id.encode())

        async def listed():
            r = await app.http.get("/internal/v1/unpaid", params={"retailer_id": "ret-1"})
            groups = r.json()["suppliers"]
            return groups if groups and sorted(groups[0]["order_ids"]) == sorted(ids) else None

        (group,) = await eventually(listed, timeout=60)
        assert group["amounts"]["total"] == "59.68"

        quote = (await app.http.post("/internal/v1/quotes", json={"retailer_id": "ret-1", "order_ids": ids})).json()
        r = await app.http.post("/internal/v1/payments", json=pay_body(ids))
        assert r.status_code == 201, r.text
        p = r.json()
        assert p["status"] == "succeeded" and p["charge"] == quote["charge"] == {
            "currency": "USD", "amount": "65.38", "amount_minor": 6538}

        (pi,) = await payment_intents()
        assert pi.id == p["provider_reference"] and pi.status == "succeeded" and pi.amount == 6538
        assert pi.currency == "usd" and pi.metadata.to_dict() == {
            "payment_id": p["payment_id"], "supplier_id": "sup-eu", "order_count": "2"}

        rows = await outbox(app.db, T.ORDER_PAID)
        assert sorted(row.key for row in rows) == sorted(ids)
        assert await statuses(app, ids) == dict.fromkeys(ids, "paid")
        # The relay sends them to Kafka.
        await eventually(lambda: _all_published(app.db, T.ORDER_PAID), timeout=30)

    consumer = AIOKafkaConsumer(T.ORDER_PAID.name, bootstrap_servers=kafka_bootstrap,
                                group_id=f"test-{uuid.uuid4()}", auto_offset_reset="earliest")
    await consumer.start()
    try:
        seen: dict[str, OrderPaidV1] = {}
        deadline = time.monotonic() + 30
        while set(seen) != set(ids) and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for rec in records:
                    ev = OrderPaidV1.model_validate_json(rec.value)
                    if ev.data.order_id in ids:
                        seen[ev.data.order_id] = ev
                        assert rec.key.decode() == ev.data.order_id
        assert set(seen) == set(ids)
        assert str(seen[ids[0]].data.usd_amounts.total) == "48.16"
    finally:
        await consumer.stop()


async def _all_published(db, topic) -> bool:
    rows = await outbox(db, topic)
    return bool(rows) and all(r.published_at is not None for r in rows)


async def test_declined_card_answers_402_and_releases_the_orders(start_app, payment_intents, make_order):
    async with start_app() as app:
        ids = await seed(app, make_order(), make_order())
        r = await app.http.post("/internal/v1/payments", json=pay_body(ids, payment_method="pm_card_chargeCustomerFail"))
        assert r.status_code == 402, r.text
        p = r.json()
        assert p["status"] == "failed" and "declined" in p["failure_reason"].lower()
        assert await statuses(app, ids) == dict.fromkeys(ids, "unpaid")
        (pi,) = await payment_intents()
        assert pi.id == p["provider_reference"] and pi.status == "requires_payment_method"
        assert len(await outbox(app.db, T.ORDER_PAYMENT_FAILED)) == 2
        assert await outbox(app.db, T.ORDER_PAID) == []
        unpaid = (await app.http.get("/internal/v1/unpaid", params={"retailer_id": "ret-1"})).json()
        assert sorted(unpaid["suppliers"][0]["order_ids"]) == sorted(ids)


# --------------------------------------------------------------------------- paying once


async def test_a_concurrent_claim_waits_for_the_first_and_then_finds_the_orders_taken(start_app, make_order):
    """PostgreSQL row locks: the second claim blocks until the first commits, then claims nothing."""
    async with start_app() as app:
        a, b, c = await seed(app, make_order(), make_order(), make_order())
        now = app.checkout.now()
        async with app.db.uow() as first:
            assert await Repository(first.session).claim_orders("ret-1", [a, b], "pay-first", now)

            async def second_claim() -> bool:
                async with app.db.uow() as second:
                    ok = await Repository(second.session).claim_orders("ret-1", [b, c], "pay-second", now)
                    if ok:
                        await second.commit()
                    return ok

            task = asyncio.create_task(second_claim())
            await asyncio.sleep(0.5)
            assert not task.done(), "the second claim should be waiting on the first one's row locks"
            await first.commit()
        assert await asyncio.wait_for(task, 10) is False
        assert await statuses(app, [a, b, c]) == {a: "payment_pending", b: "payment_pending", c: "unpaid"}


async def test_two_concurrent_bulk_payments_sharing_an_order_charge_once(start_app, payment_intents, make_order):
    rounds = 5
    async with start_app() as app:
        winners = []
        for _ in range(rounds):
            a, shared, c = await seed(app, make_order(), make_order(), make_order())
            r1, r2 = await asyncio.gather(app.http.post("/internal/v1/payments", json=pay_body([a, shared])),
                                          app.http.post("/internal/v1/payments", json=pay_body([shared, c])))
            codes = sorted([r1.status_code, r2.status_code])
            assert codes == [201, 409], (r1.text, r2.text)
            won, lost = (r1, r2) if r1.status_code == 201 else (r2, r1)
            assert won.json()["status"] == "succeeded"
            err = lost.json()["error"]
            assert err["code"] == "not_payable"
            assert [o["order_id"] for o in err["orders"]] == [shared]
            assert err["orders"][0]["status"] in ("payment_pending", "paid")
            winners.append(won.json())
            loser_only = c if won is r1 else a
            assert (await statuses(app, [loser_only]))[loser_only] == "unpaid"
            paid_for_shared = [row for row in await outbox(app.db, T.ORDER_PAID) if row.key == shared]
            assert len(paid_for_shared) == 1

        intents = await payment_intents()
        assert len(intents) == rounds  # one PaymentIntent per round: the loser never reached Stripe
        assert sorted(pi.metadata["payment_id"] for pi in intents) == sorted(w["payment_id"] for w in winners)
        assert all(pi.status == "succeeded" for pi in intents)


async def test_the_same_bulk_twice_at_once_charges_once(start_app, payment_intents, make_order):
    async with start_app() as app:
        ids = await seed(app, make_order(), make_order(), make_order())
        results = await asyncio.gather(*(app.http.post("/internal/v1/payments", json=pay_body(ids))
                                         for _ in range(4)))
        assert sorted(r.status_code for r in results).count(201) == 1
        assert all(r.status_code in (201, 409) for r in results)
        intents = await payment_intents()
        assert len(intents) == 1
        assert len(await outbox(app.db, T.ORDER_PAID)) == 3


async def test_the_same_request_id_twice_is_one_charge(start_app, payment_intents, make_order):
    async with start_app() as app:
        ids = await seed(app, make_order(), make_order())
        body = pay_body(ids, request_id="double-click")
        first = await app.http.post("/internal/v1/payments", json=body)
        second = await app.http.post("/internal/v1/payments", json=body)
        assert first.status_code == second.status_code == 201
        assert second.json() == first.json() and second.headers["idempotent-replayed"] == "true"
        # And two tabs submitting the same request at the same moment:
        ids2 = await seed(app, make_order())
        body2 = pay_body(ids2, request_id="two-tabs")
        r1, r2 = await asyncio.gather(app.http.post("/internal/v1/payments", json=body2),
                                      app.http.post("/internal/v1/payments", json=body2))
        assert r1.status_code == r2.status_code == 201, (r1.text, r2.text)
        assert r1.json()["payment_id"] == r2.json()["payment_id"]
        intents = await payment_intents()
        assert len(intents) == 2
        assert {pi.metadata["payment_id"] for pi in intents} == {first.json()["payment_id"], r1.json()["payment_id"]}


# --------------------------------------------------------------------------- recovery


async def test_recovery_finishes_a_payment_left_processing(start_app, payment_intents, localstripe, make_order):
    provider = Flaky(StripeProvider(STRIPE_KEY, localstripe), fail={"confirm", "retrieve"})
    async with start_app(provider=provider, payment_recovery_after_seconds=1,
                         payment_recovery_interval_seconds=0.2) as app:
        ids = await seed(app, make_order(), make_order())
        r = await app.http.post("/internal/v1/payments", json=pay_body(ids))
        assert r.status_code == 201 and r.json()["status"] == "processing"
        pid = r.json()["payment_id"]
        (pi,) = await payment_intents()
        assert pi.status == "requires_confirmation"  # created, saved, never confirmed (connection dropped)

        async def done():
            got = (await app.http.get(f"/internal/v1/payments/{pid}", params={"retailer_id": "ret-1"})).json()
            return got if got["status"] != "processing" else None

        p = await eventually(done, timeout=30)  # the background recovery loop finishes it
        assert p["status"] == "succeeded" and p["provider_reference"] == pi.id
        (pi,) = await payment_intents()
        assert pi.status == "succeeded"
        assert await statuses(app, ids) == dict.fromkeys(ids, "paid")
        assert len(await outbox(app.db, T.ORDER_PAID)) == 2


async def test_recovery_releases_orders_after_a_crash_before_the_intent_id_was_saved(
        start_app, payment_intents, localstripe, make_order):
    provider = Flaky(StripeProvider(STRIPE_KEY, localstripe), crash_after_create=True)
    async with start_app(provider=provider) as app:
        ids = await seed(app, make_order())
        with pytest.raises(RuntimeError, match="process died"):
            await app.checkout.pay(PaymentRequest(**pay_body(ids)))
        assert await statuses(app, ids) == dict.fromkeys(ids, "payment_pending")
        app.checkout.settings.payment_recovery_after_seconds = 0
        assert await app.checkout.recover_once() == 1
        assert await statuses(app, ids) == dict.fromkeys(ids, "unpaid")
        (pi,) = await payment_intents()
        assert pi.status == "requires_confirmation"  # orphaned but never confirmed: no money moved
        provider.crash_after_create = False
        r = await app.http.post("/internal/v1/payments", json=pay_body(ids))
        assert r.status_code == 201 and r.json()["status"] == "succeeded"


def store_cancelled(o):
    return StoreOrderChangedV1.create(
        data=StoreOrderChangedData(order_id=o.order_id, store_id=o.store_id, platform_order_id=o.platform_order_id,
                                   shipping_address=o.shipping_address, customer=o.customer, cancelled=True,
                                   changed_at=datetime.now(UTC)),
        producer="order-ingest", tenant_id=o.retailer_id, correlation_id=f"store-order-{o.platform_order_id}")


async def deliver_change(app, event) -> str:
    return await app.svc.consumers.process("checkout.store_order_changed", T.STORE_ORDER_CHANGED,
                                           event.model_dump_json().encode(), handlers.on_store_order_changed,
                                           StoreOrderChangedV1)


async def test_a_store_cancellation_racing_a_claim_waits_for_it_and_then_keeps_the_order_frozen(
        start_app, make_order):
    """The store change locks the order row as claim_orders does: it waits for the claim, then sees
    payment_pending (not applied, kept aside); the other way round the claim finds the order cancelled."""
    async with start_app() as app:
        a, b = make_order(), make_order()
        await seed(app, a, b)
        now = app.checkout.now()
        async with app.db.uow() as claim:
            assert await Repository(claim.session).claim_orders("ret-1", [a.order_id], "pay-1", now)
            task = asyncio.create_task(deliver_change(app, store_cancelled(a)))
            await asyncio.sleep(0.5)
            assert not task.done(), "the store change should wait on the claim's row lock"
            await claim.commit()
        assert await asyncio.wait_for(task, 10) == "applied"
        assert await statuses(app, [a.order_id]) == {a.order_id: "payment_pending"}

        # Cancelled first: a claim waiting on the change's lock then claims nothing.
        async with app.db.uow() as change:
            await handlers.on_store_order_changed(change, store_cancelled(b))

            async def late_claim() -> bool:
                async with app.db.uow() as uow:
                    return await Repository(uow.session).claim_orders("ret-1", [b.order_id], "pay-2", now)

            task = asyncio.create_task(late_claim())
            await asyncio.sleep(0.5)
            assert not task.done(), "the claim should wait on the store change's row lock"
            await change.commit()
        assert await asyncio.wait_for(task, 10) is False
        assert await statuses(app, [b.order_id]) == {b.order_id: "cancelled"}
