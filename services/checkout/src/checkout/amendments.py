"""A store order changed after it arrived (StoreOrderChanged from order-ingest): apply the change to
an order no payment has claimed, or keep the order frozen and tell the retailer why (OrderAmended).

Safe against a checkout starting at the same moment: the order row is locked as claim_orders locks
it (PostgreSQL; SQLite serialises writers), so either the change lands first (a cancelled order is
then refused by the claim's conditional UPDATE, an address is in the order_json that is paid and
forwarded), or the claim does (the change sees payment_pending and is kept aside: applied if that
payment fails, dropped once it succeeds). Dropline never cancels with the supplier or refunds."""

from __future__ import annotations

from datetime import datetime

from dropline_infra.db import UnitOfWork
from dropline_schemas import topics as T
from dropline_schemas.events import DroplineOrder, OrderStatus, StoreOrderChangedData

from .domain import Outcome, amend, order_amended_event
from .models import CheckoutOrder
from .observability import log
from .repository import Repository


def apply_store_change(uow: UnitOfWork, row: CheckoutOrder, change: StoreOrderChangedData, *, causation_id: str,
                       now: datetime, after_failed_payment: bool = False) -> Outcome:
    """`row` is locked by the caller. Publishes at most one OrderAmended (through the outbox)."""
    repo = Repository(uow.session)
    order = DroplineOrder.model_validate_json(row.order_json)
    amendment = amend(row.status, order, change)
    if amendment.outcome is Outcome.NOTHING:
        log.info("store change changes nothing", order_number=row.order_number, why=amendment.notice)
        if row.pending_change_json:
            row.pending_change_json = None
            uow.session.add(row)
        return amendment.outcome
    notice = amendment.notice
    if amendment.outcome is Outcome.APPLY:
        cause = "cancelled in the store" + (" (after a failed payment)" if after_failed_payment else "")
        repo.amend_order(row, amendment.order, cancel=amendment.cancel, cause=cause, now=now)
        if after_failed_payment:
            notice = f"The payment did not go through, so the store's change was applied now. {notice}"
    elif row.status == OrderStatus.PAYMENT_PENDING.value:
        row.pending_change_json = change.model_dump_json()  # the newest one: each carries the whole state
        uow.session.add(row)
    uow.publish(order_amended_event(amendment=amendment, change=change, status=row.status,
                                    retailer_id=row.retailer_id, correlation_id=row.correlation_id,
                                    causation_id=causation_id, amended_at=now, notice=notice),
                T.ORDER_AMENDED, key=row.order_id)
    log.info("store change", order_number=row.order_number, outcome=amendment.outcome.value,
             cancelled=change.cancelled, status=row.status)
    return amendment.outcome
