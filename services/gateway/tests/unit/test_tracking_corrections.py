"""Tracking corrections: the retailer's and the supplier's correction routes replace a wrong number
with an explicit action that records who and why (the old report kept, superseded; the new one with
its lines; TrackingCorrected through the outbox, once), answer the same correction again as a
duplicate, and refuse what cannot be corrected. The read model marks the old shipment superseded and
adds the new one, in any order with the new number's OrderSynced and with redeliveries, never moving
the order's status back. In-process on SQLite, no broker: outbox rows are read back and projected as
the Kafka handler does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlmodel import func, select

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
    ShippedLine,
    StoreTotals,
    SupplierTerms,
    TrackingAddedData,
    TrackingAddedV1,
    TrackingCorrectedData,
    TrackingCorrectedV1,
)
from gateway import handlers, projection, shipments
from gateway.app import MIGRATIONS, build
from gateway.models import OrderChange, OrderView, TrackingReport
from gateway.settings import Settings

ADMIN = {"Authorization": "Bearer dev-admin-token"}
PASSWORD = "correct horse battery"
NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
EUR = Money(product_cost=Decimal("10.00"), shipping=Decimal("2.00"), vat=Decimal("2.28"), total=Decimal("14.28"))
USD = Money(product_cost=Decimal("11.00"), shipping=Decimal("2.20"), vat=Decimal("2.51"), total=Decimal("15.71"))
FX = FxRecord(from_currency="EUR", rate=Decimal("1.1"), rate_date="2026-12-01", source="ECB reference rate")


@pytest.fixture
async def gw(tmp_path):
    settings = Settings(data_dir=tmp_path, environment="test")
    upgrade("gateway", settings.database_url, MIGRATIONS)
    svc = build(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.app), base_url="https://gw.example") as client:
        retailer = (await client.post("/admin/v1/retailers", json={"name": "R"}, headers=ADMIN)).json()
        r = await client.post(f"/admin/v1/retailers/{retailer['retailer_id']}/users", headers=ADMIN,
                              json={"email": "Ann@Example.com", "password": PASSWORD})
        assert r.status_code == 201, r.text
        other = (await client.post("/admin/v1/retailers", json={"name": "Other"}, headers=ADMIN)).json()
        suppliers = []
        for name in ("Acme", "Globex"):
            r = await client.post("/admin/v1/suppliers", headers=ADMIN, json={
                "name": name, "currency": "EUR", "auto_order": True, "payment_methods": ["card"],
                "order_api_url": "https://orders.example", "order_api_key": "sup_order_api_key"})
            assert r.status_code == 201, r.text
            suppliers.append(r.json())
        client.svc, client.retailer, (client.acme, client.globex) = svc, retailer, suppliers
        client.key = {"Authorization": f"Bearer {retailer['api_key']}"}
        client.other_key = {"Authorization": f"Bearer {other['api_key']}"}
        client.acme_key = {"Authorization": f"Bearer {client.acme['api_key']}"}
        client.globex_key = {"Authorization": f"Bearer {client.globex['api_key']}"}
        yield client
    await svc.db.dispose()


def kw(gw):
    return {"producer": "test", "tenant_id": gw.retailer["retailer_id"], "correlation_id": "ecwid:1"}


async def project(gw, *events) -> None:
    """As the Kafka consumer does: the projection, its timeline and the live feed's change record."""
    for event in events:
        async with gw.svc.db.uow() as uow:
            await handlers.projection_handler(gw.svc.notifier)(uow, event)
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


async def outbox(gw, topic, event_type):
    async with gw.svc.db.uow() as uow:
        rows = (await uow.session.exec(select(OutboxMessage).where(OutboxMessage.topic == topic.name)
                                       .order_by(OutboxMessage.id))).all()
    return [event_type.model_validate(json.loads(r.payload)) for r in rows]


async def added(gw) -> list[TrackingAddedV1]:
    return await outbox(gw, T.TRACKING_ADDED, TrackingAddedV1)


async def corrections(gw) -> list[TrackingCorrectedV1]:
    return await outbox(gw, T.TRACKING_CORRECTED, TrackingCorrectedV1)


async def reports(gw) -> dict[str, TrackingReport]:
    async with gw.svc.db.uow() as uow:
        rows = (await uow.session.exec(select(TrackingReport).where(TrackingReport.order_id == "o-1"))).all()
    return {r.tracking_number: r for r in rows}


def ships(gw, number, lines=None, *, by="supplier"):
    body = {"tracking_number": number, **({"lines": lines} if lines is not None else {})}
    if by == "supplier":
        return gw.post("/supplier/v1/orders/o-1/tracking", headers=gw.acme_key, json=body)
    return gw.post("/api/v1/orders/o-1/tracking", headers=gw.key, json=body)


