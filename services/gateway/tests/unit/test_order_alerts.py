"""tracking-sync's late / not-synced alerts in the read model (OrderAlert → late_since / not_synced_since
and a timeline entry), and in the retailer API: the flags on each order, the ?flag= filter of the list and
the CSV export, and GET /api/v1/overview. In-process on SQLite, no broker: events are projected as the
Kafka handler does."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from dropline_infra.migrations import upgrade
from dropline_schemas import topics as T
from dropline_schemas.events import (
    AlertKind,
    AlertState,
    DroplineOrder,
    FxRecord,
    Money,
    OrderAlertData,
    OrderAlertV1,
    OrderAmendedData,
    OrderAmendedV1,
    OrderLine,
    OrderReceivedV1,
    OrderRefundedData,
    OrderRefundedV1,
    PaymentMethod,
    StoreTotals,
    SupplierTerms,
)
from gateway import handlers, projection
from gateway.app import MIGRATIONS, build
from gateway.models import OrderView
from gateway.settings import Settings

ADMIN = {"Authorization": "Bearer dev-admin-token"}
PAID = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # a Thursday
DUE = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 3 business days later
KW = {"producer": "tracking-sync", "tenant_id": "r1", "correlation_id": "shopify:1"}
LATE_REASON = "No tracking 3 business days after the order was paid (due 2026-12-01 10:00 UTC)"


def alert(kind: AlertKind, state: AlertState, since: datetime, reason: str, at: datetime | None = None,
          tenant_id: str = "r1", order_id: str = "o1") -> OrderAlertV1:
    at = at or since + timedelta(minutes=5)
    return OrderAlertV1.create(data=OrderAlertData(
        order_id=order_id, kind=kind, state=state, since=since, reason=reason,
        due_at=since if kind is AlertKind.LATE else None, handling_days=3 if kind is AlertKind.LATE else None,
        tracking_id="t1" if kind is AlertKind.NOT_SYNCED else None, at=at),
        **{**KW, "tenant_id": tenant_id}, occurred_at=at)


def late(state: AlertState = AlertState.RAISED, since: datetime = DUE, reason: str = LATE_REASON, **kw):
    return alert(AlertKind.LATE, state, since, reason, **kw)


def not_synced(state: AlertState = AlertState.RAISED, since: datetime = DUE,
               reason: str = "The store has not taken the tracking for 26 hours; writing it back fails: 503", **kw):
    return alert(AlertKind.NOT_SYNCED, state, since, reason, **kw)


def refund(order_id: str = "o1", tenant_id: str = "r1") -> OrderRefundedV1:
    money = Money(product_cost=Decimal("1"), shipping=Decimal("0"), vat=Decimal("0"), total=Decimal("1"))
    return OrderRefundedV1.create(data=OrderRefundedData(
        order_id=order_id, payment_id="pay-1", refund_id="ref-1", method=PaymentMethod.CARD, provider="stripe",
        provider_reference="re_1", reason="The supplier rejected the order", usd_amounts=money,
        supplier_currency_amounts=money, fx=FxRecord(from_currency="EUR", rate=Decimal("1.1"),
                                                     rate_date="2026-12-01", source="ECB"),
        refunded_at=DUE), producer="checkout", tenant_id=tenant_id, correlation_id="shopify:1")


def fresh_row(status: str = "forwarded") -> OrderView:
    return OrderView(order_id="o1", retailer_id="r1", status=status, created_at=PAID, updated_at=PAID)


# --------------------------------------------------------------------------- the projection


def test_a_late_alert_raised_then_cleared_sets_and_removes_the_flag_with_plain_timeline_words():
    row = fresh_row()
    assert projection.apply(row, late()) == (
        None, "Flagged late: no tracking 3 business days after the order was paid (due 2026-12-01 10:00 UTC)")
    assert row.late_since == DUE and row.not_synced_since is None and row.status == "forwarded"
    assert projection.apply(row, late(AlertState.CLEARED, reason="Tracking arrived")) == (
        None, "No longer late: tracking arrived")
    assert row.late_since is None
    projection.apply(row, late())
    assert projection.apply(row, late(AlertState.CLEARED, reason="No longer late")) == (None, "No longer late")
    assert row.late_since is None


def test_a_not_synced_alert_raised_then_cleared():
    row = fresh_row("shipped")
    status, words = projection.apply(row, not_synced())
    assert status is None and words == ("Flagged not synced: the store has not taken the tracking for 26 hours; "
                                        "writing it back fails: 503")
    assert row.not_synced_since == DUE and row.late_since is None
    status, words = projection.apply(row, not_synced(AlertState.CLEARED, reason="The tracking reached the store"))
    assert words == "No longer flagged not synced: the tracking reached the store"
    assert row.not_synced_since is None


def test_the_clear_of_an_older_flag_does_not_erase_a_newer_raise():
    row = fresh_row("shipped")
    newer = DUE + timedelta(days=2)
    projection.apply(row, not_synced(since=newer))
    status, words = projection.apply(row, not_synced(AlertState.CLEARED, since=DUE, reason="The tracking reached "
                                                     "the store", at=newer + timedelta(hours=1)))
    assert row.not_synced_since == newer
    assert status is None and words.endswith("(an earlier flag; the one since 2026-12-03 10:00 UTC stands)")
    projection.apply(row, not_synced(AlertState.CLEARED, since=newer, reason="The tracking reached the store"))
    assert row.not_synced_since is None


def test_a_clear_without_a_raise_first_leaves_the_order_unflagged():
    row = fresh_row()
    assert projection.apply(row, late(AlertState.CLEARED, reason="Tracking arrived"))[1] == \
        "No longer late: tracking arrived"
    assert row.late_since is None


def test_a_refund_clears_both_flags_and_a_raise_arriving_after_it_sets_nothing():
    row = fresh_row()
    projection.apply(row, late())
    projection.apply(row, not_synced())
    projection.apply(row, refund())
    assert row.status == "refunded" and row.late_since is None and row.not_synced_since is None
    status, words = projection.apply(row, late(at=DUE + timedelta(hours=1)))  # another topic: it may come later
    assert row.late_since is None
    assert words.startswith("Flagged late: ") and words.endswith("(the order is refunded, so it stays unflagged)")


def test_a_cancellation_clears_both_flags():
    row = fresh_row("unpaid")
    row.late_since, row.not_synced_since = DUE, DUE
    projection.apply(row, OrderAmendedV1.create(data=OrderAmendedData(
        order_id="o1", applied=True, cancelled=True, notice="Cancelled by the retailer", amended_at=DUE), **KW))
    assert row.status == "cancelled" and row.late_since is None and row.not_synced_since is None


def test_the_projection_consumes_the_alert_topic_in_its_one_consumer():
    assert T.ORDER_ALERT in handlers.ORDER_EVENT_TOPICS


# --------------------------------------------------------------------------- the API


@pytest.fixture
async def gw(tmp_path):
    settings = Settings(data_dir=tmp_path, environment="test")
    upgrade("gateway", settings.database_url, MIGRATIONS)
    svc = build(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.app), base_url="http://gw") as client:
        retailers = [(await client.post("/admin/v1/retailers", json={"name": n}, headers=ADMIN)).json()
                     for n in ("R", "Other")]
        client.svc, (client.retailer, client.other) = svc, retailers
        client.key = {"Authorization": f"Bearer {retailers[0]['api_key']}"}
        client.other_key = {"Authorization": f"Bearer {retailers[1]['api_key']}"}
        yield client
    await svc.db.dispose()


def received(order_id: str, retailer_id: str, minute: int) -> OrderReceivedV1:
    order = DroplineOrder(
        order_id=order_id, order_number=f"D-{order_id}", retailer_id=retailer_id, store_id="s1", platform="shopify",
        platform_order_id=order_id, platform_order_number=f"#{order_id}", status="unpaid",
        supplier=SupplierTerms(supplier_id="sup", name="Acme", currency="EUR", auto_order=True),
        lines=[OrderLine(line_id="l1", platform_line_id="1", sku="A", title="A", quantity=1, unit_price=Decimal("5"))],
        store_totals=StoreTotals(currency="EUR"))
    return OrderReceivedV1.create(data=order, producer="order-ingest", tenant_id=retailer_id,
                                  correlation_id=f"shopify:{order_id}", occurred_at=PAID + timedelta(minutes=minute))


async def project(gw, *events) -> None:
    for event in events:
        async with gw.svc.db.uow() as uow:
            await handlers.project(uow, event)  # what the Kafka handler does, minus the wake-up
            await uow.commit()


async def flagged_orders(gw) -> None:
    """o-late (late), o-sync (not synced), o-both (both), o-plain (unpaid, no flag); another retailer's
    late order o-theirs."""
    r, other = gw.retailer["retailer_id"], gw.other["retailer_id"]
    await project(gw, *(received(oid, r, i) for i, oid in enumerate(["o-late", "o-sync", "o-both", "o-plain"])),
                  received("o-theirs", other, 9),
                  late(order_id="o-late", tenant_id=r), not_synced(order_id="o-sync", tenant_id=r),
                  late(order_id="o-both", tenant_id=r), not_synced(order_id="o-both", tenant_id=r),
                  late(order_id="o-theirs", tenant_id=other))


async def test_each_order_carries_its_flags_and_the_list_filters_on_them(gw):
    await flagged_orders(gw)
    page = (await gw.get("/api/v1/orders", headers=gw.key)).json()
    flags = {o["order_id"]: (o["late_since"], o["not_synced_since"]) for o in page["orders"]}
    due = "2026-12-01T10:00:00Z"
    assert flags == {"o-late": (due, None), "o-sync": (None, due), "o-both": (due, due), "o-plain": (None, None)}
    lates = (await gw.get("/api/v1/orders", params={"flag": "late"}, headers=gw.key)).json()
    assert [o["order_id"] for o in lates["orders"]] == ["o-both", "o-late"] and lates["total"] == 2
    unsynced = (await gw.get("/api/v1/orders", params={"flag": "not_synced", "q": "o-sync"}, headers=gw.key)).json()
    assert [o["order_id"] for o in unsynced["orders"]] == ["o-sync"]
    detail = (await gw.get("/api/v1/orders/o-both", headers=gw.key)).json()
    assert detail["late_since"] == due and detail["not_synced_since"] == due
    assert [t["summary"] for t in detail["timeline"][-2:]] == [
        f"Flagged late: {LATE_REASON[0].lower()}{LATE_REASON[1:]}",
        "Flagged not synced: the store has not taken the tracking for 26 hours; writing it back fails: 503"]


async def test_the_csv_export_honours_the_flag_filter(gw):
    await flagged_orders(gw)
    r = await gw.get("/api/v1/orders/export.csv", params={"flag": "late"}, headers=gw.key)
    assert r.status_code == 200, r.text
    rows = list(csv.reader(io.StringIO(r.text)))
    assert [row[0] for row in rows[1:]] == ["D-o-both", "D-o-late"]


@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/orders/export.csv"])
@pytest.mark.parametrize("flag", ["LATE", "overdue", ""])
async def test_a_flag_that_does_not_exist_is_422(gw, path, flag):
    r = await gw.get(path, params={"flag": flag}, headers=gw.key)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid_request" and r.json()["message"].startswith("flag: ")


async def test_the_overview_counts_the_signed_in_retailers_flags_only(gw):
    assert (await gw.get("/api/v1/overview", headers=gw.key)).json() == {"late": 0, "not_synced": 0, "unpaid": 0}
    await flagged_orders(gw)
    r = await gw.get("/api/v1/overview", headers=gw.key)
    assert r.status_code == 200 and r.json() == {"late": 2, "not_synced": 2, "unpaid": 4}
    assert (await gw.get("/api/v1/overview", headers=gw.other_key)).json() == {"late": 1, "not_synced": 0,
                                                                                "unpaid": 1}
    r = gw.retailer["retailer_id"]
    await project(gw, late(AlertState.CLEARED, reason="Tracking arrived", order_id="o-late", tenant_id=r),
                  refund("o-both", r))
    assert (await gw.get("/api/v1/overview", headers=gw.key)).json() == {"late": 0, "not_synced": 1, "unpaid": 3}


async def test_the_overview_needs_a_retailer(gw):
    r = await gw.get("/api/v1/overview")
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
