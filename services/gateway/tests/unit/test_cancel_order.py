"""The retailer cancels an unpaid order: POST /api/v1/orders/{id}/cancel (session + CSRF, or the API
key) goes to checkout, which decides; its OrderAmended("Cancelled by the retailer") puts the order
in the read model as cancelled with that timeline entry. In-process on SQLite, checkout a fake."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from dropline_infra.db import utcnow
from dropline_infra.migrations import upgrade
from dropline_schemas.events import (
    Address,
    Customer,
    DroplineOrder,
    OrderAmendedData,
    OrderAmendedV1,
    OrderLine,
    OrderReceivedV1,
    OrderStatus,
    StoreTotals,
    SupplierTerms,
)
from gateway import handlers, projection
from gateway.app import MIGRATIONS, build
from gateway.errors import GatewayError
from gateway.models import OrderView
from gateway.settings import Settings

ADMIN = {"Authorization": "Bearer dev-admin-token"}
PASSWORD = "correct horse battery"
NOW = datetime(2026, 12, 1, 10, tzinfo=UTC)
ADDRESS = Address(name="Jane Doe", address1="Hauptstrasse 5", city="Berlin", zip="10115", country_code="DE")
CUSTOMER = Customer(name="Jane Doe", email="jane@example.com")


class ScriptedCheckout:
    """checkout's internal API: answers from `answers` (order_id → (status, body) or a GatewayError)."""

    def __init__(self):
        self.calls: list[tuple[str, str, dict | None]] = []
        self.answers: dict[str, object] = {}

    async def call(self, method, path, *, json=None, params=None):
        self.calls.append((method, path, json or params))
        order_id = path.split("/")[4] if path.startswith("/internal/v1/orders/") else ""
        answer = self.answers.get(order_id)
        if isinstance(answer, GatewayError):
            raise answer
        if answer is None:
            raise GatewayError(404, "orders_not_found", "no such order", order_ids=[order_id])
        return answer


