"""order-ingest's use cases: a store order, however it arrives (a webhook that carries it, a fetch for a
thin webhook, a reconciliation listing), becomes Dropline orders once, and only when it is paid. When
it comes again after that with another shipping address, customer contact or cancelled state, each of
its Dropline orders is told (StoreOrderChanged); checkout decides whether that can still be applied.

Outbound calls to the stores run in durable jobs, never in a Kafka handler or a request:
- `fetch_order` (one per thin delivery): reads the order with the store's credentials, then ingests it;
- `reconcile_store` (one per store, recurring): lists what changed since the store's watermark and
  ingests what no webhook brought. Both go through the platform's per-store limiter, so a throttled or
  broken store defers only its own jobs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from dropline_infra.db import UnitOfWork, utcnow
from dropline_infra.jobs import Again, Deferred, JobKind, Permanent, enqueue
from dropline_infra.messaging import PermanentError, RetryLater
from dropline_infra.observability import get_logger
from dropline_infra.secrets import SecretBox
from dropline_integrations.port import InvalidStoreOrder, StoreAccess, StoreOrder, StorePlatform
from dropline_schemas import topics as T
from dropline_schemas.events import (
    DeliveryKind,
    OrderReceivedV1,
    Platform,
    StoreIntakeFailedData,
    StoreIntakeFailedV1,
    StoreOrderChangedData,
    StoreOrderChangedV1,
    StoreReconciledData,
    StoreReconciledV1,
    StoreWebhookReceivedV1,
)

from .domain import Intake, change_fingerprint, intake, listing_window, split_by_supplier, store_order_change
from .models import IngestStore, IngestStoreOrder
from .repository import Repository
from .settings import Settings

log = get_logger(__name__)
PRODUCER = "order-ingest"
FETCH_ORDER = "fetch_order"
RECONCILE_STORE = "reconcile_store"
ORDER_KINDS = {DeliveryKind.ORDER_CREATED, DeliveryKind.ORDER_UPDATED, DeliveryKind.ORDER_CANCELLED}


class OrderIntake:
    def __init__(self, settings: Settings, platforms: Mapping[Platform, StorePlatform]):
        self.settings = settings
        self.platforms = platforms
        self.secrets = SecretBox(settings.secrets_key.get_secret_value())

    def platform(self, name: str) -> StorePlatform:
        try:
            return self.platforms[Platform(name)]
        except (KeyError, ValueError) as exc:
            raise Permanent(f"platform {name!r} is not supported") from exc

    # ------------------------------------------------------------------ webhook deliveries

    async def on_delivery(self, uow: UnitOfWork, event: StoreWebhookReceivedV1) -> None:
        d = event.data
        kind = d.kind or DeliveryKind.ORDER_CREATED  # deliveries recorded before kinds existed
        if kind not in ORDER_KINDS:
            log.info("delivery kind not acted on here", kind=kind.value, topic=d.topic)
            return
        repo = Repository(uow.session)
        store = await repo.store(d.store_id)
        if store is None:
            raise RetryLater(f"store {d.store_id} not known yet")  # its catalog event may still be on its way
        if not d.carries_order:
            if not d.platform_order_id:
                raise PermanentError(f"delivery {d.delivery_id}: a thin delivery without an order id")
            # Acknowledged already; the order is read by a durable job with the store's credentials.
            await enqueue(uow, FETCH_ORDER, d.delivery_id, {
                "store_id": d.store_id, "platform_order_id": d.platform_order_id, "delivery_id": d.delivery_id,
                "kind": kind.value, "tenant_id": event.tenant_id, "correlation_id": event.correlation_id,
                "causation_id": str(event.event_id)})
            log.info("order fetch queued", platform_order_id=d.platform_order_id, delivery=d.delivery_id)
            return
        try:
            order = self.platform(store.platform).normalise(d.payload)
        except (InvalidStoreOrder, Permanent) as exc:
            raise PermanentError(f"delivery {d.delivery_id}: {exc}") from exc
        await self.ingest(uow, store, order, source=f"delivery {d.delivery_id}", delivery_id=d.delivery_id,
                          context=event.caused())

    # ------------------------------------------------------------------ the one way in

    async def ingest(self, uow: UnitOfWork, store: IngestStore, order: StoreOrder, *, source: str,
                     delivery_id: str, context: Mapping[str, Any]) -> Intake:
        repo = Repository(uow.session)
        known = await repo.store_order(store.store_id, order.platform_order_id, for_update=True)
        decision = intake(order, already_ingested=known is not None)
        if known is not None:
            self._follow_change(uow, known, order, source=source, context=context)
            return decision
        if decision is not Intake.INGEST:
            log.info("store order not ingested", platform_order_id=order.platform_order_id, why=decision.value,
                     source=source)
            return decision
        split = split_by_supplier(order, retailer_id=store.retailer_id, store_id=store.store_id,
                                  listings=await repo.listings_for(store.store_id), suppliers=await repo.suppliers())
        numbers = await repo.next_numbers(len(split))
        orders = [o.model_copy(update={"order_number": f"D{n}"}) for o, n in zip(split, numbers, strict=True)]
        uow.session.add(IngestStoreOrder(store_id=store.store_id, platform_order_id=order.platform_order_id,
                                         retailer_id=store.retailer_id, delivery_id=delivery_id,
                                         dropline_order_ids=json.dumps([o.order_id for o in orders]),
                                         received_at=utcnow(), change_fingerprint=change_fingerprint(order),
                                         store_updated_at=order.updated_at))
        await uow.session.flush()  # the unique (store, platform order) row: a concurrent twin fails here
        for o in orders:
            uow.publish(OrderReceivedV1.create(data=o, producer=PRODUCER, **context), T.ORDER_RECEIVED, key=o.order_id)
        log.info("store order split", platform_order_id=order.platform_order_id, source=source,
                 dropline_orders=[(o.order_number, o.status.value) for o in orders])
        return decision

    def _follow_change(self, uow: UnitOfWork, known: IngestStoreOrder, order: StoreOrder, *, source: str,
                       context: Mapping[str, Any]) -> None:
        """An ingested store order came again: publish its address / customer / cancelled state to each
        of its Dropline orders when that differs from what was seen last (the row is locked)."""
        change = store_order_change(order, last_fingerprint=known.change_fingerprint,
                                    last_updated_at=known.store_updated_at)
        if change is None:
            log.info("store order already ingested; nothing changed", platform_order_id=order.platform_order_id,
                     source=source)
            return
        known.change_fingerprint = change.fingerprint
        if order.updated_at is not None:
            known.store_updated_at = order.updated_at
        uow.session.add(known)
        changed_at = order.updated_at or utcnow()
        order_ids = json.loads(known.dropline_order_ids)
        for order_id in order_ids:
            uow.publish(StoreOrderChangedV1.create(
                data=StoreOrderChangedData(order_id=order_id, store_id=known.store_id,
                                           platform_order_id=known.platform_order_id,
                                           shipping_address=order.shipping_address, customer=order.customer,
                                           cancelled=change.cancelled, changed_at=changed_at),
                producer=PRODUCER, **context), T.STORE_ORDER_CHANGED, key=order_id)
        log.info("store order changed after intake", platform_order_id=order.platform_order_id, source=source,
                 cancelled=change.cancelled, dropline_orders=len(order_ids))

    def access(self, store: IngestStore) -> StoreAccess:
        if not store.credentials_encrypted or not store.api_base_url:
            raise Permanent(f"store {store.store_id}: no API credentials recorded")
        try:
            credentials = self.secrets.open_json(store.credentials_encrypted)
        except ValueError as exc:  # wrong secrets_key or not JSON; never echo the token
            raise Permanent(f"store {store.store_id}: credentials could not be read: {exc}") from None
        return StoreAccess(store_id=store.store_id, shop=store.shop, api_base_url=store.api_base_url,
                           credentials=credentials)

    # ------------------------------------------------------------------ jobs

    async def fetch_order(self, uow: UnitOfWork, payload: dict[str, Any]) -> None:
        repo = Repository(uow.session)
        store = await repo.store(payload["store_id"])
        if store is None:
            raise Permanent(f"store {payload['store_id']} is not known")
        kind = DeliveryKind(payload.get("kind") or DeliveryKind.ORDER_CREATED)
        if kind is DeliveryKind.ORDER_CREATED and await repo.store_order(store.store_id,
                                                                          payload["platform_order_id"]):
            # A second "created" says nothing new; an update or a cancellation is read (it may change it).
            log.info("store order already ingested; no fetch", platform_order_id=payload["platform_order_id"])
            return
        platform = self.platform(store.platform)
        raw = await platform.fetch_order(self.access(store), payload["platform_order_id"])
        try:
            order = platform.normalise(raw)
        except InvalidStoreOrder as exc:
            raise Permanent(f"order {payload['platform_order_id']} cannot be read: {exc}") from exc
        await self.ingest(uow, store, order, source=f"fetch for delivery {payload['delivery_id']}",
                          delivery_id=payload["delivery_id"], context=_context(payload))

    async def fetch_gave_up(self, uow: UnitOfWork, payload: dict[str, Any], reason: str) -> None:
        event = StoreIntakeFailedV1.create(
            data=StoreIntakeFailedData(store_id=payload["store_id"], platform_order_id=payload["platform_order_id"],
                                       delivery_id=payload["delivery_id"], reason=reason, at=utcnow()),
            producer=PRODUCER, **_context(payload))
        uow.publish(event, T.STORE_HEALTH, key=payload["store_id"])

    async def reconcile(self, uow: UnitOfWork, payload: dict[str, Any]) -> Again | None:
        """List the store's orders updated since its watermark and ingest what is missing. Never fails
        for good: an error is reported (StoreReconciled with its reason) and the next run tries again."""
        repo = Repository(uow.session)
        store = await repo.store(payload["store_id"])
        if store is None:
            return None  # the store is gone; the job ends
        started = utcnow()
        since = listing_window(store.watermark, started, overlap_seconds=self.settings.reconcile_overlap_seconds,
                               lookback_hours=self.settings.reconcile_lookback_hours)
        examined = ingested = 0
        newest: datetime | None = store.watermark
        error: str | None = None
        next_run = self.settings.reconcile_interval_seconds
        platform = self.platform(store.platform)
        try:
            access = self.access(store)
            for _ in range(self.settings.reconcile_max_pages):
                page = await platform.list_orders(access, since)
                for raw in page.orders:
                    examined += 1
                    try:
                        order = platform.normalise(raw)
                    except InvalidStoreOrder as exc:
                        log.warning("listed order cannot be read; skipped", store_id=store.store_id, reason=str(exc))
                        continue
                    savepoint = await uow.session.begin_nested()
                    try:
                        outcome = await self.ingest(uow, store, order, source="reconciliation",
                                                    delivery_id=f"reconcile:{started.isoformat()}",
                                                    context=_context(payload))
                        await savepoint.commit()
                    except IntegrityError:  # a webhook brought the same order at this very moment
                        await savepoint.rollback()
                        continue
                    ingested += outcome is Intake.INGEST
                if page.newest_update and (newest is None or page.newest_update > newest):
                    newest = page.newest_update
                if page.complete or page.newest_update is None or page.newest_update <= since:
                    break
                since = page.newest_update
        except Deferred as exc:  # the store's budget is spent or it is cooling down: come back when it allows
            error = f"deferred: {exc}"[:500]
            next_run = min(max(exc.retry_after, 1.0), next_run)
        except Exception as exc:  # Retryable, Permanent, a bug: report it, keep what was ingested
            error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("reconciliation run failed", store_id=store.store_id, error=error)
        store.watermark = newest
        uow.session.add(store)
        event = StoreReconciledV1.create(
            data=StoreReconciledData(store_id=store.store_id, started_at=started, finished_at=utcnow(),
                                     examined=examined, ingested=ingested, watermark=newest, error=error),
            producer=PRODUCER, **_context(payload))
        uow.publish(event, T.STORE_HEALTH, key=store.store_id)
        if ingested:
            log.warning("reconciliation found orders no webhook brought", store_id=store.store_id, ingested=ingested)
        return Again(next_run)

    async def reconcile_gave_up(self, uow: UnitOfWork, payload: dict[str, Any], reason: str) -> None:
        log.error("reconciliation job stopped", store_id=payload["store_id"], reason=reason)

    def job_kinds(self) -> list[JobKind]:
        s = self.settings
        return [
            JobKind(FETCH_ORDER, handler=self.fetch_order, on_give_up=self.fetch_gave_up,
                    max_attempts=s.job_max_attempts, base_delay=s.job_base_delay_seconds,
                    max_delay=s.job_max_delay_seconds),
            JobKind(RECONCILE_STORE, handler=self.reconcile, on_give_up=self.reconcile_gave_up,
                    max_attempts=s.job_max_attempts, base_delay=s.job_base_delay_seconds,
                    max_delay=s.job_max_delay_seconds),
        ]


async def schedule_reconciliation(uow: UnitOfWork, store_id: str, tenant_id: str) -> None:
    await enqueue(uow, RECONCILE_STORE, store_id, {"store_id": store_id, "tenant_id": tenant_id,
                                                   "correlation_id": f"store:{store_id}",
                                                   "causation_id": f"reconcile:{store_id}"})


def _context(payload: Mapping[str, Any]) -> dict[str, str]:
    return {"tenant_id": payload["tenant_id"], "correlation_id": payload["correlation_id"],
            "causation_id": payload["causation_id"]}
