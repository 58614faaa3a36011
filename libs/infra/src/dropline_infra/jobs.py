"""Durable jobs for side effects outside the database (HTTP calls to suppliers and stores).

Why not call out from the Kafka handler: an outage of one supplier would block the whole
partition, and a retry schedule would live only in memory. Instead the handler records a
job (same transaction as its inbox row); workers run due jobs:

- a job is claimed with a row lock held for the whole attempt (PostgreSQL: FOR UPDATE SKIP
  LOCKED, so replicas never run the same job at once), the side effect runs, and the outcome
  and its events commit together. A crash during the call rolls the claim back; the job runs
  again after a restart, so the side effect must be idempotent (idempotency key, or look
  before writing) — every job handler in Dropline is;
- `Retryable` failures are retried with exponential backoff and jitter, up to `max_attempts`;
  after that, or on `Permanent`, the job is marked failed and `on_give_up` emits the event an
  operator sees;
- `Deferred` means "not now, and nothing was tried" (our own per-store rate accounting, a store
  cooling down after failures): the job moves to `retry_after` without spending an attempt;
- a handler that returns `Again(seconds)` committed its work and runs again later (recurring
  work such as a store's reconciliation), with its attempts reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from opentelemetry import context, propagate, trace
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select

from .db import Database, UnitOfWork, utcnow
from .models import Job
from .observability import bound, get_logger

log = get_logger(__name__)
tracer = trace.get_tracer("dropline.jobs")


class Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class Permanent(Exception):
    pass


class Deferred(Exception):
    """Nothing was attempted; run the job again after ``retry_after`` seconds without counting an attempt."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = max(float(retry_after), 0.0)


@dataclass(frozen=True)
class Again:
    """Returned by a handler: its work is committed; the same job runs again after ``after`` seconds."""

    after: float


async def enqueue(uow: UnitOfWork, kind: str, key: str, payload: dict[str, Any]) -> bool:
    """Add a job unless one with the same (kind, key) exists. Returns True when added.
    One statement: INSERT … ON CONFLICT (kind, key) DO NOTHING, the unique constraint deciding."""
    headers: dict[str, str] = {}
    propagate.inject(headers)
    now = utcnow()
    insert = pg_insert if uow.db.is_postgres else sqlite_insert
    stmt = insert(Job).values(kind=kind, key=key, payload=json.dumps(payload, default=str), status="pending",
                              attempts=0, next_attempt_at=now, created_at=now,
                              trace_headers=json.dumps(headers)).on_conflict_do_nothing(index_elements=["kind", "key"])
    result = await uow.session.exec(stmt)
    if not result.rowcount:
        return False
    uow.job_enqueued()
    return True


JobHandler = Callable[[UnitOfWork, dict[str, Any]], Awaitable["Again | None"]]
GiveUpHandler = Callable[[UnitOfWork, dict[str, Any], str], Awaitable[None]]


@dataclass
class JobKind:
    kind: str
    handler: JobHandler
    on_give_up: GiveUpHandler
    max_attempts: int = 12
    base_delay: float = 1.0
    max_delay: float = 300.0


