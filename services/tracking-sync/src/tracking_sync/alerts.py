"""Late-shipment alerts: tracking-sync owns the shipment's life cycle, so it decides when an order is
late (paid or forwarded, no tracking after the supplier's handling days, business days) and when it is
not synced (its write-back to the store has been failing for longer than a threshold), and publishes
`OrderAlert` (kind late | not_synced, state raised | cleared) through the outbox, once per change.

- The facts come from one consumer (`tracking-sync.alerts`) of OrderReceived and OrderPaid (the supplier's
  handling days travel with the order), OrderPaid / OrderForwarded (the clock starts at the earlier),
  TrackingAdded (tracking arrived: late clears at once) and OrderRefunded (closed: both clear at once).
- A recurring durable job (`watch_shipments`, `Again(interval)`) applies the rule to the open orders and
  to the write-back jobs that failed at least once: that is how a flag is raised as time passes, and how
  not_synced clears when the write-back finally succeeds.
- Tracking corrections (TrackingCorrected, correct_tracking jobs) are write-backs too: a failing one counts
  for not_synced like a failing sync_tracking; one that reached the store stands for the record it
  corrected (a corrected number that never got there no longer keeps the order not synced). They are no
  fact of the late rule: the order had its tracking already, a correction never makes it late again.
- The rule itself is pure (`domain.desired_flags`); the clock is injected (tests move it forward).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import select

from dropline_infra.db import Database, UnitOfWork, utcnow
from dropline_infra.jobs import Again, JobKind, enqueue
from dropline_infra.models import Job
from dropline_infra.observability import get_logger, get_meter
from dropline_schemas import topics as T
from dropline_schemas.events import (
    AlertKind,
    AlertState,
    OrderAlertData,
    OrderAlertV1,
    OrderForwardedV1,
    OrderPaidV1,
    OrderReceivedV1,
    OrderRefundedV1,
    SupplierTerms,
    TrackingAddedV1,
)

from .corrections import CORRECT_TRACKING, WRITE_BACK_KINDS
from .domain import desired_flags
from .models import SyncOrderAlert
from .repository import FailingWriteBack, Repository
from .settings import Settings

log = get_logger(__name__)
PRODUCER = "tracking-sync"
WATCH_SHIPMENTS = "watch_shipments"
JOB_KEY = "all"
ALERT_FACTS = (T.ORDER_RECEIVED, T.ORDER_PAID, T.ORDER_FORWARDED, T.TRACKING_ADDED, T.ORDER_REFUNDED)

Clock = Callable[[], datetime]
# The orders flagged right now, per kind, as the last scan found them (every replica scans the same
# table: a dashboard takes the max over replicas). Served at /metrics as dropline_orders_flagged.
FLAGGED = get_meter("tracking_sync.alerts").create_gauge(
    "dropline.orders.flagged", unit="{order}",
    description="Orders flagged late (no tracking after the supplier's handling days) or not_synced (write-back "
                "failing past the threshold), as of the last late-shipment scan.")


def _earlier(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b < a else a


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} h" if hours >= 1 else f"{delta.total_seconds() / 60:.0f} min"


class ShipmentAlerts:
    def __init__(self, db: Database, settings: Settings, clock: Clock = utcnow):
        self.db = db
        self.settings = settings
        self.clock = clock
        self.not_synced_after = timedelta(seconds=settings.not_synced_after_seconds)

    # ------------------------------------------------------------------ facts (consumer)

    async def on_alerts(self, uow: UnitOfWork, event) -> None:
        """One consumer for every fact the rule needs; events of one order may arrive in any order."""
        repo = Repository(uow.session)
        order_id = event.data.order_id
        row = await repo.order_alert(order_id, for_update=True)
        if row is None:
            row = SyncOrderAlert(order_id=order_id, retailer_id=event.tenant_id, correlation_id=event.correlation_id)
        if isinstance(event, OrderReceivedV1):
            self._terms(row, event.data.supplier)
            row.correlation_id = event.correlation_id
        elif isinstance(event, OrderPaidV1):
            self._terms(row, event.data.order.supplier)
            row.started_at = _earlier(row.started_at, event.data.paid_at)
        elif isinstance(event, OrderForwardedV1):
            row.started_at = _earlier(row.started_at, event.data.forwarded_at)
        elif isinstance(event, TrackingAddedV1):
            row.tracked_at = _earlier(row.tracked_at, event.occurred_at)
        elif isinstance(event, OrderRefundedV1):
            row.closed_at = _earlier(row.closed_at, event.data.refunded_at)
        else:
            return
        # not_synced is the scan's to decide (it reads the write-back jobs); here it only stays or clears.
        self.apply(uow, row, self.clock(), failing=_KEEP)
        repo.add_order_alert(row)

    @staticmethod
    async def lock_facts(uow: UnitOfWork, events: list) -> None:
        """Before a batch of facts: their orders' alert rows locked and loaded in one query."""
        await Repository(uow.session).lock_order_alerts([e.data.order_id for e in events])

    @staticmethod
    def _terms(row: SyncOrderAlert, supplier: SupplierTerms | None) -> None:
        if supplier is not None and not row.terms_known:
            row.handling_days, row.terms_known = supplier.handling_days, True

    # ------------------------------------------------------------------ the rule applied

    def apply(self, uow: UnitOfWork, row: SyncOrderAlert, now: datetime,
              failing: FailingWriteBack | None | object) -> None:
        """Publish the alerts of `row` that differ from what the rule says now, and record them."""
        keep = failing is _KEEP
        failing_since = (row.not_synced_since if keep else failing.since if failing else None)  # type: ignore[union-attr]
        flags = desired_flags(
            started_at=row.started_at if row.terms_known else None,  # the handling days must be known first
            handling_days=row.handling_days, tracked=row.tracked_at is not None, closed=row.closed_at is not None,
            failing_since=failing_since, now=now, default_days=self.settings.late_default_handling_days,
            not_synced_after=timedelta(0) if keep else self.not_synced_after)
        days = self.settings.late_default_handling_days if row.handling_days is None else row.handling_days
        if (row.late_since is None) != (flags.late is None):
            if flags.late is not None:
                self._publish(uow, row, now, AlertKind.LATE, AlertState.RAISED, since=flags.late, due=flags.late,
                              days=days, reason=(f"No tracking {days} business day{'s' if days != 1 else ''} after "
                                                 f"the order was paid (due {flags.late:%Y-%m-%d %H:%M} UTC)"))
            else:
                self._publish(uow, row, now, AlertKind.LATE, AlertState.CLEARED, since=row.late_since, due=row.late_since,
                              days=days, reason=self._late_cleared(row))
            row.late_since = flags.late
        if (row.not_synced_since is None) != (flags.not_synced is None):
            if flags.not_synced is not None:
                assert isinstance(failing, FailingWriteBack)
                waited = _hours(now - flags.not_synced)
                why = f": {failing.last_error}" if failing.last_error else ""
                what = "the corrected tracking" if failing.correction else "the tracking"
                self._publish(uow, row, now, AlertKind.NOT_SYNCED, AlertState.RAISED, since=flags.not_synced,
                              tracking_id=failing.tracking_id,
                              reason=f"The store has not taken {what} for {waited}; writing it back fails{why}"[:1000])
            else:
                reason = "The order was refunded" if row.closed_at else "The tracking reached the store"
                self._publish(uow, row, now, AlertKind.NOT_SYNCED, AlertState.CLEARED, since=row.not_synced_since,
                              reason=reason)
            row.not_synced_since = flags.not_synced

    @staticmethod
    def _late_cleared(row: SyncOrderAlert) -> str:
        if row.closed_at is not None:
            return "The order was refunded"
        if row.tracked_at is not None:
            return "Tracking arrived"
        return "No longer late"

    def _publish(self, uow: UnitOfWork, row: SyncOrderAlert, now: datetime, kind: AlertKind, state: AlertState, *,
                 since: datetime | None, reason: str, due: datetime | None = None, days: int | None = None,
                 tracking_id: str | None = None) -> None:
        event = OrderAlertV1.create(
            data=OrderAlertData(order_id=row.order_id, kind=kind, state=state, since=since or now, reason=reason,
                                due_at=due, handling_days=days if kind is AlertKind.LATE else None,
                                tracking_id=tracking_id, at=now),
            producer=PRODUCER, tenant_id=row.retailer_id,
            correlation_id=row.correlation_id or f"order:{row.order_id}", occurred_at=now)
        uow.publish(event, T.ORDER_ALERT, key=row.order_id)
        log.info("order alert", order_id=row.order_id, kind=kind.value, state=state.value, reason=reason)

    # ------------------------------------------------------------------ the recurring scan

    async def scan(self, uow: UnitOfWork, _payload: dict[str, Any]) -> Again:
        now = self.clock()
        repo = Repository(uow.session)
        failing = await repo.failing_write_backs(WRITE_BACK_KINDS, correction_kind=CORRECT_TRACKING)
        rows = {r.order_id: r for r in await repo.alert_candidates()}
        for order_id, f in failing.items():
            if order_id not in rows:
                row = await repo.order_alert(order_id)
                rows[order_id] = row or SyncOrderAlert(order_id=order_id, retailer_id=f.tenant_id,
                                                       correlation_id=f.correlation_id)
        for row in rows.values():
            before = (row.late_since, row.not_synced_since)
            self.apply(uow, row, now, failing=failing.get(row.order_id))
            if (row.late_since, row.not_synced_since) != before or row not in uow.session:
                repo.add(row)
        # Every flagged order is a candidate, so these are all of them.
        FLAGGED.set(sum(r.late_since is not None for r in rows.values()), {"kind": AlertKind.LATE.value})
        FLAGGED.set(sum(r.not_synced_since is not None for r in rows.values()), {"kind": AlertKind.NOT_SYNCED.value})
        return Again(self.settings.alert_scan_interval_seconds)

    async def gave_up(self, _uow: UnitOfWork, _payload: dict[str, Any], reason: str) -> None:
        log.error("the late-shipment scan stopped; it starts again with the service", reason=reason)

    def job_kind(self) -> JobKind:
        return JobKind(WATCH_SHIPMENTS, handler=self.scan, on_give_up=self.gave_up, max_attempts=1000,
                       base_delay=min(5.0, self.settings.alert_scan_interval_seconds),
                       max_delay=self.settings.alert_scan_interval_seconds)

    async def schedule(self) -> None:
        """Create the recurring scan, or make the existing one due now (also after it stopped)."""
        async with self.db.uow() as uow:
            job = (await uow.session.exec(select(Job).where(Job.kind == WATCH_SHIPMENTS, Job.key == JOB_KEY))).first()
            if job is None:
                await enqueue(uow, WATCH_SHIPMENTS, JOB_KEY, {})
            else:
                job.status, job.attempts, job.next_attempt_at, job.completed_at = "pending", 0, utcnow(), None
                uow.session.add(job)
                uow.job_enqueued()
            await uow.commit()


_KEEP = object()  # apply(failing=_KEEP): leave not_synced as it is unless the order closed
