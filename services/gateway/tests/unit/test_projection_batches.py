"""The projection applied a batch at a time (one transaction, the batch's orders locked and loaded by one
query up front) gives exactly what it gives applied one event at a time."""

import pytest
from sqlalchemy import event
from sqlmodel import select

from dropline_infra.migrations import upgrade
from dropline_schemas import topics as T
from gateway import handlers
from gateway.app import MIGRATIONS, build
from gateway.models import OrderView, TimelineEntry
from gateway.settings import Settings

from .test_projection import events


@pytest.fixture
async def make_gateway(tmp_path):
    made = []

    def make(name: str):
        (tmp_path / name).mkdir()
        settings = Settings(data_dir=tmp_path / name, environment="test")
        upgrade("gateway", settings.database_url, MIGRATIONS)
        svc = build(settings)
        made.append(svc)
        return svc

    yield make
    for svc in made:
        await svc.db.dispose()


async def projected(svc) -> tuple[tuple, list[tuple]]:
    async with svc.db.uow() as uow:
        row = (await uow.session.exec(select(OrderView).where(OrderView.order_id == "o1"))).one()
        timeline = (await uow.session.exec(select(TimelineEntry).where(TimelineEntry.order_id == "o1")
                                           .order_by(TimelineEntry.id))).all()
    return ((row.status, row.status_rank, row.supplier_order_id, row.tracking_json, row.payment_json, row.usd_total,
             row.order_number, row.search_text),
            [(t.event_type, t.status, t.summary) for t in timeline])


async def test_a_batch_projects_exactly_what_one_event_at_a_time_projects(make_gateway):
    evs = events()
    raws = [(T.ORDER_RECEIVED, e.model_dump_json().encode(), None) for e in evs]
    one_by_one, batched = make_gateway("single"), make_gateway("batched")
    handler_single = handlers.projection_handler(one_by_one.notifier)
    for topic, raw, _record in raws:
        assert await one_by_one.consumers.process("gateway.projection", topic, raw, handler_single, None) == "applied"

    handler = handlers.projection_handler(batched.notifier)
    # The first batch creates the order; the second finds it and locks it up front (no query per event).
    first = await batched.consumers.process_batch("gateway.projection", raws[:2], handler, None,
                                                  prepare=handlers.lock_orders)
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(batched.db.engine.sync_engine, "before_cursor_execute", record)
    rest = await batched.consumers.process_batch("gateway.projection", raws[2:] + raws[:1], handler, None,
                                                 prepare=handlers.lock_orders)
    event.remove(batched.db.engine.sync_engine, "before_cursor_execute", record)
    # The order was read once for the whole batch (lock_orders), not once per event.
    assert sum(1 for st in statements if st.lstrip().upper().startswith("SELECT") and "FROM gateway_orders" in st) == 1
    assert first == ["applied", "applied"]
    assert rest == ["applied"] * (len(raws) - 2) + ["duplicate"]
    single = await projected(one_by_one)
    assert single[0][0] == "synced" and len(single[1]) == len(evs)
    assert await projected(batched) == single


async def test_the_projection_consumer_keeps_each_stores_health_too(make_gateway):
    """One consumer for the order events and the store-health topic: a write-back's outcome projects the
    order AND dates the store's last write-back in one transaction; a reconciliation run (store-health
    topic) reaches the same consumer."""
    from datetime import timedelta

    from dropline_schemas.events import (
        OrderSyncFailedData,
        OrderSyncFailedV1,
        StoreReconciledData,
        StoreReconciledV1,
    )
    from gateway.models import StoreHealth

    from .test_projection import KW, NOW

    svc = make_gateway("health")
    handler = handlers.projection_handler(svc.notifier)
    assert T.STORE_HEALTH in handlers.PROJECTION_TOPICS and T.ORDER_SYNCED in handlers.PROJECTION_TOPICS
    evs = events()
    failed = OrderSyncFailedV1.create(data=OrderSyncFailedData(order_id="o1", tracking_id="t0",
                                                               reason="store said 503"), **KW)
    reconciled = StoreReconciledV1.create(data=StoreReconciledData(
        store_id="s1", started_at=NOW, finished_at=NOW + timedelta(minutes=1), examined=3, ingested=1), **KW)
    for ev, topic in [*((e, T.ORDER_RECEIVED) for e in evs[:4]), (failed, T.ORDER_SYNC_FAILED),
                      (evs[4], T.ORDER_SYNCED), (reconciled, T.STORE_HEALTH)]:
        assert await svc.consumers.process("gateway.projection", topic, ev.model_dump_json().encode(), handler,
                                           None) == "applied"
    async with svc.db.uow() as uow:
        health = (await uow.session.exec(select(StoreHealth).where(StoreHealth.store_id == "s1"))).one()
        timeline = (await uow.session.exec(select(TimelineEntry.event_type).where(TimelineEntry.order_id == "o1"))).all()
    assert health.last_write_back_at == evs[4].occurred_at
    assert health.last_failure_reason == "write-back: store said 503"
    assert (health.last_reconcile_examined, health.last_reconcile_ingested) == (3, 1)
    assert "StoreReconciled" not in timeline and "OrderSyncFailed" in timeline and "OrderSynced" in timeline
