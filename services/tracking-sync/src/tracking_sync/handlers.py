"""Kafka handlers: parse, call domain code, record the effect. Each runs in the consumer's unit of work
together with its inbox row (see dropline_infra.messaging)."""

from __future__ import annotations

from dropline_infra.db import UnitOfWork
from dropline_infra.jobs import enqueue
from dropline_infra.messaging import RetryLater
from dropline_infra.observability import get_logger
from dropline_schemas.events import (
    DeliveryKind,
    OrderReceivedV1,
    StoreConnectedV1,
    StoreWebhookReceivedV1,
    TrackingAddedV1,
    TrackingCorrectedV1,
)

from .corrections import CORRECT_TRACKING, correction_payload
from .fulfilment_requests import ACCEPT_FULFILMENT_REQUEST, request_payload
from .models import SyncOrder, SyncOrderLine, SyncStore
from .repository import Repository
from .syncing import SYNC_TRACKING, sync_payload

log = get_logger(__name__)


async def on_catalog(uow: UnitOfWork, event) -> None:
    if not isinstance(event, StoreConnectedV1):
        return  # suppliers and listings are not tracking-sync's business
    d = event.data
    applied = await Repository(uow.session).apply_store(SyncStore(
        store_id=d.store_id, retailer_id=d.retailer_id, platform=d.platform.value, shop=d.shop,
        api_base_url=d.api_base_url, credentials_encrypted=d.credentials_encrypted, as_of=event.occurred_at))
    # Never log credentials, not even encrypted.
    log.info("store recorded" if applied else "older store event ignored", store_id=d.store_id,
             platform=d.platform.value, shop=d.shop)


async def on_order_received(uow: UnitOfWork, event: OrderReceivedV1) -> None:
    """The order and its lines; a write-back parked for it (its tracking came first) is made due now."""
    o = event.data
    repo = Repository(uow.session)
    await repo.wake_parked(SYNC_TRACKING, o.order_id)
    await repo.save_order(
        SyncOrder(order_id=o.order_id, retailer_id=o.retailer_id, store_id=o.store_id, platform=o.platform.value,
                  platform_order_id=o.platform_order_id, order_number=o.order_number, received_at=event.occurred_at),
        [SyncOrderLine(order_id=o.order_id, line_id=line.line_id, platform_line_id=line.platform_line_id,
                       sku=line.sku, quantity=line.quantity) for line in o.lines])


async def _known_order(repo: Repository, order_id: str) -> SyncOrder:
    """The order and its store, once their events (other topics) have reached us; RetryLater until then."""
    order = await repo.order(order_id)
    if order is None:
        raise RetryLater(f"order {order_id} not known yet")
    if await repo.store(order.store_id) is None:
        raise RetryLater(f"store {order.store_id} not known yet")
    return order


async def on_tracking_added(uow: UnitOfWork, event: TrackingAddedV1) -> None:
    """One sync_tracking job per tracking record. An order (or store) not known yet does not hold up the
    partition: the job is queued parked and waits for it (SyncTracking.run)."""
    d = event.data
    repo = Repository(uow.session)
    order = await repo.order(d.order_id)
    if order is not None and await repo.store(order.store_id) is None:
        order = None
    payload = sync_payload(event, order, await repo.order_lines(d.order_id) if order is not None else [])
    added = await enqueue(uow, SYNC_TRACKING, key=d.tracking_id, payload=payload)
    log.info("tracking sync queued" if added else "tracking sync already queued", tracking_id=d.tracking_id,
             waits_for_order=order is None)


async def on_tracking_corrected(uow: UnitOfWork, event: TrackingCorrectedV1) -> None:
    """A wrong number replaced: one correct_tracking job per new record (the job waits for the corrected
    record's own write-back when that is not finished)."""
    d = event.data
    repo = Repository(uow.session)
    order = await _known_order(repo, d.order_id)
    payload = correction_payload(event, order, await repo.order_lines(d.order_id))
    added = await enqueue(uow, CORRECT_TRACKING, key=d.tracking_id, payload=payload)
    log.info("tracking correction queued" if added else "tracking correction already queued",
             tracking_id=d.tracking_id, corrects_tracking_id=d.corrects_tracking_id, source=d.source)


async def on_store_webhook(uow: UnitOfWork, event: StoreWebhookReceivedV1) -> None:
    """Only fulfilment requests (Shopify "Request fulfillment") are tracking-sync's business; order
    deliveries are order-ingest's."""
    d = event.data
    if d.kind is not DeliveryKind.FULFILMENT_REQUESTED:
        return
    if await Repository(uow.session).store(d.store_id) is None:
        raise RetryLater(f"store {d.store_id} not known yet")
    added = await enqueue(uow, ACCEPT_FULFILMENT_REQUEST, key=d.delivery_id, payload=request_payload(event))
    log.info("fulfilment request queued" if added else "fulfilment request already queued",
             delivery_id=d.delivery_id, store_id=d.store_id, platform=d.platform.value)
