"""A store order changed after it arrived (StoreOrderChanged): before a payment claims the order the
change is applied (address/customer into the order that is paid and forwarded; cancelled → never
payable); once a payment holds it or it is paid, nothing changes and OrderAmended(applied=False) tells
the retailer what to do. Once per event (inbox), and in line with a checkout starting at the same time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlmodel import col, select

from checkout.domain import Outcome, amend
from checkout.models import CheckoutOrder, CheckoutOrderTransition
from checkout.repository import Repository
from checkout.views import PaymentRequest
from dropline_infra.models import OutboxMessage
from dropline_schemas import topics as T
from dropline_schemas.events import (
    Address,
    Customer,
    DroplineOrder,
    OrderAmendedV1,
    OrderPaidV1,
    OrderStatus,
    StoreOrderChangedData,
    StoreOrderChangedV1,
)

NEW_ADDRESS = Address(name="Ann Example", address1="Elm St 9", city="Hamburg", zip="20095", country_code="DE")
NEW_CUSTOMER = Customer(name="Ann Example", email="ann@example.com")


def changed(o: DroplineOrder, *, address: Address | None = NEW_ADDRESS, customer: Customer | None = NEW_CUSTOMER,
            cancelled: bool = False) -> StoreOrderChangedV1:
    return StoreOrderChangedV1.create(
        data=StoreOrderChangedData(order_id=o.order_id, store_id=o.store_id, platform_order_id=o.platform_order_id,
                                   shipping_address=address, customer=customer, cancelled=cancelled,
                                   changed_at=datetime(2026, 12, 1, 10, tzinfo=UTC)),
        producer="order-ingest", tenant_id=o.retailer_id, correlation_id=f"store-order-{o.platform_order_id}")


def pay_body(order_ids, request_id="req-1"):
    return {"retailer_id": "ret-1", "order_ids": order_ids, "method": "card", "payment_method": "pm_card_visa",
            "request_id": request_id}


async def row(db, order_id) -> CheckoutOrder:
    async with db.uow() as uow:
        return await uow.session.get(CheckoutOrder, order_id)


async def amended(db) -> list[OrderAmendedV1]:
    async with db.uow() as uow:
        rows = (await uow.session.exec(select(OutboxMessage).where(OutboxMessage.topic == T.ORDER_AMENDED.name)
                                       .order_by(col(OutboxMessage.id)))).all()
    events = [OrderAmendedV1.model_validate_json(r.payload) for r in rows]
    assert all(r.key == e.data.order_id for r, e in zip(rows, events, strict=True))
    return events


async def paid_events(db) -> list[OrderPaidV1]:
    async with db.uow() as uow:
        rows = (await uow.session.exec(select(OutboxMessage).where(OutboxMessage.topic == T.ORDER_PAID.name))).all()
    return [OrderPaidV1.model_validate_json(r.payload) for r in rows]


# --------------------------------------------------------------------------- before payment: applied


async def test_an_address_change_before_payment_is_applied_and_is_what_gets_paid(harness, make_order,
                                                                                 make_received):
    o = make_order()
    await harness.deliver(make_received(o))
    event = changed(o)
    assert await harness.deliver_change(event) == "applied"
    r = await row(harness.db, o.order_id)
    stored = DroplineOrder.model_validate_json(r.order_json)
    assert (r.status, stored.shipping_address, stored.customer) == ("unpaid", NEW_ADDRESS, NEW_CUSTOMER)
    assert stored.lines == o.lines  # only the address and the customer move
    (e,) = await amended(harness.db)
    assert (e.event_type, e.producer, e.tenant_id) == ("OrderAmended", "checkout", "ret-1")
    assert (e.correlation_id, e.causation_id) == (f"store-order-{o.platform_order_id}", str(event.event_id))
    d = e.data
    assert (d.order_id, d.applied, d.cancelled, d.status) == (o.order_id, True, False, OrderStatus.UNPAID)
    assert d.shipping_address == NEW_ADDRESS and d.order.shipping_address == NEW_ADDRESS
    assert "shipping address" in d.notice

    # Redelivered: the inbox makes it a no-op.
    assert await harness.deliver_change(event) == "duplicate"
    assert len(await amended(harness.db)) == 1

    # The payment that follows forwards the new address (OrderPaid carries the order as paid).
    resp = await harness.http.post("/internal/v1/payments", json=pay_body([o.order_id]))
    assert resp.status_code == 201, resp.text
    (paid,) = await paid_events(harness.db)
    assert paid.data.order.shipping_address == NEW_ADDRESS and paid.data.order.customer == NEW_CUSTOMER


async def test_a_cancellation_before_payment_cancels_the_order_and_it_can_never_be_paid(harness, make_order,
                                                                                       make_received):
    o, other = make_order(), make_order()
    for x in (o, other):
        await harness.deliver(make_received(x))
    assert await harness.deliver_change(changed(o, address=o.shipping_address, customer=o.customer,
                                                cancelled=True)) == "applied"
    assert (await row(harness.db, o.order_id)).status == "cancelled"
    async with harness.db.uow() as uow:
        transitions = (await uow.session.exec(select(CheckoutOrderTransition).where(
            CheckoutOrderTransition.order_id == o.order_id).order_by(col(CheckoutOrderTransition.id)))).all()
    assert [(t.from_status, t.to_status, t.cause) for t in transitions] == [
        (None, "unpaid", "order received"), ("unpaid", "cancelled", "cancelled in the store")]
    (e,) = await amended(harness.db)
    assert (e.data.applied, e.data.cancelled, e.data.status) == (True, True, OrderStatus.CANCELLED)
    assert "cancelled" in e.data.notice

    # Not in the unpaid list, not quotable, not payable, alone or with another order.
    unpaid = (await harness.http.get("/internal/v1/unpaid", params={"retailer_id": "ret-1"})).json()
    assert [g["order_ids"] for g in unpaid["suppliers"]] == [[other.order_id]]
    for ids in ([o.order_id], [other.order_id, o.order_id]):
        resp = await harness.http.post("/internal/v1/payments", json=pay_body(ids, request_id=f"r-{len(ids)}"))
        assert resp.status_code == 409, resp.text
        blocked = resp.json()["error"]["orders"]
        assert blocked == [{"order_id": o.order_id, "order_number": o.order_number, "status": "cancelled",
                            "reason": "it was cancelled (in the store or by the retailer)"}]
    # The claim itself (what a checkout racing past the check runs) refuses it too.
    async with harness.db.uow() as uow:
        assert await Repository(uow.session).claim_orders("ret-1", [o.order_id], "pay-x", datetime.now(UTC)) is False
    assert harness.provider.calls == []
    assert (await row(harness.db, o.order_id)).status == "cancelled"


async def test_a_non_auto_order_takes_the_change_too(harness, make_order, make_received):
    o = make_order(status=OrderStatus.NON_AUTO_ORDER)
    await harness.deliver(make_received(o))
    await harness.deliver_change(changed(o))
    r = await row(harness.db, o.order_id)
    assert r.status == "non_auto_order"
    assert DroplineOrder.model_validate_json(r.order_json).shipping_address == NEW_ADDRESS


async def test_a_change_that_changes_nothing_publishes_nothing(harness, make_order, make_received):
    o = make_order()
    await harness.deliver(make_received(o))
    assert await harness.deliver_change(changed(o, address=o.shipping_address, customer=o.customer)) == "applied"
    assert await amended(harness.db) == []


async def test_a_change_that_overtakes_its_order_waits_for_it(harness, make_order, make_received):
    o = make_order()
    early = asyncio.create_task(harness.deliver_change(changed(o)))  # another topic: it may come first
    await asyncio.sleep(0.3)
    assert not early.done()
    await harness.deliver(make_received(o))
    assert await asyncio.wait_for(early, 10) == "applied"
    assert DroplineOrder.model_validate_json((await row(harness.db, o.order_id)).order_json).shipping_address \
        == NEW_ADDRESS


# --------------------------------------------------------------------------- after payment: frozen


async def test_after_payment_an_address_change_changes_nothing_and_the_retailer_is_told(harness, make_order,
                                                                                       make_received):
    o = make_order()
    await harness.deliver(make_received(o))
    assert (await harness.http.post("/internal/v1/payments", json=pay_body([o.order_id]))).status_code == 201
    before = await row(harness.db, o.order_id)
    assert await harness.deliver_change(changed(o)) == "applied"
    after = await row(harness.db, o.order_id)
    assert (after.status, after.order_json, after.pending_change_json) == ("paid", before.order_json, None)
    (e,) = await amended(harness.db)
    assert (e.data.applied, e.data.cancelled, e.data.status) == (False, False, OrderStatus.PAID)
    assert e.data.notice == ("The store changed the shipping address after payment; Dropline kept the address the "
                             "supplier was paid for.")
    assert e.data.shipping_address == NEW_ADDRESS  # what the store says now, for the retailer to compare
    assert e.data.order.shipping_address == o.shipping_address


async def test_after_payment_a_cancellation_is_flagged_never_acted_on(harness, make_order, make_received):
    o = make_order()
    await harness.deliver(make_received(o))
    assert (await harness.http.post("/internal/v1/payments", json=pay_body([o.order_id]))).status_code == 201
    await harness.deliver_change(changed(o, address=o.shipping_address, customer=o.customer, cancelled=True))
    assert (await row(harness.db, o.order_id)).status == "paid"
    (e,) = await amended(harness.db)
    assert (e.data.applied, e.data.cancelled) == (False, True)
    assert e.data.notice == ("The order was cancelled in the store after payment: cancel it with the supplier and "
                             "refund the customer.")
    assert [c for c, _ in harness.provider.calls].count("cancel") == 0  # no refund, no cancel at the provider


async def test_a_change_while_a_payment_holds_the_order_is_kept_aside_and_applied_if_that_payment_fails(
        harness, make_order, make_received):
    o = make_order()
    await harness.deliver(make_received(o))
    harness.provider.crash_after_create = True  # the checkout stops with the order payment_pending
    with pytest.raises(Exception, match="process died"):
        await harness.checkout.pay(PaymentRequest(**pay_body([o.order_id])))
    assert (await row(harness.db, o.order_id)).status == "payment_pending"

    await harness.deliver_change(changed(o, cancelled=True))
    r = await row(harness.db, o.order_id)
    assert r.status == "payment_pending" and r.pending_change_json is not None
    (frozen,) = await amended(harness.db)
    assert (frozen.data.applied, frozen.data.status) == (False, OrderStatus.PAYMENT_PENDING)
    assert "while a payment for it was in progress" in frozen.data.notice

    harness.checkout.settings.payment_recovery_after_seconds = 0
    assert await harness.checkout.recover_once() == 1  # the payment is failed, the order released …
    r = await row(harness.db, o.order_id)
    assert (r.status, r.pending_change_json) == ("cancelled", None)  # … and the store's cancellation applies
    _, applied = await amended(harness.db)
    assert (applied.data.applied, applied.data.cancelled, applied.data.status) == (True, True, OrderStatus.CANCELLED)
    assert applied.data.notice.startswith("The payment did not go through")


# --------------------------------------------------------------------------- the rule itself


def test_the_rule_by_status(make_order):
    o = make_order()
    change = changed(o).data
    cancel = changed(o, address=o.shipping_address, customer=o.customer, cancelled=True).data
    for status in ("unpaid", "non_auto_order", "unmatched"):
        assert amend(status, o, change).outcome is Outcome.APPLY
        assert amend(status, o, cancel).cancel is True
    for status in ("payment_pending", "paid", "forwarded", "shipped", "synced", "failed"):
        a = amend(status, o, change)
        assert a.outcome is Outcome.FROZEN and a.order == o
    assert amend("cancelled", o, change).outcome is Outcome.NOTHING
    customer_only = changed(o, address=o.shipping_address).data
    assert "contact details after payment" in amend("paid", o, customer_only).notice
