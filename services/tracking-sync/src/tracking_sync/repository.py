"""All of tracking-sync's SQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from .models import SyncFulfillment, SyncFulfilmentRequest, SyncOrder, SyncOrderLine, SyncStore


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

    async def orders_of_store_order(self, store_id: str, platform_order_id: str) -> list[SyncOrder]:
        """Every Dropline order of one store order (one per supplier)."""
        stmt = (select(SyncOrder).where(SyncOrder.store_id == store_id,
                                        SyncOrder.platform_order_id == platform_order_id)
                .order_by(SyncOrder.order_id))
        return list((await self.s.exec(stmt)).all())

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