def corrects(gw, tracking_id, number, reason="the label had a typo", *, headers=None, order_id="o-1",
             supplier=False, **extra):
    prefix = "/supplier/v1" if supplier else "/api/v1"
    headers = headers if headers is not None else (gw.acme_key if supplier else gw.key)
    return gw.post(f"{prefix}/orders/{order_id}/tracking/{tracking_id}/correction", headers=headers,
                   json={"tracking_number": number, "reason": reason, **extra})


async def shipped_once(gw, number="TRK 1001", lines=None) -> str:
    await forwarded_order(gw)
    r = await ships(gw, number, lines if lines is not None else [{"line_id": "l1", "quantity": 2}])
    assert r.status_code == 201, r.text
    return r.json()["tracking_id"]


async def order_page(gw) -> dict:
    r = await gw.get("/api/v1/orders/o-1", headers=gw.key)
    assert r.status_code == 200, r.text
    return r.json()


# --------------------------------------------------------------------------- the API


async def test_the_retailer_corrects_a_number_once_and_who_and_why_are_recorded(gw):
    old_id = await shipped_once(gw)
    r = await corrects(gw, old_id, "1Z999AA10123456784", reason="  the supplier mistyped the last digit  ")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body == {
        "status": "accepted", "tracking_id": body["tracking_id"], "corrects_tracking_id": old_id,
        "previous_tracking_number": "TRK 1001", "tracking_number": "1Z999AA10123456784", "carrier": "UPS",
        "tracking_url": body["tracking_url"], "lines": [{"line_id": "l1", "quantity": 2}],
        "changed_by": "retailer:api key", "reason": "the supplier mistyped the last digit"}
    assert body["tracking_id"] != old_id and "1Z999AA10123456784" in body["tracking_url"]

    by_number = await reports(gw)
    old, new = by_number["TRK 1001"], by_number["1Z999AA10123456784"]
    assert old.superseded_at is not None and old.changed_by == "retailer:api key"
    assert old.change_reason == "the supplier mistyped the last digit"
    assert (new.tracking_id, new.corrects_tracking_id, new.source, new.superseded_at) == \
        (body["tracking_id"], old_id, "retailer", None)
    assert json.loads(new.lines_json) == [{"line_id": "l1", "quantity": 2}]

    [ev] = await corrections(gw)
    assert ev.event_type == "TrackingCorrected" and ev.tenant_id == gw.retailer["retailer_id"]
    assert ev.data.model_dump(mode="json") == {
        "order_id": "o-1", "tracking_id": body["tracking_id"], "corrects_tracking_id": old_id,
        "previous_tracking_number": "TRK 1001", "tracking_number": "1Z999AA10123456784", "carrier": "UPS",
        "tracking_url": body["tracking_url"], "lines": [{"line_id": "l1", "quantity": 2}], "source": "retailer",
        "changed_by": "retailer:api key", "reason": "the supplier mistyped the last digit"}
    async with gw.svc.db.uow() as uow:
        [row] = (await uow.session.exec(select(OutboxMessage).where(
            OutboxMessage.topic == T.TRACKING_CORRECTED.name))).all()
    assert row.key == "o-1"

    again = await corrects(gw, old_id, "1Z999AA10123456784", reason="said twice")
    assert again.status_code == 200, again.text
    assert again.json() == {**body, "status": "duplicate"}  # the first correction's who and why
    spaced = await corrects(gw, old_id, "1z999aa1 0123456784")  # the same number as the store prints it
    assert spaced.status_code == 200 and spaced.json()["status"] == "duplicate"
    assert len(await corrections(gw)) == 1 and len(await added(gw)) == 1

    # The correction carries the old report's lines: what is left to ship is unchanged.
    r = await ships(gw, "TRK 1002")
    assert r.status_code == 201 and r.json()["lines"] == [{"line_id": "l1", "quantity": 1},
                                                          {"line_id": "l2", "quantity": 1}], r.text


async def test_a_signed_in_user_is_named_and_the_session_needs_its_csrf_token(gw):
    old_id = await shipped_once(gw)
    session = await gw.post("/api/v1/session", json={"email": "ann@example.com", "password": PASSWORD})
    assert session.status_code == 200, session.text
    csrf = {"X-CSRF-Token": session.json()["csrf_token"]}
    r = await corrects(gw, old_id, "TRK 1009", headers={})
    assert (r.status_code, r.json()["error"]) == (403, "csrf_failed")
    r = await corrects(gw, old_id, "TRK 1009", headers=csrf)
    assert r.status_code == 201, r.text
    assert r.json()["changed_by"] == "retailer:ann@example.com"
    [ev] = await corrections(gw)
    assert ev.data.changed_by == "retailer:ann@example.com" and ev.data.source == "retailer"


