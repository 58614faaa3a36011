"""The live feed of a retailer's orders (server-sent events).

The projection records every change it applies in gateway_order_changes (same transaction) and
notifies after commit (PostgreSQL NOTIFY reaches every gateway replica; see ChangeNotifier). A
stream wakes on a notification or on a timer, reads the changes after its cursor and sends each
changed order's current summary, with the change's seq as the SSE id. A browser that reconnects
sends Last-Event-ID and resumes from there.

Two replicas commit concurrently, so a lower seq can become visible after a higher one. Each read
therefore also takes changes recorded in the last LATE_COMMIT_WINDOW seconds, and the stream drops
the seqs it already sent; on resume the same window is read again. The client applies summaries
idempotently (a summary is the order's whole current row), so a repeat is harmless."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

from dropline_infra.db import Database, utcnow
from dropline_infra.notify import ChangeNotifier

from ..repository import Repository
from ..views import OrderSummary
from .accounts import Principal
from .orders import Orders

LATE_COMMIT_WINDOW = 10.0


class OrderFeed:
    def __init__(self, db: Database, notifier: ChangeNotifier, orders: Orders, *, poll_seconds: float = 5.0,
                 heartbeat_seconds: float = 15.0):
        self.db = db
        self.notifier = notifier
        self.orders = orders
        self.poll_seconds = poll_seconds
        self.heartbeat_seconds = heartbeat_seconds

    async def cursor_now(self, retailer_id: str) -> int:
        async with self.db.uow() as uow:
            return await Repository(uow.session).last_change_seq(retailer_id)

    async def stream(self, who: Principal, last_event_id: int | None
                     ) -> AsyncIterator[tuple[int, OrderSummary] | None]:
        """Yields (seq, summary) for each change, or None as a heartbeat when nothing happened."""
        cursor = last_event_id if last_event_id is not None else await self.cursor_now(who.retailer_id)
        sent: dict[int, float] = {}  # seq → when sent, for the late-commit window
        loop = asyncio.get_running_loop()
        with self.notifier.waiter(who.retailer_id) as woken:
            idle_since = loop.time()
            while True:
                woken.clear()
                since = utcnow() - timedelta(seconds=LATE_COMMIT_WINDOW)
                async with self.db.uow() as uow:
                    changes = await Repository(uow.session).changes(who.retailer_id, after_seq=cursor,
                                                                    recorded_since=since)
                fresh = [c for c in changes if c.seq not in sent]
                now = loop.time()
                for seq in [s for s, at in sent.items() if now - at > 2 * LATE_COMMIT_WINDOW]:
                    del sent[seq]
                if fresh:
                    order_ids = list(dict.fromkeys(c.order_id for c in fresh))
                    summaries = await self.orders.summaries(who.retailer_id, order_ids)
                    previous, cursor = cursor, max(cursor, *(c.seq for c in fresh))
                    for c in fresh:
                        sent[c.seq] = now
                    # Every event but the last carries the old cursor: a browser that drops mid-batch
                    # resumes from before the batch, never past an order it did not get.
                    for i, summary in enumerate(summaries):
                        yield (cursor if i == len(summaries) - 1 else previous), summary
                    idle_since = now
                elif now - idle_since >= self.heartbeat_seconds:
                    idle_since = now
                    yield None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), timeout=min(self.poll_seconds, self.heartbeat_seconds))
