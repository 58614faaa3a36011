"""All of tracking-sync's SQL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from dropline_infra.db import utcnow
from dropline_infra.models import Job

from .models import (
    SyncFulfillment,
    SyncFulfilmentRequest,
    SyncOrder,
    SyncOrderAlert,
    SyncOrderLine,
    SyncStore,
)

_LOCKED_ALERTS = "tracking_sync.locked_alerts"  # Session.info key: alert rows this transaction holds


@dataclass(frozen=True)
class FailingWriteBack:
    """A write-back (sync_tracking or correct_tracking job) that has failed at least once and has not succeeded."""

    order_id: str
    tracking_id: str
    since: datetime  # when it was queued (the tracking arrived): how long the store has been waiting
    last_error: str | None
    tenant_id: str
    correlation_id: str | None
    correction: bool = False  # a correct_tracking job (the new number of a corrected tracking)


def as_utc(moment: datetime) -> datetime:
    """A timestamp read back from the database, aware."""
    # SQLite hands timestamps back without their zone; every timestamp we write is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Repository:
    def __init__(self, session: AsyncSession):
        self.s = session

    async def store(self, store_id: str) -> SyncStore | None:
        return await self.s.get(SyncStore, store_id)

    async def apply_store(self, row: SyncStore) -> bool:
        """Insert or update; an event older than the one applied last is ignored (replays, reorders)."""
        current = await self.store(row.store_id)
        if current is not None and as_utc(current.as_of) > as_utc(row.as_of):
            return False
        await self.s.merge(row)
        return True

    async def order(self, order_id: str, *, for_update: bool = False) -> SyncOrder | None:
        if for_update:
            return (await self.s.exec(select(SyncOrder).where(SyncOrder.order_id == order_id).with_for_update())).first()
        return await self.s.get(SyncOrder, order_id)

    async def earlier_write_back(self, kind: str, key: str, order_id: str) -> Job | None:
        """A pending `kind` job for the same order created before the job `key` (jobs are numbered in the
        order they were queued), if any."""
        mine = select(Job.id).where(Job.kind == kind, Job.key == key).scalar_subquery()
        stmt = (select(Job).where(Job.kind == kind, Job.status == "pending", col(Job.id) < mine,
                                  col(Job.payload).contains(f'"order_id": {json.dumps(order_id)}'))
                .order_by(col(Job.id)).limit(1))
        return (await self.s.exec(stmt)).first()

    async def wake_parked(self, kind: str, order_id: str) -> int:
        """Make the order's parked `kind` jobs (queued before the order was known) due now."""
        stmt = (update(Job).where(Job.kind == kind, Job.status == "pending",
                                  col(Job.payload).contains('"parked_at"'),
                                  col(Job.payload).contains(f'"order_id": {json.dumps(order_id)}'))
                .values(next_attempt_at=utcnow()))
        return (await self.s.exec(stmt)).rowcount  # type: ignore[call-overload]

    async def order_lines(self, order_id: str) -> list[SyncOrderLine]:
        stmt = select(SyncOrderLine).where(SyncOrderLine.order_id == order_id).order_by(SyncOrderLine.line_id)
        return list((await self.s.exec(stmt)).all())

    async def save_order(self, order: SyncOrder, lines: list[SyncOrderLine]) -> None:
        await self.s.merge(order)
        for line in lines:
            await self.s.merge(line)

    async def fulfillment(self, tracking_id: str) -> SyncFulfillment | None:
        return await self.s.get(SyncFulfillment, tracking_id)

    def add_fulfillment(self, row: SyncFulfillment) -> None:
        self.s.add(row)

    async def orders_of_store_order(self, store_id: str, platform_order_id: str) -> list[SyncOrder]:
        """Every Dropline order of one store order (one per supplier)."""
        stmt = (select(SyncOrder).where(SyncOrder.store_id == store_id,
                                        SyncOrder.platform_order_id == platform_order_id)
                .order_by(SyncOrder.order_id))
        return list((await self.s.exec(stmt)).all())

    async def platform_line_ids(self, order_ids: list[str]) -> set[str]:
        """The store line items these Dropline orders hold."""
        stmt = select(SyncOrderLine.platform_line_id).where(col(SyncOrderLine.order_id).in_(order_ids))
        return set((await self.s.exec(stmt)).all())

    async def fulfilment_request(self, delivery_id: str) -> SyncFulfilmentRequest | None:
        return await self.s.get(SyncFulfilmentRequest, delivery_id)

    async def answered_request(self, store_id: str, platform_fulfillment_order_id: str) -> SyncFulfilmentRequest | None:
        """A request for the same fulfillment order that was accepted already (another delivery of it)."""
        stmt = select(SyncFulfilmentRequest).where(
            SyncFulfilmentRequest.store_id == store_id,
            SyncFulfilmentRequest.platform_fulfillment_order_id == platform_fulfillment_order_id,
            SyncFulfilmentRequest.status == "accepted")
        return (await self.s.exec(stmt)).first()

    def add(self, row) -> None:
        self.s.add(row)

    # ------------------------------------------------------------------ late-shipment alerts

    async def order_alert(self, order_id: str, *, for_update: bool = False) -> SyncOrderAlert | None:
        locked = self.s.info.get(_LOCKED_ALERTS)
        if for_update and locked and order_id in locked:
            return locked[order_id]  # locked (or added) in this transaction: no query, so no flush either
        stmt = select(SyncOrderAlert).where(SyncOrderAlert.order_id == order_id)
        if not for_update:
            return (await self.s.exec(stmt)).first()
        row = (await self.s.exec(stmt.with_for_update())).first()
        if row is not None:
            self.s.info.setdefault(_LOCKED_ALERTS, {})[order_id] = row
        return row

    def add_order_alert(self, row: SyncOrderAlert) -> None:
        """A new order's alert row: this transaction's own until it commits (asked again, no query)."""
        self.s.add(row)
        self.s.info.setdefault(_LOCKED_ALERTS, {})[row.order_id] = row

    async def lock_order_alerts(self, order_ids: list[str]) -> None:
        """Lock and load these orders' alert rows in one query, in key order (two transactions locking
        some of the same rows cannot deadlock), for the rest of this transaction: used for a batch of
        facts, so each event's `order_alert(…, for_update=True)` answers without a query."""
        ids = sorted(set(order_ids))
        if not ids:
            return
        stmt = (select(SyncOrderAlert).where(col(SyncOrderAlert.order_id).in_(ids))
                .order_by(col(SyncOrderAlert.order_id)).with_for_update())
        # Held here, not only in the identity map, which keeps unchanged rows by weak reference.
        self.s.info.setdefault(_LOCKED_ALERTS, {}).update({r.order_id: r for r in (await self.s.exec(stmt)).all()})

    async def alert_candidates(self) -> list[SyncOrderAlert]:
        """Orders whose alerts may change: one is raised, or the handling clock runs without tracking."""
        stmt = select(SyncOrderAlert).where(or_(
            col(SyncOrderAlert.late_since).is_not(None), col(SyncOrderAlert.not_synced_since).is_not(None),
            and_(col(SyncOrderAlert.closed_at).is_(None), col(SyncOrderAlert.tracked_at).is_(None),
                 col(SyncOrderAlert.started_at).is_not(None)))).order_by(col(SyncOrderAlert.order_id))
        return list((await self.s.exec(stmt)).all())

    async def write_back_job(self, tracking_id: str, kinds: tuple[str, ...]) -> Job | None:
        """The job that writes one tracking record to the store (sync_tracking, or correct_tracking for
        a correction), whatever its status."""
        stmt = select(Job).where(col(Job.kind).in_(kinds), Job.key == tracking_id).order_by(col(Job.id))
        return (await self.s.exec(stmt)).first()

    async def failing_write_backs(self, kinds: tuple[str, ...],
                                  correction_kind: str | None = None) -> dict[str, FailingWriteBack]:
        """Per order, its longest-waiting write-back job (of `kinds`) that failed at least once and is not
        done (still retrying, or given up), leaving out the records a correction (`correction_kind`) that
        reached the store replaced: the store has the right number then."""
        stmt = (select(Job).where(col(Job.kind).in_(kinds), col(Job.status).in_(["pending", "failed"]),
                                  Job.attempts >= 1)
                .order_by(col(Job.created_at), col(Job.id)))
        jobs = list((await self.s.exec(stmt)).all())
        replaced = await self._replaced(jobs, correction_kind) if jobs and correction_kind else set()
        out: dict[str, FailingWriteBack] = {}
        for job in jobs:
            if job.key in replaced:
                continue
            payload = json.loads(job.payload)
            order_id = payload["order_id"]
            if order_id not in out:
                out[order_id] = FailingWriteBack(order_id=order_id, tracking_id=job.key, since=as_utc(job.created_at),
                                                 last_error=job.last_error, tenant_id=payload["tenant_id"],
                                                 correlation_id=payload.get("correlation_id"),
                                                 correction=job.kind == correction_kind)
        return out

    async def _replaced(self, failing: list[Job], correction_kind: str) -> set[str]:
        """Of the orders of `failing`, the tracking records that a synced correction replaced, directly or
        through corrections that failed in between (bounded by the few failing jobs' orders)."""
        order_ids = {json.loads(job.payload)["order_id"] for job in failing}
        synced = set((await self.s.exec(select(SyncFulfillment.tracking_id)
                                        .where(col(SyncFulfillment.order_id).in_(order_ids)))).all())
        keys = synced | {job.key for job in failing}
        corrections = (await self.s.exec(select(Job).where(Job.kind == correction_kind,
                                                           col(Job.key).in_(keys)))).all()
        corrects = {job.key: json.loads(job.payload)["corrects_tracking_id"] for job in corrections}
        replaced: set[str] = set()
        for tracking_id in synced:
            earlier = corrects.get(tracking_id)
            while earlier is not None and earlier not in replaced:
                replaced.add(earlier)
                earlier = corrects.get(earlier)
        return replaced
