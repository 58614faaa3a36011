"""All of forwarder's SQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from dropline_infra.models import Job

from .domain import SupplierConfig
from .models import ForwarderForward, ForwarderSupplier


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; every timestamp we write is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def config_of(row: ForwarderSupplier | None) -> SupplierConfig | None:
    if row is None:
        return None
    return SupplierConfig(supplier_id=row.supplier_id, name=row.name, auto_order=row.auto_order,
                          order_api_url=row.order_api_url, has_api_key=bool(row.order_api_key_encrypted))


class Repository:
    def __init__(self, session: AsyncSession):
        self.s = session

    async def supplier(self, supplier_id: str) -> ForwarderSupplier | None:
        return await self.s.get(ForwarderSupplier, supplier_id)

    async def supplier_config(self, supplier_id: str) -> SupplierConfig | None:
        return config_of(await self.supplier(supplier_id))

    async def apply_supplier(self, row: ForwarderSupplier) -> bool:
        """Insert or update; an event older than the one applied last is ignored (replays, reorders)."""
        current = await self.supplier(row.supplier_id)
        if current is not None and _aware(current.as_of) > _aware(row.as_of):
            return False
        await self.s.merge(row)
        return True

    async def forward(self, order_id: str) -> ForwarderForward | None:
        return await self.s.get(ForwarderForward, order_id)

    def add_forward(self, row: ForwarderForward) -> None:
        self.s.add(row)

    async def finished_attempts(self, kind: str, key: str) -> int:
        """Attempts of a job before the current one (the worker counts the current one after it ends)."""
        job = (await self.s.exec(select(Job).where(Job.kind == kind, Job.key == key))).first()
        return job.attempts if job else 0
