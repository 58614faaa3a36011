"""A supplier rejects an order, checkout refunds it: the supplier API's rejection report
(POST /supplier/v1/orders/{id}/rejection → OrderForwardingFailed with rejected_by_supplier, once), the
read model's rejection and refund (OrderRefunded → status refunded, the refund on the order page and
its timeline), and the receipt passing checkout's refunds through. In-process on SQLite, no broker:
outbox rows are inspected directly and events are projected as the Kafka handler does."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from sqlmodel import select

from dropline_infra.migrations import upgrade
from dropline_infra.models import OutboxMessage
from dropline_schemas import topics as T
from dropline_schemas.events import (
    Address,
    DroplineOrder,
    FxRecord,
    Money,
    OrderForwardedData,
    OrderForwardedV1,
    OrderForwardingFailedData,
    OrderForwardingFailedV1,
    OrderLine,
    OrderPaidData,
    OrderPaidV1,
    OrderReceivedV1,
    OrderRefundedData,
    OrderRefundedV1,
    PaymentMethod,
    StoreTotals,
    SupplierTerms,
    TrackingAddedData,
    TrackingAddedV1,
)
from gateway import handlers, projection
from gateway.app import MIGRATIONS, build
from gateway.errors import GatewayError
from gateway.models import OrderView
from gateway.settings import Settings

ADMIN = {"Authorization": "Bearer dev-admin-token"}
NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
EUR = Money(product_cost=Decimal("10.00"), shipping=Decimal("2.00"), vat=Decimal("2.28"), total=Decimal("14.28"))
USD = Money(product_cost=Decimal("11.00"), shipping=Decimal("2.20"), vat=Decimal("2.51"), total=Decimal("15.71"))
FX = FxRecord(from_currency="EUR", rate=Decimal("1.1"), rate_date="2026-12-01", source="ECB reference rate")


class FakeCheckout:
    """checkout's internal API: GET /internal/v1/payments/{id} answers `payments[id]`, GET
    /internal/v1/orders/{id} answers `orders[id]` (whose the order is), as checkout's own routes do."""

    def __init__(self):
        self.payments: dict[str, dict] = {}
        self.orders: dict[str, dict] = {}
        self.down = False

    async def call(self, method, path, *, json=None, params=None):
        if self.down:
            raise GatewayError(503, "checkout_unavailable", "checkout did not answer (ConnectError)")
        key = path.rsplit("/", 1)[-1]
        if method == "GET" and path.startswith("/internal/v1/payments/") and key in self.payments:
            return 200, self.payments[key]
        if method == "GET" and path.startswith("/internal/v1/orders/"):
            if key in self.orders:
                return 200, self.orders[key]
            raise GatewayError(404, "order_not_found", "no such order")
        raise GatewayError(404, "payment_not_found", "no such payment")


@pytest.fixture
async def gw(tmp_path):
    settings = Settings(data_dir=tmp_path, environment="test")
    upgrade("gateway", settings.database_url, MIGRATIONS)
    checkout = FakeCheckout()
    svc = build(settings, checkout=checkout)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.app), base_url="http://gw") as client:
        retailer = (await client.post("/admin/v1/retailers", json={"name": "R"}, headers=ADMIN)).json()
        suppliers = []
        for name in ("Acme", "Other"):
            r = await client.post("/admin/v1/suppliers", headers=ADMIN, json={
                "name": name, "currency": "EUR", "auto_order": True, "payment_methods": ["card"],
                "order_api_url": "https://orders.example", "order_api_key": "sup_order_api_key"})
            assert r.status_code == 201, r.text
            suppliers.append(r.json())
        client.svc, client.checkout, client.retailer = svc, checkout, retailer
        client.key = {"Authorization": f"Bearer {retailer['api_key']}"}
        client.acme, client.other = suppliers
        client.acme_key = {"Authorization": f"Bearer {suppliers[0]['api_key']}"}
        client.other_key = {"Authorization": f"Bearer {suppliers[1]['api_key']}"}
        yield client
    await svc.db.dispose()


