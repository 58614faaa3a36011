"""The operator API every service serves at `/operator/v1`: its dead letters (list, show, replay through
the consumer that gave up on them), its jobs (list, retry a failed one), its outbox backlog, and one order's
story as this service saw it (what it published, the jobs it ran, what it dead-lettered). The
`dropline` command-line tool (tools/operator) and a dashboard read it.

Behind `<PREFIX>OPERATOR_TOKEN` (a bearer token). Outside production a service without one accepts the
development token `dev-operator-token`; in production a service without one keeps the API closed (403).

Replaying a dead letter runs its message through the same consumer, as if it came again from the topic:
the consumer's inbox makes it idempotent — a message already applied (by an earlier replay, or a
redelivery) answers "duplicate" and does nothing. A replay that is applied or found a duplicate removes
the dead letter; one that fails again leaves a new dead letter with the new reason in its place.
"""

from __future__ import annotations

import hmac
import json
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Path, Query
from pydantic import BaseModel
from sqlmodel import col, func, select

from .db import Database, utcnow
from .messaging import Consumers
from .models import DeadLetter, Job, OutboxMessage
from .settings import ServiceSettings

DEVELOPMENT_OPERATOR_TOKEN = "dev-operator-token"
PAYLOAD_PREVIEW = 300


class DeadLetterRow(BaseModel):
    id: int
    consumer: str
    topic: str
    partition: int | None
    offset: int | None
    key: str | None
    event_id: str | None
    reason: str
    created_at: datetime
    payload_preview: str


class DeadLetterDetail(DeadLetterRow):
    payload: str


class DeadLetterPage(BaseModel):
    service: str
    total: int
    dead_letters: list[DeadLetterRow]


class ReplayOutcome(BaseModel):
    dead_letter_id: int
    outcome: Literal["applied", "duplicate", "dead-lettered"]
    new_dead_letter_id: int | None = None


class JobRow(BaseModel):
    id: int
    kind: str
    key: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None


class JobPage(BaseModel):
    service: str
    total: int
    jobs: list[JobRow]


class StoryEvent(BaseModel):
    event_id: str
    event_type: str | None
    topic: str
    key: str
    occurred_at: str | None
    correlation_id: str | None
    causation_id: str | None
    created_at: datetime
    published_at: datetime | None


class OrderStory(BaseModel):
    service: str
    order_id: str
    events: list[StoryEvent]
    jobs: list[JobRow]
    dead_letters: list[DeadLetterRow]


class OutboxBacklog(BaseModel):
    service: str
    unsent: int
    oldest_unsent_at: datetime | None
    oldest_unsent_age_seconds: float | None


def _row(d: DeadLetter) -> dict[str, Any]:
    preview = d.payload if len(d.payload) <= PAYLOAD_PREVIEW else d.payload[:PAYLOAD_PREVIEW] + "…"
    return {**d.model_dump(exclude={"payload"}), "payload_preview": preview}


async def _page(db: Database, model: Any, where: list, order_by: tuple, offset: int, limit: int) -> tuple[int, list]:
    """How many rows match, and one page of them."""
    async with db.uow() as uow:
        total = (await uow.session.exec(select(func.count()).select_from(model).where(*where))).one()
        rows = (await uow.session.exec(select(model).where(*where).order_by(*order_by).offset(offset).limit(limit))).all()
    return total, list(rows)


