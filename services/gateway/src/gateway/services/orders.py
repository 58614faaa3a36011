"""The retailer's orders: the list with its filters, one order in full, the CSV export, tracking
numbers typed in by the retailer or reported by a supplier, and a supplier's report that it cannot
fulfil an order. Every read is scoped to one retailer: another retailer's order looks exactly like a
missing one."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from sqlalchemy.exc import IntegrityError

from dropline_infra.db import Database, utcnow
from dropline_infra.observability import get_logger
from dropline_schemas import topics as T
from dropline_schemas.events import (
    DroplineOrder,
    OrderForwardingFailedData,
    OrderForwardingFailedV1,
    TrackingAddedData,
    TrackingAddedV1,
    TrackingCorrectedData,
    TrackingCorrectedV1,
)

from .. import shipments
from ..adapters.checkout import CheckoutApi, path_segment
from ..carriers import detect_carrier, tracking_url
from ..errors import GatewayError, not_found
from ..models import OrderView, Store, StoreHealth, SupplierRejection, TrackingReport
from ..projection import RANK
from ..repository import OrderFilter, Repository
from ..views import (
    CarrierGuess,
    Failure,
    OrderDetail,
    OrderPage,
    OrderSummary,
    Overview,
    Reconciliation,
    RejectionAccepted,
    StoreHealthOut,
    StoreList,
    StoreOut,
    StoreRef,
    SupplierList,
    SupplierOut,
    TrackingAccepted,
    TrackingCorrectionAccepted,
)
from .accounts import Principal

PRODUCER = "gateway"
TRACKING_NS = uuid.UUID("0b7f0f0e-2f7d-4d61-9a3c-3a4f6f1de5a1")
log = get_logger(__name__)
# The retailer may add tracking to an order placed on the supplier's website, or to a paid order
# (e.g. the supplier e-mailed the number instead of calling the supplier API).
RETAILER_TRACKABLE = {"non_auto_order", "paid", "forwarded", "partially_shipped", "shipped", "synced"}
# Not "paid or later": this read model may not have seen OrderPaid/OrderForwarded yet when a fast
# supplier ships (seen in the benchmark), and only a supplier the order was forwarded to knows its id.
SUPPLIER_NOT_TRACKABLE = {"unmatched", "non_auto_order", "cancelled", "refunded"}
# A wrong tracking number may be corrected on any order that has it, but a closed one.
NOT_CORRECTABLE = {"cancelled", "refunded"}
FROZEN = {"paid", "forwarded", "partially_shipped", "shipped", "synced", "refunded"}
REJECTION_NS = uuid.UUID("5d8a4f3e-9c2b-4e1a-8f67-2b9d0c4e7a13")
# A supplier may report that it cannot fulfil an order it was sent (paid: this read model may not have
# seen OrderForwarded yet), until it shipped it; why not otherwise, in words a supplier's developer acts on.
SUPPLIER_REJECTABLE = {"paid", "forwarded"}
NOT_REJECTABLE = {
    **dict.fromkeys(("unmatched", "unpaid", "payment_pending", "non_auto_order"),
                    ("not_forwarded", "it was not paid and forwarded to you, so there is nothing to reject")),
    **dict.fromkeys(("partially_shipped", "shipped", "synced"),
                    ("already_shipped", "tracking was reported for it already; contact Dropline about a shipped order")),
    **dict.fromkeys(("failed", "cancelled", "refunded"), ("already_closed", "it is closed already")),
}
EXPORT_BATCH = 500
CSV_COLUMNS = ["Dropline order", "Store order", "Store", "Platform", "Supplier", "Customer", "Items",
               "Dropline status", "Cost currency", "Cost", "USD", "Tracking numbers", "Created (UTC)"]


FLAGS = ("late", "not_synced")  # the alert flags an order list can be filtered on


def order_filter(*, supplier_id: str | None, status: str | None, store_id: str | None,
                 created_from: date | datetime | None, created_to: date | datetime | None,
                 q: str | None, flag: str | None = None) -> OrderFilter:
    """created_from/created_to: dates are whole UTC days (both ends included); datetimes are exact."""
    if status and status not in RANK:
        raise GatewayError(422, "invalid_status", f"status must be one of {', '.join(sorted(RANK))}",
                           allowed=sorted(RANK))
    if flag and flag not in FLAGS:
        raise GatewayError(422, "invalid_flag", f"flag must be one of {', '.join(FLAGS)}", allowed=list(FLAGS))

    def start(d):
        if isinstance(d, datetime):
            return d if d.tzinfo else d.replace(tzinfo=UTC)
        return datetime.combine(d, time.min, UTC)

    def before(d):
        if isinstance(d, datetime):
            return d if d.tzinfo else d.replace(tzinfo=UTC)
        return datetime.combine(d + timedelta(days=1), time.min, UTC)

    lo = start(created_from) if created_from else None
    hi = before(created_to) if created_to else None
    if lo and hi and lo >= hi:
        raise GatewayError(422, "invalid_date_range", "created_from must be before created_to")
    return OrderFilter(supplier_id=supplier_id or None, status=status or None, store_id=store_id or None,
                       created_from=lo, created_before=hi, q=(q or "").strip() or None, flag=flag or None)


def store_health(row: StoreHealth | None, last_webhook_at, writes_waiting: int) -> StoreHealthOut:
    out = StoreHealthOut(last_webhook_at=last_webhook_at, writes_waiting=writes_waiting)
    if row is None:
        return out
    if row.last_reconciled_at:
        out.last_reconciliation = Reconciliation(at=row.last_reconciled_at, examined=row.last_reconcile_examined or 0,
                                                 found=row.last_reconcile_ingested or 0,
                                                 error=row.last_reconcile_error)
    out.last_write_back_at = row.last_write_back_at
    if row.last_failure_at and row.last_failure_reason:
        out.last_failure = Failure(at=row.last_failure_at, reason=row.last_failure_reason)
    return out


def summary(row: OrderView, stores: dict[str, Store]) -> OrderSummary:
    order = json.loads(row.order_json) if row.order_json else {}
    terms = order.get("supplier") or {}
    store = stores.get(row.store_id or "")
    return OrderSummary(
        order_id=row.order_id, order_number=row.order_number, status=row.status,
        store=StoreRef(store_id=store.store_id, platform=store.platform, shop=store.shop) if store else None,
        platform=row.platform, platform_order_number=row.platform_order_number,
        supplier={"supplier_id": row.supplier_id, "name": row.supplier_name or terms.get("name") or row.supplier_id,
                  "currency": terms.get("currency"), "auto_order": bool(terms.get("auto_order")),
                  "website_url": terms.get("website_url")} if row.supplier_id else None,
        customer_name=row.customer_name, item_count=row.item_count, unmatched_line_count=row.unmatched_line_count,
        cost=json.loads(row.cost_json) if row.cost_json else None, usd_total=row.usd_total, problem=row.problem,
        supplier_order_id=row.supplier_order_id, tracking=shipments.render(row.tracking_json, order),
        late_since=row.late_since, not_synced_since=row.not_synced_since,
        created_at=row.created_at, updated_at=row.updated_at)


class Orders:
    def __init__(self, db: Database, checkout: CheckoutApi | None = None):
        self.db = db
        self.checkout = checkout

    async def _owner(self, supplier_id: str, order_id: str) -> dict:
        """Whose an order the read model does not hold (yet) is, asked of checkout.

        The read model is a projection and may lag (a busy or restarting projection consumer), while a
        supplier reports as soon as it ships: an order Dropline has forwarded to it can be missing here
        for a while. Checkout holds every order it was paid for, so it says whose the order is. Returns
        checkout's answer ({order_id, retailer_id, supplier_id, status}) when the order is this
        supplier's; raises 404 when it is anyone else's or nobody's, and 503 `order_not_ready` (with
        Retry-After: the supplier API's contract retries 5xx) when checkout does not answer."""
        if self.checkout is not None:
            try:
                _, owner = await self.checkout.call("GET", f"/internal/v1/orders/{path_segment(order_id)}")
            except GatewayError as exc:
                if exc.status != 404:  # checkout not answering: nothing is known, try again later
                    raise GatewayError(503, "order_not_ready", "Dropline cannot look this order up right now; "
                                       "send the report again shortly", headers={"Retry-After": "5"}) from None
            else:
                if isinstance(owner, dict) and owner.get("supplier_id") == supplier_id:
                    return owner
        raise GatewayError(404, "not_found", "no such order for this supplier")

    async def _not_ready(self, supplier_id: str, order_id: str, row: OrderView | None) -> GatewayError:
        """A report that needs the projected order (a rejection, a correction, named lines): 503
        `order_not_ready` with Retry-After when the order is this supplier's but not projected yet,
        else 404 (see `_owner`)."""
        if row is None or row.supplier_id is None:
            await self._owner(supplier_id, order_id)
            return GatewayError(503, "order_not_ready", "Dropline is still recording this order; send the "
                                "report again in a few seconds", headers={"Retry-After": "2"})
        return GatewayError(404, "not_found", "no such order for this supplier")

    async def page(self, who: Principal, f: OrderFilter, *, limit: int, offset: int) -> OrderPage:
        async with self.db.uow() as uow:
            repo = Repository(uow.session)
            rows, total = await repo.orders(who.retailer_id, f, limit=limit, offset=offset)
            stores = {s.store_id: s for s in await repo.stores_of(who.retailer_id)}
        return OrderPage(total=total, limit=limit, offset=offset, orders=[summary(r, stores) for r in rows])

    async def overview(self, who: Principal) -> Overview:
        async with self.db.uow() as uow:
            return Overview(**await Repository(uow.session).overview_counts(who.retailer_id))

    async def summaries(self, retailer_id: str, order_ids: list[str]) -> list[OrderSummary]:
        async with self.db.uow() as uow:
            repo = Repository(uow.session)
            rows = await repo.orders_by_ids(retailer_id, order_ids)
            stores = {s.store_id: s for s in await repo.stores_of(retailer_id)}
        return [summary(r, stores) for r in rows]

    async def detail(self, who: Principal, order_id: str) -> OrderDetail:
        async with self.db.uow() as uow:
            repo = Repository(uow.session)
            row = await repo.order(order_id)
            if row is None or row.retailer_id != who.retailer_id:
                raise not_found()
            timeline = await repo.timeline(order_id)
            stores = {s.store_id: s for s in await repo.stores_of(who.retailer_id)}
        order = json.loads(row.order_json) if row.order_json else {}
        terms = order.get("supplier") or {}
        lines = order.get("lines", [])
        non_auto = row.status == "non_auto_order" or (terms and not terms.get("auto_order"))
        return OrderDetail(
            **summary(row, stores).model_dump(),
            lines=lines, shipping_address=order.get("shipping_address"), customer=order.get("customer"),
            shipping_method=order.get("shipping_method"),
            payment=json.loads(row.payment_json) if row.payment_json else None,
            timeline=[{"at": t.occurred_at, "event": t.event_type, "status": t.status, "summary": t.summary}
                      for t in timeline],
            supplier_website_url=terms.get("website_url"),
            search_hints=[{"sku": line.get("supplier_sku") or line.get("sku"), "title": line.get("title"),
                           "quantity": line.get("quantity")} for line in lines if line.get("matched", True)]
            if non_auto else [],
            can_add_tracking=row.status in RETAILER_TRACKABLE, frozen=row.status in FROZEN,
            refunds=json.loads(row.refunds_json or "[]"))

    async def export_csv(self, who: Principal, f: OrderFilter) -> AsyncIterator[str]:
        """Every order of the filter (all pages), newest first; one short transaction per batch."""
        buf = io.StringIO()
        writer = csv.writer(buf)

        def flush() -> str:
            out = buf.getvalue()
            buf.seek(0)
            buf.truncate()
            return out

        writer.writerow(CSV_COLUMNS)
        yield flush()
        async with self.db.uow() as uow:
            stores = {s.store_id: s for s in await Repository(uow.session).stores_of(who.retailer_id)}
        after = None
        while True:
            async with self.db.uow() as uow:
                rows = await Repository(uow.session).orders_after(who.retailer_id, f, after, EXPORT_BATCH)
            if not rows:
                return
            for r in rows:
                s = summary(r, stores)
                writer.writerow([
                    s.order_number, s.platform_order_number, s.store.shop if s.store else "",
                    s.platform or "", s.supplier.name if s.supplier else "(unmatched)", s.customer_name or "",
                    s.item_count, s.status, s.cost.currency if s.cost else "", s.cost.total if s.cost else "",
                    s.usd_total if s.usd_total is not None else "",
                    " ".join(t.tracking_number for t in s.tracking if t.superseded_at is None),
                    s.created_at.astimezone(UTC).isoformat()])
            yield flush()
            after = (rows[-1].created_at, rows[-1].order_id)
            if len(rows) < EXPORT_BATCH:
                return

    async def stores(self, who: Principal) -> StoreList:
        async with self.db.uow() as uow:
            repo = Repository(uow.session)
            stores = await repo.stores_of(who.retailer_id)
            ids = [s.store_id for s in stores]
            health, webhooks, waiting = await repo.health_of(ids), await repo.last_webhooks(ids), \
                await repo.writes_waiting(ids)
        return StoreList(stores=[StoreOut(store_id=s.store_id, platform=s.platform, shop=s.shop,
                                          health=store_health(health.get(s.store_id), webhooks.get(s.store_id),
                                                              waiting.get(s.store_id, 0)))
                                 for s in stores])

    async def suppliers(self, who: Principal) -> SupplierList:
        async with self.db.uow() as uow:
            suppliers = await Repository(uow.session).suppliers_of(who.retailer_id)
        out = []
        for sup in suppliers:
            terms = json.loads(sup.terms_json)
            out.append(SupplierOut(supplier_id=sup.supplier_id, name=sup.name, currency=terms["currency"],
                                   auto_order=terms["auto_order"], website_url=terms.get("website_url"),
                                   payment_methods=terms.get("payment_methods", [])))
        return SupplierList(suppliers=out)

    # ------------------------------------------------------------------ tracking

    @staticmethod
    def guess_carrier(number: str) -> CarrierGuess:
        carrier = detect_carrier(number)
        return CarrierGuess(carrier=carrier, tracking_url=tracking_url(carrier, number))

    async def retailer_adds_tracking(self, who: Principal, order_id: str, number: str, carrier: str | None,
                                     url: str | None, supplier_order_id: str | None,
                                     lines: list[dict] | None = None) -> TrackingAccepted:
        def check(row: OrderView | None) -> None:
            if row is None or row.retailer_id != who.retailer_id:
                raise not_found()
            if row.status not in RETAILER_TRACKABLE:
                raise GatewayError(409, "not_trackable", f"an order that is {row.status} cannot get tracking yet",
                                   order_status=row.status)

        return await self._add_tracking(order_id, check, number, carrier, url, supplier_order_id, "retailer", lines)

    async def supplier_adds_tracking(self, supplier_id: str, order_id: str, number: str, carrier: str | None,
                                     url: str | None, supplier_order_id: str | None,
                                     lines: list[dict] | None = None) -> TrackingAccepted:
        missing = False

        def check(row: OrderView | None) -> None:
            nonlocal missing
            if row is None or row.supplier_id != supplier_id:
                missing = row is None or row.supplier_id is None  # not projected (yet)
                raise GatewayError(404, "not_found", "no such order for this supplier")
            if row.status in SUPPLIER_NOT_TRACKABLE:
                raise GatewayError(409, "not_trackable", f"order is {row.status}; it was not forwarded to a supplier",
                                   order_status=row.status)

        try:
            return await self._add_tracking(order_id, check, number, carrier, url, supplier_order_id, "supplier",
                                            lines)
        except GatewayError as exc:
            if not (exc.status == 404 and missing):
                raise
        # Not projected here yet, but checkout was paid for it and it is this supplier's: the report is
        # taken now (a supplier that gives up retrying would otherwise leave the order without tracking).
        owner = await self._owner(supplier_id, order_id)
        if owner.get("status") != "paid":
            raise GatewayError(409, "not_trackable", f"order is {owner.get('status')}; it was not forwarded to a "
                               "supplier", order_status=owner.get("status"))
        if lines is not None:  # which lines are these? only the projected order can tell
            raise await self._not_ready(supplier_id, order_id, None)
        return await self._add_unprojected_tracking(order_id, owner["retailer_id"], number, carrier, url,
                                                    supplier_order_id)

    async def _add_unprojected_tracking(self, order_id: str, retailer_id: str, number: str, carrier: str | None,
                                        url: str | None, supplier_order_id: str | None) -> TrackingAccepted:
        """A supplier's report on its order (checkout says so) that the read model has not projected:
        recorded and published as the whole order shipped (no lines: what older reports meant too; the
        store gets every line not fulfilled yet), without the order's row to lock. The same number again
        is the first report, as in `_add_tracking`."""
        carrier = carrier or detect_carrier(number)
        url = url or tracking_url(carrier, number)
        tracking_id = str(uuid.uuid5(TRACKING_NS, f"{order_id}|{number}"))
        try:
            async with self.db.uow() as uow:
                repo = Repository(uow.session)
                existing = next((r for r in await repo.tracking_reports(order_id) if r.tracking_number == number),
                                None)
                if existing:
                    return _first_report(existing)
                repo.add(TrackingReport(tracking_id=tracking_id, order_id=order_id, tracking_number=number,
                                        carrier=carrier, tracking_url=url, source="supplier", created_at=utcnow(),
                                        lines_json=None))
                ev = TrackingAddedV1.create(
                    data=TrackingAddedData(order_id=order_id, tracking_id=tracking_id, tracking_number=number,
                                           carrier=carrier, tracking_url=url, source="supplier",
                                           supplier_order_id=supplier_order_id),
                    producer=PRODUCER, tenant_id=retailer_id, correlation_id=f"order:{order_id}")
                uow.publish(ev, T.TRACKING_ADDED, key=order_id)
                await uow.commit()
        except IntegrityError:  # the same number at the same moment: the other one won
            return TrackingAccepted(tracking_id=tracking_id, status="duplicate", carrier=carrier, tracking_url=url)
        log.info("tracking taken before the order was projected", order_id=order_id, tracking_id=tracking_id)
        return TrackingAccepted(tracking_id=tracking_id, status="accepted", carrier=carrier, tracking_url=url)

    async def _add_tracking(self, order_id: str, check: Callable[[OrderView | None], None], number: str,
                            carrier: str | None, url: str | None, supplier_order_id: str | None,
                            source: Literal["supplier", "retailer"],
                            lines: list[dict] | None = None) -> TrackingAccepted:
        """One shipment: `lines` [{line_id, quantity}] it carries; omitted, every quantity not shipped yet
        (see shipments.plan for the refusals). The same number for the same order again is the first
        report ("duplicate"), whatever lines it names. `check` refuses an order the caller may not track
        (it raises); it sees the order as locked.

        One transaction: the order's row is locked (SELECT ... FOR UPDATE) before its reports are read,
        so of two reports for the same remaining quantity at once, on PostgreSQL the second waits for the
        first and sees it; SQLite serialises writers, and the second's insert either waits or fails (busy)
        rather than over-shipping silently. Superseded (corrected) reports are left out of what is
        shipped: their correction carries their lines."""
        carrier = carrier or detect_carrier(number)
        url = url or tracking_url(carrier, number)
        tracking_id = str(uuid.uuid5(TRACKING_NS, f"{order_id}|{number}"))
        try:
            async with self.db.uow() as uow:
                repo = Repository(uow.session)
                order = await repo.order(order_id, for_update=True)
                check(order)
                assert order is not None
                reports = await repo.tracking_reports(order_id)
                existing = next((r for r in reports if r.tracking_number == number), None)
                if existing:
                    return _first_report(existing)
                projected = DroplineOrder.read(order.order_json) if order.order_json else None
                earlier = [json.loads(r.lines_json) if r.lines_json else None for r in reports if r.superseded_at is None]
                shipped = shipments.plan(projected, earlier, lines)
                repo.add(TrackingReport(tracking_id=tracking_id, order_id=order_id, tracking_number=number,
                                        carrier=carrier, tracking_url=url, source=source, created_at=utcnow(),
                                        lines_json=json.dumps(shipped) if projected else None))
                ev = TrackingAddedV1.create(
                    data=TrackingAddedData(order_id=order_id, tracking_id=tracking_id, tracking_number=number,
                                           carrier=carrier, tracking_url=url, source=source,
                                           supplier_order_id=supplier_order_id,
                                           lines=shipped if projected else None,
                                           line_ids=[x["line_id"] for x in shipped] if projected else None),
                    producer=PRODUCER, tenant_id=order.retailer_id,
                    correlation_id=order.correlation_id or f"order:{order_id}")
                uow.publish(ev, T.TRACKING_ADDED, key=order_id)
                await uow.commit()
        except IntegrityError:  # the same number for the same order, at the same moment: the other one won
            return TrackingAccepted(tracking_id=tracking_id, status="duplicate", carrier=carrier, tracking_url=url)
        return TrackingAccepted(tracking_id=tracking_id, status="accepted", carrier=carrier, tracking_url=url,
                                lines=shipped if projected else None)

    # ------------------------------------------------------------------ tracking corrections

    async def retailer_corrects_tracking(self, who: Principal, order_id: str, tracking_id: str, number: str,
                                         carrier: str | None, url: str | None,
                                         reason: str) -> TrackingCorrectionAccepted:
        async with self.db.uow() as uow:
            repo = Repository(uow.session)
            row = await repo.order(order_id)
            if row is None or row.retailer_id != who.retailer_id:
                raise not_found()
            user = await repo.user(who.user_id) if who.via == "session" and who.user_id else None
        changed_by = f"retailer:{user.email}" if user is not None else \
            "retailer:api key" if who.via == "api_key" else f"retailer:{who.user_id or 'unknown'}"
        return await self._correct_tracking(row, tracking_id, number, carrier, url, reason, "retailer", changed_by)

    async def supplier_corrects_tracking(self, supplier_id: str, order_id: str, tracking_id: str, number: str,
                                         carrier: str | None, url: str | None,
                                         reason: str) -> TrackingCorrectionAccepted:
        async with self.db.uow() as uow:
            row = await Repository(uow.session).order(order_id)
        if row is None or row.supplier_id != supplier_id:
            raise await self._not_ready(supplier_id, order_id, row)
        return await self._correct_tracking(row, tracking_id, number, carrier, url, reason, "supplier",
                                            f"supplier:{supplier_id}")

    async def _correct_tracking(self, order: OrderView, tracking_id: str, number: str, carrier: str | None,
                                url: str | None, reason: str, source: Literal["supplier", "retailer"],
                                changed_by: str) -> TrackingCorrectionAccepted:
        """Replace report `tracking_id`'s wrong number: in one transaction, with the order's row locked
        (as _add_tracking), the old report is marked superseded (when, who, why), the new one inserted
        with its lines, and TrackingCorrected published (outbox). The same correction again (this report,
        this number) answers "duplicate" and publishes nothing; the refusals: shipments.check_correction,
        404 for a report of another order, 403 not_your_report for a supplier correcting the retailer's,
        409 not_trackable for a closed order."""
        carrier = carrier or detect_carrier(number)
        url = url or tracking_url(carrier, number)
        new_id = str(uuid.uuid5(TRACKING_NS, f"{order.order_id}|{number}"))
        try:
            async with self.db.uow() as uow:
                repo = Repository(uow.session)
                locked = await repo.order(order.order_id, for_update=True) or order
                old = await repo.tracking_report_by_id(tracking_id)
                if old is None or old.order_id != order.order_id:
                    raise not_found("tracking record for this order")
                if source == "supplier" and old.source != "supplier":
                    raise GatewayError(403, "not_your_report", "this tracking number was not reported by the "
                                       "supplier; ask the retailer to correct it", source=old.source)
                corrected_by = await repo.correction_of(old.tracking_id) if old.superseded_at else None
                if shipments.repeated_correction(old, corrected_by, number):
                    return _correction_out(old, corrected_by, "duplicate")
                if locked.status in NOT_CORRECTABLE:
                    raise GatewayError(409, "not_trackable", f"an order that is {locked.status} cannot have its "
                                       "tracking corrected", order_status=locked.status)
                shipments.check_correction(old, corrected_by, await repo.tracking_reports(order.order_id), number)
                now = utcnow()
                old.superseded_at, old.changed_by, old.change_reason = now, changed_by, reason
                new = TrackingReport(tracking_id=new_id, order_id=order.order_id, tracking_number=number,
                                     carrier=carrier, tracking_url=url, source=source, created_at=now,
                                     lines_json=old.lines_json, corrects_tracking_id=old.tracking_id)
                repo.add(old)
                repo.add(new)
                ev = TrackingCorrectedV1.create(
                    data=TrackingCorrectedData(
                        order_id=order.order_id, tracking_id=new_id, corrects_tracking_id=old.tracking_id,
                        previous_tracking_number=old.tracking_number, tracking_number=number, carrier=carrier,
                        tracking_url=url, lines=json.loads(old.lines_json) if old.lines_json else None,
                        source=source, changed_by=changed_by, reason=reason),
                    producer=PRODUCER, tenant_id=order.retailer_id,
                    correlation_id=order.correlation_id or f"order:{order.order_id}")
                uow.publish(ev, T.TRACKING_CORRECTED, key=order.order_id)
                out = _correction_out(old, new, "accepted")
                await uow.commit()
                return out
        except IntegrityError:  # the same record corrected at the same moment: the other one won
            async with self.db.uow() as uow:
                repo = Repository(uow.session)
                old = await repo.tracking_report_by_id(tracking_id)
                corrected_by = await repo.correction_of(tracking_id) if old is not None else None
                reports = await repo.tracking_reports(order.order_id)
            if old is None:
                raise
            if shipments.repeated_correction(old, corrected_by, number):
                return _correction_out(old, corrected_by, "duplicate")
            shipments.check_correction(old, corrected_by, reports, number)  # superseded, number_in_use
            raise

    # ------------------------------------------------------------------ a supplier's rejection

    async def supplier_rejects(self, supplier_id: str, order_id: str, reason: str,
                               supplier_order_id: str | None) -> RejectionAccepted:
        """The supplier cannot fulfil an order forwarded to it: recorded once per order, published as
        OrderForwardingFailed(rejected_by_supplier) in the same transaction (outbox) for checkout to
        refund it. A repeated report answers with the first one and publishes nothing."""
        missing = False
        try:
            async with self.db.uow() as uow:
                repo = Repository(uow.session)
                row = await repo.order(order_id)
                if row is None or row.supplier_id is None:  # not projected (yet)
                    missing = True  # answered below, the transaction closed (it may ask checkout)
                    raise LookupError(order_id)
                if row.supplier_id != supplier_id:
                    raise GatewayError(404, "not_found", "no such order for this supplier")
                existing = await repo.supplier_rejection(order_id)
                if existing is not None:
                    return _rejection_out(existing, "duplicate")
                if row.status not in SUPPLIER_REJECTABLE:
                    error, why = NOT_REJECTABLE.get(row.status, ("not_rejectable", "it cannot be rejected now"))
                    raise GatewayError(409, error, f"order is {row.status}: {why}", order_status=row.status)
                rejection = SupplierRejection(order_id=order_id, rejection_id=str(uuid.uuid5(REJECTION_NS, order_id)),
                                              supplier_id=supplier_id, reason=reason,
                                              supplier_order_id=supplier_order_id, reported_at=utcnow())
                repo.add(rejection)
                ev = OrderForwardingFailedV1.create(
                    data=OrderForwardingFailedData(order_id=order_id, supplier_id=supplier_id, reason=reason,
                                                   rejected_by_supplier=True),
                    producer=PRODUCER, tenant_id=row.retailer_id,
                    correlation_id=row.correlation_id or f"order:{order_id}", causation_id=rejection.rejection_id)
                uow.publish(ev, T.ORDER_FORWARDING_FAILED, key=order_id)
                await uow.commit()
                return _rejection_out(rejection, "accepted")
        except LookupError:
            if not missing:
                raise
            raise await self._not_ready(supplier_id, order_id, None) from None
        except IntegrityError:  # the same order reported twice at the same moment: the other report won
            async with self.db.uow() as uow:
                first = await Repository(uow.session).supplier_rejection(order_id)
            if first is None:
                raise
            return _rejection_out(first, "duplicate")


def _first_report(existing: TrackingReport) -> TrackingAccepted:
    """The answer to a number the order has already: the first report, as it was recorded."""
    return TrackingAccepted(tracking_id=existing.tracking_id, status="duplicate", carrier=existing.carrier,
                            tracking_url=existing.tracking_url,
                            lines=json.loads(existing.lines_json) if existing.lines_json else None)


def _correction_out(old: TrackingReport, new: TrackingReport,
                    status: Literal["accepted", "duplicate"]) -> TrackingCorrectionAccepted:
    return TrackingCorrectionAccepted(
        status=status, tracking_id=new.tracking_id, corrects_tracking_id=old.tracking_id,
        previous_tracking_number=old.tracking_number, tracking_number=new.tracking_number, carrier=new.carrier,
        tracking_url=new.tracking_url, lines=json.loads(new.lines_json) if new.lines_json else None,
        changed_by=old.changed_by or "", reason=old.change_reason or "")


def _rejection_out(r: SupplierRejection, status: Literal["accepted", "duplicate"]) -> RejectionAccepted:
    return RejectionAccepted(rejection_id=r.rejection_id, order_id=r.order_id, status=status, reason=r.reason,
                             supplier_order_id=r.supplier_order_id, reported_at=r.reported_at)
