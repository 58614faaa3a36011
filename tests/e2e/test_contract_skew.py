"""A rolling deploy with a producer one additive version ahead of its consumers: the gateway's newer
version adds fields to StoreWebhookReceived (in the envelope and in the payload), and order-ingest, still
on the contract it knows, reads the event, ingests the order and dead-letters nothing (ADR 29)."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import create_engine, text

from dropline_infra.db import sync_url
from dropline_schemas import topics as T
from dropline_schemas.events import Platform, StoreWebhookReceivedData, StoreWebhookReceivedV1

from .conftest import wait_for
from .helpers import create_store_order, wait_orders

pytestmark = pytest.mark.e2e


def newer_gateways_event(stack, order: dict) -> tuple[str, str, bytes]:
    """What a gateway one additive version ahead would publish for this store order: today's event with
    fields today's contract does not have, at the envelope's level and the payload's."""
    demo = stack.demo
    event = StoreWebhookReceivedV1.create(
        data=StoreWebhookReceivedData(
            delivery_id=str(uuid.uuid4()), platform=Platform.SHOPIFY, store_id=demo["store"]["store_id"],
            shop=demo["shop"], topic="orders/create", platform_delivery_id=str(uuid.uuid4()), payload=order,
            platform_order_id=str(order["id"])),
        producer="gateway", tenant_id=demo["retailer"]["retailer_id"],
        correlation_id=f"shopify:{demo['shop']}:order:{order['id']}")
    body = json.loads(event.model_dump_json())
    body["schema_minor"] = 2  # the envelope grew a field
    body["data"]["received_via"] = {"edge": "eu-west", "tls": "1.3"}  # and so did the payload
    return str(event.event_id), f"{demo['store']['store_id']}:{order['id']}", json.dumps(body).encode()


async def _publish(bootstrap: str, key: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(T.STORE_WEBHOOK_RECEIVED.name, value, key=key.encode(),
                                     headers=[("content-type", b"application/json"),
                                              ("event_type", b"StoreWebhookReceived")])
    finally:
        await producer.stop()


def _rows(stack, service: str, sql: str, **params) -> list:
    engine = create_engine(sync_url(stack.db_urls[service]))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


def test_an_event_from_a_producer_one_additive_version_ahead_is_read_not_dead_lettered(stack, api):
    # No webhook: the newer gateway's event brings the order (or the store's reconciliation, listing it every
    # 2 s here, is first — then the event is still read and applied, as "nothing changed").
    order = create_store_order(stack, lines=[{"sku": "MUG-BLUE", "title": "Blue mug", "quantity": 1,
                                              "price": "14.99"}], deliver=False)["order"]
    event_id, key, value = newer_gateways_event(stack, order)
    dead_before = _rows(stack, "order-ingest", "SELECT id, reason FROM dead_letters")
    asyncio.run(_publish(stack.bootstrap, key, value))
    wait_for("order-ingest to apply the newer gateway's event", lambda: _rows(
        stack, "order-ingest", "SELECT consumer FROM processed_events WHERE event_id = :e", e=event_id))
    assert _rows(stack, "order-ingest", "SELECT id, reason FROM dead_letters") == dead_before
    [row] = wait_orders(api, order["name"], 1)
    assert row["status"] == "unpaid"
