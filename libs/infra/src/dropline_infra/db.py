"""Database access: one engine per process, and a unit of work that owns the transaction.

Code never calls ``session.commit()`` outside a unit of work. Events leave only
through the outbox rows a unit of work adds, in the same transaction as the change.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from datetime import UTC, datetime

from opentelemetry import propagate
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from dropline_schemas.envelope import EventEnvelope
from dropline_schemas.events import TOPIC_EVENTS
from dropline_schemas.topics import Topic

from .models import OutboxMessage, ProcessedEvent
from .types import UtcDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


def async_url(url: str) -> str:
    """Accept the URLs people write (postgresql://, sqlite:///) and pick the async drivers."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+asyncpg"):
        u = u.set(drivername="postgresql+psycopg")
    elif u.drivername == "sqlite":
        u = u.set(drivername="sqlite+aiosqlite")
    return u.render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """The same database through a blocking driver (Alembic, benchmarks)."""
    u = make_url(async_url(url))
    if u.drivername == "sqlite+aiosqlite":
        u = u.set(drivername="sqlite")
    return u.render_as_string(hide_password=False)


class Database:
    def __init__(self, url: str, *, pool_size: int = 10):
        self.url = async_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.is_postgres = self.url.startswith("postgresql")
        if self.is_sqlite:
            path = make_url(self.url).database
            if path and path != ":memory:":
                from pathlib import Path

                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine: AsyncEngine = create_async_engine(self.url)
            _sqlite_serialised_writes(self.engine)
        else:
            self.engine = create_async_engine(self.url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        self.sessionmaker = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        # Set when a unit of work committed outbox rows, so the relay publishes at once
        # instead of waiting for its next sweep.
        self.outbox_signal = asyncio.Event()
        self.job_signal = asyncio.Event()

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_serialised_writes(engine: AsyncEngine) -> None:
    """SQLite: WAL, a busy timeout and BEGIN IMMEDIATE, so concurrent writers queue instead of
    failing with 'database is locked' when a read transaction tries to upgrade."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class UnitOfWork:
    """One transaction. ``async with db.uow() as uow: ...; await uow.commit()``.
    Leaving the block without commit rolls back."""

    def __init__(self, db: Database):
        self.db = db
        self.session: AsyncSession
        self._outbox_rows = 0
        self._jobs = 0
        self._after_commit: list = []
        self._marks: set = set()

    async def __aenter__(self) -> UnitOfWork:
        self.session = self.db.sessionmaker()
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        # close() rolls back whatever was not committed and detaches loaded rows without expiring
        # them, so values read inside the unit of work stay readable after it.
        await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()
        if self._outbox_rows:
            self.db.outbox_signal.set()
        if self._jobs:
            self.db.job_signal.set()
        self._outbox_rows = self._jobs = 0
        self._marks.clear()
        self.session.info.clear()  # per-transaction notes of repositories (e.g. rows locked) end with it
        callbacks, self._after_commit = self._after_commit, []
        for fn in callbacks:
            fn()

    def first_time(self, mark) -> bool:
        """True the first time `mark` (any hashable) is given in this unit of work, False after: for work
        done once per transaction however many events of a batch ask for it."""
        if mark in self._marks:
            return False
        self._marks.add(mark)
        return True

    def after_commit(self, fn) -> None:
        """Run `fn()` once this unit of work has committed (never after a rollback)."""
        self._after_commit.append(fn)

    # ------------------------------------------------------------------ outbox

    def publish(self, event: EventEnvelope, topic: Topic, key: str) -> None:
        """Queue an event for Kafka in this transaction (the relay sends it after commit).
        The current trace context travels with it, so the consumer's span joins this trace. An event
        the topic does not carry (`TOPIC_EVENTS`) is refused: its consumers could not read it."""
        if type(event) not in TOPIC_EVENTS.get(topic, ()):
            raise ValueError(f"{type(event).__name__} is not an event of {topic.name}")
        headers: dict[str, str] = {}
        propagate.inject(headers)
        headers.update({
            "content-type": "application/json",
            "event_type": event.event_type,
            "event_id": str(event.event_id),
            "schema_version": str(event.schema_version),
        })
        self.session.add(OutboxMessage(
            event_id=str(event.event_id), topic=topic.name, key=key,
            payload=event.model_dump_json(), headers=json.dumps(headers), created_at=utcnow(),
        ))
        self._outbox_rows += 1

    def publish_all(self, items: Iterable[tuple[EventEnvelope, Topic, str]]) -> None:
        for ev, topic, key in items:
            self.publish(ev, topic, key)

    # ------------------------------------------------------------------ inbox

    async def seen(self, consumer: str, event_id: str) -> bool:
        row = await self.session.get(ProcessedEvent, (consumer, event_id))
        return row is not None

    async def seen_many(self, consumer: str, event_ids: list[str]) -> set[str]:
        """Which of these event ids this consumer has applied (one query for a batch)."""
        if not event_ids:
            return set()
        stmt = select(ProcessedEvent.event_id).where(ProcessedEvent.consumer == consumer,
                                                     col(ProcessedEvent.event_id).in_(event_ids))
        return set((await self.session.exec(stmt)).all())

    def mark_processed(self, consumer: str, event_id: str) -> None:
        self.session.add(ProcessedEvent(consumer=consumer, event_id=event_id, processed_at=utcnow()))

    # ------------------------------------------------------------------ jobs

    def job_enqueued(self) -> None:
        self._jobs += 1


__all__ = ["Database", "UnitOfWork", "UtcDateTime", "async_url", "sync_url", "utcnow"]
