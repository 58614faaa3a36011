"""All of gateway's SQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, delete, or_, type_coerce
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from dropline_infra.db import UtcDateTime

from .models import (
    Listing,
    OrderChange,
    OrderView,
    Retailer,
    RetailerUser,
    SignInFailure,
    Store,
    StoreHealth,
    Supplier,
    SupplierRejection,
    TimelineEntry,
    TrackingReport,
    WebhookDelivery,
    WebSession,
)


@dataclass(frozen=True)
class OrderFilter:
    """The Orders page's filters (all optional; the retailer is always required)."""

    supplier_id: str | None = None
    status: str | None = None
    store_id: str | None = None
    created_from: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive
    q: str | None = None
    flag: str | None = None  # "late" | "not_synced": only orders with that alert flag


FLAG_COLUMNS = {"late": OrderView.late_since, "not_synced": OrderView.not_synced_since}


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_LOCKED_ORDERS = "gateway.locked_orders"  # Session.info key: order rows this transaction has locked


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
        locked = self.s.info.get(_LOCKED_ORDERS)
        if for_update and locked and order_id in locked:
            # Locked and loaded by lock_orders in this transaction: no query, so no flush either.
            return locked[order_id]
        stmt = select(OrderView).where(OrderView.order_id == order_id)
        if not for_update:
            return (await self.s.exec(stmt)).first()
        row = (await self.s.exec(stmt.with_for_update())).first()
        if row is not None:  # locked until this transaction ends: asked again, no query
            self.s.info.setdefault(_LOCKED_ORDERS, {})[order_id] = row
        return row

    async def lock_orders(self, order_ids: Iterable[str]) -> None:
        """Lock and load these orders' rows in one query, in key order (so two transactions locking some
        of the same orders cannot deadlock), for the rest of this transaction: `order(…, for_update=True)`
        then answers from the session without a query. Used for a batch of events."""
        ids = sorted(set(order_ids))
        if not ids:
            return
        stmt = (select(OrderView).where(col(OrderView.order_id).in_(ids))
                .order_by(col(OrderView.order_id)).with_for_update())
        # Held here, not only in the session's identity map, which keeps unchanged rows by weak reference.
        self.s.info.setdefault(_LOCKED_ORDERS, {}).update({row.order_id: row for row in (await self.s.exec(stmt)).all()})

    @staticmethod
    def _order_conditions(retailer_id: str, f: OrderFilter) -> list:
        cond = [OrderView.retailer_id == retailer_id]
        if f.supplier_id:
            cond.append(OrderView.supplier_id == f.supplier_id)
        if f.status:
            cond.append(OrderView.status == f.status)
        if f.store_id:
            cond.append(OrderView.store_id == f.store_id)
        if f.flag:
            cond.append(col(FLAG_COLUMNS[f.flag]).is_not(None))
        if f.created_from:
            cond.append(col(OrderView.created_at) >= f.created_from)
        if f.created_before:
            cond.append(col(OrderView.created_at) < f.created_before)
        if f.q:
            like = f"%{_like_escape(f.q.lower())}%"
            cond.append(or_(func.lower(col(OrderView.order_number)).like(like, escape="\\"),
                            func.lower(col(OrderView.platform_order_number)).like(like, escape="\\"),
                            func.lower(col(OrderView.customer_name)).like(like, escape="\\"),
                            col(OrderView.search_text).like(like, escape="\\")))
        return cond

    async def orders(self, retailer_id: str, f: OrderFilter, *, limit: int, offset: int
                     ) -> tuple[list[OrderView], int]:
        """One page, newest first (ties broken by id so pages never overlap), and the filter's total."""
        cond = self._order_conditions(retailer_id, f)
        total = (await self.s.exec(select(func.count()).select_from(OrderView).where(*cond))).one()
        rows = (await self.s.exec(select(OrderView).where(*cond)
                                  .order_by(col(OrderView.created_at).desc(), col(OrderView.order_id).desc())
                                  .limit(limit).offset(offset))).all()
        return list(rows), int(total)

    async def orders_after(self, retailer_id: str, f: OrderFilter, after: tuple[datetime, str] | None,
                           limit: int) -> list[OrderView]:
        """Keyset page for the CSV export: the next `limit` rows after (created_at, order_id), newest first."""
        cond = self._order_conditions(retailer_id, f)
        if after is not None:
            at, oid = after
            cond.append(or_(col(OrderView.created_at) < at,
                            (col(OrderView.created_at) == at) & (col(OrderView.order_id) < oid)))
        stmt = (select(OrderView).where(*cond)
                .order_by(col(OrderView.created_at).desc(), col(OrderView.order_id).desc()).limit(limit))
        return list((await self.s.exec(stmt)).all())

    async def overview_counts(self, retailer_id: str) -> dict[str, int]:
        """The retailer's orders flagged late, flagged not synced, and unpaid (one query)."""
        def count_of(condition):
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        stmt = select(count_of(col(OrderView.late_since).is_not(None)),
                      count_of(col(OrderView.not_synced_since).is_not(None)),
                      count_of(col(OrderView.status) == "unpaid")).where(OrderView.retailer_id == retailer_id)
        late, not_synced, unpaid = (await self.s.exec(stmt)).one()
        return {"late": int(late), "not_synced": int(not_synced), "unpaid": int(unpaid)}

    async def orders_by_ids(self, retailer_id: str, order_ids: Sequence[str]) -> list[OrderView]:
        if not order_ids:
            return []
        stmt = select(OrderView).where(OrderView.retailer_id == retailer_id,
                                       col(OrderView.order_id).in_(list(order_ids)))
        return list((await self.s.exec(stmt)).all())

    async def store_health(self, store_id: str, *, for_update: bool = False) -> StoreHealth:
        stmt = select(StoreHealth).where(StoreHealth.store_id == store_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.s.exec(stmt)).first() or StoreHealth(store_id=store_id)

    async def health_of(self, store_ids: Sequence[str]) -> dict[str, StoreHealth]:
        rows = (await self.s.exec(select(StoreHealth).where(col(StoreHealth.store_id).in_(list(store_ids))))).all()
        return {r.store_id: r for r in rows}

    async def last_webhooks(self, store_ids: Sequence[str]) -> dict[str, datetime]:
        # The column's own type on the aggregate: aware UTC datetimes on SQLite as on PostgreSQL.
        newest = type_coerce(func.max(WebhookDelivery.received_at), UtcDateTime())
        stmt = (select(WebhookDelivery.store_id, newest)
                .where(col(WebhookDelivery.store_id).in_(list(store_ids))).group_by(WebhookDelivery.store_id))
        return dict((await self.s.exec(stmt)).all())

    async def writes_waiting(self, store_ids: Sequence[str]) -> dict[str, int]:
        """Orders whose tracking is in but not yet in the store (status shipped)."""
        stmt = (select(OrderView.store_id, func.count()).where(col(OrderView.store_id).in_(list(store_ids)),
                                                               OrderView.status == "shipped")
                .group_by(OrderView.store_id))
        return {store_id: int(n) for store_id, n in (await self.s.exec(stmt)).all()}

    async def stores_of(self, retailer_id: str) -> list[Store]:
        stmt = select(Store).where(Store.retailer_id == retailer_id).order_by(col(Store.created_at))
        return list((await self.s.exec(stmt)).all())

    async def suppliers_of(self, retailer_id: str) -> list[Supplier]:
        """Suppliers the retailer has listings with or orders from."""
        listed = select(Listing.supplier_id).where(Listing.retailer_id == retailer_id)
        ordered = select(OrderView.supplier_id).where(OrderView.retailer_id == retailer_id,
                                                     col(OrderView.supplier_id).is_not(None)).distinct()
        stmt = (select(Supplier).where(or_(col(Supplier.supplier_id).in_(listed),
                                           col(Supplier.supplier_id).in_(ordered)))
                .order_by(col(Supplier.name)))
        return list((await self.s.exec(stmt)).all())

    # ------------------------------------------------------------------ live feed

    def add_change(self, retailer_id: str, order_id: str, at: datetime) -> None:
        self.s.add(OrderChange(retailer_id=retailer_id, order_id=order_id, recorded_at=at))

    async def last_change_seq(self, retailer_id: str) -> int:
        stmt = select(func.max(OrderChange.seq)).where(OrderChange.retailer_id == retailer_id)
        return int((await self.s.exec(stmt)).one() or 0)

    async def changes(self, retailer_id: str, *, after_seq: int, recorded_since: datetime,
                      limit: int = 500) -> list[OrderChange]:
        """The next changes after `after_seq`, plus those at or below it recorded since `recorded_since`
        (a transaction that took a lower seq may commit after a higher one; the caller drops the ones it
        already sent)."""
        newer = (select(OrderChange).where(OrderChange.retailer_id == retailer_id, col(OrderChange.seq) > after_seq)
                 .order_by(col(OrderChange.seq)).limit(limit))
        late = (select(OrderChange).where(OrderChange.retailer_id == retailer_id, col(OrderChange.seq) <= after_seq,
                                          col(OrderChange.recorded_at) >= recorded_since)
                .order_by(col(OrderChange.seq)).limit(limit))
        rows = list((await self.s.exec(late)).all()) + list((await self.s.exec(newer)).all())
        return rows

    # ------------------------------------------------------------------ accounts

    async def user_by_email(self, email: str) -> RetailerUser | None:
        return (await self.s.exec(select(RetailerUser).where(RetailerUser.email == email))).first()

    async def user(self, user_id: str) -> RetailerUser | None:
        return await self.s.get(RetailerUser, user_id)

    async def web_session(self, token_hash: str) -> WebSession | None:
        return await self.s.get(WebSession, token_hash)

    async def delete_web_session(self, token_hash: str) -> None:
        await self.s.exec(delete(WebSession).where(col(WebSession.token_hash) == token_hash))

    async def delete_expired_sessions(self, now: datetime) -> None:
        await self.s.exec(delete(WebSession).where(col(WebSession.expires_at) < now))

    async def failures_since(self, key: str, since: datetime) -> list[datetime]:
        stmt = (select(SignInFailure.at).where(SignInFailure.key == key, col(SignInFailure.at) >= since)
                .order_by(col(SignInFailure.at)))
        return list((await self.s.exec(stmt)).all())

    def add_failure(self, key: str, at: datetime) -> None:
        self.s.add(SignInFailure(key=key, at=at))

    async def clear_failures(self, key: str) -> None:
        await self.s.exec(delete(SignInFailure).where(col(SignInFailure.key) == key))

    async def forget_old_failures(self, before: datetime) -> None:
        await self.s.exec(delete(SignInFailure).where(col(SignInFailure.at) < before))

    async def timeline(self, order_id: str) -> list[TimelineEntry]:
        stmt = select(TimelineEntry).where(TimelineEntry.order_id == order_id).order_by(
            col(TimelineEntry.occurred_at), col(TimelineEntry.id))
        return list((await self.s.exec(stmt)).all())

    async def tracking_reports(self, order_id: str) -> list[TrackingReport]:
        stmt = select(TrackingReport).where(TrackingReport.order_id == order_id).order_by(TrackingReport.created_at)
        return list((await self.s.exec(stmt)).all())

    async def tracking_report_by_id(self, tracking_id: str) -> TrackingReport | None:
        return await self.s.get(TrackingReport, tracking_id)

    async def correction_of(self, tracking_id: str) -> TrackingReport | None:
        """The report that corrected (superseded) this one, if any."""
        stmt = select(TrackingReport).where(TrackingReport.corrects_tracking_id == tracking_id)
        return (await self.s.exec(stmt)).first()

    async def supplier_rejection(self, order_id: str) -> SupplierRejection | None:
        return await self.s.get(SupplierRejection, order_id)
