"""All of order-ingest's SQL."""

from __future__ import annotations

from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from dropline_schemas.events import SupplierTerms

from .domain import Listing
from .models import IngestCounter, IngestListing, IngestStore, IngestStoreOrder, IngestSupplier


class Repository:
    def __init__(self, session: AsyncSession):
        self.s = session

    async def store(self, store_id: str) -> IngestStore | None:
        return await self.s.get(IngestStore, store_id)

    async def upsert(self, row) -> None:
        await self.s.merge(row)

    async def store_order(self, store_id: str, platform_order_id: str, *,
                          for_update: bool = False) -> IngestStoreOrder | None:
        """`for_update`: locked, so two deliveries of one change compare and publish one after the other."""
        stmt = select(IngestStoreOrder).where(IngestStoreOrder.store_id == store_id,
                                              IngestStoreOrder.platform_order_id == platform_order_id)
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.s.exec(stmt)).first()

    async def listings_for(self, store_id: str) -> dict[tuple[str, str], Listing]:
        rows = (await self.s.exec(select(IngestListing).where(IngestListing.store_id == store_id,
                                                              IngestListing.active == True))).all()  # noqa: E712
        out: dict[tuple[str, str], Listing] = {}
        for r in rows:
            listing = Listing(supplier_id=r.supplier_id, supplier_sku=r.supplier_sku, unit_cost=r.unit_cost)
            out[("sku", r.sku)] = listing
            if r.variant_id:
                out[("variant", r.variant_id)] = listing
        return out

    async def suppliers(self) -> dict[str, SupplierTerms]:
        rows = (await self.s.exec(select(IngestSupplier))).all()
        return {r.supplier_id: SupplierTerms.read(r.terms_json) for r in rows}

    async def next_numbers(self, count: int) -> list[int]:
        """Reserve `count` consecutive Dropline order numbers (the row lock serialises writers)."""
        stmt = select(IngestCounter).where(IngestCounter.name == "order_number").with_for_update()
        counter = (await self.s.exec(stmt)).first()
        if counter is None:
            counter = IngestCounter(name="order_number", value=100000)
            self.s.add(counter)
        start = counter.value + 1
        counter.value += count
        self.s.add(counter)
        return list(range(start, start + count))

    async def catalog_counts(self) -> dict[str, int]:
        out = {}
        for name, model in (("stores", IngestStore), ("suppliers", IngestSupplier), ("listings", IngestListing)):
            out[name] = int((await self.s.exec(select(func.count()).select_from(model))).one())
        return out