async def test_the_supplier_corrects_its_own_report_but_not_the_retailers(gw):
    supplier_id = await shipped_once(gw)
    r = await ships(gw, "TRK 2002", by="retailer")
    assert r.status_code == 201, r.text
    retailer_id = r.json()["tracking_id"]

    r = await corrects(gw, retailer_id, "TRK 2009", supplier=True)
    assert r.status_code == 403, r.text
    assert r.json()["error"] == "not_your_report" and r.json()["details"] == {"source": "retailer"}
    r = await corrects(gw, supplier_id, "TRK 1009", supplier=True, headers=gw.globex_key)  # not its order
    assert (r.status_code, r.json()["error"]) == (404, "not_found")
    r = await corrects(gw, supplier_id, "TRK 1009", supplier=True, headers=gw.key)  # a retailer key
    assert r.status_code == 401
    assert await corrections(gw) == []

    r = await corrects(gw, supplier_id, "TRK 1009", reason="wrong parcel label", supplier=True)
    assert r.status_code == 201, r.text
    assert r.json()["changed_by"] == f"supplier:{gw.acme['supplier_id']}"
    [ev] = await corrections(gw)
    assert ev.data.source == "supplier" and ev.data.changed_by == f"supplier:{gw.acme['supplier_id']}"
    assert (await reports(gw))["TRK 1009"].source == "supplier"
    # The supplier's correction is the supplier's report again: it may correct that one too.
    r = await corrects(gw, r.json()["tracking_id"], "TRK 1010", supplier=True)
    assert r.status_code == 201, r.text


async def test_the_refusals_say_why_and_publish_nothing(gw):
    old_id = await shipped_once(gw)
    second = (await ships(gw, "TRK 1002")).json()["tracking_id"]

    r = await corrects(gw, "no-such-record", "TRK 1009")
    assert (r.status_code, r.json()["error"]) == (404, "not_found")
    r = await corrects(gw, old_id, "TRK 1009", headers=gw.other_key)  # another retailer's order
    assert (r.status_code, r.json()["error"]) == (404, "not_found")
    r = await corrects(gw, old_id, "TRK 1009", order_id="o-2")
    assert (r.status_code, r.json()["error"]) == (404, "not_found")
    r = await corrects(gw, old_id, "trk-1001")  # the number it has, printed differently
    assert (r.status_code, r.json()["error"]) == (409, "same_number"), r.text
    r = await corrects(gw, old_id, "TRK 1002")  # the order's other shipment has it
    assert (r.status_code, r.json()["error"]) == (409, "number_in_use"), r.text
    assert r.json()["details"] == {"tracking_id": second, "superseded": False}
    assert await corrections(gw) == []

    new_id = (await corrects(gw, old_id, "TRK 1009")).json()["tracking_id"]
    r = await corrects(gw, old_id, "TRK 1010")  # corrected already: correct the new one instead
    assert (r.status_code, r.json()["error"]) == (409, "superseded"), r.text
    assert r.json()["details"] == {"corrected_by_tracking_id": new_id, "tracking_number": "TRK 1009"}
    r = await corrects(gw, new_id, "TRK 1001")  # back to the wrong number: a superseded report has it
    assert (r.status_code, r.json()["error"]) == (409, "number_in_use"), r.text
    assert r.json()["details"] == {"tracking_id": old_id, "superseded": True}
    assert len(await corrections(gw)) == 1


@pytest.mark.parametrize("body", [
    {"tracking_number": "TRK 1009"},  # no reason
    {"tracking_number": "TRK 1009", "reason": ""},
    {"tracking_number": "TRK 1009", "reason": "   "},
    {"tracking_number": "TRK 1009", "reason": "x" * 501},
    {"tracking_number": "TR", "reason": "typo"},
    {"tracking_number": "TRK/1009", "reason": "typo"},
    {"tracking_number": "TRK 1009", "reason": "typo", "tracking_url": "not a url"},
])
async def test_an_invalid_body_is_422(gw, body):
    old_id = await shipped_once(gw)
    r = await gw.post(f"/api/v1/orders/o-1/tracking/{old_id}/correction", headers=gw.key, json=body)
    assert (r.status_code, r.json()["error"]) == (422, "invalid_request"), r.text
    assert await corrections(gw) == []


