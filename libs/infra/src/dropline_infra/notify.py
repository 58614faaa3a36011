"""Wake-ups between processes after a commit: "something changed for key K".

- PostgreSQL: `notify()` issues NOTIFY inside the caller's transaction, so it is delivered only when
  that transaction commits (never after a rollback); each process keeps one LISTEN connection
  (`run()`, a background task) and wakes its local waiters for that key.
- SQLite (one process by design): an after-commit callback wakes the local waiters directly.

A wake-up carries no data. Waiters read what changed from a table (the durable record), so a lost
notification — the listener reconnecting, say — costs latency, never a change; after a reconnect
every waiter is woken once, and waiters should also look on a timer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.engine import make_url

from .db import Database, UnitOfWork
from .observability import get_logger

log = get_logger(__name__)


class ChangeNotifier:
    def __init__(self, db: Database, channel: str):
        if not channel.replace("_", "").isalnum():
            raise ValueError("channel must be letters, digits and underscores")
        self.db = db
        self.channel = channel
        self._waiters: dict[str, set[asyncio.Event]] = {}

    async def notify(self, uow: UnitOfWork, key: str) -> None:
        """Wake every process's waiters for `key` once `uow` commits (once per unit of work and key: a
        batch of events for one key costs one notification)."""
        if not uow.first_time(("notify", self.channel, key)):
            return
        if self.db.is_postgres:
            await uow.session.execute(text("SELECT pg_notify(:channel, :key)"),
                                      {"channel": self.channel, "key": key})
        else:
            uow.after_commit(lambda: self._wake(key))

    @contextlib.contextmanager
    def waiter(self, key: str) -> Iterator[asyncio.Event]:
        """An event set on every wake-up for `key` (clear it before reading the table)."""
        event = asyncio.Event()
        self._waiters.setdefault(key, set()).add(event)
        try:
            yield event
        finally:
            waiting = self._waiters.get(key)
            if waiting is not None:
                waiting.discard(event)
                if not waiting:
                    del self._waiters[key]

    def _wake(self, key: str) -> None:
        for event in self._waiters.get(key, ()):
            event.set()

    def _wake_all(self) -> None:
        for events in self._waiters.values():
            for event in events:
                event.set()

    async def run(self) -> None:
        """Background task: LISTEN on PostgreSQL and fan notifications out; reconnects forever."""
        if not self.db.is_postgres:
            return
        import psycopg

        conninfo = make_url(self.db.url).set(drivername="postgresql").render_as_string(hide_password=False)
        backoff = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                    await conn.execute(f'LISTEN "{self.channel}"')
                    backoff = 0.5
                    self._wake_all()  # whatever was notified while we were not listening
                    async for notification in conn.notifies():
                        self._wake(notification.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away: waiters fall back to their timers
                log.warning("change listener lost its connection; reconnecting", channel=self.channel,
                            error=f"{type(exc).__name__}: {exc}", retry_in=backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)
