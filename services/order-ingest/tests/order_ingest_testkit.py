"""Test kit for order-ingest: a store platform fake behind the real port (the real Shopify normaliser,
orders kept in memory, failures on demand) and a harness around the real composition root (`build`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

from dropline_infra.jobs import Deferred, JobWorker, Retryable
from dropline_infra.migrations import upgrade
from dropline_infra.models import DeadLetter, Job, OutboxMessage
from dropline_infra.secrets import SecretBox
from dropline_integrations.port import OrderListing, StoreAccess, StoreOrder
from dropline_integrations.shopify import ShopifyPlatform
from dropline_integrations.shopify.normalise import normalise
from dropline_schemas import topics as T
from dropline_schemas.events import (
    DeliveryKind,
    ListingUpsertedData,
    ListingUpsertedV1,
    Platform,
    StoreConnectedData,
    StoreConnectedV1,
    StoreWebhookReceivedData,
    StoreWebhookReceivedV1,
    SupplierRegisteredData,
    SupplierRegisteredV1,
    SupplierTerms,
)
from order_ingest import handlers
from order_ingest.app import MIGRATIONS, build
from order_ingest.settings import Settings

TENANT = "retailer-1"
STORE_ID = "store-1"
SHOP = "demo-store.myshopify.com"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def shopify_order(order_id: int, *, sku: str = "SKU-A", financial_status: str = "paid",
                  updated_at: datetime = T0, address1: str = "Main St 1", email: str = "a@example.com",
                  cancelled_at: datetime | None = None) -> dict[str, Any]:
    """A Shopify REST order; `address1` / `email` / `cancelled_at` stand for a change made in the store."""
    order = {"id": order_id, "name": f"#{order_id}", "currency": "EUR", "financial_status": financial_status,
             "created_at": T0.isoformat(), "updated_at": updated_at.isoformat(), "email": email,
             "line_items": [{"id": order_id * 10, "sku": sku, "title": sku, "quantity": 1, "price": "10.00"}],
             "shipping_address": {"name": "Ann Example", "address1": address1, "city": "Berlin",
                                  "country_code": "DE", "zip": "10115"}}
    if cancelled_at is not None:
        order["cancelled_at"] = cancelled_at.isoformat()
        order["cancel_reason"] = "customer"
    return order


class FakeStore:
    """One store's orders, as its platform API would hand them out; `fail` makes every call raise."""

    platform = Platform.SHOPIFY
    thin_webhooks = True
    connection = ShopifyPlatform.connection

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.fail: Exception | None = None
        self.calls: list[tuple[str, Any]] = []

    def put(self, order: dict[str, Any]) -> None:
        self.orders[str(order["id"])] = order

    def normalise(self, order: Mapping[str, Any]) -> StoreOrder:
        return normalise(order)

    async def fetch_order(self, store: StoreAccess, platform_order_id: str) -> dict[str, Any]:
        self.calls.append(("fetch", platform_order_id))
        assert store.credentials == {"access_token": "shpat_test_token"}
        if self.fail:
            raise self.fail
        return self.orders[platform_order_id]

    async def list_orders(self, store: StoreAccess, updated_since: datetime) -> OrderListing:
        self.calls.append(("list", updated_since))
        if self.fail:
            raise self.fail
        found = sorted((o for o in self.orders.values()
                        if datetime.fromisoformat(o["updated_at"]) >= updated_since),
                       key=lambda o: o["updated_at"])
        newest = datetime.fromisoformat(found[-1]["updated_at"]) if found else None
        return OrderListing(orders=found, newest_update=newest, complete=True)

    async def fulfil(self, store, request):  # not order-ingest's business
        raise AssertionError("order-ingest never writes to a store")


