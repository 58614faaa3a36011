"""Infrastructure tables every service has: outbox, processed events (inbox), jobs, dead letters.
Each service's Alembic migrations create them next to its own tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from .types import UtcDateTime


def _ts(nullable: bool = False, index: bool = False) -> Column:
    return Column(UtcDateTime(), nullable=nullable, index=index)


class OutboxMessage(SQLModel, table=True):
    """An event waiting to be sent to Kafka (written in the business transaction)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unpublished", "published_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=64, unique=True)
    topic: str = Field(max_length=255)
    key: str = Field(max_length=255)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    headers: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_ts())
    published_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class ProcessedEvent(SQLModel, table=True):
    """Inbox: an event id a consumer has applied. Written in the same transaction as the effect,
    so a redelivered event is recognised and has no second effect."""

    __tablename__ = "processed_events"

    consumer: str = Field(primary_key=True, max_length=100)
    event_id: str = Field(primary_key=True, max_length=64)
    processed_at: datetime = Field(sa_column=_ts())


class DeadLetter(SQLModel, table=True):
    """A message a consumer gave up on, with the reason. Also published to dropline.dead-letter.v1."""

    __tablename__ = "dead_letters"

    id: int | None = Field(default=None, primary_key=True)
    consumer: str = Field(max_length=100)
    topic: str = Field(max_length=255)
    partition: int | None = None
    offset: int | None = None
    key: str | None = Field(default=None, max_length=255)
    event_id: str | None = Field(default=None, max_length=64)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_ts())


class Job(SQLModel, table=True):
    """Durable work with a side effect outside the database (call a supplier, write to a store).
    A consumer records the job in the same transaction as its inbox row; a worker runs it with
    retries and backoff, and records the outcome plus its events in one transaction."""

    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_jobs_kind_key"),
                      Index("ix_jobs_due", "status", "next_attempt_at"))

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64)
    key: str = Field(max_length=255, description="Idempotency key of the work, e.g. the order id.")
    payload: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending | done | failed
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=_ts())
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    trace_headers: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_ts())
    completed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
