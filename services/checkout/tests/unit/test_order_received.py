"""OrderReceived is stored once, whatever the broker redelivers, and a new order with a supplier is
priced once (OrderPriced)."""

from sqlmodel import col, func, select

from checkout.domain import price_order
from checkout.models import CheckoutOrder, CheckoutOrderTransition
from dropline_infra.models import OutboxMessage
from dropline_schemas import topics as T
from dropline_schemas.events import OrderPricedV1, OrderStatus


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


# --------------------------------------------------------------------------- OrderPriced


async def priced_events(db) -> list[OrderPricedV1]:
    async with db.uow() as uow:
        rows = (await uow.session.exec(select(OutboxMessage).where(OutboxMessage.topic == T.ORDER_PRICED.name)
                                       .order_by(col(OutboxMessage.id)))).all()
    assert all(row.key == OrderPricedV1.model_validate_json(row.payload).data.order_id for row in rows)
    return [OrderPricedV1.model_validate_json(row.payload) for row in rows]


async def test_a_new_unpaid_order_is_priced_once_in_the_supplier_currency(harness, make_order, make_received):
    o = make_order(("12.50", 2), ("3.333", 1))
    event = make_received(o)
    assert await harness.deliver(event) == "applied"
    assert await harness.deliver(event) == "duplicate"
    assert await harness.deliver(make_received(o)) == "applied"  # same order, new event: already known
    (e,) = await priced_events(harness.db)
    assert (e.event_type, e.schema_version, e.producer) == ("OrderPriced", 1, "checkout")
    assert (e.tenant_id, e.correlation_id, e.causation_id) == ("ret-1", event.correlation_id, str(event.event_id))
    assert (e.data.order_id, e.data.supplier_id, e.data.currency, e.data.reason) == (o.order_id, "sup-eu", "EUR",
                                                                                      None)
    assert e.data.amounts == price_order(o).to_money()
    assert {k: str(v) for k, v in e.data.amounts.model_dump().items()} == {
        "product_cost": "28.33", "shipping": "8.00", "vat": "7.63", "total": "43.96"}


async def test_a_non_auto_order_is_priced_and_an_unmatched_order_is_not(harness, make_order, make_received,
                                                                       make_terms):
    non_auto = make_order(("10.00", 3), status=OrderStatus.NON_AUTO_ORDER,
                          supplier=make_terms("sup-jp", currency="jpy", vat="0.10", first="800", additional="300",
                                              auto_order=False))
    unmatched = make_order(status=OrderStatus.UNMATCHED)
    for o in (non_auto, unmatched):
        assert await harness.deliver(make_received(o)) == "applied"
    (e,) = await priced_events(harness.db)
    assert (e.data.order_id, e.data.supplier_id, e.data.currency) == (non_auto.order_id, "sup-jp", "JPY")
    assert {k: str(v) for k, v in e.data.amounts.model_dump().items()} == {
        "product_cost": "30", "shipping": "1400", "vat": "143", "total": "1573"}


async def test_an_order_that_cannot_be_priced_says_why(harness, make_order, make_received):
    o = make_order(("none", 1), ("4.00", 2))
    assert await harness.deliver(make_received(o)) == "applied"
    (e,) = await priced_events(harness.db)
    assert e.data.amounts is None and e.data.currency == "EUR"
    assert e.data.reason == f"order {o.order_number}: lines without a supplier unit cost"
    async with harness.db.uow() as uow:
        assert (await uow.session.get(CheckoutOrder, o.order_id)).status == "unpaid"  # stored all the same
