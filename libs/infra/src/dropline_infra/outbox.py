"""The outbox relay: sends committed outbox rows to Kafka, then marks them published.

It wakes when a unit of work commits events, and also sweeps on a timer, so rows left
behind by a crash (committed but never sent, or sent but not marked) go out after a
restart. A row sent twice is harmless: every consumer dedupes on the event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from opentelemetry import context, propagate
from sqlmodel import col, select, update

from .db import Database, utcnow
from .models import OutboxMessage
from .observability import get_logger

log = get_logger(__name__)


class OutboxRelay:
    def __init__(self, db: Database, broker, *, batch_size: int = 500, sweep_interval: float = 1.0):
        self.db = db
        self.broker = broker
        self.batch_size = batch_size
        self.sweep_interval = sweep_interval
        self.published_total = 0

    async def run(self) -> None:
        backoff = 0.2
        while True:
            try:
                sent = await self.drain_once()
                backoff = 0.2
                if sent:
                    continue  # maybe more rows waiting
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker or DB unavailable: rows stay, retry with backoff
                log.warning("outbox relay failed; will retry", error=str(exc), retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.db.outbox_signal.wait(), timeout=self.sweep_interval)
            self.db.outbox_signal.clear()

    async def drain_once(self) -> int:
        async with self.db.sessionmaker() as session:
            stmt = (select(OutboxMessage).where(col(OutboxMessage.published_at).is_(None))
                    .order_by(col(OutboxMessage.id)).limit(self.batch_size))
            if self.db.is_postgres:
                # Several replicas may run a relay: each takes rows the others have not locked.
                stmt = stmt.with_for_update(skip_locked=True)
            rows = list((await session.exec(stmt)).all())
            if not rows:
                await session.rollback()
                return 0
            # Enqueue in id order (aiokafka keeps the order per partition), then wait for all acks.
            futures = [await self._send(row) for row in rows]
            await asyncio.gather(*futures)
            # Marked in one statement, not one UPDATE per row.
            await session.exec(update(OutboxMessage)
                               .where(col(OutboxMessage.id).in_([row.id for row in rows]))
                               .values(published_at=utcnow(), attempts=OutboxMessage.attempts + 1)
                               .execution_options(synchronize_session=False))
            await session.commit()
            self.published_total += len(rows)
            return len(rows)

    async def _send(self, row: OutboxMessage):
        headers = json.loads(row.headers)
        # Publish inside the trace of the transaction that wrote the row.
        token = context.attach(propagate.extract(headers))
        try:
            return await self.broker.publish(
                row.payload.encode(), topic=row.topic, key=row.key.encode(),
                headers=headers, no_confirm=True)
        finally:
            context.detach(token)
