"""Ecwid REST API v3 (platforms.md §3.2–§3.4): one order by id, the reconciliation search, the store
currency from the profile, and the tracking write-back.

Every call goes through `store_call` under the store's budget, keyed ``ecwid:{storeId}`` (Ecwid counts
600 requests per minute per token; one token per store). 429 + Retry-After → Deferred; 5xx → Retryable
with a cool-down; 401/403 (wrong or revoked token, missing scope), 400, 402 (plan without API) → Permanent.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from dropline_infra.jobs import Permanent, Retryable
from dropline_infra.observability import get_logger

from ..limits import RatePolicy, StoreLimiter, json_body, store_call
from ..port import (
    CorrectionResult,
    FulfilmentLine,
    FulfilmentRequest,
    FulfilmentResult,
    InvalidStoreOrder,
    OrderListing,
    StoreAccess,
    Tracking,
    TrackingCorrection,
    same_tracking_number,
)
from .normalise import DROPLINE_KEY, ecwid_time

log = get_logger(__name__)

MAX_WINDOW_NARROWING = 16  # halvings of the listing window: ~65,000× narrower than the first
# Statuses Dropline may move forward from; anything else (SHIPPED, DELIVERED, WILL_NOT_DELIVER, RETURNED,
# READY_FOR_PICKUP, OUT_FOR_DELIVERY, CUSTOM_FULFILLMENT_STATUS_n) was set by the merchant or a carrier
# and is left as it is.
OPEN_FULFILMENT_STATUSES = frozenset({None, "", "AWAITING_PROCESSING", "PROCESSING"})
LEDGER_PREFIX = "[Dropline] shipment:"


# --------------------------------------------------------------------------- the shipment ledger


@dataclass(frozen=True)
class LedgerEntry:
    """One Dropline shipment, as recorded in the order's ``privateAdminNotes`` (one line each)."""

    number: str
    items: dict[str, int]  # Ecwid item id -> quantity shipped
    carrier: str | None = None
    url: str | None = None

    def line(self) -> str:
        parts = [f"{LEDGER_PREFIX} tracking {self.number}"]
        if self.carrier:
            parts.append(f"carrier {self.carrier}")
        parts.append("items " + ",".join(f"{item}x{qty}" for item, qty in self.items.items()))
        if self.url:
            parts.append(f"url {self.url}")
        return "; ".join(parts)


def _one_line(value: str | None) -> str | None:
    return re.sub(r"[\r\n;]+", " ", value).strip() or None if value else None


def parse_ledger(notes: Any) -> list[LedgerEntry]:
    """Our own lines in the merchant's private notes; every other line is the merchant's and left alone."""
    if not isinstance(notes, str):
        return []
    entries = []
    for raw in notes.splitlines():
        line = raw.strip()
        if not line.startswith(LEDGER_PREFIX):
            continue
        fields: dict[str, str] = {}
        for part in line[len(LEDGER_PREFIX):].split(";"):
            key, _, value = part.strip().partition(" ")
            if key and value.strip():
                fields[key] = value.strip()
        if "tracking" not in fields:
            continue
        shipped: dict[str, int] = {}
        for token in fields.get("items", "").split(","):
            item, sep, qty = token.strip().rpartition("x")
            if sep and item and qty.isdigit():
                shipped[item] = shipped.get(item, 0) + int(qty)
        entries.append(LedgerEntry(number=fields["tracking"], items=shipped, carrier=fields.get("carrier"),
                                   url=fields.get("url")))
    return entries


def tracking_present(order: Mapping[str, Any], number: str) -> bool:
    """This number is the order's tracking number, or one Dropline recorded for it earlier."""
    if same_tracking_number(order.get("trackingNumber") if isinstance(order.get("trackingNumber"), str) else None,
                            number):
        return True
    return any(same_tracking_number(e.number, number) for e in parse_ledger(order.get("privateAdminNotes")))


def order_items(order: Mapping[str, Any]) -> dict[str, tuple[int, bool]]:
    """Ecwid item id -> (quantity, needs shipping)."""
    result: dict[str, tuple[int, bool]] = {}
    for item in order.get("items") or []:
        if not isinstance(item, Mapping) or item.get("id") is None:
            continue
        qty = item.get("quantity")
        result[str(item["id"])] = (qty if isinstance(qty, int) and not isinstance(qty, bool) else 0,
                                   item.get("isShippingRequired") is not False)
    return result


