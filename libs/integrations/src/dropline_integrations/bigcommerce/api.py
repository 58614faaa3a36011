"""BigCommerce REST (v2 Orders, platforms.md §2.2-§2.4): fetch one order, list orders since a
watermark, write shipments with tracking.

Every call: ``{api_base_url}/v2/...`` with ``X-Auth-Token: {access_token}`` and ``Accept:
application/json`` (``X-Auth-Client`` is no longer required). ``api_base_url`` is
``https://api.bigcommerce.com/stores/{store_hash}``.

Rate limit: a quota per store shared by every app (Standard/Plus 150 requests per 30 s). We spend a
local budget with headroom and follow what every answer says: ``X-Rate-Limit-Requests-Left`` and
``X-Rate-Limit-Time-Reset-Ms`` feed the per-store limiter; a 429 blocks the store for
``X-Retry-After`` (or the reset time) and defers the job (`store_call`).

List endpoints of v2 answer ``204 No Content`` instead of an empty array (documented for shipments;
the same for orders/products when nothing matches) — read as "none".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from dropline_infra.jobs import Deferred, Permanent, Retryable
from dropline_infra.observability import get_logger

from ..carriers import bigcommerce_fields
from ..limits import RatePolicy, StoreLimiter, header_int, json_body, store_call
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
from .normalise import bc_date

log = get_logger(__name__)

TRACKING_NUMBER_MAX = 50  # orderShipment_Post.tracking_number maxLength
TRACKING_LINK_MAX = 500  # orderShipment_Post.tracking_link maxLength


def carrier_fields(company: str | None) -> tuple[str, str]:
    """(shipping_provider, tracking_carrier) for a carrier name: see dropline_integrations.carriers."""
    return bigcommerce_fields(company)


def rate_headers(resp: httpx.Response) -> tuple[int, float | None] | None:
    """(requests left, seconds until the window refreshes) from BigCommerce's answer headers."""
    left = header_int(resp.headers, "X-Rate-Limit-Requests-Left")
    if left is None:
        return None
    reset_ms = header_int(resp.headers, "X-Rate-Limit-Time-Reset-Ms")
    return left, (reset_ms / 1000 if reset_ms is not None else None)


