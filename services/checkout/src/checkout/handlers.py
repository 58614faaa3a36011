"""Kafka handlers: the consumer wrapper opens the unit of work and writes the inbox row (so a
redelivered event has no second effect); the handler stores the order and, for a new order with a
supplier, publishes what it costs (OrderPriced) in the same unit of work; a store change of an order
is applied or refused (OrderAmended, see amendments.py)."""

from __future__ import annotations

from dropline_infra.db import UnitOfWork, utcnow
from dropline_infra.messaging import PermanentError, RetryLater
from dropline_schemas import topics as T
from dropline_schemas.events import OrderForwardingFailedV1, OrderReceivedV1, StoreOrderChangedV1

from .amendments import apply_store_change
from .domain import order_priced_event
from .observability import log
from .refunds import request_refund_for_rejection
from .repository import Repository


async def on_order_received(uow: UnitOfWork, event: OrderReceivedV1) -> None:
    order = event.data
    now = utcnow()
    added = await Repository(uow.session).add_order_if_new(order, correlation_id=event.correlation_id, now=now)
    if added:
        priced = order_priced_event(event, priced_at=now)
        if priced is not None:
            uow.publish(priced, T.ORDER_PRICED, key=order.order_id)
        log.info("order stored", order_number=order.order_number, status=order.status.value,
                 priced=priced is not None and priced.data.amounts is not None)
    else:
        # Another event for an order we already have (e.g. replayed by an operator): keep our status.
        log.info("order already known; OrderReceived ignored", order_number=order.order_number)


async def on_store_order_changed(uow: UnitOfWork, event: StoreOrderChangedV1) -> None:
    row = await Repository(uow.session).order(event.data.order_id, for_update=True)
    if row is None:
        # Its OrderReceived (another topic) is on its way: every Dropline order gets one.
        raise RetryLater(f"order {event.data.order_id} not received yet")
    apply_store_change(uow, row, event.data, causation_id=str(event.event_id), now=utcnow())


async def on_order_forwarding_failed(uow: UnitOfWork, event: OrderForwardingFailedV1) -> None:
    """A supplier rejected a paid order: its share of the payment is refunded (the refund sweep
    sends it; nothing calls out from here)."""
    await request_refund_for_rejection(uow, event, utcnow())


async def on_order_update(uow: UnitOfWork, event: StoreOrderChangedV1 | OrderForwardingFailedV1) -> None:
    """The one consumer of store changes and supplier rejections (one group join instead of two)."""
    if isinstance(event, StoreOrderChangedV1):
        await on_store_order_changed(uow, event)
    elif isinstance(event, OrderForwardingFailedV1):
        await on_order_forwarding_failed(uow, event)
    else:
        raise PermanentError(f"checkout does not consume {event.event_type} here")