def an_order(gw, order_id="o-1") -> DroplineOrder:
    return DroplineOrder(
        order_id=order_id, order_number="D100001", retailer_id=gw.retailer["retailer_id"], store_id="s1",
        platform="shopify", platform_order_id="1", platform_order_number="#1001", status="unpaid",
        supplier=SupplierTerms(supplier_id=gw.acme["supplier_id"], name="Acme", currency="EUR", auto_order=True),
        lines=[OrderLine(line_id="l1", platform_line_id="1", sku="A", title="A", quantity=1, unit_price=Decimal("5"),
                         supplier_sku="ACME-A", unit_cost=Decimal("10"))],
        shipping_address=Address(name="Jane Doe", address1="Hauptstrasse 5", city="Berlin", country_code="DE"),
        store_totals=StoreTotals(currency="EUR"))


def kw(gw, producer="checkout"):
    return {"producer": producer, "tenant_id": gw.retailer["retailer_id"], "correlation_id": "shopify:1"}


def paid(gw, order: DroplineOrder, payment_id="pay-1") -> OrderPaidV1:
    return OrderPaidV1.create(data=OrderPaidData(
        order_id=order.order_id, payment_id=payment_id, method=PaymentMethod.CARD, provider="stripe",
        provider_reference="pi_1", supplier_currency_amounts=EUR, usd_amounts=USD, fx=FX, paid_at=NOW, order=order),
        **kw(gw))


def forwarded(gw, order_id="o-1") -> OrderForwardedV1:
    return OrderForwardedV1.create(data=OrderForwardedData(order_id=order_id, supplier_id=gw.acme["supplier_id"],
                                                           supplier_order_id="SUP-100001", forwarded_at=NOW),
                                   **kw(gw, "forwarder"))


def refund(gw, order_id="o-1", refund_id="ref-1") -> OrderRefundedV1:
    return OrderRefundedV1.create(data=OrderRefundedData(
        order_id=order_id, payment_id="pay-1", refund_id=refund_id, method=PaymentMethod.CARD, provider="stripe",
        provider_reference="re_123", reason="The supplier rejected the order: Out of stock", usd_amounts=USD,
        supplier_currency_amounts=EUR, fx=FX, refunded_at=NOW), **kw(gw))


async def project(gw, *events) -> None:
    for event in events:
        async with gw.svc.db.uow() as uow:
            await handlers.project(uow, event)  # what the Kafka handler does, minus the wake-up
            await uow.commit()


async def forwarded_order(gw, order_id="o-1") -> DroplineOrder:
    order = an_order(gw, order_id)
    await project(gw, OrderReceivedV1.create(data=order, **kw(gw, "order-ingest")), paid(gw, order),
                  forwarded(gw, order_id))
    return order


async def rejections_published(gw) -> list[dict]:
    async with gw.svc.db.uow() as uow:
        rows = (await uow.session.exec(select(OutboxMessage).where(
            OutboxMessage.topic == T.ORDER_FORWARDING_FAILED.name))).all()
    return [dict(json.loads(r.payload), _key=r.key) for r in rows]


def reject(gw, order_id="o-1", headers=None, **body):
    return gw.post(f"/supplier/v1/orders/{order_id}/rejection", headers=headers or gw.acme_key,
                   json={"reason": "Out of stock", **body})


# --------------------------------------------------------------------------- the supplier's rejection


