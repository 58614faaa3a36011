"""Kafka handler: project every order event into the read model and its timeline, record the
change for the live feed, and wake the live streams (of every replica) once it commits."""

from __future__ import annotations

from dropline_infra.db import UnitOfWork, utcnow
from dropline_infra.notify import ChangeNotifier
from dropline_schemas import topics as T
from dropline_schemas.events import (
    OrderReceivedV1,
    OrderSyncedV1,
    OrderSyncFailedV1,
    StoreIntakeFailedV1,
    StoreReconciledV1,
)

from . import projection
from .models import OrderView, TimelineEntry
from .repository import Repository

ORDER_EVENT_TOPICS = (T.ORDER_RECEIVED, T.ORDER_PRICED, T.ORDER_PAYMENT_STARTED, T.ORDER_PAID,
                      T.ORDER_PAYMENT_FAILED, T.ORDER_FORWARDED, T.ORDER_FORWARDING_FAILED, T.TRACKING_ADDED,
                      T.TRACKING_CORRECTED, T.ORDER_SYNCED, T.ORDER_SYNC_FAILED, T.ORDER_AMENDED,
                      T.FULFILMENT_REQUEST, T.ORDER_REFUNDED, T.ORDER_ALERT)


# Every event the gateway reads, through ONE consumer: the order events, and a store's intake health.
# A write-back's outcome (OrderSynced / OrderSyncFailed) is both: one transaction and one offset
# commit for both effects, not one per consumer. Nothing here waits for another event (no
# RetryLater), so one consumer for all of them never holds one topic up behind another.
PROJECTION_TOPICS = (*ORDER_EVENT_TOPICS, T.STORE_HEALTH)
_STORE_EVENTS = (StoreReconciledV1, StoreIntakeFailedV1)
_WRITE_BACK_OUTCOMES = (OrderSyncedV1, OrderSyncFailedV1)


def projection_handler(notifier: ChangeNotifier):
    async def on_order_event(uow: UnitOfWork, event) -> None:
        if isinstance(event, _STORE_EVENTS):
            await on_store_health(uow, event)
            return
        order_id, retailer_id = await project(uow, event)
        repo = Repository(uow.session)
        repo.add_change(retailer_id, order_id, utcnow())
        await notifier.notify(uow, retailer_id)
        if isinstance(event, _WRITE_BACK_OUTCOMES):
            order = await repo.order(order_id, for_update=True)  # projected just now, locked: no new lock
            await on_store_health(uow, event, store_id=order.store_id if order else None)

    return on_order_event


async def lock_orders(uow: UnitOfWork, events: list) -> None:
    """Before a batch of order events: lock and load all their orders in one query, so each event's
    projection reads its order from the session — no query per event, and the batch's inserts (timeline,
    live feed, inbox) go to the database together at commit instead of one flush per event."""
    await Repository(uow.session).lock_orders(projection.event_order_id(e) for e in events
                                              if not isinstance(e, _STORE_EVENTS))


async def project(uow: UnitOfWork, event) -> tuple[str, str]:
    repo = Repository(uow.session)
    order_id = projection.event_order_id(event)
    row = await repo.order(order_id, for_update=True)
    now = utcnow()
    if row is None:
        row = OrderView(order_id=order_id, retailer_id=event.tenant_id, status="unpaid", created_at=event.occurred_at,
                        updated_at=now)
    if isinstance(event, OrderReceivedV1):
        row.correlation_id = event.correlation_id
        row.created_at = event.occurred_at
    status, summary = projection.apply(row, event)
    row.updated_at = now
    repo.add(row)
    repo.add(TimelineEntry(order_id=order_id, event_id=str(event.event_id), event_type=event.event_type,
                           status=status, summary=summary, occurred_at=event.occurred_at, recorded_at=now))
    return order_id, row.retailer_id



async def on_store_health(uow: UnitOfWork, event, *, store_id: str | None = None) -> None:
    """Per-store sync health: reconciliation runs, intake failures, and (`store_id` = the order's store)
    write-backs and their failures."""
    repo = Repository(uow.session)
    if isinstance(event, _STORE_EVENTS):
        store_id = event.data.store_id
    elif not store_id:
        return  # an order this gateway never saw from its store: nothing to attribute
    row = await repo.store_health(store_id, for_update=True)
    if isinstance(event, StoreReconciledV1):
        d = event.data
        row.last_reconciled_at = d.finished_at
        row.last_reconcile_examined, row.last_reconcile_ingested, row.last_reconcile_error = \
            d.examined, d.ingested, d.error
        if d.error:
            row.last_failure_at, row.last_failure_reason = d.finished_at, f"reconciliation: {d.error}"
    elif isinstance(event, StoreIntakeFailedV1):
        d = event.data
        row.last_failure_at = d.at
        row.last_failure_reason = f"order {d.platform_order_id} could not be read: {d.reason}"
    elif isinstance(event, OrderSyncedV1):
        if row.last_write_back_at is None or event.occurred_at > row.last_write_back_at:
            row.last_write_back_at = event.occurred_at
    elif isinstance(event, OrderSyncFailedV1):
        row.last_failure_at, row.last_failure_reason = event.occurred_at, f"write-back: {event.data.reason}"
    repo.add(row)
