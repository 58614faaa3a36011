"""All of tracking-sync's SQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from .models import SyncFulfillment, SyncOrder, SyncOrderLine, SyncStore


def _aware(moment: datetime) -> datetime:
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
        if current is not None and _aware(current.as_of) > _aware(row.as_of):
            return False
        await self.s.merge(row)
        return True

    async def order(self, order_id: str) -> SyncOrder | None:
        return await self.s.get(SyncOrder, order_id)

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