async def test_a_supplier_rejects_a_forwarded_order_once_and_it_is_published_for_the_refund(gw):
    await forwarded_order(gw)
    r = await reject(gw, supplier_order_id="SUP-100001", reason="  Out of stock\nuntil March ")
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["order_id"], first["status"], first["reason"], first["supplier_order_id"]) == (
        "o-1", "accepted", "Out of stock until March", "SUP-100001")

    [event] = await rejections_published(gw)
    assert event["_key"] == "o-1" and event["event_type"] == "OrderForwardingFailed"
    assert event["producer"] == "gateway" and event["tenant_id"] == gw.retailer["retailer_id"]
    assert event["correlation_id"] == "shopify:1"  # the order's story
    assert event["data"] == {"order_id": "o-1", "supplier_id": gw.acme["supplier_id"],
                             "reason": "Out of stock until March", "status_code": None, "rejected_by_supplier": True}

    again = await reject(gw, reason="Something else entirely")
    assert again.status_code == 200
    assert again.json() == {**first, "status": "duplicate"}  # the first report, unchanged
    assert len(await rejections_published(gw)) == 1  # nothing new published


async def test_a_repeated_report_after_the_order_failed_is_still_the_first_answer(gw):
    await forwarded_order(gw)
    assert (await reject(gw)).status_code == 201
    [event] = await rejections_published(gw)
    await project(gw, OrderForwardingFailedV1.read(event))  # the gateway reads its own event back (tolerantly)
    assert (await reject(gw)).status_code == 200
    assert len(await rejections_published(gw)) == 1


async def test_a_paid_order_the_read_model_has_not_seen_forwarded_yet_can_be_rejected(gw):
    order = an_order(gw)
    await project(gw, OrderReceivedV1.create(data=order, **kw(gw, "order-ingest")), paid(gw, order))
    assert (await reject(gw)).status_code == 201


async def test_another_suppliers_order_and_an_unknown_order_are_not_found(gw):
    await forwarded_order(gw)
    for order_id, headers in (("o-1", gw.other_key), ("o-missing", gw.acme_key)):
        r = await reject(gw, order_id, headers=headers)
        assert r.status_code == 404 and r.json()["error"] == "not_found", r.text
    assert await rejections_published(gw) == []


async def test_without_the_supplier_key_it_is_401(gw):
    await forwarded_order(gw)
    for headers in ({}, {"Authorization": "Bearer nope"}, gw.key):  # a retailer key is no supplier key
        r = await gw.post("/supplier/v1/orders/o-1/rejection", json={"reason": "x"}, headers=headers)
        assert r.status_code == 401
    assert await rejections_published(gw) == []


@pytest.mark.parametrize("status, error", [
    ("unpaid", "not_forwarded"), ("payment_pending", "not_forwarded"), ("non_auto_order", "not_forwarded"),
    ("shipped", "already_shipped"), ("synced", "already_shipped"),
    ("failed", "already_closed"), ("cancelled", "already_closed"), ("refunded", "already_closed"),
])
async def test_an_order_not_forwarded_yet_shipped_or_closed_cannot_be_rejected(gw, status, error):
    async with gw.svc.db.uow() as uow:
        uow.session.add(OrderView(order_id="o-1", retailer_id=gw.retailer["retailer_id"], status=status,
                                  supplier_id=gw.acme["supplier_id"], created_at=NOW, updated_at=NOW))
        await uow.commit()
    r = await reject(gw)
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"] == error and body["details"] == {"order_status": status}
    assert body["message"].startswith(f"order is {status}: ")
    assert await rejections_published(gw) == []


async def test_a_shipped_order_cannot_be_rejected_once_tracking_arrived(gw):
    await forwarded_order(gw)
    await project(gw, TrackingAddedV1.create(data=TrackingAddedData(order_id="o-1", tracking_id="t1",
                                                                    tracking_number="1Z999AA10123456784",
                                                                    source="supplier"), **kw(gw, "gateway")))
    r = await reject(gw)
    assert (r.status_code, r.json()["error"]) == (409, "already_shipped")


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501},
                                  {"reason": "ok", "surprise": 1}, {"reason": "ok", "supplier_order_id": ""}])
