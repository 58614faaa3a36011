"""All of checkout's SQL. State changes are conditional UPDATEs whose row counts say whether this
caller won: that, not a read-then-write, is what keeps an order from being paid twice."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from dropline_schemas.events import DroplineOrder, OrderStatus

from .domain import OrderState
from .ecb import ReferenceDay
from .fx import StoredRate
from .models import (
    CheckoutOrder,
    CheckoutOrderTransition,
    CheckoutPayment,
    CheckoutProviderEvent,
    CheckoutReferenceRate,
    CheckoutRefund,
)

# Payment statuses (internal): the API shows created and processing both as "processing".
CREATED, PROCESSING, REQUIRES_ACTION = "created", "processing", "requires_action"
SUCCEEDED, FAILED, REFUNDED = "succeeded", "failed", "refunded"
OPEN = (CREATED, PROCESSING, REQUIRES_ACTION)
# Refund statuses.
REFUND_PENDING, REFUND_SUCCEEDED, REFUND_FAILED = "pending", "succeeded", "failed"
WHOLE_PAYMENT = "*"  # CheckoutRefund.order_id of a refund of a whole (late) payment


class Repository:
    def __init__(self, session: AsyncSession):
        self.s = session

    # ------------------------------------------------------------------ orders

    async def add_order_if_new(self, order: DroplineOrder, *, correlation_id: str, now: datetime) -> bool:
        """Store an order as received. An order already known keeps its row: its checkout status
        may have moved on (payment_pending, paid) and a re-sent OrderReceived must not reset it."""
        if await self.s.get(CheckoutOrder, order.order_id) is not None:
            return False
        self.s.add(CheckoutOrder(
            order_id=order.order_id, order_number=order.order_number, retailer_id=order.retailer_id,
            supplier_id=order.supplier.supplier_id if order.supplier else None, status=order.status.value,
            order_json=order.model_dump_json(), correlation_id=correlation_id, received_at=now, updated_at=now))
        self.record_transition(order.order_id, None, order.status.value, None, "order received", now)
        return True

    async def order(self, order_id: str, *, for_update: bool = False) -> CheckoutOrder | None:
        """`for_update`: the row locked, as claim_orders locks it, so a store change and a checkout
        starting at the same moment go one after the other (and each sees the other's status)."""
        if not for_update:
            return await self.s.get(CheckoutOrder, order_id)
        stmt = (select(CheckoutOrder).where(CheckoutOrder.order_id == order_id).with_for_update()
                .execution_options(populate_existing=True))
        return (await self.s.exec(stmt)).first()

    def amend_order(self, row: CheckoutOrder, order: DroplineOrder, *, cancel: bool, cause: str,
                    now: datetime) -> None:
        """A store change applied to an order no payment holds: its address/customer, and cancelled."""
        row.order_json = order.model_dump_json()
        row.pending_change_json = None
        row.updated_at = now
        if cancel and row.status != OrderStatus.CANCELLED.value:
            self.record_transition(row.order_id, row.status, OrderStatus.CANCELLED.value, None, cause, now)
            row.status = OrderStatus.CANCELLED.value
        self.s.add(row)

    async def order_states(self, retailer_id: str, order_ids: Sequence[str]) -> dict[str, OrderState]:
        """The retailer's orders among `order_ids` (another retailer's orders are simply not found)."""
        stmt = select(CheckoutOrder).where(CheckoutOrder.retailer_id == retailer_id,
                                           col(CheckoutOrder.order_id).in_(list(order_ids)))
        rows = (await self.s.exec(stmt)).all()
        return {r.order_id: OrderState(order_id=r.order_id, order_number=r.order_number, status=r.status,
                                       supplier_id=r.supplier_id, payment_id=r.payment_id,
                                       order=DroplineOrder.read(r.order_json)) for r in rows}

    async def unpaid_orders(self, retailer_id: str) -> list[CheckoutOrder]:
        stmt = (select(CheckoutOrder)
                .where(CheckoutOrder.retailer_id == retailer_id, CheckoutOrder.status == OrderStatus.UNPAID.value)
                .order_by(col(CheckoutOrder.received_at), col(CheckoutOrder.order_id)))
        return list((await self.s.exec(stmt)).all())

    async def claim_orders(self, retailer_id: str, order_ids: Sequence[str], payment_id: str, now: datetime) -> bool:
        """Move all of `order_ids` from unpaid to payment_pending for `payment_id`, or none of them
        (the caller rolls back when this returns False).

        PostgreSQL: the rows are first locked in order_id order, so two bulk checkouts sharing
        orders queue behind each other instead of deadlocking; the second one, once the first has
        committed, sees status payment_pending and claims fewer rows than asked. SQLite: BEGIN
        IMMEDIATE already serialises writers."""
        ids = sorted(order_ids)
        lock = (select(CheckoutOrder.order_id)
                .where(CheckoutOrder.retailer_id == retailer_id, col(CheckoutOrder.order_id).in_(ids))
                .order_by(col(CheckoutOrder.order_id)).with_for_update())
        await self.s.exec(lock)
        claim = (update(CheckoutOrder)
                 .where(col(CheckoutOrder.order_id).in_(ids), CheckoutOrder.retailer_id == retailer_id,
                        CheckoutOrder.status == OrderStatus.UNPAID.value)
                 .values(status=OrderStatus.PAYMENT_PENDING.value, payment_id=payment_id, updated_at=now)
                 .execution_options(synchronize_session=False))
        result = await self.s.exec(claim)
        if result.rowcount != len(ids):
            return False
        for oid in ids:
            self.record_transition(oid, OrderStatus.UNPAID.value, OrderStatus.PAYMENT_PENDING.value, payment_id,
                                   "checkout started", now)
        return True

    async def orders_held_by(self, payment_id: str) -> list[CheckoutOrder]:
        """The orders `payment_id` has claimed (payment_pending), locked, in order_id order."""
        stmt = (select(CheckoutOrder)
                .where(CheckoutOrder.payment_id == payment_id,
                       CheckoutOrder.status == OrderStatus.PAYMENT_PENDING.value)
                .order_by(col(CheckoutOrder.order_id)).with_for_update())
        return list((await self.s.exec(stmt)).all())

    async def mark_orders_paid(self, payment_id: str, now: datetime) -> list[CheckoutOrder]:
        rows = await self.orders_held_by(payment_id)
        for r in rows:
            r.status, r.paid_at, r.updated_at = OrderStatus.PAID.value, now, now
            r.pending_change_json = None  # frozen: the retailer was told when it came
            self.s.add(r)
            self.record_transition(r.order_id, OrderStatus.PAYMENT_PENDING.value, OrderStatus.PAID.value,
                                   payment_id, "payment succeeded", now)
        return rows

    async def release_orders(self, payment_id: str, reason: str, now: datetime) -> list[CheckoutOrder]:
        rows = await self.orders_held_by(payment_id)
        for r in rows:
            r.status, r.payment_id, r.updated_at = OrderStatus.UNPAID.value, None, now
            self.s.add(r)
            self.record_transition(r.order_id, OrderStatus.PAYMENT_PENDING.value, OrderStatus.UNPAID.value,
                                   payment_id, f"payment failed: {reason}", now)
        return rows

    def record_transition(self, order_id: str, from_status: str | None, to_status: str, payment_id: str | None,
                          cause: str, now: datetime) -> None:
        self.s.add(CheckoutOrderTransition(order_id=order_id, from_status=from_status, to_status=to_status,
                                           payment_id=payment_id, cause=cause, at=now))

    async def transitions(self, order_id: str) -> list[CheckoutOrderTransition]:
        stmt = (select(CheckoutOrderTransition).where(CheckoutOrderTransition.order_id == order_id)
                .order_by(col(CheckoutOrderTransition.id)))
        return list((await self.s.exec(stmt)).all())

    # ------------------------------------------------------------------ payments

    def add_payment(self, payment: CheckoutPayment) -> None:
        self.s.add(payment)

    async def payment(self, payment_id: str) -> CheckoutPayment | None:
        stmt = select(CheckoutPayment).where(CheckoutPayment.payment_id == payment_id)
        return (await self.s.exec(stmt.execution_options(populate_existing=True))).first()

    async def payment_for_request(self, retailer_id: str, request_id: str) -> CheckoutPayment | None:
        stmt = select(CheckoutPayment).where(CheckoutPayment.retailer_id == retailer_id,
                                             CheckoutPayment.request_id == request_id)
        return (await self.s.exec(stmt)).first()

    async def set_reference(self, payment_id: str, reference: str, now: datetime) -> bool:
        """created → processing with the provider's reference. False when the payment is no longer
        `created` (the recovery loop gave up on it meanwhile): then it must never be charged."""
        stmt = (update(CheckoutPayment)
                .where(CheckoutPayment.payment_id == payment_id, CheckoutPayment.status == CREATED)
                .values(status=PROCESSING, provider_reference=reference, updated_at=now)
                .execution_options(synchronize_session=False))
        return (await self.s.exec(stmt)).rowcount == 1

    async def await_buyer(self, payment_id: str, action_json: str, now: datetime) -> bool:
        """processing → requires_action (the buyer must approve or authenticate). The abandonment
        clock starts here; a payment already waiting keeps its clock."""
        stmt = (update(CheckoutPayment)
                .where(CheckoutPayment.payment_id == payment_id, CheckoutPayment.status == PROCESSING)
                .values(status=REQUIRES_ACTION, action_json=action_json, updated_at=now)
                .execution_options(synchronize_session=False))
        return (await self.s.exec(stmt)).rowcount == 1

    async def resume_payment(self, payment_id: str, now: datetime) -> bool:
        """requires_action → processing (the buyer approved; the payment is being taken)."""
        stmt = (update(CheckoutPayment)
                .where(CheckoutPayment.payment_id == payment_id, CheckoutPayment.status == REQUIRES_ACTION)
                .values(status=PROCESSING, action_json=None, updated_at=now)
                .execution_options(synchronize_session=False))
        return (await self.s.exec(stmt)).rowcount == 1

    async def reopen_payment(self, payment_id: str, now: datetime) -> bool:
        """failed → processing (a late approval whose orders were claimed again)."""
        stmt = (update(CheckoutPayment)
                .where(CheckoutPayment.payment_id == payment_id, CheckoutPayment.status == FAILED)
                .values(status=PROCESSING, failure_reason=None, completed_at=None, updated_at=now)
                .execution_options(synchronize_session=False))
        return (await self.s.exec(stmt)).rowcount == 1

    async def set_capture_reference(self, payment_id: str, capture_reference: str) -> None:
        stmt = (update(CheckoutPayment).where(CheckoutPayment.payment_id == payment_id)
                .values(capture_reference=capture_reference).execution_options(synchronize_session=False))
        await self.s.exec(stmt)

    async def payment_by_reference(self, provider: str, reference: str) -> CheckoutPayment | None:
        stmt = select(CheckoutPayment).where(CheckoutPayment.provider == provider,
                                             CheckoutPayment.provider_reference == reference)
        return (await self.s.exec(stmt.execution_options(populate_existing=True))).first()

    async def waiting_payments(self, cutoff: datetime, limit: int = 50) -> list[CheckoutPayment]:
        """Payments waiting for the buyer since before `cutoff` (abandoned checkouts)."""
        stmt = (select(CheckoutPayment)
                .where(CheckoutPayment.status == REQUIRES_ACTION, col(CheckoutPayment.updated_at) < cutoff)
                .order_by(col(CheckoutPayment.updated_at)).limit(limit))
        return list((await self.s.exec(stmt)).all())

    async def finish_payment(self, payment_id: str, status: str, *, from_statuses: Sequence[str],
                             failure_reason: str | None, now: datetime) -> bool:
        """Close a payment once. On PostgreSQL the row lock makes a concurrent finisher wait and then
        find the status changed (row count 0)."""
        stmt = (update(CheckoutPayment)
                .where(CheckoutPayment.payment_id == payment_id, col(CheckoutPayment.status).in_(list(from_statuses)))
                .values(status=status, failure_reason=failure_reason, updated_at=now, completed_at=now)
                .execution_options(synchronize_session=False))
        return (await self.s.exec(stmt)).rowcount == 1

    async def stuck_payments(self, cutoff: datetime, limit: int = 50) -> list[CheckoutPayment]:
        stmt = (select(CheckoutPayment)
                .where(col(CheckoutPayment.status).in_([CREATED, PROCESSING]), col(CheckoutPayment.updated_at) < cutoff)
                .order_by(col(CheckoutPayment.updated_at)).limit(limit))
        return list((await self.s.exec(stmt)).all())

    async def mark_orders_refunded(self, payment_id: str, order_ids: Sequence[str], cause: str,
                                   now: datetime) -> list[CheckoutOrder]:
        stmt = (select(CheckoutOrder).where(CheckoutOrder.payment_id == payment_id,
                                            col(CheckoutOrder.order_id).in_(list(order_ids)))
                .order_by(col(CheckoutOrder.order_id)).with_for_update())
        rows = list((await self.s.exec(stmt)).all())
        for r in rows:
            if r.status != OrderStatus.REFUNDED.value:
                self.record_transition(r.order_id, r.status, OrderStatus.REFUNDED.value, payment_id, cause, now)
                r.status, r.updated_at = OrderStatus.REFUNDED.value, now
                self.s.add(r)
        return rows

    async def lease_payment(self, payment_id: str, status: str, cutoff: datetime, now: datetime) -> bool:
        """Take a stuck payment for one recovery attempt: bumping updated_at keeps other replicas
        (and the next sweep) away from it for another `payment_recovery_after_seconds`."""
        stmt = (update(CheckoutPayment)
                .where(CheckoutPayment.payment_id == payment_id, CheckoutPayment.status == status,
                       col(CheckoutPayment.updated_at) < cutoff)
                .values(updated_at=now)
                .execution_options(synchronize_session=False))
        return (await self.s.exec(stmt)).rowcount == 1


    # ------------------------------------------------------------------ refunds

    def add_refund(self, refund: CheckoutRefund) -> None:
        self.s.add(refund)

    async def refund_for(self, payment_id: str, order_id: str) -> CheckoutRefund | None:
        stmt = select(CheckoutRefund).where(CheckoutRefund.payment_id == payment_id,
                                            CheckoutRefund.order_id == order_id)
        return (await self.s.exec(stmt)).first()

    async def refunds_of(self, payment_id: str) -> list[CheckoutRefund]:
        stmt = (select(CheckoutRefund).where(CheckoutRefund.payment_id == payment_id)
                .order_by(col(CheckoutRefund.created_at), col(CheckoutRefund.refund_id)))
        return list((await self.s.exec(stmt.execution_options(populate_existing=True))).all())

    async def due_refunds(self, cutoff: datetime, limit: int = 50) -> list[CheckoutRefund]:
        """Pending refunds not touched since `cutoff` (new ones are created with an old updated_at)."""
        stmt = (select(CheckoutRefund)
                .where(CheckoutRefund.status == REFUND_PENDING, col(CheckoutRefund.updated_at) < cutoff)
                .order_by(col(CheckoutRefund.updated_at)).limit(limit))
        return list((await self.s.exec(stmt)).all())

    async def lease_refund(self, refund_id: str, cutoff: datetime, now: datetime) -> bool:
        stmt = (update(CheckoutRefund)
                .where(CheckoutRefund.refund_id == refund_id, CheckoutRefund.status == REFUND_PENDING,
                       col(CheckoutRefund.updated_at) < cutoff)
                .values(updated_at=now).execution_options(synchronize_session=False))
        return (await self.s.exec(stmt)).rowcount == 1

    async def finish_refund(self, refund_id: str, status: str, *, provider_reference: str | None,
                            failure_reason: str | None, now: datetime) -> bool:
        stmt = (update(CheckoutRefund)
                .where(CheckoutRefund.refund_id == refund_id, CheckoutRefund.status == REFUND_PENDING)
                .values(status=status, provider_reference=provider_reference, failure_reason=failure_reason,
                        updated_at=now, completed_at=now)
                .execution_options(synchronize_session=False))
        return (await self.s.exec(stmt)).rowcount == 1

    # ------------------------------------------------------------------ provider webhooks (inbox)

    async def add_provider_event(self, event: CheckoutProviderEvent) -> bool:
        """Store a verified delivery once per (provider, event id). False: seen before."""
        if await self.s.get(CheckoutProviderEvent, (event.provider, event.event_id)) is not None:
            return False
        self.s.add(event)
        return True

    async def provider_event(self, provider: str, event_id: str) -> CheckoutProviderEvent | None:
        return await self.s.get(CheckoutProviderEvent, (provider, event_id))

    async def unapplied_events(self, cutoff: datetime, limit: int = 50) -> list[CheckoutProviderEvent]:
        stmt = (select(CheckoutProviderEvent)
                .where(col(CheckoutProviderEvent.applied_at).is_(None), col(CheckoutProviderEvent.received_at) < cutoff)
                .order_by(col(CheckoutProviderEvent.received_at)).limit(limit))
        return list((await self.s.exec(stmt)).all())

    async def mark_event_applied(self, provider: str, event_id: str, outcome: str, now: datetime) -> None:
        stmt = (update(CheckoutProviderEvent)
                .where(CheckoutProviderEvent.provider == provider, CheckoutProviderEvent.event_id == event_id)
                .values(applied_at=now, outcome=outcome).execution_options(synchronize_session=False))
        await self.s.exec(stmt)


def order_ids_of(payment: CheckoutPayment) -> list[str]:
    return json.loads(payment.order_ids)


class RatesRepository:
    """The fetched ECB reference rates (checkout_reference_rates)."""

    def __init__(self, session: AsyncSession):
        self.s = session

    async def add_days(self, days: Sequence[ReferenceDay], *, source_url: str, now: datetime
                       ) -> tuple[int, list[str]]:
        """Store the (date, currency) rates not stored yet. Returns (rows added, differences): a
        stored rate is never rewritten; a document disagreeing with it is reported, not applied."""
        if not days:
            return 0, []
        stmt = select(CheckoutReferenceRate).where(col(CheckoutReferenceRate.rate_date).in_([d.day for d in days]))
        known = {(r.rate_date, r.currency): r for r in (await self.s.exec(stmt)).all()}
        added, differences = 0, []
        for d in days:
            for currency, rate in d.rates.items():
                row = known.get((d.day, currency))
                if row is not None:
                    if Decimal(row.rate_per_eur) != rate:
                        differences.append(f"{d.day.isoformat()} {currency}: stored {row.rate_per_eur}, now {rate}")
                    continue
                self.s.add(CheckoutReferenceRate(rate_date=d.day, currency=currency, rate_per_eur=str(rate),
                                                 source_url=source_url, fetched_at=now))
                added += 1
        return added, differences

    async def recent(self, currencies: Sequence[str], on_or_before: date, *, days: int = 31) -> list[StoredRate]:
        """The stored rates of `currencies` dated on or before `on_or_before`, newest first, at
        most `days` dates back (enough to find the last published day; older ones are stale anyway)."""
        stmt = (select(CheckoutReferenceRate)
                .where(col(CheckoutReferenceRate.currency).in_(list(currencies)),
                       CheckoutReferenceRate.rate_date <= on_or_before,
                       CheckoutReferenceRate.rate_date > on_or_before - timedelta(days=days))
                .order_by(col(CheckoutReferenceRate.rate_date).desc()))
        return [StoredRate(day=r.rate_date, currency=r.currency, per_eur=Decimal(r.rate_per_eur),
                           source_url=r.source_url) for r in (await self.s.exec(stmt)).all()]

    async def newest_day(self) -> date | None:
        stmt = select(CheckoutReferenceRate.rate_date).order_by(col(CheckoutReferenceRate.rate_date).desc()).limit(1)
        return (await self.s.exec(stmt)).first()
