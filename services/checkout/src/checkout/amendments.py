"""A store order changed after it arrived (StoreOrderChanged from order-ingest): apply the change to
an order no payment has claimed, or keep the order frozen and tell the retailer why (OrderAmended).

Safe against a checkout starting at the same moment: the order row is locked as claim_orders locks
it (PostgreSQL; SQLite serialises writers), so either the change lands first (a cancelled order is
then refused by the claim's conditional UPDATE, an address is in the order_json that is paid and
forwarded), or the claim does (the change sees payment_pending and is kept aside: applied if that
payment fails, dropped once it succeeds). Dropline never cancels with the supplier or refunds.

The retailer cancelling an order (cancel_by_retailer) follows the same discipline: the row locked
like claim_orders locks it, so a cancel and a checkout starting at the same moment go one after the
other and exactly one of them wins."""

from __future__ import annotations

from datetime import datetime

from dropline_infra.db import UnitOfWork
from dropline_schemas import topics as T
from dropline_schemas.events import DroplineOrder, OrderStatus, StoreOrderChangedData

from .domain import (
    Outcome,
    amend,
    order_amended_event,
    order_cancelled_by_retailer_event,
    retailer_may_cancel,
)
from .models import CheckoutOrder
from .observability import log
from .repository import Repository


def apply_store_change(uow: UnitOfWork, row: CheckoutOrder, change: StoreOrderChangedData, *, causation_id: str,
                       now: datetime, after_failed_payment: bool = False) -> Outcome:
    """`row` is locked by the caller. Publishes at most one OrderAmended (through the outbox)."""
    repo = Repository(uow.session)
    order = DroplineOrder.read(row.order_json)
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


def cancel_by_retailer(uow: UnitOfWork, row: CheckoutOrder, *, causation_id: str, now: datetime) -> bool:
    """`row` is locked by the caller. True: cancelled now (one OrderAmended through the outbox);
    False: it was cancelled already (nothing published). A payment in progress or a paid order is
    refused (CheckoutError: payment_in_progress / already_paid)."""
    if not retailer_may_cancel(row.status, order_id=row.order_id, payment_id=row.payment_id):
        log.info("retailer cancel: the order is cancelled already", order_number=row.order_number)
        return False
    order = DroplineOrder.read(row.order_json)
    was = row.status
    Repository(uow.session).amend_order(row, order, cancel=True, cause="cancelled by the retailer", now=now)
    uow.publish(order_cancelled_by_retailer_event(order=order, retailer_id=row.retailer_id,
                                                  correlation_id=row.correlation_id, causation_id=causation_id,
                                                  cancelled_at=now),
                T.ORDER_AMENDED, key=row.order_id)
    log.info("cancelled by the retailer", order_number=row.order_number, was=was)
    return True
