"""The delivery guarantees of the shared infrastructure, on real PostgreSQL and the real broker:
outbox rows reach Kafka (also rows left behind by a crash), a redelivered event has no second
effect, a bad message is dead-lettered with its reason, and the trace crosses the outbox."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlmodel import select

from dropline_infra.db import Database
from dropline_infra.messaging import Consumers, ensure_topics, make_broker
from dropline_infra.migrations import upgrade
from dropline_infra.models import DeadLetter, OutboxMessage, ProcessedEvent
from dropline_infra.outbox import OutboxRelay
from dropline_infra.settings import ServiceSettings
from dropline_schemas import topics as T
from dropline_schemas.events import MessageDeadLetteredV1, OrderForwardedData, OrderForwardedV1

pytestmark = pytest.mark.integration

# order-ingest's migrations create the shared tables (outbox, processed_events, dead_letters, jobs).
MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "order-ingest" / "migrations"

EXPORTER = InMemorySpanExporter()
PROVIDER = TracerProvider()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))


def forwarded(order_id: str) -> OrderForwardedV1:
    return OrderForwardedV1.create(
        data=OrderForwardedData(order_id=order_id, supplier_id="s", supplier_order_id="SUP-1",
                                forwarded_at="2026-11-26T10:00:00Z"),
        producer="test", tenant_id="r1", correlation_id=f"c-{order_id}")


@pytest.fixture
async def infra(pg_url, kafka_bootstrap):
    settings = ServiceSettings(database_url=pg_url, kafka_bootstrap_servers=kafka_bootstrap, consumer_max_attempts=2)
    upgrade("order-ingest", pg_url, MIGRATIONS)
    await ensure_topics(settings)
    db = Database(pg_url)
    broker = make_broker(settings, tracer_provider=PROVIDER)
    await broker.start()
    yield settings, db, broker
    await broker.stop()
    await db.dispose()


async def read_topic(bootstrap: str, topic: str, want: int, timeout: float = 20.0) -> list:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                group_id=f"test-{uuid.uuid4().hex[:8]}")
    await consumer.start()
    out = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(out) < want and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                out += records
    finally:
        await consumer.stop()
    return out


async def test_rows_committed_before_the_relay_ran_are_published_with_their_trace(infra, kafka_bootstrap):
    _, db, broker = infra
    order_id = f"o-{uuid.uuid4().hex[:8]}"
    tracer = PROVIDER.get_tracer("test")
    # A unit of work commits an event and "crashes" before any relay sends it.
    with tracer.start_as_current_span("business transaction") as span:
        trace_id = span.get_span_context().trace_id
        async with db.uow() as uow:
            uow.publish(forwarded(order_id), T.ORDER_FORWARDED, key=order_id)
            await uow.commit()
    # A relay that starts later sweeps it out.
    relay = OutboxRelay(db, broker)
    assert await relay.drain_once() >= 1
    async with db.uow() as uow:
        row = (await uow.session.exec(select(OutboxMessage).where(OutboxMessage.key == order_id))).one()
    assert row.published_at is not None

    records = [r for r in await read_topic(kafka_bootstrap, T.ORDER_FORWARDED.name, 1)
               if r.key == order_id.encode()]
    assert len(records) >= 1
    headers = {k: v.decode() for k, v in records[-1].headers}
    assert json.loads(records[-1].value)["data"]["order_id"] == order_id
    assert headers["event_type"] == "OrderForwarded"
    # traceparent: 00-<trace id>-<span id>-<flags>: the consumer joins the producer's trace.
    assert headers["traceparent"].split("-")[1] == format(trace_id, "032x")


async def test_a_redelivered_event_has_no_second_effect(infra):
    settings, db, broker = infra
    consumers = Consumers(broker, db, settings)
    effects: list[str] = []

    async def handler(uow, event):
        effects.append(event.data.order_id)

    raw = forwarded("o-dup").model_dump_json().encode()
    results = [await consumers.process("test.handler", T.ORDER_FORWARDED, raw, handler, OrderForwardedV1)
               for _ in range(3)]
    assert results == ["applied", "duplicate", "duplicate"]
    assert effects == ["o-dup"]


async def test_concurrent_duplicates_apply_once(infra):
    settings, db, broker = infra
    consumers = Consumers(broker, db, settings)
    effects: list[str] = []

    async def handler(uow, event):
        await asyncio.sleep(0.05)  # both are inside their transaction at once
        effects.append(event.data.order_id)

    raw = forwarded("o-race").model_dump_json().encode()
    results = await asyncio.gather(*(consumers.process("test.race", T.ORDER_FORWARDED, raw, handler, OrderForwardedV1)
                                     for _ in range(2)))
    assert sorted(results) == ["applied", "duplicate"]
    async with db.uow() as uow:
        rows = (await uow.session.exec(select(ProcessedEvent).where(ProcessedEvent.consumer == "test.race"))).all()
    assert len(rows) == 1


async def test_invalid_and_failing_messages_are_dead_lettered_with_the_reason(infra, kafka_bootstrap):
    settings, db, broker = infra
    consumers = Consumers(broker, db, settings)

    async def boom(uow, event):
        raise RuntimeError("supplier catalog is inconsistent")

    assert await consumers.process("test.dl", T.ORDER_FORWARDED, b'{"not": "an event"}', boom,
                                   OrderForwardedV1) == "dead-lettered"
    assert await consumers.process("test.dl", T.ORDER_FORWARDED, forwarded("o-bad").model_dump_json().encode(),
                                   boom, OrderForwardedV1) == "dead-lettered"
    async with db.uow() as uow:
        letters = (await uow.session.exec(select(DeadLetter).where(DeadLetter.consumer == "test.dl"))).all()
    reasons = sorted(letter.reason for letter in letters)
    assert reasons[0].startswith("gave up after 2 attempts: RuntimeError: supplier catalog is inconsistent")
    assert reasons[1].startswith("invalid event")
    await OutboxRelay(db, broker).drain_once()
    notices = [MessageDeadLetteredV1.read(r.value) for r in await read_topic(kafka_bootstrap, T.DEAD_LETTER.name, 2)]
    assert {n.data.consumer for n in notices} >= {"test.dl"}
    assert {n.event_type for n in notices} == {"MessageDeadLettered"}
