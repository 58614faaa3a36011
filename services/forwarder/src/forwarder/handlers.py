"""Kafka handlers: parse, call domain code, record the effect. Each runs in the consumer's unit of work
together with its inbox row (see dropline_infra.messaging)."""

from __future__ import annotations

from dropline_infra.db import UnitOfWork
from dropline_infra.jobs import enqueue
from dropline_infra.messaging import PermanentError, RetryLater
from dropline_infra.observability import get_logger
from dropline_schemas import topics as T
from dropline_schemas.events import OrderPaidV1, SupplierRegisteredV1

from .domain import Route, route
from .forwarding import FORWARD_ORDER, failure_event, forward_payload
from .models import ForwarderSupplier
from .repository import Repository

log = get_logger(__name__)


async def on_catalog(uow: UnitOfWork, event) -> None:
    if not isinstance(event, SupplierRegisteredV1):
        return  # stores and listings are not forwarder's business
    d = event.data
    applied = await Repository(uow.session).apply_supplier(ForwarderSupplier(
        supplier_id=d.terms.supplier_id, name=d.terms.name, auto_order=d.terms.auto_order,
        order_api_url=d.order_api_url, order_api_key_encrypted=d.order_api_key_encrypted, as_of=event.occurred_at))
    # Never log the key, not even encrypted.
    log.info("supplier recorded" if applied else "older supplier event ignored", supplier_id=d.terms.supplier_id,
             auto_order=d.terms.auto_order, has_order_api=bool(d.order_api_url and d.order_api_key_encrypted))


async def on_order_paid(uow: UnitOfWork, event: OrderPaidV1) -> None:
    order = event.data.order
    if order.supplier is None:
        raise PermanentError(f"paid order {order.order_id} has no supplier")
    supplier_id = order.supplier.supplier_id
    decision = route(await Repository(uow.session).supplier_config(supplier_id))
    if decision is Route.UNKNOWN_SUPPLIER:
        # The catalog event for this supplier may not have reached us yet.
        raise RetryLater(f"supplier {supplier_id} not known yet")
    if decision is Route.NOT_AUTO_ORDER:
        # Checkout only sells auto-order suppliers' orders; if one slips through, the retailer orders by hand.
        log.error("paid order of a supplier without auto-order; not forwarded", supplier_id=supplier_id)
        return
    if decision is Route.NO_ORDER_API:
        # Money was captured but there is nowhere to send the order: an operator must see it.
        reason = f"supplier {supplier_id} has auto-order but no order API (URL and key) configured"
        log.error("paid order cannot be forwarded", supplier_id=supplier_id, reason=reason)
        uow.publish(failure_event(forward_payload(event), reason), T.ORDER_FORWARDING_FAILED, key=order.order_id)
        return
    added = await enqueue(uow, FORWARD_ORDER, key=order.order_id, payload=forward_payload(event))
    log.info("forward queued" if added else "forward already queued", supplier_id=supplier_id)
