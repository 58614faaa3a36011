"""The retailer cancels an order (POST /internal/v1/orders/{id}/cancel): an order nobody has paid and
no payment holds (unpaid, non_auto_order, unmatched) is cancelled, the transition recorded, and
OrderAmended(applied, cancelled, "Cancelled by the retailer") published; a payment in progress or a
paid order is refused (409); cancelling twice changes nothing; another retailer's order is not found."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from checkout.domain import CheckoutError, retailer_may_cancel
from checkout.models import CheckoutOrder, CheckoutOrderTransition
from checkout.repository import Repository
from dropline_infra.models import OutboxMessage
from dropline_schemas import topics as T
from dropline_schemas.events import OrderAmendedV1, OrderStatus


def pay_body(order_ids, request_id="req-1", retailer_id="ret-1"):
    return {"retailer_id": retailer_id, "order_ids": order_ids, "method": "card", "payment_method": "pm_card_visa",
            "request_id": request_id}


async def cancel(harness, order_id, retailer_id="ret-1"):
    return await harness.http.post(f"/internal/v1/orders/{order_id}/cancel", json={"retailer_id": retailer_id})


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


async def transitions(db, order_id):
    async with db.uow() as uow:
        rows = (await uow.session.exec(select(CheckoutOrderTransition).where(
            CheckoutOrderTransition.order_id == order_id).order_by(col(CheckoutOrderTransition.id)))).all()
    return [(t.from_status, t.to_status, t.cause) for t in rows]


# --------------------------------------------------------------------------- the pure rule


@pytest.mark.parametrize("status", ["unpaid", "non_auto_order", "unmatched"])
def test_an_order_nobody_paid_may_be_cancelled(status):
    assert retailer_may_cancel(status, order_id="o") is True


def test_a_cancelled_order_is_cancelled_already():
    assert retailer_may_cancel("cancelled", order_id="o") is False


def test_a_payment_in_progress_is_refused_with_its_payment():
    with pytest.raises(CheckoutError) as exc:
        retailer_may_cancel("payment_pending", order_id="o", payment_id="pay-1")
    assert exc.value.code == "payment_in_progress" and exc.value.details["payment_id"] == "pay-1"


@pytest.mark.parametrize("status", ["paid", "forwarded", "shipped", "synced"])
def test_a_paid_order_is_refused_cancel_it_with_the_supplier(status):
    with pytest.raises(CheckoutError) as exc:
        retailer_may_cancel(status, order_id="o")
    assert exc.value.code == "already_paid" and "with the supplier" in exc.value.message


@pytest.mark.parametrize("status", ["refunded", "failed"])
def test_other_end_states_are_refused(status):
    with pytest.raises(CheckoutError) as exc:
        retailer_may_cancel(status, order_id="o")
    assert exc.value.code == "not_cancellable"


# --------------------------------------------------------------------------- through the API


async def test_cancelling_an_unpaid_order_cancels_it_and_tells_everyone(harness, make_order, make_received):
    o, other = make_order(), make_order()
    for x in (o, other):
        await harness.deliver(make_received(x))
    resp = await cancel(harness, o.order_id)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"order_id": o.order_id, "status": "cancelled", "cancelled_now": True}
    assert (await row(harness.db, o.order_id)).status == "cancelled"
    assert await transitions(harness.db, o.order_id) == [
        (None, "unpaid", "order received"), ("unpaid", "cancelled", "cancelled by the retailer")]
    (e,) = await amended(harness.db)
    d = e.data
    assert (e.event_type, e.producer, e.tenant_id) == ("OrderAmended", "checkout", "ret-1")
    assert e.correlation_id == f"store-order-{o.platform_order_id}"
    assert (d.order_id, d.applied, d.cancelled, d.status, d.notice) == (
        o.order_id, True, True, OrderStatus.CANCELLED, "Cancelled by the retailer")
    # The order as it stands: the address and customer are not touched by a retailer's cancel.
    assert (d.shipping_address, d.customer) == (o.shipping_address, o.customer)
    assert d.order.lines == o.lines

    # Never payable again, not listed as unpaid, not quotable.
    unpaid = (await harness.http.get("/internal/v1/unpaid", params={"retailer_id": "ret-1"})).json()
    assert [g["order_ids"] for g in unpaid["suppliers"]] == [[other.order_id]]
    q = await harness.http.post("/internal/v1/quotes", json={"retailer_id": "ret-1", "order_ids": [o.order_id]})
    assert q.status_code == 409 and q.json()["error"]["orders"][0]["status"] == "cancelled"
    p = await harness.http.post("/internal/v1/payments", json=pay_body([o.order_id, other.order_id]))
    assert p.status_code == 409 and p.json()["error"]["code"] == "not_payable"
    assert harness.provider.count("create") == 0


async def test_cancelling_twice_is_idempotent_and_publishes_once(harness, make_order, make_received):
    o = make_order()
    await harness.deliver(make_received(o))
    assert (await cancel(harness, o.order_id)).json()["cancelled_now"] is True
    again = await cancel(harness, o.order_id)
    assert again.status_code == 200
    assert again.json() == {"order_id": o.order_id, "status": "cancelled", "cancelled_now": False}
    assert len(await amended(harness.db)) == 1
    assert len(await transitions(harness.db, o.order_id)) == 2


@pytest.mark.parametrize("status", [OrderStatus.NON_AUTO_ORDER, OrderStatus.UNMATCHED])
async def test_non_auto_order_and_unmatched_orders_can_be_cancelled(harness, make_order, make_received,
                                                                   make_terms, status):
    supplier = make_terms(auto_order=False) if status == OrderStatus.NON_AUTO_ORDER else None
    o = make_order(status=status, supplier=supplier)
    await harness.deliver(make_received(o))
    assert (await row(harness.db, o.order_id)).status == status.value
    resp = await cancel(harness, o.order_id)
    assert resp.status_code == 200 and resp.json()["cancelled_now"] is True
    assert await transitions(harness.db, o.order_id) == [
        (None, status.value, "order received"), (status.value, "cancelled", "cancelled by the retailer")]
    (e,) = await amended(harness.db)
    assert (e.data.cancelled, e.data.applied, e.data.notice) == (True, True, "Cancelled by the retailer")


async def test_a_paid_order_is_refused_and_nothing_changes(harness, make_order, make_received):
    o = make_order()
    await harness.deliver(make_received(o))
    assert (await harness.http.post("/internal/v1/payments", json=pay_body([o.order_id]))).status_code == 201
    resp = await cancel(harness, o.order_id)
    assert resp.status_code == 409
    err = resp.json()["error"]
    assert err["code"] == "already_paid" and "cancel it with the supplier" in err["message"]
    assert (err["order_id"], err["order_status"]) == (o.order_id, "paid")
    assert (await row(harness.db, o.order_id)).status == "paid"
    assert await amended(harness.db) == []


async def test_an_order_a_payment_holds_is_refused(harness, make_order, make_received):
    o = make_order()
    await harness.deliver(make_received(o))
    async with harness.db.uow() as uow:
        assert await Repository(uow.session).claim_orders("ret-1", [o.order_id], "pay-1", harness.checkout.now())
        await uow.commit()
    resp = await cancel(harness, o.order_id)
    assert resp.status_code == 409
    err = resp.json()["error"]
    assert (err["code"], err["payment_id"], err["order_status"]) == ("payment_in_progress", "pay-1", "payment_pending")
    assert (await row(harness.db, o.order_id)).status == "payment_pending"
    assert await amended(harness.db) == []


async def test_another_retailers_order_is_not_found(harness, make_order, make_received):
    o = make_order(retailer_id="ret-2")
    await harness.deliver(make_received(o))
    resp = await cancel(harness, o.order_id, retailer_id="ret-1")
    assert resp.status_code == 404
    assert resp.json()["error"] == {"code": "orders_not_found", "message": "no such order",
                                    "order_ids": [o.order_id]}
    assert (await row(harness.db, o.order_id)).status == "unpaid"
    assert (await cancel(harness, "no-such-order")).status_code == 404


async def test_the_retailer_id_is_required(harness, make_order, make_received):
    o = make_order()
    await harness.deliver(make_received(o))
    resp = await harness.http.post(f"/internal/v1/orders/{o.order_id}/cancel", json={})
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "invalid_request"


async def test_whose_an_order_is_answers_its_retailer_supplier_and_status_or_404(harness, make_order, make_received):
    """GET /internal/v1/orders/{id}: the gateway asks when a supplier reports on an order its read model
    does not hold yet (gateway Orders._not_this_suppliers)."""
    o = make_order()
    await harness.deliver(make_received(o))
    r = await harness.http.get(f"/internal/v1/orders/{o.order_id}")
    assert r.status_code == 200, r.text
    assert r.json() == {"order_id": o.order_id, "retailer_id": "ret-1", "supplier_id": o.supplier.supplier_id,
                        "status": "unpaid"}
    missing = await harness.http.get("/internal/v1/orders/no-such-order")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "order_not_found"