def plan_update(order: Mapping[str, Any], lines: Sequence[FulfilmentLine], tracking: Tracking) -> dict[str, Any]:
    """The PUT body for one shipment of some of the order's items (see the package docstring).

    - ``trackingNumber`` (+ ``trackingUrl``): this shipment's (only ever written while the order has none:
      Ecwid keeps one per order, and `EcwidOrders.fulfil` never replaces another shipment's number);
    - ``privateAdminNotes``: the merchant's notes with one ledger line appended, so every earlier number
      stays visible to the merchant and tells which items it carried;
    - ``fulfillmentStatus``: SHIPPED once the ledger covers every item that needs shipping, PROCESSING
      before; only moved forward from AWAITING_PROCESSING / PROCESSING, never back.
    ``items`` is never sent: Ecwid would drop every item left out of it.
    """
    known = order_items(order)
    shipped: dict[str, int] = {}
    for line in lines:
        key = str(line.platform_line_id)
        if key not in known:
            raise Permanent(f"Ecwid order {order.get('id')}: no item {key} (items: {', '.join(known) or 'none'})")
        shipped[key] = shipped.get(key, 0) + line.quantity
    if not shipped:
        raise Permanent(f"Ecwid order {order.get('id')}: a shipment without lines")
    entry = LedgerEntry(number=_one_line(tracking.number) or tracking.number.strip(), items=shipped, carrier=_one_line(tracking.company),
                        url=_one_line(tracking.url))
    covered: dict[str, int] = {}
    for e in [*parse_ledger(order.get("privateAdminNotes")), entry]:
        for item, qty in e.items.items():
            covered[item] = covered.get(item, 0) + qty
    everything = all(covered.get(item, 0) >= qty for item, (qty, ships) in known.items() if ships)

    notes = order.get("privateAdminNotes") if isinstance(order.get("privateAdminNotes"), str) else ""
    body: dict[str, Any] = {"trackingNumber": entry.number,
                            "privateAdminNotes": (notes.rstrip("\n") + "\n" if notes.strip() else "") + entry.line()}
    if tracking.url:
        body["trackingUrl"] = tracking.url
    elif order.get("trackingUrl"):
        body["trackingUrl"] = ""  # an earlier shipment's link would point at the wrong parcel
    current = order.get("fulfillmentStatus")
    if current in OPEN_FULFILMENT_STATUSES:
        wanted = "SHIPPED" if everything else "PROCESSING"
        if wanted != current:
            body["fulfillmentStatus"] = wanted
    return body


def rewrite_ledger(notes: Any, previous: str, tracking: Tracking) -> str | None:
    """The private notes with Dropline's ledger line(s) for `previous` now naming the corrected number (the
    items it carried stay; the carrier is the new one if given; the old parcel's link goes). None when no
    ledger line holds `previous`. Every other line — the merchant's — is left exactly as it was."""
    if not isinstance(notes, str):
        return None
    changed = False
    out = []
    for raw in notes.split("\n"):
        entries = parse_ledger(raw) if raw.strip().startswith(LEDGER_PREFIX) else []
        if entries and same_tracking_number(entries[0].number, previous):
            old = entries[0]
            raw = LedgerEntry(number=_one_line(tracking.number) or tracking.number.strip(), items=old.items,
                              carrier=_one_line(tracking.company) or old.carrier, url=_one_line(tracking.url)).line()
            changed = True
        out.append(raw)
    return "\n".join(out) if changed else None


def ledger_has(notes: Any, number: str) -> bool:
    return any(same_tracking_number(e.number, number) for e in parse_ledger(notes))


# --------------------------------------------------------------------------- the adapter


@dataclass
class _Page:
    total: int
    items: list[dict[str, Any]]