async def test_a_report_without_a_usable_reason_is_422(gw, body):
    await forwarded_order(gw)
    r = await gw.post("/supplier/v1/orders/o-1/rejection", json=body, headers=gw.acme_key)
    assert (r.status_code, r.json()["error"]) == (422, "invalid_request"), r.text
    assert await rejections_published(gw) == []


# --------------------------------------------------------------------------- the read model


def fresh_row() -> OrderView:
    return OrderView(order_id="o-1", retailer_id="r1", status="forwarded", created_at=NOW, updated_at=NOW)


def failure(rejected: bool) -> OrderForwardingFailedV1:
    return OrderForwardingFailedV1.create(data=OrderForwardingFailedData(
        order_id="o-1", supplier_id="sup", reason="Out of stock" if rejected else "gave up after 12 attempts",
        rejected_by_supplier=rejected), producer="forwarder", tenant_id="r1", correlation_id="c")


def test_a_rejection_says_a_refund_follows_and_a_forwarding_failure_needs_an_operator():
    row = fresh_row()
    assert projection.apply(row, failure(True)) == ("failed", "Rejected by the supplier: Out of stock")
    assert row.status == "failed" and "refunds" in row.problem
    row = fresh_row()
    assert projection.apply(row, failure(False)) == (
        "failed", "Could not be forwarded to the supplier: gave up after 12 attempts")
    assert row.problem == "forwarding failed: gave up after 12 attempts"


def test_the_refund_moves_a_rejected_order_to_refunded_and_is_recorded_once(gw):
    row = fresh_row()
    projection.apply(row, failure(True))
    event = refund(gw)
    status, summary = projection.apply(row, event)
    assert status == "refunded" and row.status == "refunded" and row.problem is None
    assert summary == ("Refunded 15.71 USD (14.28 EUR) by card (stripe re_123): "
                       "The supplier rejected the order: Out of stock")
    projection.apply(row, event)  # redelivered
    [recorded] = json.loads(row.refunds_json)
    assert recorded["refund_id"] == "ref-1" and recorded["usd_amounts"]["total"] == "15.71"
    assert recorded["currency"] == "EUR" and recorded["supplier_currency_amounts"]["total"] == "14.28"


def test_a_refund_that_arrives_before_the_rejection_stays_refunded(gw):
    row = fresh_row()
    projection.apply(row, refund(gw))
    projection.apply(row, failure(True))  # another topic: it may come later
    assert row.status == "refunded" and row.problem is None
    projection.apply(row, TrackingAddedV1.create(data=TrackingAddedData(
        order_id="o-1", tracking_id="t1", tracking_number="1Z", source="supplier"),
        producer="gateway", tenant_id="r1", correlation_id="c"))
    assert row.status == "refunded"


async def test_the_order_page_shows_the_refund_and_its_timeline_entry(gw):
    await forwarded_order(gw)
    await project(gw, failure(True).model_copy(update={"tenant_id": gw.retailer["retailer_id"]}), refund(gw))
    await project(gw, refund(gw))  # a second event for the same refund id (checkout re-published it)
    r = await gw.get("/api/v1/orders/o-1", headers=gw.key)
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["status"] == "refunded" and detail["problem"] is None
    assert detail["refunds"] == [{
        "refund_id": "ref-1", "payment_id": "pay-1", "method": "card", "provider": "stripe",
        "provider_reference": "re_123", "reason": "The supplier rejected the order: Out of stock", "currency": "EUR",
        "supplier_currency_amounts": {"product_cost": "10.00", "shipping": "2.00", "vat": "2.28", "total": "14.28"},
        "usd_amounts": {"product_cost": "11.00", "shipping": "2.20", "vat": "2.51", "total": "15.71"},
        "refunded_at": "2026-12-02T09:30:00Z"}]
    steps = [(t["event"], t["status"]) for t in detail["timeline"]]
    assert steps[-3:] == [("OrderForwardingFailed", "failed"), ("OrderRefunded", "refunded"),
                          ("OrderRefunded", "refunded")]
    assert detail["payment"]["payment_id"] == "pay-1"  # still paid once: the payment stays on the order
    listed = (await gw.get("/api/v1/orders", params={"status": "refunded"}, headers=gw.key)).json()["orders"]
    assert [o["order_id"] for o in listed] == ["o-1"]


