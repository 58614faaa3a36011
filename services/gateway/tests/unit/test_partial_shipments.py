"""Partial shipments through the API: the retailer's and the supplier's tracking routes take `lines`
(default: everything left), refuse unknown/duplicate lines (422), more than is left (409 over_shipped)
and a fully shipped order (409 already_shipped); the same number again is the first answer; the order
page shows each shipment with its lines and the store's note. In-process on SQLite, no broker: outbox
rows are read back and projected as the Kafka handler does."""

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
    OrderLine,
    OrderPaidData,
    OrderPaidV1,
    OrderReceivedV1,
    OrderSyncedData,
    OrderSyncedV1,
    PaymentMethod,
    StoreTotals,
    SupplierTerms,
    TrackingAddedV1,
)
from gateway import handlers
from gateway.app import MIGRATIONS, build
from gateway.settings import Settings

ADMIN = {"Authorization": "Bearer dev-admin-token"}
NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
EUR = Money(product_cost=Decimal("10.00"), shipping=Decimal("2.00"), vat=Decimal("2.28"), total=Decimal("14.28"))
USD = Money(product_cost=Decimal("11.00"), shipping=Decimal("2.20"), vat=Decimal("2.51"), total=Decimal("15.71"))
FX = FxRecord(from_currency="EUR", rate=Decimal("1.1"), rate_date="2026-12-01", source="ECB reference rate")


@pytest.fixture
async def gw(tmp_path):
    settings = Settings(data_dir=tmp_path, environment="test")
    upgrade("gateway", settings.database_url, MIGRATIONS)
    svc = build(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.app), base_url="http://gw") as client:
        retailer = (await client.post("/admin/v1/retailers", json={"name": "R"}, headers=ADMIN)).json()
        r = await client.post("/admin/v1/suppliers", headers=ADMIN, json={
            "name": "Acme", "currency": "EUR", "auto_order": True, "payment_methods": ["card"],
            "order_api_url": "https://orders.example", "order_api_key": "sup_order_api_key"})
        assert r.status_code == 201, r.text
        client.svc, client.retailer, client.acme = svc, retailer, r.json()
        client.key = {"Authorization": f"Bearer {retailer['api_key']}"}
        client.acme_key = {"Authorization": f"Bearer {client.acme['api_key']}"}
        yield client
    await svc.db.dispose()


def kw(gw):
    return {"producer": "test", "tenant_id": gw.retailer["retailer_id"], "correlation_id": "ecwid:1"}


async def project(gw, *events) -> None:
    for event in events:
        async with gw.svc.db.uow() as uow:
            await handlers.project(uow, event)
            await uow.commit()


async def forwarded_order(gw) -> DroplineOrder:
    """o-1: l1 × 3 (SKU A), l2 × 1 (SKU B), paid and forwarded to Acme."""
    order = DroplineOrder(
        order_id="o-1", order_number="D100001", retailer_id=gw.retailer["retailer_id"], store_id="s1",
        platform="ecwid", platform_order_id="1", platform_order_number="#1001", status="unpaid",
        supplier=SupplierTerms(supplier_id=gw.acme["supplier_id"], name="Acme", currency="EUR", auto_order=True),
        lines=[OrderLine(line_id="l1", platform_line_id="1", sku="A", title="Mug", quantity=3,
                         unit_price=Decimal("5"), supplier_sku="ACME-A", unit_cost=Decimal("10")),
               OrderLine(line_id="l2", platform_line_id="2", sku="B", title="Plate", quantity=1,
                         unit_price=Decimal("5"), supplier_sku="ACME-B", unit_cost=Decimal("10"))],
        shipping_address=Address(name="Jane Doe", address1="Hauptstrasse 5", city="Berlin", country_code="DE"),
        store_totals=StoreTotals(currency="EUR"))
    await project(gw, OrderReceivedV1.create(data=order, **kw(gw)), OrderPaidV1.create(data=OrderPaidData(
        order_id="o-1", payment_id="pay-1", method=PaymentMethod.CARD, provider="stripe", provider_reference="pi_1",
        supplier_currency_amounts=EUR, usd_amounts=USD, fx=FX, paid_at=NOW, order=order), **kw(gw)),
        OrderForwardedV1.create(data=OrderForwardedData(order_id="o-1", supplier_id=gw.acme["supplier_id"],
                                                        supplier_order_id="SUP-1", forwarded_at=NOW), **kw(gw)))
    return order


async def published(gw) -> list[TrackingAddedV1]:
    async with gw.svc.db.uow() as uow:
        rows = (await uow.session.exec(select(OutboxMessage).where(
            OutboxMessage.topic == T.TRACKING_ADDED.name))).all()
    return [TrackingAddedV1.model_validate(json.loads(r.payload)) for r in rows]


def supplier_ships(gw, number, lines=None):
    body = {"tracking_number": number, **({"lines": lines} if lines is not None else {})}
    return gw.post("/supplier/v1/orders/o-1/tracking", headers=gw.acme_key, json=body)


def retailer_ships(gw, number, lines=None):
    body = {"tracking_number": number, **({"lines": lines} if lines is not None else {})}
    return gw.post("/api/v1/orders/o-1/tracking", headers=gw.key, json=body)


async def order_page(gw) -> dict:
    r = await gw.get("/api/v1/orders/o-1", headers=gw.key)
    assert r.status_code == 200, r.text
    return r.json()