class JobWorker:
    def __init__(self, db: Database, kinds: list[JobKind], *, concurrency: int = 4, poll_interval: float = 1.0):
        self.db = db
        self.kinds = {k.kind: k for k in kinds}
        self.concurrency = 1 if db.is_sqlite else concurrency
        self.poll_interval = poll_interval

        # One worker at a time looks for a due job (and waits for the next one): a wake-up costs one query,
        # not one per idle worker. Having claimed a job, it hands the look-out to the next idle worker.
        self._looking = asyncio.Lock()

    async def run(self) -> None:
        await asyncio.gather(*(self._loop(i) for i in range(self.concurrency)))

    async def _loop(self, n: int) -> None:
        while True:
            try:
                async with self.db.uow() as uow:
                    async with self._looking:
                        job = await self._claim(uow)
                        while job is None:
                            await uow.session.rollback()  # no connection held while waiting
                            with contextlib.suppress(TimeoutError):
                                await asyncio.wait_for(self.db.job_signal.wait(), timeout=self.poll_interval)
                            self.db.job_signal.clear()
                            job = await self._claim(uow)
                    await self._run(uow, job)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("job loop error; retrying", error=str(exc))
                await asyncio.sleep(1.0)

    async def run_one(self) -> bool:
        """Claim and run one due job; False when none is due."""
        async with self.db.uow() as uow:
            job = await self._claim(uow)
            if job is None:
                return False
            await self._run(uow, job)
            return True

    async def _claim(self, uow: UnitOfWork) -> Job | None:
        stmt = (select(Job).where(Job.status == "pending", col(Job.next_attempt_at) <= utcnow(),
                                  col(Job.kind).in_(list(self.kinds)))
                .order_by(col(Job.next_attempt_at), col(Job.id)).limit(1))
        if self.db.is_postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        return (await uow.session.exec(stmt)).first()

    async def _run(self, uow: UnitOfWork, job: Job) -> None:
        """Run a claimed job in its unit of work.

        The claim (row lock) is held until the outcome is committed, success or failure: the
        handler runs inside a savepoint, a failed attempt rolls back to it, and the failure is
        recorded in the same transaction. No other worker can take the job in between."""
        kind = self.kinds[job.kind]
        payload = json.loads(job.payload)
        failure: Exception | None = None
        token = context.attach(propagate.extract(json.loads(job.trace_headers or "{}")))
        try:
            with bound(job_kind=job.kind, job_key=job.key, order_id=payload.get("order_id")), \
                    tracer.start_as_current_span(f"job {job.kind}", attributes={"job.key": job.key,
                                                                                  "job.attempt": job.attempts + 1}):
                savepoint = await uow.session.begin_nested()
                again: Again | None = None
                try:
                    outcome = await kind.handler(uow, payload)
                    again = outcome if isinstance(outcome, Again) else None
                    await savepoint.commit()
                except Deferred as exc:
                    if savepoint.is_active:
                        await savepoint.rollback()
                    await uow.session.refresh(job)
                    job.next_attempt_at = utcnow() + timedelta(seconds=exc.retry_after)
                    job.last_error = f"deferred: {exc}"[:2000]
                    uow.session.add(job)
                    await uow.commit()
                    return
                except (Retryable, Permanent) as exc:
                    failure = exc
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a bug or an unclassified error: retry, bounded
                    log.exception("job raised an unexpected error")
                    failure = Retryable(f"{type(exc).__name__}: {exc}")
                if failure is None and again is not None:
                    job.attempts = 0
                    job.next_attempt_at = utcnow() + timedelta(seconds=max(again.after, 0.0))
                    job.last_error = None
                elif failure is None:
                    job.status = "done"
                    job.attempts += 1
                    job.completed_at = utcnow()
                    job.last_error = None
                else:
                    if savepoint.is_active:
                        await savepoint.rollback()  # no half effects of the failed attempt
                    await self._record_failure(uow, job, kind, failure)
                uow.session.add(job)
                await uow.commit()
        finally:
            context.detach(token)

    async def _record_failure(self, uow: UnitOfWork, job: Job, kind: JobKind, exc: Exception) -> None:
        await uow.session.refresh(job)
        job.attempts += 1
        job.last_error = str(exc)[:2000]
        payload = json.loads(job.payload)
        if isinstance(exc, Permanent) or job.attempts >= kind.max_attempts:
            job.status = "failed"
            job.completed_at = utcnow()
            reason = str(exc) if isinstance(exc, Permanent) else f"gave up after {job.attempts} attempts: {exc}"
            log.error("job failed for good", job_kind=job.kind, job_key=job.key, reason=reason)
            await kind.on_give_up(uow, payload, reason)
        else:
            delay = min(kind.base_delay * 2 ** (job.attempts - 1), kind.max_delay)
            delay = delay * (0.5 + random.random() / 2)
            if isinstance(exc, Retryable) and exc.retry_after:
                delay = max(delay, exc.retry_after)
            job.next_attempt_at = utcnow() + timedelta(seconds=delay)
            log.warning("job attempt failed; will retry", job_kind=job.kind, job_key=job.key,
                        attempt=job.attempts, retry_in=round(delay, 2), error=str(exc)[:300])