@pytest.mark.parametrize("status", ["refunded", "cancelled"])
async def test_a_closed_order_cannot_have_its_tracking_corrected(gw, status):
    old_id = await shipped_once(gw)
    async with gw.svc.db.uow() as uow:
        row = await uow.session.get(OrderView, "o-1")
        row.status = status
        uow.session.add(row)
        await uow.commit()
    for supplier in (False, True):
        r = await corrects(gw, old_id, "TRK 1009", supplier=supplier)
        assert r.status_code == 409, r.text
        assert r.json()["error"] == "not_trackable" and r.json()["details"] == {"order_status": status}
    assert await corrections(gw) == []
    assert (await reports(gw))["TRK 1001"].superseded_at is None


# --------------------------------------------------------------------------- the read model


def synced(gw, tracking_id, number, *, minutes=0) -> OrderSyncedV1:
    ev = OrderSyncedV1.create(data=OrderSyncedData(order_id="o-1", tracking_id=tracking_id, platform="ecwid",
                                                   platform_fulfillment_id="e-1", tracking_number=number), **kw(gw))
    return ev.model_copy(update={"occurred_at": NOW + timedelta(minutes=minutes)})


async def test_a_correction_on_the_order_page_and_in_the_timeline_and_the_live_feed(gw):
    await forwarded_order(gw)
    r = await ships(gw, "TRK 1001")  # everything
    assert r.status_code == 201, r.text
    old_id = r.json()["tracking_id"]
    [add] = await added(gw)
    await project(gw, add, synced(gw, old_id, "TRK 1001"))
    assert (await order_page(gw))["status"] == "synced"

    r = await corrects(gw, old_id, "TRK 1009", reason="Wrong label")
    new_id = r.json()["tracking_id"]
    [correction] = await corrections(gw)
    async with gw.svc.db.uow() as uow:
        changes_before = (await uow.session.exec(select(func.count()).select_from(OrderChange))).one()
    await project(gw, correction)
    async with gw.svc.db.uow() as uow:
        changes_after = (await uow.session.exec(select(func.count()).select_from(OrderChange))).one()
    assert changes_after == changes_before + 1  # the live feed gets it like any change

    page = await order_page(gw)
    assert page["status"] == "synced"  # never back to shipped because of a correction
    old, new = sorted(page["tracking"], key=lambda t: t["tracking_id"] != old_id)
    assert old["superseded_at"] is not None and old["corrected_by_tracking_id"] == new_id
    assert (old["changed_by"], old["change_reason"]) == ("retailer:api key", "Wrong label")
    assert old["synced"] is True
    assert new["tracking_number"] == "TRK 1009" and new["synced"] is False and new["source"] == "retailer"
    assert (new["corrects_tracking_id"], new["previous_tracking_number"]) == (old_id, "TRK 1001")
    assert new["superseded_at"] is None and new["lines"] == old["lines"]
    assert "Tracking TRK 1001 corrected to TRK 1009 by the retailer's API key: Wrong label" in \
        [t["summary"] for t in page["timeline"]]

    await project(gw, synced(gw, new_id, "TRK 1009", minutes=5))
    page = await order_page(gw)
    assert page["status"] == "synced"
    assert next(t for t in page["tracking"] if t["tracking_id"] == new_id)["synced"] is True

    csv = await gw.get("/api/v1/orders/export.csv", headers=gw.key)
    assert "TRK 1009" in csv.text and "TRK 1001" not in csv.text  # the export lists the numbers that stand


def test_the_correction_consumer_is_the_projection_of_every_other_order_event():
    assert T.TRACKING_CORRECTED in handlers.ORDER_EVENT_TOPICS


# --------------------------------------------------------------------------- order-independence (pure)

KW = {"producer": "test", "tenant_id": "r-1", "correlation_id": "ecwid:1"}