class EcwidOrders:
    def __init__(self, http: httpx.AsyncClient, limiter: StoreLimiter, *, policy: RatePolicy, timeout: float,
                 page_size: int, max_orders: int, profile_cache_seconds: float,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.http = http
        self.limiter = limiter
        self.policy = policy
        self.timeout = timeout
        self.page_size = page_size
        self.max_orders = max(max_orders, page_size)
        self.profile_cache_seconds = profile_cache_seconds
        self.clock = clock
        self.wall_clock = wall_clock
        self._currencies: dict[str, tuple[str, float]] = {}  # "base url" -> (currency, valid until)

    # -- plumbing ------------------------------------------------------------------------------------

    @staticmethod
    def _headers(store: StoreAccess) -> dict[str, str]:
        token = store.credentials.get("secret_token")
        if not token:
            raise Permanent(f"store {store.store_id}: credentials have no secret_token")
        return {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    async def _call(self, store: StoreAccess, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        return await store_call(self.http, self.limiter, f"ecwid:{store.shop}", self.policy, method,
                                f"{store.api_base_url.rstrip('/')}/{path}", what=f"Ecwid {what}",
                                headers=self._headers(store), timeout=self.timeout, **kwargs)

    @staticmethod
    def _order_path(platform_order_id: str) -> str:
        order_id = str(platform_order_id).strip()
        if not order_id:
            raise Permanent("Ecwid order id is empty")
        return "orders/" + quote(order_id, safe="")

    async def _order(self, store: StoreAccess, platform_order_id: str) -> dict[str, Any]:
        resp = await self._call(store, "GET", self._order_path(platform_order_id), "get order")
        if resp.status_code == 404:
            raise Permanent(f"Ecwid get order: HTTP 404 (no order {platform_order_id} in store {store.shop})")
        order = json_body(resp, "Ecwid get order")
        if not isinstance(order, dict):
            raise Retryable("Ecwid get order: the answer is not an order object")
        return order

    async def currency(self, store: StoreAccess) -> str:
        """The store's currency (GET /profile → formatsAndUnits.currency), cached for a few minutes."""
        key = store.api_base_url.rstrip("/")
        cached = self._currencies.get(key)
        if cached and cached[1] > self.clock():
            return cached[0]
        resp = await self._call(store, "GET", "profile", "get store profile")
        if resp.status_code == 404:
            raise Permanent(f"Ecwid get store profile: HTTP 404 (no store {store.shop})")
        profile = json_body(resp, "Ecwid get store profile")
        units = profile.get("formatsAndUnits") if isinstance(profile, dict) else None
        value = units.get("currency") if isinstance(units, dict) else None
        if not isinstance(value, str) or len(value.strip()) != 3:
            raise Permanent(f"Ecwid store {store.shop}: the profile has no formatsAndUnits.currency ({value!r})")
        value = value.strip().upper()
        self._currencies[key] = (value, self.clock() + self.profile_cache_seconds)
        return value

    def _with_currency(self, store: StoreAccess, order: dict[str, Any], money: str) -> dict[str, Any]:
        return {**order, DROPLINE_KEY: {"currency": money, "storeId": store.shop}}

    # -- the port ------------------------------------------------------------------------------------

    async def fetch(self, store: StoreAccess, platform_order_id: str) -> dict[str, Any]:
        order = await self._order(store, platform_order_id)
        return self._with_currency(store, order, await self.currency(store))

    async def _search(self, store: StoreAccess, since: int, upper: int | None, offset: int) -> _Page:
        params: dict[str, Any] = {"updatedFrom": since, "offset": offset, "limit": self.page_size}
        if upper is not None:
            params["updatedTo"] = upper
        resp = await self._call(store, "GET", "orders", "search orders", params=params)
        if resp.status_code == 404:
            raise Permanent(f"Ecwid search orders: HTTP 404 (no store {store.shop})")
        body = json_body(resp, "Ecwid search orders")
        found = body.get("items") if isinstance(body, dict) else None
        total = body.get("total") if isinstance(body, dict) else None
        if not isinstance(found, list) or not isinstance(total, int) or isinstance(total, bool):
            raise Retryable("Ecwid search orders: the answer has no 'items' list or 'total'")
        return _Page(total=total, items=[o for o in found if isinstance(o, dict)])

    async def list(self, store: StoreAccess, updated_since: datetime) -> OrderListing:
        """Every order updated since the watermark (``updatedFrom``, inclusive: the order updated in the
        watermark's second comes again; downstream dedupes on the order id), oldest update first.

        Ecwid documents no sort order for the search, so one listing walks all its pages (offset/limit,
        100 a page) rather than trusting page order for a watermark. When more than ``max_orders`` match,
        the window is halved with ``updatedTo`` until it fits: that window is read completely and the
        listing is reported incomplete, with the window's end as the next watermark."""
        since = int(updated_since.astimezone(UTC).timestamp())
        upper: int | None = None
        first = await self._search(store, since, upper, 0)
        for _ in range(MAX_WINDOW_NARROWING):
            if first.total <= self.max_orders:
                break
            high = upper if upper is not None else max(int(self.wall_clock().timestamp()), since + 1)
            if high - since <= 1:
                break
            upper = since + (high - since) // 2
            first = await self._search(store, since, upper, 0)
        orders = list(first.items)
        seen = {str(o.get("id")) for o in orders}
        total, offset, page = first.total, len(first.items), first
        while page.items and offset < min(total, self.max_orders):
            page = await self._search(store, since, upper, offset)
            offset += len(page.items)
            for order in page.items:
                if str(order.get("id")) not in seen:  # an order updated during the walk may move a page
                    seen.add(str(order.get("id")))
                    orders.append(order)
        money = await self.currency(store) if orders else None

        def updated(order: Mapping[str, Any]) -> datetime | None:
            try:
                stamp = order.get("updateTimestamp")
                if isinstance(stamp, int) and not isinstance(stamp, bool):
                    return datetime.fromtimestamp(stamp, UTC)
                return ecwid_time(order.get("updateDate"), "updateDate")
            except (InvalidStoreOrder, OverflowError, OSError, ValueError):
                return None

        floor = datetime.fromtimestamp(0, UTC)
        orders.sort(key=lambda o: updated(o) or floor)
        stamps = [s for s in (updated(o) for o in orders) if s is not None]
        newest = max(stamps) if stamps else None
        complete = upper is None and len(orders) >= total
        if upper is not None:
            window_end = datetime.fromtimestamp(upper, UTC)
            newest = max(newest, window_end) if newest else window_end
        return OrderListing(orders=[self._with_currency(store, o, money) for o in orders] if money else [],
                            newest_update=newest, complete=complete)

    async def fulfil(self, store: StoreAccess, request: FulfilmentRequest) -> FulfilmentResult:
        number = request.tracking.number.strip()
        if not number:
            raise Permanent("Ecwid fulfil: empty tracking number")
        fulfilment_id = f"{request.platform_order_id}/{number}"
        order = await self._order(store, request.platform_order_id)
        if tracking_present(order, number):
            log.info("tracking already in the Ecwid order; nothing written", platform_fulfillment_id=fulfilment_id)
            return FulfilmentResult(platform_fulfillment_id=fulfilment_id, already_present=True)
        body = plan_update(order, request.lines, request.tracking)  # checks the items first
        kept = order.get("trackingNumber")
        if isinstance(kept, str) and kept.strip():
            # Ecwid keeps one tracking number per order and this one already holds another shipment's:
            # writing ours would replace it (the customer's email and order page would lose the first
            # parcel). Nothing is written; the caller records the number and reports kept_number.
            log.info("the Ecwid order holds another tracking number; kept, nothing written",
                     platform_fulfillment_id=fulfilment_id, kept_number=kept.strip())
            return FulfilmentResult(platform_fulfillment_id=fulfilment_id, kept_number=kept.strip())
        resp = await self._call(store, "PUT", self._order_path(request.platform_order_id), "update order",
                                json=body)
        if resp.status_code == 404:
            raise Permanent(f"Ecwid update order: HTTP 404 (no order {request.platform_order_id} in {store.shop})")
        answer = json_body(resp, "Ecwid update order")
        if not isinstance(answer, dict) or answer.get("updateCount") != 1:
            raise Retryable(f"Ecwid update order: unexpected answer {str(answer)[:200]}")
        # Two shipments of one store order written at the same moment would each read the notes, append
        # their line and write: the later write loses the earlier line. Read back, and try again if so
        # (the retry looks before it writes).
        written = await self._order(store, request.platform_order_id)
        if not tracking_present(written, number):
            raise Retryable(f"Ecwid order {request.platform_order_id}: tracking {number} not found after the "
                            "update (a concurrent update replaced it); writing again")
        log.info("tracking written to the Ecwid order", platform_fulfillment_id=fulfilment_id,
                 fulfillment_status=body.get("fulfillmentStatus"))
        return FulfilmentResult(platform_fulfillment_id=fulfilment_id)

    async def correct_tracking(self, store: StoreAccess, correction: TrackingCorrection) -> CorrectionResult:
        """Replace a wrong number Dropline wrote, keeping ADR 24 (one tracking number per Ecwid order).

        GET the order (404 → Permanent: the order is gone), then by the order's ``trackingNumber``:
        - the new number → ``already_present``, nothing written (a rerun after the write);
        - the previous number (or none at all: nobody else's number is replaced) → one PUT of
          ``trackingNumber`` / ``trackingUrl`` (emptied when the correction has no link: the old one points
          at the wrong parcel) and, when Dropline's ledger line for the previous number is in
          ``privateAdminNotes``, that line rewritten to the new number. ``fulfillmentStatus`` is not sent
          (the status stays as it is), ``items`` never;
        - some other number (another shipment's, or the merchant's): that number stays. If the previous
          number is in one of Dropline's ledger lines, only that line is rewritten (a PUT of
          ``privateAdminNotes``); either way the answer is ``kept_number=<the store's number>``. A ledger
          line that names the new number already → ``already_present`` with ``kept_number``.
        The PUT is read back, as in `fulfil` (a concurrent update of the notes may have dropped ours → Retryable).
        ``platform_fulfillment_id`` is ``{orderId}/{new number}``, what `fulfil` returns for that number.
        """
        number = correction.tracking.number.strip()
        previous = correction.previous.number.strip()
        if not number:
            raise Permanent("Ecwid tracking correction: empty tracking number")
        order_id = correction.platform_order_id
        fulfilment_id = f"{order_id}/{number}"
        order = await self._order(store, order_id)
        current = order.get("trackingNumber") if isinstance(order.get("trackingNumber"), str) else None
        current = current.strip() if current and current.strip() else None
        notes = order.get("privateAdminNotes")

        if same_tracking_number(current, number):
            log.info("corrected tracking already in the Ecwid order; nothing written",
                     platform_fulfillment_id=fulfilment_id)
            return CorrectionResult(platform_fulfillment_id=fulfilment_id, already_present=True)

        if current is None or same_tracking_number(current, previous):
            body: dict[str, Any] = {"trackingNumber": _one_line(number) or number,
                                    "trackingUrl": correction.tracking.url or ""}
            rewritten = rewrite_ledger(notes, previous, correction.tracking)
            if rewritten is not None:
                body["privateAdminNotes"] = rewritten
            await self._put(store, order_id, body)
            written = await self._order(store, order_id)
            if not same_tracking_number(written.get("trackingNumber") if isinstance(written.get("trackingNumber"),
                                                                                    str) else None, number):
                raise Retryable(f"Ecwid order {order_id}: tracking {number} not found after the correction (a "
                                "concurrent update replaced it); writing again")
            log.info("tracking corrected in the Ecwid order", platform_fulfillment_id=fulfilment_id,
                     previous=previous, ledger=rewritten is not None)
            return CorrectionResult(platform_fulfillment_id=fulfilment_id)

        # The order holds another shipment's (or the merchant's) number: it stays (ADR 24).
        if ledger_has(notes, number):
            return CorrectionResult(platform_fulfillment_id=fulfilment_id, already_present=True, kept_number=current)
        rewritten = rewrite_ledger(notes, previous, correction.tracking)
        if rewritten is None:
            log.info("the Ecwid order holds another tracking number and no ledger line of the previous one; "
                     "nothing written", platform_fulfillment_id=fulfilment_id, kept_number=current)
            return CorrectionResult(platform_fulfillment_id=fulfilment_id, kept_number=current)
        await self._put(store, order_id, {"privateAdminNotes": rewritten})
        written = await self._order(store, order_id)
        if not ledger_has(written.get("privateAdminNotes"), number):
            raise Retryable(f"Ecwid order {order_id}: the corrected ledger line is not in the notes after the "
                            "update (a concurrent update replaced them); writing again")
        log.info("ledger line corrected; the Ecwid order keeps its tracking number",
                 platform_fulfillment_id=fulfilment_id, kept_number=current)
        return CorrectionResult(platform_fulfillment_id=fulfilment_id, kept_number=current)

    async def _put(self, store: StoreAccess, order_id: str, body: dict[str, Any]) -> None:
        resp = await self._call(store, "PUT", self._order_path(order_id), "update order", json=body)
        if resp.status_code == 404:
            raise Permanent(f"Ecwid update order: HTTP 404 (no order {order_id} in {store.shop})")
        answer = json_body(resp, "Ecwid update order")
        if not isinstance(answer, dict) or answer.get("updateCount") != 1:
            raise Retryable(f"Ecwid update order: unexpected answer {str(answer)[:200]}")
