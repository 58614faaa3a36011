"""Shopify: fulfilment + tracking through the Admin GraphQL API (platforms.md §1.3, rate limits §1.4).

An app fulfils *fulfillment order* line items, not order line items. For one tracking record:
1. read the order's fulfillment orders and existing fulfillments (one query);
2. look before writing: a live fulfillment already carrying this tracking number means the write happened
   before (we crashed after fulfillmentCreate, before our commit) -> report it, write nothing;
3. otherwise fulfil only this Dropline order's lines (a store order may be split over suppliers), from
   OPEN / IN_PROGRESS fulfillment orders, one fulfillmentCreate per location (all fulfillment orders in
   one call must belong to the same order and location).

Rate limits: every answer carries `extensions.cost.throttleStatus`; we keep a client-side view of each
shop's bucket and wait before a call the bucket could not pay for, instead of being throttled.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from dropline_infra.http import retry_after_seconds
from dropline_infra.jobs import Deferred, Permanent, Retryable
from dropline_infra.observability import get_logger

from ..carriers import shopify_company
from ..carriers import tracking_url as carrier_tracking_url
from ..port import (
    FulfilmentLine,
    FulfilmentRequest,
    FulfilmentResult,
    StoreAccess,
    Tracking,
    same_tracking_number,
)

log = get_logger(__name__)

# Page sizes keep the query's requested cost well under Shopify's single-query ceiling (1,000 points,
# platforms.md §1.4): first: 10/50 fulfillment orders/line items and 50 fulfillments would cost ~1,350.
FULFILLMENT_ORDERS_PAGE = 10
FULFILLMENT_ORDER_LINES_PAGE = 25
FULFILLMENTS_PAGE = 30
TRACKING_PAGE = 5
MUTATION_COST = 10  # every mutation costs 10 points (platforms.md §1.4)

FULFILLABLE_STATUSES = frozenset({"OPEN", "IN_PROGRESS"})
DEAD_FULFILLMENT_STATUSES = frozenset({"CANCELLED", "ERROR", "FAILURE"})
RETRYABLE_ERROR_CODES = frozenset({"THROTTLED", "INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT"})

FULFILMENT_STATE_QUERY = f"""
query DroplineFulfilmentState($id: ID!) {{
  order(id: $id) {{
    id
    fulfillmentOrders(first: {FULFILLMENT_ORDERS_PAGE}) {{
      pageInfo {{ hasNextPage }}
      nodes {{
        id
        status
        requestStatus
        assignedLocation {{ location {{ id }} }}
        lineItems(first: {FULFILLMENT_ORDER_LINES_PAGE}) {{
          pageInfo {{ hasNextPage }}
          nodes {{ id remainingQuantity totalQuantity lineItem {{ id sku }} }}
        }}
      }}
    }}
    fulfillments(first: {FULFILLMENTS_PAGE}) {{
      id
      status
      trackingInfo(first: {TRACKING_PAGE}) {{ company number url }}
    }}
  }}
}}
""".strip()

FULFILLMENT_CREATE_MUTATION = """
mutation DroplineFulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status trackingInfo(first: 5) { company number url } }
    userErrors { field message }
  }
}
""".strip()


# --------------------------------------------------------------------------- pure helpers


def order_gid(platform_order_id: str) -> str:
    return platform_order_id if platform_order_id.startswith("gid://") else f"gid://shopify/Order/{platform_order_id}"


def line_item_gid(platform_line_id: str) -> str:
    return platform_line_id if platform_line_id.startswith("gid://") else f"gid://shopify/LineItem/{platform_line_id}"


def existing_fulfillment(order: dict[str, Any], tracking_number: str) -> str | None:
    """Id of a live fulfillment that already carries this tracking number."""
    for fulfillment in order.get("fulfillments") or []:
        if fulfillment.get("status") in DEAD_FULFILLMENT_STATUSES:
            continue
        if any(same_tracking_number(t.get("number"), tracking_number) for t in fulfillment.get("trackingInfo") or []):
            return fulfillment["id"]
    return None


@dataclass
class FulfilmentPlan:
    # One entry per location: the `lineItemsByFulfillmentOrder` of one fulfillmentCreate call.
    calls: list[list[dict[str, Any]]] = field(default_factory=list)
    unmet: dict[str, int] = field(default_factory=dict)  # line item gid -> quantity found nowhere to fulfil
    truncated: bool = False  # more fulfillment orders or line items than one page


def plan_fulfilment(order: dict[str, Any], lines: Sequence[FulfilmentLine]) -> FulfilmentPlan:
    """Which fulfillment order line items to fulfil, and how many, for OUR lines only."""
    need: dict[str, int] = {}
    for line in lines:
        key = line_item_gid(line.platform_line_id)
        need[key] = need.get(key, 0) + line.quantity
    connection = order.get("fulfillmentOrders") or {}
    truncated = bool((connection.get("pageInfo") or {}).get("hasNextPage"))
    by_location: dict[str | None, list[dict[str, Any]]] = {}
    for fo in connection.get("nodes") or []:
        items_connection = fo.get("lineItems") or {}
        truncated = truncated or bool((items_connection.get("pageInfo") or {}).get("hasNextPage"))
        if fo.get("status") not in FULFILLABLE_STATUSES:
            continue
        items = []
        for item in items_connection.get("nodes") or []:
            key = (item.get("lineItem") or {}).get("id")
            quantity = min(int(item.get("remainingQuantity") or 0), need.get(key, 0))
            if quantity > 0:
                items.append({"id": item["id"], "quantity": quantity})
                need[key] -= quantity
        if items:
            location = ((fo.get("assignedLocation") or {}).get("location") or {}).get("id")
            by_location.setdefault(location, []).append(
                {"fulfillmentOrderId": fo["id"], "fulfillmentOrderLineItems": items})
    return FulfilmentPlan(calls=list(by_location.values()), unmet={k: v for k, v in need.items() if v > 0},
                          truncated=truncated)


def fulfillment_create_variables(line_items_by_fulfillment_order: list[dict[str, Any]], tracking: Tracking,
                                 notify_customer: bool = True) -> dict[str, Any]:
    tracking_info: dict[str, Any] = {"number": tracking.number}
    company = shopify_company(tracking.company)
    if company:
        tracking_info["company"] = company
    url = tracking.url or carrier_tracking_url(tracking.company, tracking.number)
    if url:
        tracking_info["url"] = url
    return {"fulfillment": {"lineItemsByFulfillmentOrder": line_items_by_fulfillment_order,
                            "notifyCustomer": notify_customer, "trackingInfo": tracking_info}}


def throttle_retry_after(cost: dict[str, Any] | None) -> float | None:
    """Seconds until the bucket holds the throttled request's cost: needed points / restore rate."""
    if not isinstance(cost, dict):
        return None
    status = cost.get("throttleStatus") or {}
    requested = cost.get("requestedQueryCost")
    available = status.get("currentlyAvailable")
    rate = status.get("restoreRate")
    if requested is None or available is None or not rate:
        return None
    return max(float(requested) - float(available), 0.0) / float(rate)


