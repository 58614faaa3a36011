"""The forward_order job against PostgreSQL (row locks, SKIP LOCKED, several worker loops) and, through
the whole service, against a real Kafka-protocol broker."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from forwarder_testkit import (
    FakeSupplier,
    Harness,
    fast_settings,
    make_order,
    order_paid,
    supplier_registered,
)

from dropline_schemas import topics as T
from forwarder.models import ForwarderForward

pytestmark = pytest.mark.integration


async def test_job_failing_first_with_503_succeeds_next_and_emits_exactly_one_event(pg_url):
    supplier = FakeSupplier(script=[503])
    h = await Harness(fast_settings(pg_url), supplier).start()
    try:
        assert h.db.is_postgres
        await h.deliver(supplier_registered(h.settings.secrets_key.get_secret_value()))
        await h.deliver(order_paid())
        # The real worker loop, as many claimers as the service runs by default.
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

        assert [r.headers["Idempotency-Key"] for r in supplier.requests] == ["dropline-order-order-1"] * 2
        [job] = await h.jobs()
        assert (job.status, job.attempts) == ("done", 2)
        [event] = await h.outbox(T.ORDER_FORWARDED)
        assert event["data"]["attempts"] == 2 and event["_key"] == "order-1"
        assert await h.outbox(T.ORDER_FORWARDING_FAILED) == []
        assert (await h.get(ForwarderForward, "order-1")).supplier_order_id == "SO-00001"
    finally:
        await h.close()


async def test_a_failed_attempt_is_not_rerun_by_another_claimer_before_its_outcome_is_recorded(pg_url, monkeypatch):
    from dropline_infra.jobs import JobWorker

    record_failure = JobWorker._record_failure

    async def slow_record_failure(self, *args):
        await asyncio.sleep(0.3)  # a slow database commit widens the window
        await record_failure(self, *args)

    monkeypatch.setattr(JobWorker, "_record_failure", slow_record_failure)
    supplier = FakeSupplier(script=[422])  # permanent: must be tried once and reported
    h = await Harness(fast_settings(pg_url), supplier).start()
    try:
        await h.deliver(supplier_registered(h.settings.secrets_key.get_secret_value()))
        await h.deliver(order_paid())
        h.worker.concurrency = 2
        worker = asyncio.create_task(h.worker.run())
        try:
            await asyncio.sleep(1.0)
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
        assert len(supplier.requests) == 1
        assert await h.outbox(T.ORDER_FORWARDED) == []
        assert len(await h.outbox(T.ORDER_FORWARDING_FAILED)) == 1
    finally:
        await h.close()


async def test_service_forwards_a_paid_order_from_kafka_to_kafka(pg_url, kafka_bootstrap):
    order_id = f"order-{uuid.uuid4().hex[:8]}"
    supplier = FakeSupplier(script=[503])
    settings = fast_settings(pg_url, kafka_bootstrap_servers=kafka_bootstrap, job_poll_interval_seconds=0.05,
                             consumer_max_attempts=6, consumer_retry_later_seconds=60)
    h = Harness(settings, supplier)
    app = h.svc.app
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    consumer = AIOKafkaConsumer(T.ORDER_FORWARDED.name, bootstrap_servers=kafka_bootstrap,
                                group_id=f"test-{order_id}", auto_offset_reset="earliest")
    try:
        async with app.router.lifespan_context(app):  # migrations, topics, consumers, relay, job worker
            await producer.start()
            reg = supplier_registered(settings.secrets_key.get_secret_value())
            paid = order_paid(make_order(order_id))
            await producer.send_and_wait(T.CATALOG.name, reg.model_dump_json().encode(), key=b"sup-1")
            for _ in range(2):  # a duplicate delivery must not make a second forward
                await producer.send_and_wait(T.ORDER_PAID.name, paid.model_dump_json().encode(),
                                             key=order_id.encode())
            await consumer.start()
            seen = []
            async with asyncio.timeout(60):
                while not seen:
                    batch = await consumer.getmany(timeout_ms=500)
                    seen += [json.loads(m.value) for msgs in batch.values() for m in msgs
                             if json.loads(m.value)["data"]["order_id"] == order_id]
            batch = await consumer.getmany(timeout_ms=1000)  # anything else for this order?
            seen += [json.loads(m.value) for msgs in batch.values() for m in msgs
                     if json.loads(m.value)["data"]["order_id"] == order_id]
        assert len(seen) == 1
        assert seen[0]["causation_id"] == str(paid.event_id)
        assert seen[0]["data"]["attempts"] == 2
        assert len(supplier.requests) == 2 and len(supplier.orders) == 1
    finally:
        await consumer.stop()
        await producer.stop()
