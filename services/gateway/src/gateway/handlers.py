"""Kafka handler: project every order event into the read model and its timeline, record the
change for the live feed, and wake the live streams (of every replica) once it commits."""

from __future__ import annotations

from dropline_infra.db import UnitOfWork, utcnow
from dropline_infra.notify import ChangeNotifier
from dropline_schemas import topics as T
from dropline_schemas.events import OrderReceivedV1

from . import projection
from .models import OrderView, TimelineEntry
from .repository import Repository

ORDER_EVENT_TOPICS = (T.ORDER_RECEIVED, T.ORDER_PRICED, T.ORDER_PAYMENT_STARTED, T.ORDER_PAID,
                      T.ORDER_PAYMENT_FAILED, T.ORDER_FORWARDED, T.ORDER_FORWARDING_FAILED, T.TRACKING_ADDED,
                      T.ORDER_SYNCED, T.ORDER_SYNC_FAILED)


def projection_handler(notifier: ChangeNotifier):
    async def on_order_event(uow: UnitOfWork, event) -> None:
        order_id, retailer_id = await project(uow, event)
        Repository(uow.session).add_change(retailer_id, order_id, utcnow())
        await notifier.notify(uow, retailer_id)

    return on_order_event


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

