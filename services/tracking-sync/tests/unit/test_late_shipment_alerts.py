"""Late-shipment alerts inside one process (SQLite, real migrations, the real consumers and job worker),
with the clock moved forward instead of waiting: a paid order without tracking past its handling days
is flagged late once, tracking clears it; a write-back failing past the threshold is flagged not synced
once, the write-back's success clears it; a refund clears both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from tracking_sync_testkit import (
    TENANT,
    FakeShopify,
    FakeStorePlatform,
    Harness,
    fast_settings,
    order_received,
    tracking_added,
    tracking_corrected,
)

from dropline_infra.db import utcnow
from dropline_infra.models import Job
from dropline_schemas import topics as T
from dropline_schemas.events import (
    FxRecord,
    Money,
    OrderForwardedData,
    OrderForwardedV1,
    OrderPaidData,
    OrderPaidV1,
    OrderReceivedV1,
    OrderRefundedData,
    OrderRefundedV1,
    PaymentMethod,
    Platform,
)
from tracking_sync.alerts import ALERT_FACTS, WATCH_SHIPMENTS
from tracking_sync.corrections import CORRECT_TRACKING
from tracking_sync.models import SyncOrderAlert

WED = datetime(2030, 1, 2, 10, 0, tzinfo=UTC)  # a Wednesday
MONEY = Money(product_cost=Decimal(10), shipping=Decimal(0), vat=Decimal(0), total=Decimal(10))
FX = FxRecord(from_currency="USD", rate=Decimal(1), rate_date="2030-01-02", source="ECB")


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def received(handling_days: int | None, order_id: str = "order-1") -> OrderReceivedV1:
    event = order_received(order_id)
    supplier = event.data.supplier.model_copy(update={"handling_days": handling_days})
    return event.model_copy(update={"data": event.data.model_copy(update={"supplier": supplier})})


def paid(at: datetime, handling_days: int | None = 2, order_id: str = "order-1") -> OrderPaidV1:
    order = received(handling_days, order_id).data
    return OrderPaidV1.create(
        data=OrderPaidData(order_id=order_id, payment_id="pay-1", method=PaymentMethod.CARD, provider="stripe",
                           provider_reference="pi_1", supplier_currency_amounts=MONEY, usd_amounts=MONEY, fx=FX,
                           paid_at=at, order=order),
        producer="checkout", tenant_id=TENANT, correlation_id="store-order-450789469")


def forwarded(at: datetime, order_id: str = "order-1") -> OrderForwardedV1:
    return OrderForwardedV1.create(
        data=OrderForwardedData(order_id=order_id, supplier_id="sup-a", supplier_order_id="S-1", forwarded_at=at),
        producer="forwarder", tenant_id=TENANT, correlation_id="store-order-450789469")


def refunded(at: datetime, order_id: str = "order-1") -> OrderRefundedV1:
    return OrderRefundedV1.create(
        data=OrderRefundedData(order_id=order_id, payment_id="pay-1", refund_id="rf-1", method=PaymentMethod.CARD,
                               provider="stripe", provider_reference="re_1", reason="rejected",
                               usd_amounts=MONEY, supplier_currency_amounts=MONEY, fx=FX, refunded_at=at),
        producer="checkout", tenant_id=TENANT, correlation_id="store-order-450789469")


TOPICS = {OrderReceivedV1: T.ORDER_RECEIVED, OrderPaidV1: T.ORDER_PAID, OrderForwardedV1: T.ORDER_FORWARDED,
          OrderRefundedV1: T.ORDER_REFUNDED}


class AlertHarness(Harness):
    async def fact(self, event) -> str:
        """Deliver to the alerts consumer (tracking-sync.alerts), as the broker would."""
        topic = TOPICS.get(type(event), T.TRACKING_ADDED)
        return await self.svc.consumers.process("tracking-sync.alerts", topic, event.model_dump_json().encode(),
                                                self.svc.alerts.on_alerts, None)

    async def scan(self) -> None:
        async with self.db.uow() as uow:
            await self.svc.alerts.scan(uow, {})
            await uow.commit()

    async def kinds(self) -> list[tuple[str, str]]:
        return [(e["data"]["kind"], e["data"]["state"]) for e in await self.outbox(T.ORDER_ALERT)]


def flagged() -> dict[str, float]:
    """dropline_orders_flagged as /metrics serves it (the process's Prometheus registry)."""
    return {s.labels["kind"]: s.value for f in text_string_to_metric_families(generate_latest(REGISTRY).decode())
            for s in f.samples if s.name == "dropline_orders_flagged"}


@pytest.fixture
def clock() -> Clock:
    return Clock(WED)


@pytest.fixture
async def h(tmp_path, shopify, clock):
    settings = fast_settings(f"sqlite+aiosqlite:///{tmp_path}/tracking_sync.db", job_max_attempts=5,
                             not_synced_after_seconds=7200, late_default_handling_days=3)
    harness = await AlertHarness(settings, shopify, clock=clock).start()
    try:
        yield harness
    finally:
        await harness.close()


async def test_late_is_raised_once_after_the_handling_days_and_cleared_by_tracking(h, clock):
    await h.fact(received(2))
    await h.fact(paid(WED))                      # Wednesday 10:00, 2 business days: due Friday 10:00
    clock.now = datetime(2030, 1, 4, 10, 0, tzinfo=UTC)
    await h.scan()
    assert await h.kinds() == []                 # exactly at the due moment: not late yet
    clock.now += timedelta(minutes=1)
    await h.scan()
    await h.scan()                               # a second scan changes nothing: once per change
    [raised] = await h.outbox(T.ORDER_ALERT)
    assert flagged() == {"late": 1.0, "not_synced": 0.0}
    assert raised["_key"] == "order-1" and raised["tenant_id"] == TENANT
    assert raised["data"] | {"at": None} == {
        "order_id": "order-1", "kind": "late", "state": "raised", "since": "2030-01-04T10:00:00Z",
        "due_at": "2030-01-04T10:00:00Z", "handling_days": 2, "tracking_id": None, "at": None,
        "reason": "No tracking 2 business days after the order was paid (due 2030-01-04 10:00 UTC)"}

    clock.now += timedelta(days=1)
    await h.fact(tracking_added())               # tracking arrives: cleared at once, not at the next scan
    assert await h.kinds() == [("late", "raised"), ("late", "cleared")]
    cleared = (await h.outbox(T.ORDER_ALERT))[-1]["data"]
    assert cleared["reason"] == "Tracking arrived" and cleared["since"] == "2030-01-04T10:00:00Z"
    clock.now += timedelta(days=30)
    await h.scan()
    assert len(await h.kinds()) == 2
    assert flagged() == {"late": 0.0, "not_synced": 0.0}
    row = await h.get(SyncOrderAlert, "order-1")
    assert row.late_since is None and row.tracked_at is not None


async def test_the_weekend_does_not_count(h, clock):
    friday = datetime(2030, 1, 4, 15, 0, tzinfo=UTC)
    await h.fact(paid(friday, handling_days=1))  # due Monday 15:00, not Saturday
    clock.now = datetime(2030, 1, 6, 23, 0, tzinfo=UTC)
    await h.scan()
    assert await h.kinds() == []
    clock.now = datetime(2030, 1, 7, 15, 1, tzinfo=UTC)
    await h.scan()
    assert await h.kinds() == [("late", "raised")]


async def test_no_handling_days_uses_the_default_and_forwarded_first_starts_the_clock(h, clock):
    await h.fact(forwarded(WED))                 # forwarding seen first; the terms are not known yet
    clock.now = WED + timedelta(days=30)
    await h.scan()
    assert await h.kinds() == []                 # no guess before the supplier's handling days are known
    await h.fact(received(None))                 # no handling days: the default, 3 business days from Wednesday
    assert await h.kinds() == [("late", "raised")]
    [raised] = await h.outbox(T.ORDER_ALERT)
    assert raised["data"]["due_at"] == "2030-01-07T10:00:00Z" and raised["data"]["handling_days"] == 3
    await h.fact(paid(WED - timedelta(hours=1), handling_days=5))  # the earlier moment wins; terms stay first-seen
    row = await h.get(SyncOrderAlert, "order-1")
    assert row.started_at == WED - timedelta(hours=1) and row.handling_days is None


async def test_handling_days_zero_is_late_at_the_first_scan_after_payment(h, clock):
    await h.fact(paid(WED, handling_days=0))
    assert await h.kinds() == []
    clock.now = WED + timedelta(seconds=1)
    await h.scan()
    assert await h.kinds() == [("late", "raised")]


async def test_unpaid_and_tracked_orders_are_never_late(h, clock):
    await h.fact(received(1, "unpaid-order"))
    await h.fact(tracking_added("order-1"))
    await h.fact(paid(WED, 1))
    clock.now = WED + timedelta(days=60)
    await h.scan()
    assert await h.kinds() == []


async def test_refund_clears_late(h, clock):
    await h.fact(paid(WED, 1))
    clock.now = WED + timedelta(days=2)
    await h.scan()
    await h.fact(refunded(clock.now))
    assert await h.kinds() == [("late", "raised"), ("late", "cleared")]
    assert (await h.outbox(T.ORDER_ALERT))[-1]["data"]["reason"] == "The order was refunded"
    await h.fact(tracking_added())               # closed: nothing more
    clock.now += timedelta(days=10)
    await h.scan()
    assert len(await h.kinds()) == 2


async def write_back_fails_once(h: AlertHarness, shopify: FakeShopify, failures: int = 1) -> Job:
    h.svc.alerts.clock.now = utcnow()  # jobs are stamped with the real time: the test clock starts there
    await h.connect_store()
    await h.deliver(order_received())
    await h.fact(received(2))
    await h.fact(paid(utcnow(), 2))
    shopify.script = [503] * failures
    await h.deliver(tracking_added())
    await h.fact(tracking_added())
    assert await h.worker.run_one()
    [job] = await h.jobs(status="pending")
    assert job.attempts == 1 and "503" in job.last_error
    return job


async def test_failing_write_back_past_the_threshold_is_not_synced_until_it_succeeds(h, shopify, clock):
    job = await write_back_fails_once(h, shopify)
    clock.now = job.created_at + timedelta(hours=2)
    await h.scan()
    assert await h.kinds() == []                 # failing for exactly the threshold: not yet
    clock.now = job.created_at + timedelta(hours=2, minutes=1)
    await h.scan()
    await h.scan()
    [raised] = await h.outbox(T.ORDER_ALERT)
    d = raised["data"]
    assert (d["kind"], d["state"], d["tracking_id"]) == ("not_synced", "raised", "trk-1")
    assert d["since"] == job.created_at.isoformat().replace("+00:00", "Z")
    assert d["reason"].startswith("The store has not taken the tracking for 2 h; writing it back fails: ")
    assert flagged() == {"late": 0.0, "not_synced": 1.0}

    await h.run_jobs()                           # the store answers again: the write-back succeeds
    assert len(await h.outbox(T.ORDER_SYNCED)) == 1
    await h.scan()
    assert await h.kinds() == [("not_synced", "raised"), ("not_synced", "cleared")]
    assert (await h.outbox(T.ORDER_ALERT))[-1]["data"]["reason"] == "The tracking reached the store"
    assert flagged() == {"late": 0.0, "not_synced": 0.0}
    await h.scan()
    assert len(await h.kinds()) == 2


async def test_a_write_back_given_up_stays_not_synced_until_the_refund(h, shopify, clock):
    await write_back_fails_once(h, shopify, failures=10)
    await h.run_jobs()
    assert len(await h.outbox(T.ORDER_SYNC_FAILED)) == 1
    clock.now = utcnow() + timedelta(hours=3)
    await h.scan()
    assert await h.kinds() == [("not_synced", "raised")]
    await h.fact(refunded(clock.now))
    assert await h.kinds() == [("not_synced", "raised"), ("not_synced", "cleared")]
    await h.scan()
    assert len(await h.kinds()) == 2


async def test_the_scan_is_a_recurring_job(h, clock):
    await h.svc.alerts.schedule()
    await h.svc.alerts.schedule()                # again at the next start: still one job
    await h.fact(paid(WED, 0))
    clock.now = WED + timedelta(minutes=5)
    assert await h.worker.run_one()
    [job] = await h.jobs()
    assert (job.kind, job.status, job.attempts) == (WATCH_SHIPMENTS, "pending", 0)
    assert job.next_attempt_at > utcnow() + timedelta(seconds=h.settings.alert_scan_interval_seconds - 5)
    assert await h.kinds() == [("late", "raised")]


# --------------------------------------------------------------------------- tracking corrections


@pytest.fixture
def store() -> FakeStorePlatform:
    return FakeStorePlatform()


@pytest.fixture
async def hc(tmp_path, store, clock):
    """The alert harness with the store behind an in-memory adapter (it corrects tracking)."""
    settings = fast_settings(f"sqlite+aiosqlite:///{tmp_path}/tracking_sync.db", job_max_attempts=5,
                             not_synced_after_seconds=7200, late_default_handling_days=3)
    harness = await AlertHarness(settings, FakeShopify(), clock=clock, adapters={Platform.SHOPIFY: store}).start()
    try:
        await harness.connect_store()
        await harness.deliver(order_received())
        yield harness
    finally:
        await harness.close()


async def test_a_failing_correction_is_not_synced_until_it_reaches_the_store(hc, store, clock):
    await hc.deliver(tracking_added())
    await hc.run_jobs()
    store.fail_correct = 1
    await hc.deliver(tracking_corrected())
    assert await hc.worker.run_one()
    [job] = [j for j in await hc.jobs(status="pending") if j.kind == CORRECT_TRACKING]
    assert job.attempts == 1
    clock.now = job.created_at + timedelta(hours=2, minutes=1)
    await hc.scan()
    [raised] = await hc.outbox(T.ORDER_ALERT)
    d = raised["data"]
    assert (d["kind"], d["state"], d["tracking_id"]) == ("not_synced", "raised", "trk-2")
    assert d["reason"].startswith("The store has not taken the corrected tracking for 2 h; writing it back fails: ")

    await hc.run_jobs()
    await hc.scan()
    assert await hc.kinds() == [("not_synced", "raised"), ("not_synced", "cleared")]


async def test_a_given_up_write_back_clears_when_its_correction_reaches_the_store(hc, store, clock):
    store.fail_fulfil = 10
    await hc.deliver(tracking_added())
    await hc.run_jobs()
    assert len(await hc.outbox(T.ORDER_SYNC_FAILED)) == 1
    clock.now = utcnow() + timedelta(hours=3)
    await hc.scan()
    assert await hc.kinds() == [("not_synced", "raised")]

    store.fail_fulfil = 0
    await hc.deliver(tracking_corrected())        # the right number, as a fresh fulfilment
    await hc.run_jobs()
    await hc.scan()
    assert await hc.kinds() == [("not_synced", "raised"), ("not_synced", "cleared")]
    assert (await hc.outbox(T.ORDER_ALERT))[-1]["data"]["reason"] == "The tracking reached the store"
    await hc.scan()
    assert len(await hc.kinds()) == 2


async def test_a_correction_never_makes_an_order_late_again(hc, store, clock):
    assert T.TRACKING_CORRECTED not in ALERT_FACTS
    await hc.fact(received(2))
    await hc.fact(paid(WED))
    await hc.fact(tracking_added())
    await hc.deliver(tracking_added())
    await hc.run_jobs()
    await hc.deliver(tracking_corrected())
    await hc.run_jobs()
    clock.now = WED + timedelta(days=30)
    await hc.scan()
    assert await hc.kinds() == []
    assert (await hc.get(SyncOrderAlert, "order-1")).late_since is None


async def test_a_batch_of_facts_reads_its_orders_alert_rows_once_and_gives_what_one_at_a_time_gives(
        tmp_path, shopify, clock):
    """The alerts consumer applies a batch in one transaction: its orders' rows locked and loaded by one
    query up front (`lock_facts`), not one SELECT … FOR UPDATE per event; the rows come out as the same
    facts applied one by one make them."""
    from sqlalchemy import event as sa_event
    from sqlmodel import select

    facts = [received(2, "o1"), received(4, "o2"), paid(WED, 2, "o1"), forwarded(WED - timedelta(hours=2), "o2"),
             paid(WED, 4, "o2"), forwarded(WED + timedelta(hours=1), "o1"), tracking_added("o2", "trk-o2")]
    items = [(TOPICS.get(type(e), T.TRACKING_ADDED), e.model_dump_json().encode(), None) for e in facts]

    async def rows(harness) -> list[tuple]:
        async with harness.db.uow() as uow:
            found = (await uow.session.exec(select(SyncOrderAlert).order_by(SyncOrderAlert.order_id))).all()
        return [(r.order_id, r.handling_days, r.terms_known, r.started_at, r.tracked_at, r.late_since) for r in found]

    made = []
    for name in ("single", "batched"):
        settings = fast_settings(f"sqlite+aiosqlite:///{tmp_path}/{name}.db", late_default_handling_days=3)
        made.append(await AlertHarness(settings, shopify, clock=clock).start())
    single, batched = made
    try:
        for e in facts:
            assert await single.fact(e) == "applied"
        alerts = batched.svc.alerts
        consumers = batched.svc.consumers
        assert await consumers.process_batch("tracking-sync.alerts", items[:2], alerts.on_alerts, None,
                                             prepare=alerts.lock_facts) == ["applied"] * 2  # creates both rows
        statements: list[str] = []

        def record(_conn, _cursor, statement, *_args):
            statements.append(statement)

        engine = batched.db.engine.sync_engine
        sa_event.listen(engine, "before_cursor_execute", record)
        try:
            outcomes = await consumers.process_batch("tracking-sync.alerts", items[2:], alerts.on_alerts, None,
                                                     prepare=alerts.lock_facts)
        finally:
            sa_event.remove(engine, "before_cursor_execute", record)
        assert outcomes == ["applied"] * (len(items) - 2)
        assert sum(1 for st in statements
                   if st.lstrip().upper().startswith("SELECT") and "FROM sync_order_alerts" in st) == 1
        expected = await rows(single)
        assert [r[0] for r in expected] == ["o1", "o2"] and expected[1][3] == WED - timedelta(hours=2)
        assert await rows(batched) == expected
    finally:
        for harness in made:
            await harness.close()