async def test_an_order_without_refunds_lists_none(gw):
    await forwarded_order(gw)
    assert (await gw.get("/api/v1/orders/o-1", headers=gw.key)).json()["refunds"] == []


def test_the_projection_consumes_the_refund_topic():
    assert T.ORDER_REFUNDED in handlers.ORDER_EVENT_TOPICS


# --------------------------------------------------------------------------- the receipt


def payment_body(**extra) -> dict:
    amounts = {"product_cost": "20.00", "shipping": "4.00", "vat": "4.56", "total": "28.56"}
    usd = {"product_cost": "22.00", "shipping": "4.40", "vat": "5.02", "total": "31.42"}
    return {
        "payment_id": "pay-1", "status": "succeeded", "method": "card", "order_ids": ["o-1", "o-2"],
        "supplier": {"supplier_id": "sup", "name": "Acme", "currency": "EUR"},
        "orders": [{"order_id": o, "order_number": n, "supplier_currency": {**amounts, "currency": "EUR"},
                    "usd": {**usd, "currency": "USD"}} for o, n in (("o-1", "D100001"), ("o-2", "D100002"))],
        "total": {"supplier_currency": {**amounts, "currency": "EUR"}, "usd": {**usd, "currency": "USD"}},
        "charge": {"currency": "USD", "amount": "31.42", "amount_minor": 3142},
        "fx": {"from_currency": "EUR", "to_currency": "USD", "rate": "1.1", "rate_date": "2026-12-01",
               "source": "ECB reference rate"},
        "provider": "stripe", "provider_reference": "pi_1", "failure_reason": None,
        "created_at": "2026-12-02T09:00:00Z", "completed_at": "2026-12-02T09:00:03Z", **extra}


REFUND = {"refund_id": "ref-1", "order_id": "o-1", "status": "succeeded", "amount_usd": "15.71",
          "amount_supplier_currency": "14.28", "currency": "EUR",
          "reason": "the supplier rejected the order: Out of stock", "provider_reference": "re_123",
          "failure_reason": None, "created_at": "2026-12-02T09:30:00Z", "completed_at": "2026-12-02T09:30:02Z"}


async def test_the_receipt_passes_checkouts_refunds_through(gw):
    """A bulk payment refunded per order: one order's share, as checkout's payment view has it."""
    gw.checkout.payments["pay-1"] = payment_body(refunds=[{**REFUND, "amount_cents": 1571}])  # unknown: dropped
    r = await gw.get("/api/v1/payments/pay-1", headers=gw.key)
    assert r.status_code == 200, r.text
    assert r.json()["refunds"] == [REFUND]


async def test_a_whole_payment_refund_and_a_pending_one_pass_through(gw):
    whole = {**REFUND, "refund_id": "ref-2", "order_id": None, "status": "pending", "provider_reference": None,
             "completed_at": None, "reason": "paid after the checkout was abandoned"}
    gw.checkout.payments["pay-1"] = payment_body(refunds=[whole])
    r = await gw.get("/api/v1/payments/pay-1", headers=gw.key)
    assert r.status_code == 200, r.text
    assert r.json()["refunds"] == [whole]


async def test_a_payment_from_a_checkout_without_refunds_has_none(gw):
    gw.checkout.payments["pay-1"] = payment_body()
    r = await gw.get("/api/v1/payments/pay-1", headers=gw.key)
    assert r.status_code == 200 and r.json()["refunds"] == []


async def test_tracking_for_a_refunded_order_is_a_clear_409(gw):
    await forwarded_order(gw)
    await project(gw, refund(gw))
    r = await gw.post("/supplier/v1/orders/o-1/tracking", headers=gw.acme_key,
                      json={"tracking_number": "1Z999AA10123456784"})
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "not_trackable" and r.json()["details"] == {"order_status": "refunded"}