def iso_param(moment: datetime) -> str:
    """ISO 8601 with offset, the second accepted form of min_date_modified (e.g. 2017-04-20T11:32:00+00:00)."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class ShipmentPlan:
    bodies: list[dict[str, Any]]  # one POST body per order_address_id
    unmet: dict[str, int]  # order product id -> quantity with nothing left to ship


def plan_shipments(products: Sequence[Mapping[str, Any]], lines: Sequence[FulfilmentLine],
                   tracking: Tracking) -> ShipmentPlan:
    """Shipments for OUR lines only, what is still unshipped of each, grouped by shipping address."""
    need: dict[str, int] = {}
    for line in lines:
        need[str(line.platform_line_id)] = need.get(str(line.platform_line_id), 0) + line.quantity
    by_id = {str(p.get("id")): p for p in products if isinstance(p, Mapping)}
    unknown = sorted(k for k in need if k not in by_id)
    if unknown:
        raise Permanent(f"order products not in this BigCommerce order: {', '.join(unknown)}")
    by_address: dict[int, list[dict[str, int]]] = {}
    unmet: dict[str, int] = {}
    for key, wanted in need.items():
        product = by_id[key]
        ordered, shipped = _int(product.get("quantity")), _int(product.get("quantity_shipped"))
        address = _int(product.get("order_address_id"))
        ship = min(wanted, max(ordered - shipped, 0)) if address > 0 else 0
        if ship > 0:
            by_address.setdefault(address, []).append({"order_product_id": _int(product.get("id")), "quantity": ship})
        if wanted > ship:
            unmet[key] = wanted - ship
    provider, carrier = carrier_fields(tracking.company)
    bodies = []
    for address, shipment_items in sorted(by_address.items()):
        body: dict[str, Any] = {"order_address_id": address, "tracking_number": tracking.number,
                                "shipping_provider": provider, "tracking_carrier": carrier,
                                "items": shipment_items}
        if tracking.company:
            body["shipping_method"] = tracking.company[:100]
        if tracking.url:
            body["tracking_link"] = tracking.url
        bodies.append(body)
    return ShipmentPlan(bodies=bodies, unmet=unmet)


def _int(value: Any) -> int:
    try:
        return int(value) if not isinstance(value, bool) else 0
    except (TypeError, ValueError):
        return 0


class BigCommerceApi:
    def __init__(self, http: httpx.AsyncClient, limiter: StoreLimiter, *, policy: RatePolicy, timeout: float,
                 page_size: int, sub_page_size: int):
        self.http = http
        self.limiter = limiter
        self.policy = policy
        self.timeout = timeout
        self.page_size = page_size
        self.sub_page_size = sub_page_size

    # -- plumbing ------------------------------------------------------------------------------------

    def _headers(self, store: StoreAccess) -> dict[str, str]:
        token = store.credentials.get("access_token")
        if not token:
            raise Permanent(f"store {store.store_id}: credentials have no access_token")
        return {"X-Auth-Token": str(token), "Accept": "application/json"}

    async def _call(self, store: StoreAccess, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        return await store_call(self.http, self.limiter, f"bigcommerce:{store.shop}", self.policy, method,
                                f"{store.api_base_url.rstrip('/')}/{path}", what=f"BigCommerce {what}",
                                headers=self._headers(store), timeout=self.timeout, reset_headers=rate_headers,
                                **kwargs)

    async def _get_list(self, store: StoreAccess, path: str, what: str, *,
                        missing_is_permanent: bool = True) -> list[dict[str, Any]]:
        """Every page of a v2 sub-resource list (204 = none)."""
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            resp = await self._call(store, "GET", path, what, params={"limit": self.sub_page_size, "page": page})
            if resp.status_code == 404:
                if missing_is_permanent:
                    raise Permanent(f"BigCommerce {what}: HTTP 404 (no such order in store {store.shop})")
                return out
            if resp.status_code == 204:
                return out
            body = json_body(resp, f"BigCommerce {what}")
            if not isinstance(body, list):
                raise Retryable(f"BigCommerce {what}: answer is not a JSON array")
            out.extend(x for x in body if isinstance(x, dict))
            if len(body) < self.sub_page_size:
                return out
            page += 1

    @staticmethod
    def _order_id(platform_order_id: str) -> str:
        if not platform_order_id.isdigit():
            raise Permanent(f"BigCommerce order id must be numeric, got {platform_order_id!r}")
        return platform_order_id

    # -- reads ---------------------------------------------------------------------------------------

    async def fetch(self, store: StoreAccess, platform_order_id: str) -> dict[str, Any]:
        order_id = self._order_id(platform_order_id)
        resp = await self._call(store, "GET", f"v2/orders/{order_id}", "get order")
        if resp.status_code == 404:
            raise Permanent(f"BigCommerce get order: HTTP 404 (no order {order_id} in store {store.shop})")
        order = json_body(resp, "BigCommerce get order") if resp.status_code != 204 else None
        if not isinstance(order, dict):
            raise Retryable("BigCommerce get order: answer is not an order object")
        return await self._complete(store, order)

    async def _complete(self, store: StoreAccess, order: dict[str, Any]) -> dict[str, Any]:
        order_id = order.get("id")
        products = await self._get_list(store, f"v2/orders/{order_id}/products", "list order products")
        addresses = await self._get_list(store, f"v2/orders/{order_id}/shipping_addresses",
                                         "list order shipping addresses")
        return {"order": order, "products": products, "shipping_addresses": addresses}

    async def list(self, store: StoreAccess, updated_since: datetime) -> OrderListing:
        resp = await self._call(store, "GET", "v2/orders", "list orders", params={
            "min_date_modified": iso_param(updated_since), "sort": "date_modified:asc",
            "limit": self.page_size, "page": 1})
        if resp.status_code in (204, 404):
            return OrderListing(orders=[], newest_update=None, complete=True)
        body = json_body(resp, "BigCommerce list orders")
        if not isinstance(body, list):
            raise Retryable("BigCommerce list orders: answer is not a JSON array")
        orders = [o for o in body if isinstance(o, dict) and str(o.get("id", "")).isdigit()]
        complete = len(body) < self.page_size
        merged: list[dict[str, Any]] = []
        newest: datetime | None = None
        for order in orders:
            try:
                full = await self._complete(store, order)
            except Deferred:
                if not merged:
                    raise
                # The store's budget ran out mid-page: hand back what is complete; the next call
                # starts from its newest update (orders come oldest first).
                complete = False
                break
            merged.append(full)
            try:
                seen = bc_date(order.get("date_modified"), "date_modified")
            except InvalidStoreOrder:
                seen = None
            if seen and (newest is None or seen > newest):
                newest = seen
        return OrderListing(orders=merged, newest_update=newest, complete=complete)

    # -- write-back ----------------------------------------------------------------------------------

    async def fulfil(self, store: StoreAccess, request: FulfilmentRequest) -> FulfilmentResult:
        order_id = self._order_id(request.platform_order_id)
        number = request.tracking.number.strip()
        if not number:
            raise Permanent("a shipment needs a tracking number")
        if len(number) > TRACKING_NUMBER_MAX:
            raise Permanent(f"tracking number longer than BigCommerce's {TRACKING_NUMBER_MAX} characters: {number!r}")
        if request.tracking.url and len(request.tracking.url) > TRACKING_LINK_MAX:
            raise Permanent(f"tracking link longer than BigCommerce's {TRACKING_LINK_MAX} characters")

        # Look before writing: a shipment carrying this number means the write happened already (we
        # crashed after the POST, before our commit). For an order shipped to several addresses the
        # earlier run may have written only some of its shipments: the addresses covered are skipped.
        shipments = await self._get_list(store, f"v2/orders/{order_id}/shipments", "list order shipments")
        mine = [s for s in shipments if same_tracking_number(s.get("tracking_number"), number)]
        covered = {_int(s.get("order_address_id")) for s in mine}
        products = await self._get_list(store, f"v2/orders/{order_id}/products", "list order products")
        tracking = Tracking(number=number, company=request.tracking.company, url=request.tracking.url)
        plan = plan_shipments(products, request.lines, tracking)
        todo = [body for body in plan.bodies if body["order_address_id"] not in covered]
        if mine and not todo:
            present = ",".join(str(s.get("id")) for s in mine)
            log.info("tracking already in the store; nothing written", platform_fulfillment_id=present)
            return FulfilmentResult(platform_fulfillment_id=present, already_present=True)
        if not todo:
            raise Permanent(f"nothing to fulfil: the lines of order {order_id} are shipped already or not "
                            f"shippable (no shipping address) in store {store.shop}")
        if plan.unmet:
            log.warning("part of the lines is shipped already; shipping the rest", unmet=plan.unmet)

        created: list[str] = [str(s.get("id")) for s in mine]
        for body in todo:
            try:
                resp = await self._call(store, "POST", f"v2/orders/{order_id}/shipments", "create shipment",
                                        json=body)
            except Permanent as exc:
                done = f" (already created: {', '.join(created)})" if created else ""
                raise Permanent(f"{exc}{done}") from None
            if resp.status_code == 404:
                raise Permanent(f"BigCommerce create shipment: HTTP 404 (no order {order_id} in {store.shop})")
            shipment = json_body(resp, "BigCommerce create shipment")
            if not isinstance(shipment, dict) or shipment.get("id") is None:
                raise Retryable("BigCommerce create shipment: answer without a shipment id")
            created.append(str(shipment["id"]))
        log.info("shipments created", platform_fulfillment_ids=created)
        return FulfilmentResult(platform_fulfillment_id=",".join(created))

    # -- tracking corrections ------------------------------------------------------------------------

    async def correct_tracking(self, store: StoreAccess, correction: TrackingCorrection) -> CorrectionResult:
        """Give the shipment(s) `fulfil` created the right number (orderShipment_Put), never a new shipment.

        ``GET /v2/orders/{order_id}/shipments/{shipment_id}`` first: 404 → the shipment (or order) is gone,
        Permanent; a shipment that shows the new number already → nothing written. Otherwise ``PUT`` the same
        path with ``tracking_number`` and the carrier fields fulfil sends (``shipping_provider`` /
        ``tracking_carrier`` from dropline_integrations.carriers, ``shipping_method``, ``tracking_link`` —
        emptied when there is no link for the new number, so the old parcel's custom link does not stay).
        The shipment's items and address are not sent (a PUT leaves omitted fields as they are).
        Throttling and outages as in every call (`store_call`): 429 → Deferred, 5xx/timeouts → Retryable.
        UNCONFIRMED: whether a PUT that changes only the number sends the customer another shipment email
        (BigCommerce documents ``store/shipment/updated`` for tracking-number changes, not the email).
        """
        order_id = self._order_id(correction.platform_order_id)
        number = correction.tracking.number.strip()
        if not number:
            raise Permanent("a tracking correction needs the new number")
        if len(number) > TRACKING_NUMBER_MAX:
            raise Permanent(f"tracking number longer than BigCommerce's {TRACKING_NUMBER_MAX} characters: {number!r}")
        if correction.tracking.url and len(correction.tracking.url) > TRACKING_LINK_MAX:
            raise Permanent(f"tracking link longer than BigCommerce's {TRACKING_LINK_MAX} characters")
        shipment_ids = [part.strip() for part in correction.platform_fulfillment_id.split(",") if part.strip()]
        if not shipment_ids or not all(part.isdigit() for part in shipment_ids):
            raise Permanent(f"BigCommerce shipment ids must be numeric, got {correction.platform_fulfillment_id!r}")
        provider, carrier = carrier_fields(correction.tracking.company)
        body: dict[str, Any] = {"tracking_number": number, "shipping_provider": provider, "tracking_carrier": carrier,
                                "tracking_link": correction.tracking.url or ""}
        if correction.tracking.company:
            body["shipping_method"] = correction.tracking.company[:100]

        written: list[str] = []
        for shipment_id in shipment_ids:
            path = f"v2/orders/{order_id}/shipments/{shipment_id}"
            resp = await self._call(store, "GET", path, "get shipment")
            if resp.status_code == 404:
                raise Permanent(f"BigCommerce shipment {shipment_id} of order {order_id} is gone from store "
                                f"{store.shop} (HTTP 404): its tracking cannot be corrected")
            shipment = json_body(resp, "BigCommerce get shipment")
            if not isinstance(shipment, dict):
                raise Retryable("BigCommerce get shipment: answer is not a shipment object")
            if same_tracking_number(shipment.get("tracking_number"), number):
                continue
            try:
                resp = await self._call(store, "PUT", path, "update shipment", json=body)
            except Permanent as exc:
                done = f" (already corrected: {', '.join(written)})" if written else ""
                raise Permanent(f"{exc}{done}") from None
            if resp.status_code == 404:
                raise Permanent(f"BigCommerce update shipment: HTTP 404 (shipment {shipment_id} of order "
                                f"{order_id} is gone from {store.shop})")
            updated = json_body(resp, "BigCommerce update shipment")
            if not isinstance(updated, dict) or not same_tracking_number(updated.get("tracking_number"), number):
                raise Retryable(f"BigCommerce update shipment: the answer does not show {number}")
            written.append(shipment_id)
        if written:
            log.info("shipment tracking corrected", platform_fulfillment_ids=written,
                     previous=correction.previous.number, number=number)
        else:
            log.info("corrected tracking already in the store; nothing written",
                     platform_fulfillment_id=correction.platform_fulfillment_id)
        return CorrectionResult(platform_fulfillment_id=correction.platform_fulfillment_id,
                                already_present=not written)