async def test_partial_shipments_then_the_rest_by_default_move_the_order_to_shipped(gw):
    await forwarded_order(gw)
    r = await supplier_ships(gw, "TRK 1001", [{"line_id": "l1", "quantity": 2}])
    assert r.status_code == 201, r.text
    assert r.json()["lines"] == [{"line_id": "l1", "quantity": 2}]
    [first] = await published(gw)
    assert first.data.lines[0].model_dump() == {"line_id": "l1", "quantity": 2}
    assert first.data.line_ids == ["l1"]
    await project(gw, first)
    page = await order_page(gw)
    assert page["status"] == "partially_shipped" and page["can_add_tracking"] is True
    [shipment] = page["tracking"]
    assert shipment["lines"] == [{"line_id": "l1", "sku": "A", "title": "Mug", "quantity": 2}]

    r = await retailer_ships(gw, "TRK 1002")  # no lines: everything that is left
    assert r.status_code == 201, r.text
    assert r.json()["lines"] == [{"line_id": "l1", "quantity": 1}, {"line_id": "l2", "quantity": 1}]
    second = (await published(gw))[1]
    await project(gw, second)
    page = await order_page(gw)
    assert page["status"] == "shipped"
    assert [t["tracking_number"] for t in page["tracking"]] == ["TRK 1001", "TRK 1002"]


async def test_the_refusals_name_the_line_and_what_is_left(gw):
    await forwarded_order(gw)
    r = await supplier_ships(gw, "TRK 2001", [{"line_id": "l9", "quantity": 1}])
    assert r.status_code == 422 and r.json()["error"] == "unknown_line" and "l9" in r.json()["message"], r.text
    r = await supplier_ships(gw, "TRK 2001", [{"line_id": "l1", "quantity": 1}, {"line_id": "l1", "quantity": 1}])
    assert r.status_code == 422 and r.json()["error"] == "duplicate_line", r.text
    r = await supplier_ships(gw, "TRK 2001", [{"line_id": "l1", "quantity": 0}])
    assert r.status_code == 422, r.text
    r = await supplier_ships(gw, "TRK 2001", [{"line_id": "l1", "quantity": 4}])
    assert r.status_code == 409 and r.json()["error"] == "over_shipped", r.text
    assert r.json()["details"]["left"] == 3 and "l1 has 3 left" in r.json()["message"]
    assert await published(gw) == []  # nothing was recorded by a refusal

    assert (await supplier_ships(gw, "TRK 2002", [{"line_id": "l1", "quantity": 3}])).status_code == 201
    r = await supplier_ships(gw, "TRK 2003", [{"line_id": "l1", "quantity": 1}])
    assert r.status_code == 409 and r.json()["details"]["left"] == 0, r.text
    assert (await supplier_ships(gw, "TRK 2004")).status_code == 201  # the rest: l2 × 1
    r = await supplier_ships(gw, "TRK 2005")
    assert r.status_code == 409 and r.json()["error"] == "already_shipped", r.text
    assert [e.data.tracking_number for e in await published(gw)] == ["TRK 2002", "TRK 2004"]


async def test_the_same_number_again_is_the_first_answer_whatever_lines_it_names(gw):
    await forwarded_order(gw)
    first = await supplier_ships(gw, "TRK 3001", [{"line_id": "l1", "quantity": 1}])
    assert first.status_code == 201
    again = await supplier_ships(gw, "TRK 3001", [{"line_id": "l2", "quantity": 1}])
    assert again.status_code == 200, again.text
    assert again.json() == {**first.json(), "status": "duplicate"}
    assert len(await published(gw)) == 1


async def test_a_kept_number_shipment_is_recorded_and_the_order_page_says_so(gw):
    await forwarded_order(gw)
    assert (await supplier_ships(gw, "TRK 4001", [{"line_id": "l1", "quantity": 3}])).status_code == 201
    assert (await supplier_ships(gw, "TRK 4002")).status_code == 201
    first, second = await published(gw)
    synced_at = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    s1 = OrderSyncedV1.create(data=OrderSyncedData(order_id="o-1", tracking_id=first.data.tracking_id,
                                                   platform="ecwid", platform_fulfillment_id="e-1",
                                                   tracking_number="TRK 4001"), **kw(gw))
    s2 = OrderSyncedV1.create(data=OrderSyncedData(order_id="o-1", tracking_id=second.data.tracking_id,
                                                   platform="ecwid", platform_fulfillment_id="e-1",
                                                   tracking_number="TRK 4002", kept_number="TRK 4001"), **kw(gw))
    s2 = s2.model_copy(update={"occurred_at": synced_at})
    await project(gw, s2, first, s1, second)  # out of order: the kept-number sync first
    page = await order_page(gw)
    assert page["status"] == "synced"
    assert len(page["tracking"]) == 2
    kept = next(t for t in page["tracking"] if t["tracking_number"] == "TRK 4002")
    assert kept["synced"] is True and kept["store_kept_number"] == "TRK 4001"
    assert datetime.fromisoformat(kept["synced_at"]) == synced_at
    note = "Ecwid keeps one tracking number per order; the store shows TRK 4001 — TRK 4002 is recorded in Dropline only"
    assert kept["store_note"] == note
    assert note in [t["summary"] for t in page["timeline"]]
    assert kept["lines"] == [{"line_id": "l2", "sku": "B", "title": "Plate", "quantity": 1}]
