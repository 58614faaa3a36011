"""Kafka handlers: the consumer wrapper opens the unit of work and writes the inbox row (so a
redelivered event has no second effect); the handler only stores the order."""

from __future__ import annotations

from dropline_platform.db import UnitOfWork, utcnow
from dropline_schemas.events import OrderReceivedV1

from .observability import log
from .repository import Repository


async def on_order_received(uow: UnitOfWork, event: OrderReceivedV1) -> None:
    order = event.data
    added = await Repository(uow.session).add_order_if_new(order, correlation_id=event.correlation_id, now=utcnow())
    if added:
        log.info("order stored", order_number=order.order_number, status=order.status.value)
    else:
        # Another event for an order we already have (e.g. replayed by an operator): keep our status.
        log.info("order already known; OrderReceived ignored", order_number=order.order_number)