def events_of_one_order():
    order = DroplineOrder(
        order_id="o-1", order_number="D100001", retailer_id="r-1", store_id="s1", platform="ecwid",
        platform_order_id="1", status="unpaid",
        supplier=SupplierTerms(supplier_id="sup-1", name="Acme", currency="EUR", auto_order=True),
        lines=[OrderLine(line_id="l1", platform_line_id="1", sku="A", title="Mug", quantity=2,
                         unit_price=Decimal("5"))],
        store_totals=StoreTotals(currency="EUR"))
    lines = [ShippedLine(line_id="l1", quantity=2)]
    base = [OrderReceivedV1.create(data=order, **KW),
            OrderForwardedV1.create(data=OrderForwardedData(order_id="o-1", supplier_id="sup-1",
                                                            supplier_order_id="SUP-1", forwarded_at=NOW), **KW)]
    add = TrackingAddedV1.create(data=TrackingAddedData(order_id="o-1", tracking_id="t-old", tracking_number="TRK 1",
                                                        source="supplier", lines=lines, line_ids=["l1"]), **KW)
    synced_old = OrderSyncedV1.create(data=OrderSyncedData(order_id="o-1", tracking_id="t-old", platform="ecwid",
                                                           platform_fulfillment_id="e-1", tracking_number="TRK 1"),
                                      **KW).model_copy(update={"occurred_at": NOW})
    correction = TrackingCorrectedV1.create(data=TrackingCorrectedData(
        order_id="o-1", tracking_id="t-new", corrects_tracking_id="t-old", previous_tracking_number="TRK 1",
        tracking_number="TRK 2", carrier="DHL", lines=lines, source="retailer", changed_by="retailer:api key",
        reason="typo"), **KW).model_copy(update={"occurred_at": NOW + timedelta(minutes=1)})
    synced_new = OrderSyncedV1.create(data=OrderSyncedData(order_id="o-1", tracking_id="t-new", platform="ecwid",
                                                           platform_fulfillment_id="e-1", tracking_number="TRK 2"),
                                      **KW).model_copy(update={"occurred_at": NOW + timedelta(minutes=2)})
    return base, add, synced_old, correction, synced_new


def projected(events) -> OrderView:
    row = OrderView(order_id="o-1", retailer_id="r-1", status="unpaid", created_at=NOW, updated_at=NOW)
    for event in events:
        projection.apply(row, event)
    return row


def outcome(row):
    return row.status, sorted(json.loads(row.tracking_json), key=lambda t: t["tracking_id"])


def test_correction_and_the_new_numbers_sync_in_any_order_with_redeliveries_give_the_same_row():
    base, add, synced_old, correction, synced_new = events_of_one_order()
    reference = outcome(projected([*base, add, synced_old, correction, synced_new]))
    for events in ([*base, add, synced_old, synced_new, correction],  # the new number's sync first
                   [*base, add, synced_old, correction, synced_new, correction, synced_new],  # redelivered
                   [correction, synced_new, *base, synced_old, add],  # the correction before its TrackingAdded
                   [synced_new, add, correction, *base, correction, synced_old, add]):
        assert outcome(projected(events)) == reference
    status, (new, old) = reference
    assert status == "synced"
    assert old["superseded_at"] == correction.occurred_at.isoformat() and old["corrected_by_tracking_id"] == "t-new"
    assert (old["changed_by"], old["change_reason"], old["source"]) == ("retailer:api key", "typo", "supplier")
    assert new == {"tracking_id": "t-new", "synced": True, "tracking_number": "TRK 2", "carrier": "DHL",
                   "tracking_url": None, "source": "retailer", "lines": [{"line_id": "l1", "quantity": 2}],
                   "reported": True, "corrects_tracking_id": "t-old", "previous_tracking_number": "TRK 1",
                   "platform_fulfillment_id": "e-1", "synced_at": synced_new.occurred_at.isoformat()}


def test_a_superseded_shipment_never_blocks_synced_and_a_correction_never_moves_the_status_back():
    base, add, synced_old, correction, synced_new = events_of_one_order()
    row = projected([*base, add, synced_old])
    assert row.status == "synced"
    status, words = projection.apply(row, correction)
    assert row.status == "synced" and status is None  # the new number is not in the store yet; still synced
    assert shipments.shipment_status(row) == "shipped"
    assert words == "Tracking TRK 1 corrected to TRK 2 by the retailer's API key: typo"

    row = projected([*base, add, correction])  # the old number never reached the store
    assert row.status == "shipped"
    projection.apply(row, synced_new)
    assert row.status == "synced"  # the superseded, never-synced shipment does not hold it back
    assert [t["tracking_id"] for t in shipments.render(row.tracking_json, {}) if not t.get("superseded_at")] == \
        ["t-new"]


def test_who_corrected_reads_in_plain_words():
    row = OrderView(order_id="o-1", retailer_id="r-1", status="synced", supplier_id="sup-1", supplier_name="Acme",
                    created_at=NOW, updated_at=NOW)
    assert projection.changed_by_words(row, "supplier:sup-1") == "the supplier Acme"
    assert projection.changed_by_words(row, "supplier:sup-9") == "the supplier"
    assert projection.changed_by_words(row, "retailer:api key") == "the retailer's API key"
    assert projection.changed_by_words(row, "retailer:ann@example.com") == "ann@example.com"