class Harness:
    def __init__(self, database_url: str, store: FakeStore, **overrides):
        values = {"database_url": database_url, "environment": "test", "job_max_attempts": 3,
                  "job_base_delay_seconds": 0.001, "job_max_delay_seconds": 0.01, "consumer_max_attempts": 1,
                  "log_format": "json", "reconcile_interval_seconds": 60, "reconcile_overlap_seconds": 30,
                  "reconcile_lookback_hours": 24 * 365 * 10}
        values.update(overrides)
        self.settings = Settings(**values)
        self.store = store
        self.svc = build(self.settings, platforms={Platform.SHOPIFY: store})
        self.db = self.svc.db
        self.worker = JobWorker(self.db, self.svc.job_kinds, concurrency=1, poll_interval=0.01)
        self.box = SecretBox(self.settings.secrets_key.get_secret_value())

    async def start(self) -> Harness:
        await asyncio.to_thread(upgrade, "order-ingest", self.settings.database_url, MIGRATIONS)
        supplier = SupplierTerms(supplier_id="sup-a", name="Supplier A", currency="EUR", auto_order=True,
                                 payment_methods=["card"])
        await self.catalog(StoreConnectedV1.create(
            data=StoreConnectedData(store_id=STORE_ID, retailer_id=TENANT, platform=Platform.SHOPIFY, shop=SHOP,
                                    api_base_url=f"https://{SHOP}",
                                    credentials_encrypted=self.box.seal({"access_token": "shpat_test_token"})),
            producer="gateway", tenant_id=TENANT, correlation_id="store:1"))
        await self.catalog(SupplierRegisteredV1.create(data=SupplierRegisteredData(terms=supplier), producer="gateway",
                                                       tenant_id="marketplace", correlation_id="supplier:1"))
        await self.catalog(ListingUpsertedV1.create(
            data=ListingUpsertedData(listing_id="l-1", retailer_id=TENANT, store_id=STORE_ID, sku="SKU-A",
                                     supplier_id="sup-a", supplier_sku="A-1", unit_cost=4),
            producer="gateway", tenant_id=TENANT, correlation_id="listing:1"))
        await self.run_jobs()  # the store's first reconciliation (nothing there yet); next one in a minute
        return self

    async def close(self) -> None:
        await self.db.dispose()

    async def catalog(self, event) -> str:
        return await self.svc.consumers.process("order-ingest.catalog", T.CATALOG, event.model_dump_json().encode(),
                                                handlers.on_catalog, None)

    async def deliver(self, delivery_id: str, platform_order_id: str, *, order: dict[str, Any] | None = None,
                      kind: DeliveryKind = DeliveryKind.ORDER_CREATED) -> str:
        event = StoreWebhookReceivedV1.create(
            data=StoreWebhookReceivedData(
                delivery_id=delivery_id, platform=Platform.SHOPIFY, store_id=STORE_ID, shop=SHOP, topic="t",
                platform_delivery_id=f"p-{delivery_id}", payload=order or {"id": platform_order_id}, kind=kind,
                platform_order_id=platform_order_id, carries_order=order is not None),
            producer="gateway", tenant_id=TENANT, correlation_id=f"order:{platform_order_id}")
        handler = handlers.store_webhook_handler(self.svc.intake)
        return await self.svc.consumers.process("order-ingest.store_webhook", T.STORE_WEBHOOK_RECEIVED,
                                                event.model_dump_json().encode(), handler, StoreWebhookReceivedV1)

    async def run_jobs(self) -> None:
        """Run every due job once over (recurring ones come back later; they are not waited for)."""
        for _ in range(50):
            if not await self.worker.run_one():
                return

    async def make_due(self, kind: str) -> None:
        async with self.db.uow() as uow:
            for job in (await uow.session.exec(select(Job).where(Job.kind == kind))).all():
                job.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
                uow.session.add(job)
            await uow.commit()

    async def jobs(self, kind: str) -> list[Job]:
        async with self.db.uow() as uow:
            return list((await uow.session.exec(select(Job).where(Job.kind == kind))).all())

    async def outbox(self, topic: T.Topic, event_type: str | None = None) -> list[dict[str, Any]]:
        async with self.db.uow() as uow:
            rows = (await uow.session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all()
        events = [json.loads(r.payload) for r in rows if r.topic == topic.name]
        return [e for e in events if event_type is None or e["event_type"] == event_type]

    async def dead_letters(self) -> list[DeadLetter]:
        async with self.db.uow() as uow:
            return list((await uow.session.exec(select(DeadLetter))).all())


__all__ = ["Deferred", "FakeStore", "Harness", "Retryable", "T0", "shopify_order"]