# --------------------------------------------------------------------------- a report before the read model has the order


async def test_a_report_on_an_order_not_projected_yet_is_taken_never_refused_for_good(gw):
    """The read model lags (projection consumer busy): the supplier ships and reports an order Dropline
    forwarded to it before the gateway has projected it. Checkout, which was paid for it, says it is
    this supplier's: the report is taken at once (201, the whole order shipped) and published — not a
    404 that would make the supplier stop. What needs the projected order (named lines, a rejection)
    answers 503 order_not_ready with Retry-After, which the supplier API's contract retries."""
    order = an_order(gw, "o-early")
    gw.checkout.orders["o-early"] = {"order_id": "o-early", "retailer_id": gw.retailer["retailer_id"],
                                     "supplier_id": gw.acme["supplier_id"], "status": "paid"}
    report = {"tracking_number": "1Z999AA10123456784", "carrier": "UPS"}

    # Another supplier's order, an order nobody has, or checkout not answering: never taken.
    assert (await gw.post("/supplier/v1/orders/o-early/tracking", headers=gw.other_key,
                          json=report)).status_code == 404
    assert (await gw.post("/supplier/v1/orders/o-nobody/tracking", headers=gw.acme_key,
                          json=report)).status_code == 404
    assert (await reject(gw, "o-nobody")).status_code == 404
    gw.checkout.down = True
    r = await gw.post("/supplier/v1/orders/o-early/tracking", headers=gw.acme_key, json=report)
    assert r.status_code == 503 and r.json()["error"] == "order_not_ready" and "retry-after" in r.headers
    gw.checkout.down = False
    r = await gw.post("/supplier/v1/orders/o-early/tracking", headers=gw.acme_key,
                      json={**report, "lines": [{"line_id": "l1", "quantity": 1}]})
    assert r.status_code == 503 and int(r.headers["retry-after"]) > 0, r.text
    r = await reject(gw, "o-early")
    assert r.status_code == 503 and r.json()["error"] == "order_not_ready"

    r = await gw.post("/supplier/v1/orders/o-early/tracking", headers=gw.acme_key, json=report)
    assert r.status_code == 201 and r.json()["status"] == "accepted" and r.json()["lines"] is None, r.text
    again = await gw.post("/supplier/v1/orders/o-early/tracking", headers=gw.acme_key, json=report)
    assert again.status_code == 200 and again.json()["tracking_id"] == r.json()["tracking_id"]
    async with gw.svc.db.uow() as uow:
        rows = (await uow.session.exec(select(OutboxMessage).where(
            OutboxMessage.topic == T.TRACKING_ADDED.name))).all()
    [added] = [json.loads(x.payload) for x in rows]
    assert added["tenant_id"] == gw.retailer["retailer_id"] and added["data"]["order_id"] == "o-early"
    assert added["data"]["tracking_number"] == report["tracking_number"] and added["data"]["lines"] is None

    # The order is projected later (with the tracking among its events): it reads as shipped.
    tracking = TrackingAddedV1.model_validate(added)
    await project(gw, OrderReceivedV1.create(data=order, **kw(gw, "order-ingest")), paid(gw, order),
                  forwarded(gw, "o-early"), tracking)
    async with gw.svc.db.uow() as uow:
        assert (await uow.session.get(OrderView, "o-early")).status == "shipped"

    # An order nobody has paid for yet (so never forwarded): refused, not taken.
    gw.checkout.orders["o-unpaid"] = {**gw.checkout.orders["o-early"], "order_id": "o-unpaid", "status": "unpaid"}
    r = await gw.post("/supplier/v1/orders/o-unpaid/tracking", headers=gw.acme_key, json=report)
    assert r.status_code == 409 and r.json()["error"] == "not_trackable"