def operator_router(db: Database, consumers: Consumers, settings: ServiceSettings) -> APIRouter:
    service = settings.service_name

    def authorised(authorization: Annotated[str | None, Header()] = None) -> None:
        token = settings.operator_token.get_secret_value() if settings.operator_token else (
            None if settings.environment == "production" else DEVELOPMENT_OPERATOR_TOKEN)
        if token is None:
            raise HTTPException(403, "the operator API is closed: set OPERATOR_TOKEN to open it")
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not given or not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(401, "operator token missing or wrong", headers={"WWW-Authenticate": "Bearer"})

    router = APIRouter(prefix="/operator/v1", dependencies=[Depends(authorised)], tags=["operator"])

    @router.get("/dead-letters", response_model=DeadLetterPage, summary="This service's dead letters, newest first")
    async def list_dead_letters(consumer: str | None = None, topic: str | None = None,
                                reason: Annotated[str | None, Query(description="Part of the reason")] = None,
                                older_than_seconds: Annotated[float | None, Query(ge=0)] = None,
                                limit: Annotated[int, Query(ge=1, le=500)] = 100,
                                offset: Annotated[int, Query(ge=0)] = 0) -> dict:
        where = []
        if consumer:
            where.append(DeadLetter.consumer == consumer)
        if topic:
            where.append(DeadLetter.topic == topic)
        if reason:
            where.append(col(DeadLetter.reason).contains(reason))
        if older_than_seconds is not None:
            where.append(col(DeadLetter.created_at) <= utcnow() - timedelta(seconds=older_than_seconds))
        total, rows = await _page(db, DeadLetter, where, (col(DeadLetter.created_at).desc(), col(DeadLetter.id).desc()),
                                  offset, limit)
        return {"service": service, "total": total, "dead_letters": [_row(d) for d in rows]}

    @router.get("/dead-letters/{dead_letter_id}", response_model=DeadLetterDetail, summary="One dead letter, whole")
    async def show_dead_letter(dead_letter_id: int) -> dict:
        async with db.uow() as uow:
            d = await uow.session.get(DeadLetter, dead_letter_id)
        if d is None:
            raise HTTPException(404, f"no dead letter {dead_letter_id} in {service}")
        return {**_row(d), "payload": d.payload}

    @router.post("/dead-letters/{dead_letter_id}/replay", response_model=ReplayOutcome,
                 summary="Put the message through its consumer again (idempotent)")
    async def replay_dead_letter(dead_letter_id: int) -> dict:
        async with db.uow() as uow:
            d = await uow.session.get(DeadLetter, dead_letter_id)
        if d is None:
            raise HTTPException(404, f"no dead letter {dead_letter_id} in {service} (replayed already?)")
        try:
            outcome = await consumers.replay(d.consumer, d.topic, d.payload.encode())
        except LookupError as exc:
            raise HTTPException(409, str(exc)) from None
        async with db.uow() as uow:
            still = await uow.session.get(DeadLetter, dead_letter_id)
            if still is not None:  # a replay running at the same time may have removed it already
                await uow.session.delete(still)
            newer = None
            if outcome == "dead-lettered":
                newer = (await uow.session.exec(select(DeadLetter.id).where(
                    DeadLetter.consumer == d.consumer, col(DeadLetter.id) > dead_letter_id,
                    DeadLetter.payload == d.payload).order_by(col(DeadLetter.id).desc()))).first()
            await uow.commit()
        return {"dead_letter_id": dead_letter_id, "outcome": outcome, "new_dead_letter_id": newer}

    @router.get("/jobs", response_model=JobPage, summary="This service's jobs of one status (failed by default), the latest first")
    async def list_jobs(status: Literal["pending", "done", "failed"] | None = "failed", kind: str | None = None,
                        limit: Annotated[int, Query(ge=1, le=500)] = 100,
                        offset: Annotated[int, Query(ge=0)] = 0) -> dict:
        where = [Job.status == status] if status else []
        if kind:
            where.append(Job.kind == kind)
        total, rows = await _page(db, Job, where, (col(Job.completed_at).desc(), col(Job.id).desc()), offset, limit)
        return {"service": service, "total": total,
                "jobs": [r.model_dump(exclude={"payload", "trace_headers"}) for r in rows]}

    @router.post("/jobs/{job_id}/retry", response_model=JobRow, summary="Run a failed job again, its attempts reset")
    async def retry_job(job_id: int) -> dict:
        async with db.uow() as uow:
            job = await uow.session.get(Job, job_id)
            if job is None:
                raise HTTPException(404, f"no job {job_id} in {service}")
            if job.status != "failed":
                raise HTTPException(409, f"job {job_id} is {job.status}: only a failed job is retried")
            job.status, job.attempts, job.next_attempt_at, job.completed_at = "pending", 0, utcnow(), None
            uow.session.add(job)
            await uow.commit()
            await uow.session.refresh(job)
        db.job_signal.set()  # this replica's workers look now
        return job.model_dump(exclude={"payload", "trace_headers"})

    @router.get("/orders/{order_id}/story", response_model=OrderStory,
                summary="What this service published, ran and dead-lettered for one order, in time order")
    async def order_story(order_id: Annotated[str, Path(min_length=1, max_length=64)]) -> dict:
        mention = f"%{order_id}%"
        async with db.uow() as uow:
            sent = (await uow.session.exec(select(OutboxMessage).where(
                (OutboxMessage.key == order_id) | col(OutboxMessage.payload).like(mention))
                .order_by(col(OutboxMessage.id)).limit(500))).all()
            ran = (await uow.session.exec(select(Job).where(
                col(Job.key).like(mention) | col(Job.payload).like(mention))
                .order_by(col(Job.id)).limit(200))).all()
            refused = (await uow.session.exec(select(DeadLetter).where(
                (DeadLetter.key == order_id) | col(DeadLetter.payload).like(mention))
                .order_by(col(DeadLetter.id)).limit(200))).all()
        events = []
        for row in sent:
            try:
                body = json.loads(row.payload)
            except ValueError:
                body = {}
            events.append({"event_id": row.event_id, "event_type": body.get("event_type"), "topic": row.topic,
                           "key": row.key, "occurred_at": body.get("occurred_at"),
                           "correlation_id": body.get("correlation_id"), "causation_id": body.get("causation_id"),
                           "created_at": row.created_at, "published_at": row.published_at})
        return {"service": service, "order_id": order_id, "events": events,
                "jobs": [j.model_dump(exclude={"payload", "trace_headers"}) for j in ran],
                "dead_letters": [_row(d) for d in refused]}

    @router.get("/outbox", response_model=OutboxBacklog, summary="Events committed here and not sent to Kafka yet")
    async def outbox_backlog() -> dict:
        async with db.uow() as uow:
            unsent, oldest = (await uow.session.exec(select(func.count(), func.min(OutboxMessage.created_at)).where(
                col(OutboxMessage.published_at).is_(None)))).one()
        if oldest is not None and oldest.tzinfo is None:  # SQLite hands naive UTC back
            from datetime import UTC
            oldest = oldest.replace(tzinfo=UTC)
        age = (utcnow() - oldest).total_seconds() if oldest else None
        return {"service": service, "unsent": unsent, "oldest_unsent_at": oldest, "oldest_unsent_age_seconds": age}

    return router


def mount_operator_api(app: FastAPI, db: Database, consumers: Consumers, settings: ServiceSettings) -> None:
    app.include_router(operator_router(db, consumers, settings), include_in_schema=False)