@pytest.fixture
async def gw(tmp_path):
    settings = Settings(data_dir=tmp_path, environment="test")
    upgrade("gateway", settings.database_url, MIGRATIONS)
    checkout = ScriptedCheckout()
    svc = build(settings, checkout=checkout)
    transport = httpx.ASGITransport(app=svc.app, client=("203.0.113.8", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="https://gw.example") as client:
        retailer = (await client.post("/admin/v1/retailers", json={"name": "R"}, headers=ADMIN)).json()
        r = await client.post(f"/admin/v1/retailers/{retailer['retailer_id']}/users", headers=ADMIN,
                              json={"email": "ann@example.com", "password": PASSWORD})
        assert r.status_code == 201, r.text
        client.svc, client.retailer, client.checkout = svc, retailer, checkout
        client.key = {"Authorization": f"Bearer {retailer['api_key']}"}
        yield client
    await svc.db.dispose()


async def add_order(gw, order_id="o-1", retailer_id=None, status="unpaid"):
    async with gw.svc.db.uow() as uow:
        uow.session.add(OrderView(order_id=order_id, retailer_id=retailer_id or gw.retailer["retailer_id"],
                                  status=status, created_at=utcnow(), updated_at=utcnow()))
        await uow.commit()


# --------------------------------------------------------------------------- the route


async def test_the_api_key_cancels_through_checkout(gw):
    await add_order(gw)
    gw.checkout.answers["o-1"] = (200, {"order_id": "o-1", "status": "cancelled", "cancelled_now": True})
    r = await gw.post("/api/v1/orders/o-1/cancel", headers=gw.key)
    assert r.status_code == 200, r.text
    assert r.json() == {"order_id": "o-1", "status": "cancelled", "cancelled_now": True}
    assert gw.checkout.calls == [("POST", "/internal/v1/orders/o-1/cancel",
                                  {"retailer_id": gw.retailer["retailer_id"]})]


async def test_cancelling_again_answers_200_cancelled_now_false(gw):
    await add_order(gw)
    gw.checkout.answers["o-1"] = (200, {"order_id": "o-1", "status": "cancelled", "cancelled_now": False})
    r = await gw.post("/api/v1/orders/o-1/cancel", headers=gw.key)
    assert r.status_code == 200 and r.json()["cancelled_now"] is False


async def test_a_browser_needs_the_sessions_csrf_token(gw):
    await add_order(gw)
    gw.checkout.answers["o-1"] = (200, {"order_id": "o-1", "status": "cancelled", "cancelled_now": True})
    csrf = (await gw.post("/api/v1/session", json={"email": "ann@example.com", "password": PASSWORD})
            ).json()["csrf_token"]
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        r = await gw.post("/api/v1/orders/o-1/cancel", headers=headers)
        assert r.status_code == 403 and r.json()["error"] == "csrf_failed"
    assert gw.checkout.calls == []
    r = await gw.post("/api/v1/orders/o-1/cancel", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"


async def test_without_credentials_it_is_401(gw):
    r = await gw.post("/api/v1/orders/o-1/cancel")
    assert r.status_code == 401 and gw.checkout.calls == []


@pytest.mark.parametrize(("code", "message"), [
    ("payment_in_progress", "a payment for this order is in progress, so it cannot be cancelled now"),
    ("already_paid", "this order is paid already, so Dropline cannot cancel it: cancel it with the supplier"),
])
async def test_checkouts_409s_pass_through_in_the_one_error_body(gw, code, message):
    await add_order(gw)
    gw.checkout.answers["o-1"] = GatewayError(409, code, message, order_id="o-1", order_status="paid")
    r = await gw.post("/api/v1/orders/o-1/cancel", headers=gw.key)
    assert r.status_code == 409
    assert r.json() == {"error": code, "message": message, "details": {"order_id": "o-1", "order_status": "paid"}}


async def test_an_order_checkout_has_not_received_yet_is_not_ready_yet(gw):
    await add_order(gw)  # in the read model, not yet in checkout
    r = await gw.post("/api/v1/orders/o-1/cancel", headers=gw.key)
    assert r.status_code == 409 and r.json()["error"] == "not_ready_yet"
    assert r.headers["Retry-After"] == "1"


async def test_an_unknown_or_another_retailers_order_is_not_found(gw):
    await add_order(gw, "o-other", retailer_id="someone-else")
    for oid in ("o-missing", "o-other"):
        r = await gw.post(f"/api/v1/orders/{oid}/cancel", headers=gw.key)
        assert r.status_code == 404
        assert r.json() == {"error": "not_found", "message": "no such order", "details": {}}


async def test_an_id_that_cannot_exist_is_422_and_never_reaches_checkout(gw):
    r = await gw.post("/api/v1/orders/%7F/cancel", headers=gw.key)
    assert r.status_code in (404, 422) and gw.checkout.calls == []


# --------------------------------------------------------------------------- the read model


ORDER = DroplineOrder(
    order_id="o-1", order_number="D100001", retailer_id="r1", store_id="s1", platform="shopify",
    platform_order_id="1", platform_order_number="#1001", status="unpaid", shipping_address=ADDRESS,
    customer=CUSTOMER, supplier=SupplierTerms(supplier_id="sup", name="Sup", currency="EUR", auto_order=True),
    lines=[OrderLine(line_id="l1", platform_line_id="1", sku="A", title="A", quantity=1, unit_price=Decimal("5"))],
    store_totals=StoreTotals(currency="EUR"))


def cancelled(notice: str, order: DroplineOrder = ORDER, retailer_id: str = "r1") -> OrderAmendedV1:
    return OrderAmendedV1.create(data=OrderAmendedData(
        order_id=order.order_id, applied=True, cancelled=True, shipping_address=order.shipping_address,
        customer=order.customer, notice=notice, amended_at=NOW, status="cancelled",
        order=order.model_copy(update={"status": OrderStatus.CANCELLED})),
        producer="checkout", tenant_id=retailer_id, correlation_id="c")


def test_the_projection_takes_who_cancelled_from_the_notice():
    row = OrderView(order_id="o-1", retailer_id="r1", status="unpaid", created_at=NOW, updated_at=NOW)
    projection.apply(row, OrderReceivedV1.create(data=ORDER, producer="t", tenant_id="r1", correlation_id="c"))
    assert projection.apply(row, cancelled("Cancelled by the retailer")) == ("cancelled", "Cancelled by the retailer")
    assert row.status == "cancelled" and row.problem is None
    # The address and customer stay as they were (the retailer's cancel carries the order as it stands).
    assert DroplineOrder.model_validate_json(row.order_json).shipping_address == ADDRESS
    assert row.customer_name == "Jane Doe"


def test_a_store_cancellation_still_reads_cancelled_in_the_store():
    store_notice = "The order was cancelled in the store; Dropline cancelled it (it can no longer be paid)."
    assert projection.cancelled_by(store_notice) == "Cancelled in the store"
    row = OrderView(order_id="o-1", retailer_id="r1", status="unpaid", created_at=NOW, updated_at=NOW)
    assert projection.apply(row, cancelled(store_notice)) == ("cancelled", "Cancelled in the store")


async def test_the_order_page_shows_the_cancellation_once_checkouts_event_arrives(gw):
    rid = gw.retailer["retailer_id"]
    order = ORDER.model_copy(update={"retailer_id": rid})
    for event in (OrderReceivedV1.create(data=order, producer="order-ingest", tenant_id=rid, correlation_id="c"),
                  cancelled("Cancelled by the retailer", order, rid)):
        async with gw.svc.db.uow() as uow:
            await handlers.project(uow, event)  # what the Kafka handler does, minus the wake-up
            await uow.commit()
    detail = (await gw.get("/api/v1/orders/o-1", headers=gw.key)).json()
    assert detail["status"] == "cancelled"
    assert [(t["status"], t["summary"]) for t in detail["timeline"]][-1] == ("cancelled", "Cancelled by the retailer")
    assert detail["shipping_address"]["city"] == "Berlin"
    listed = (await gw.get("/api/v1/orders", params={"status": "cancelled"}, headers=gw.key)).json()["orders"]
    assert [o["order_id"] for o in listed] == ["o-1"]
