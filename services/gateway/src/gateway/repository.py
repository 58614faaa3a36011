"""All of gateway's SQL."""

from __future__ import annotations

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from .models import (
    Listing,
    OrderView,
    Retailer,
    Store,
    Supplier,
    TimelineEntry,
    TrackingReport,
    WebhookDelivery,
)


class Repository:
    def __init__(self, session: AsyncSession):
        self.s = session

    def add(self, row) -> None:
        self.s.add(row)

    async def retailer_by_key_hash(self, h: str) -> Retailer | None:
        return (await self.s.exec(select(Retailer).where(Retailer.api_key_hash == h))).first()

    async def retailer(self, retailer_id: str) -> Retailer | None:
        return await self.s.get(Retailer, retailer_id)

    async def supplier_by_key_hash(self, h: str) -> Supplier | None:
        return (await self.s.exec(select(Supplier).where(Supplier.api_key_hash == h))).first()

    async def supplier(self, supplier_id: str) -> Supplier | None:
        return await self.s.get(Supplier, supplier_id)

    async def store(self, store_id: str) -> Store | None:
        return await self.s.get(Store, store_id)

    async def store_by_shop(self, platform: str, shop: str) -> Store | None:
        return (await self.s.exec(select(Store).where(Store.platform == platform, Store.shop == shop))).first()

    async def listing(self, store_id: str, sku: str) -> Listing | None:
        return (await self.s.exec(select(Listing).where(Listing.store_id == store_id, Listing.sku == sku))).first()

    async def delivery(self, platform: str, platform_delivery_id: str) -> WebhookDelivery | None:
        stmt = select(WebhookDelivery).where(WebhookDelivery.platform == platform,
                                             WebhookDelivery.platform_delivery_id == platform_delivery_id)
        return (await self.s.exec(stmt)).first()

    async def order(self, order_id: str, *, for_update: bool = False) -> OrderView | None:
        stmt = select(OrderView).where(OrderView.order_id == order_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.s.exec(stmt)).first()

    async def orders(self, retailer_id: str, *, supplier_id: str | None, status: str | None, store_id: str | None,
                     q: str | None, limit: int, offset: int) -> tuple[list[OrderView], int]:
        cond = [OrderView.retailer_id == retailer_id]
        if supplier_id:
            cond.append(OrderView.supplier_id == supplier_id)
        if status:
            cond.append(OrderView.status == status)
        if store_id:
            cond.append(OrderView.store_id == store_id)
        if q:
            like = f"%{q.lower()}%"
            cond.append(func.lower(col(OrderView.order_number)).like(like)
                        | func.lower(col(OrderView.platform_order_number)).like(like)
                        | func.lower(col(OrderView.customer_name)).like(like))
        total = (await self.s.exec(select(func.count()).select_from(OrderView).where(*cond))).one()
        rows = (await self.s.exec(select(OrderView).where(*cond)
                                  .order_by(col(OrderView.created_at).desc(), col(OrderView.order_id))
                                  .limit(limit).offset(offset))).all()
        return list(rows), int(total)

    async def timeline(self, order_id: str) -> list[TimelineEntry]:
        stmt = select(TimelineEntry).where(TimelineEntry.order_id == order_id).order_by(
            col(TimelineEntry.occurred_at), col(TimelineEntry.id))
        return list((await self.s.exec(stmt)).all())

    async def tracking_report(self, order_id: str, tracking_number: str) -> TrackingReport | None:
        stmt = select(TrackingReport).where(TrackingReport.order_id == order_id,
                                            TrackingReport.tracking_number == tracking_number)
        return (await self.s.exec(stmt)).first()
