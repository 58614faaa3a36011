"""OrderReceived is stored once, whatever the broker redelivers."""

from sqlmodel import func, select

from checkout.models import CheckoutOrder, CheckoutOrderTransition
from dropline_schemas.events import OrderStatus


async def count_orders(db) -> int:
    async with db.uow() as uow:
        return (await uow.session.exec(select(func.count()).select_from(CheckoutOrder))).one()


async def test_an_order_delivered_twice_is_stored_once(harness, make_order, make_received):
    o = make_order(("12.50", 2))
    event = make_received(o)
    assert await harness.deliver(event) == "applied"
    assert await harness.deliver(event) == "duplicate"
    assert await count_orders(harness.db) == 1
    async with harness.db.uow() as uow:
        row = await uow.session.get(CheckoutOrder, o.order_id)
        transitions = (await uow.session.exec(select(CheckoutOrderTransition))).all()
    assert (row.retailer_id, row.supplier_id, row.status) == ("ret-1", "sup-eu", "unpaid")
    assert row.correlation_id == event.correlation_id
    assert row.order_json == o.model_dump_json()
    assert [(t.from_status, t.to_status) for t in transitions] == [(None, "unpaid")]


async def test_another_event_for_a_known_order_does_not_reset_its_status(harness, make_order, make_received):
    o = make_order()
    await harness.deliver(make_received(o))
    r = await harness.http.post("/internal/v1/payments", json={
        "retailer_id": "ret-1", "order_ids": [o.order_id], "method": "card", "payment_method": "pm_card_visa",
        "request_id": "r1"})
    assert r.status_code == 201, r.text
    assert await harness.deliver(make_received(o)) == "applied"  # new event id, same order
    async with harness.db.uow() as uow:
        assert (await uow.session.get(CheckoutOrder, o.order_id)).status == "paid"
    assert await count_orders(harness.db) == 1


async def test_non_payable_orders_are_stored_with_their_status(harness, make_order, make_received):
    non_auto = make_order(status=OrderStatus.NON_AUTO_ORDER)
    unmatched = make_order(status=OrderStatus.UNMATCHED)
    for o in (non_auto, unmatched):
        assert await harness.deliver(make_received(o)) == "applied"
    async with harness.db.uow() as uow:
        assert (await uow.session.get(CheckoutOrder, non_auto.order_id)).status == "non_auto_order"
        row = await uow.session.get(CheckoutOrder, unmatched.order_id)
        assert (row.status, row.supplier_id) == ("unmatched", None)
