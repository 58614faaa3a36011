"""The sync_tracking job against PostgreSQL and, through the whole service, a real Kafka-protocol broker."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from tracking_sync_testkit import (
    FakeShopify,
    Harness,
    fast_settings,
    order_received,
    store_connected,
    tracking_added,
)

from dropline_schemas import topics as T
from tracking_sync.models import SyncFulfillment

pytestmark = pytest.mark.integration


async def test_job_failing_first_with_503_succeeds_next_and_emits_exactly_one_event(pg_url):
    shopify = FakeShopify(script=[503])
    h = await Harness(fast_settings(pg_url), shopify).start()
    try:
        assert h.db.is_postgres
        await h.connect_store()
        await h.deliver(order_received())
        await h.deliver(tracking_added())
        h.worker.concurrency = h.settings.job_concurrency
        worker = asyncio.create_task(h.worker.run())
        try:
            async with asyncio.timeout(15):
                while not (await h.jobs(status="done")):
                    await asyncio.sleep(0.02)
            await asyncio.sleep(0.2)  # would a second run sneak in?
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)

        [job] = await h.jobs()
        assert (job.status, job.attempts) == ("done", 2)
        assert len(shopify.mutations()) == 1 and len(shopify.fulfillments) == 1
        [event] = await h.outbox(T.ORDER_SYNCED)
        assert event["_key"] == "order-1" and event["data"]["already_present"] is False
        assert await h.outbox(T.ORDER_SYNC_FAILED) == []
        assert (await h.get(SyncFulfillment, "trk-1")).platform_fulfillment_id == shopify.fulfillments[0]["id"]
    finally:
        await h.close()


async def test_service_syncs_tracking_from_kafka_to_kafka(pg_url, kafka_bootstrap):
    order_id = f"order-{uuid.uuid4().hex[:8]}"
    shopify = FakeShopify(script=[503])
    settings = fast_settings(pg_url, kafka_bootstrap_servers=kafka_bootstrap, job_poll_interval_seconds=0.05,
                             consumer_max_attempts=6)
    h = Harness(settings, shopify)
    app = h.svc.app
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    consumer = AIOKafkaConsumer(T.ORDER_SYNCED.name, bootstrap_servers=kafka_bootstrap,
                                group_id=f"test-{order_id}", auto_offset_reset="earliest")

    def ours(batch) -> list[dict]:
        values = [json.loads(m.value) for msgs in batch.values() for m in msgs]
        return [v for v in values if v["data"]["order_id"] == order_id]

    try:
        async with app.router.lifespan_context(app):  # migrations, topics, consumers, relay, job worker
            await producer.start()
            connected = store_connected(settings.secrets_key.get_secret_value())
            added = tracking_added(order_id, f"trk-{order_id}")
            # Tracking first: it waits (RetryLater) until the order and the store have arrived.
            await producer.send_and_wait(T.TRACKING_ADDED.name, added.model_dump_json().encode(), key=order_id.encode())
            await producer.send_and_wait(T.CATALOG.name, connected.model_dump_json().encode(), key=b"store-1")
            await producer.send_and_wait(T.ORDER_RECEIVED.name, order_received(order_id).model_dump_json().encode(),
                                         key=order_id.encode())
            await producer.send_and_wait(T.TRACKING_ADDED.name, added.model_dump_json().encode(), key=order_id.encode())
            await consumer.start()
            seen: list[dict] = []
            async with asyncio.timeout(60):
                while not seen:
                    seen += ours(await consumer.getmany(timeout_ms=500))
            seen += ours(await consumer.getmany(timeout_ms=1000))  # anything else for this order?
        assert len(seen) == 1
        assert seen[0]["causation_id"] == str(added.event_id)
        assert len(shopify.fulfillments) == 1
    finally:
        await consumer.stop()
        await producer.stop()