def graphql_errors(body: Any) -> list[dict[str, Any]]:
    """Top-level `errors` in whatever shape Shopify sent it (list of objects, a string, a dict)."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not errors:
        return []
    if isinstance(errors, list):
        return [e if isinstance(e, dict) else {"message": str(e)} for e in errors]
    return [{"message": str(errors)}]


def error_codes(errors: list[dict[str, Any]]) -> set[str]:
    return {str((e.get("extensions") or {}).get("code")) for e in errors if (e.get("extensions") or {}).get("code")}


class ShopBudgets:
    """Client-side view of each shop's GraphQL leaky bucket, refreshed from every answer's throttleStatus."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._shops: dict[str, tuple[float, float, float, float]] = {}  # available, maximum, rate, seen at

    def observe(self, shop: str, cost: dict[str, Any] | None) -> None:
        status = (cost or {}).get("throttleStatus") or {}
        with contextlib.suppress(KeyError, TypeError, ValueError):
            self._shops[shop] = (float(status["currentlyAvailable"]), float(status["maximumAvailable"]),
                                 float(status["restoreRate"]), self.clock())

    def wait_before(self, shop: str, cost: float, reserve: float = 0.0) -> float:
        """Seconds to wait so the bucket holds `cost` plus `reserve` points (0 when it does, or unknown)."""
        if shop not in self._shops:
            return 0.0
        available, maximum, rate, seen_at = self._shops[shop]
        projected = min(maximum, available + (self.clock() - seen_at) * rate)
        wanted = min(cost + reserve, maximum)
        if projected >= wanted:
            return 0.0
        return math.inf if rate <= 0 else (wanted - projected) / rate


# --------------------------------------------------------------------------- the adapter


class ShopifyFulfilments:
    def __init__(self, http: httpx.AsyncClient, *, api_version: str = "2025-10", timeout: float = 20.0,
                 min_available_points: int = 50, max_wait_seconds: float = 1.0,
                 budgets: ShopBudgets | None = None, sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep):
        self.http = http
        self.api_version = api_version
        self.timeout = timeout
        self.reserve = min_available_points
        self.max_wait = max_wait_seconds
        self.budgets = budgets or ShopBudgets()
        self.sleep = sleep
        self.query_cost = 0.0  # requested cost of the state query, learned from the first answer

    async def fulfil(self, store: StoreAccess, request: FulfilmentRequest) -> FulfilmentResult:
        token = store.credentials.get("access_token")
        if not token:
            raise Permanent(f"store {store.store_id}: credentials have no access_token")

        body = await self._graphql(store, token, FULFILMENT_STATE_QUERY, {"id": order_gid(request.platform_order_id)},
                                   what="read fulfillment orders", cost=self.query_cost)
        requested = ((body.get("extensions") or {}).get("cost") or {}).get("requestedQueryCost")
        if requested:
            self.query_cost = float(requested)
        order = (body.get("data") or {}).get("order")
        if order is None:
            raise Permanent(f"order {request.platform_order_id} not found in {store.shop}")

        present = existing_fulfillment(order, request.tracking.number)
        if present:
            log.info("tracking already in the store; nothing written", platform_fulfillment_id=present)
            return FulfilmentResult(platform_fulfillment_id=present, already_present=True)

        plan = plan_fulfilment(order, request.lines)
        if plan.unmet and plan.truncated:
            # Our lines may sit beyond the first page: fulfilling part of them silently would be worse.
            raise Permanent(f"order {request.platform_order_id} has more fulfillment orders or line items than "
                            f"one page; lines not found: {', '.join(sorted(plan.unmet))}")
        if not plan.calls:
            raise Permanent("nothing to fulfil: the order's lines are fulfilled already or not fulfillable "
                            f"(no open fulfillment order holds them) in {store.shop}")
        if plan.unmet:
            log.warning("part of the lines is fulfilled already; fulfilling the rest", unmet=plan.unmet)

        created: list[str] = []
        for line_items in plan.calls:
            variables = fulfillment_create_variables(line_items, request.tracking, request.notify_customer)
            answer = await self._graphql(store, token, FULFILLMENT_CREATE_MUTATION, variables,
                                         what="fulfillmentCreate", cost=MUTATION_COST)
            result = (answer.get("data") or {}).get("fulfillmentCreate") or {}
            user_errors = result.get("userErrors") or []
            if user_errors:
                messages = "; ".join(f"{'.'.join(e.get('field') or []) or '-'}: {e.get('message')}"
                                     for e in user_errors)
                done = f" (already created: {', '.join(created)})" if created else ""
                raise Permanent(f"Shopify refused fulfillmentCreate: {messages}{done}")
            fulfillment = result.get("fulfillment") or {}
            if not fulfillment.get("id"):
                raise Permanent("Shopify fulfillmentCreate answered without a fulfillment or userErrors")
            created.append(fulfillment["id"])
        log.info("fulfillment created", platform_fulfillment_ids=created, calls=len(plan.calls))
        return FulfilmentResult(platform_fulfillment_id=",".join(created))

    async def _graphql(self, store: StoreAccess, token: str, query: str, variables: dict[str, Any], *,
                       what: str, cost: float) -> dict[str, Any]:
        shop_key = store.api_base_url
        wait = self.budgets.wait_before(shop_key, cost, self.reserve)
        if wait > 0:
            if wait > self.max_wait:
                # Not now, and nothing was tried: the job comes back when the bucket has refilled (no attempt
                # spent), and the worker serves other shops meanwhile instead of sleeping for this one. A plan
                # deferred between two calls is planned again from the order's state, as after any retry.
                raise Deferred(f"Shopify {what}: rate-limit budget of {store.shop} is low", retry_after=wait)
            log.info("Shopify rate-limit budget low; waiting before the next call", shop=store.shop,
                     wait_seconds=round(wait, 2), call=what)
            await self.sleep(wait)

        url = f"{store.api_base_url.rstrip('/')}/admin/api/{self.api_version}/graphql.json"
        try:
            resp = await self.http.post(url, json={"query": query, "variables": variables}, timeout=self.timeout,
                                        headers={"X-Shopify-Access-Token": token, "Accept": "application/json"})
        except httpx.UnsupportedProtocol as exc:
            raise Permanent(f"Shopify {what}: unusable api_base_url: {exc}") from None
        except httpx.TransportError as exc:
            raise Retryable(f"Shopify {what}: {type(exc).__name__}: {exc}") from None

        try:
            body: Any = resp.json()
        except ValueError:
            body = None
        extensions_cost = ((body.get("extensions") or {}).get("cost") if isinstance(body, dict) else None)
        self.budgets.observe(shop_key, extensions_cost)

        status = resp.status_code
        snippet = resp.text[:300]
        errors = graphql_errors(body)
        codes = error_codes(errors)
        if status in (401, 402, 403, 404, 423):  # bad token, frozen / locked / unknown shop
            raise Permanent(f"Shopify {what}: HTTP {status} {snippet}")
        if "THROTTLED" in codes or status == 429:
            retry_after = throttle_retry_after(extensions_cost) or retry_after_seconds(resp)
            raise Retryable(f"Shopify {what}: throttled (HTTP {status})", retry_after=retry_after)
        if status >= 500 or status == 408:
            raise Retryable(f"Shopify {what}: HTTP {status} {snippet}", retry_after=retry_after_seconds(resp))
        if status >= 400:
            raise Permanent(f"Shopify {what}: HTTP {status} {snippet}")
        if not isinstance(body, dict):
            raise Retryable(f"Shopify {what}: HTTP {status} with an unreadable body")
        if errors:
            messages = "; ".join(str(e.get("message")) for e in errors)
            if codes & RETRYABLE_ERROR_CODES:
                raise Retryable(f"Shopify {what}: {messages}")
            raise Permanent(f"Shopify {what}: {messages}")
        return body
