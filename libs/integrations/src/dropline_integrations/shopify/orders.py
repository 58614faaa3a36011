"""Reading orders back from Shopify (REST Admin, platforms.md §1.2/§1.4): one order by id (for a
delivery that carries only its id) and the reconciliation listing by `updated_at_min`.

REST is used here because it returns the very Order representation the webhooks carry, so one
normaliser reads both. Its limit is a leaky bucket per app and store (40 requests, 2/s on Standard);
`X-Shopify-Shop-Api-Call-Limit: 32/40` tells how full it is, 429 + Retry-After when it overflows.

`updated_at` has second precision and `updated_at_min` is inclusive, so a full page whose orders all share
the watermark's second would come back unchanged on every call (a bulk edit of many orders does that).
The listing then follows Shopify's cursor (`Link: <...page_info=...>; rel="next"`) within the same call
until it gets past that second, so the watermark always moves on."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from dropline_infra.jobs import Permanent, Retryable

from ..limits import RatePolicy, StoreLimiter, json_body, store_call
from ..parsing import timestamp
from ..port import InvalidStoreOrder, OrderListing, StoreAccess


def call_limit(resp: httpx.Response) -> tuple[int, float | None] | None:
    """(requests left, None) from ``X-Shopify-Shop-Api-Call-Limit: used/size``."""
    value = resp.headers.get("X-Shopify-Shop-Api-Call-Limit")
    if not value or "/" not in value:
        return None
    used, _, size = value.partition("/")
    try:
        return int(size) - int(used), None
    except ValueError:
        return None


NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def next_page_info(resp: httpx.Response) -> str | None:
    """The ``page_info`` cursor of the ``rel="next"`` link, if the answer has one."""
    match = NEXT_LINK.search(resp.headers.get("Link") or "")
    if not match:
        return None
    values = parse_qs(urlsplit(match.group(1)).query).get("page_info")
    return values[0] if values else None


def _updated_at(order: Any) -> datetime | None:
    try:
        return timestamp(order.get("updated_at") if isinstance(order, dict) else None, "updated_at")
    except InvalidStoreOrder:
        return None


class ShopifyOrders:
    def __init__(self, http: httpx.AsyncClient, limiter: StoreLimiter, *, api_version: str, timeout: float,
                 policy: RatePolicy, page_size: int):
        self.http = http
        self.limiter = limiter
        self.api_version = api_version
        self.timeout = timeout
        self.policy = policy
        self.page_size = page_size

    def _url(self, store: StoreAccess, path: str) -> str:
        return f"{store.api_base_url.rstrip('/')}/admin/api/{self.api_version}/{path}"

    def _headers(self, store: StoreAccess) -> dict[str, str]:
        token = store.credentials.get("access_token")
        if not token:
            raise Permanent(f"store {store.store_id}: credentials have no access_token")
        return {"X-Shopify-Access-Token": str(token), "Accept": "application/json"}

    async def _get(self, store: StoreAccess, path: str, what: str, params: dict[str, Any] | None = None) -> Any:
        return (await self._get_response(store, path, what, params))[0]

    async def _get_response(self, store: StoreAccess, path: str, what: str,
                            params: dict[str, Any] | None = None) -> tuple[Any, httpx.Response]:
        resp = await store_call(self.http, self.limiter, f"shopify:{store.shop}", self.policy, "GET",
                                self._url(store, path), what=f"Shopify {what}", params=params,
                                headers=self._headers(store), timeout=self.timeout, reset_headers=call_limit)
        if resp.status_code == 404:
            raise Permanent(f"Shopify {what}: HTTP 404 (no such order in {store.shop})")
        return json_body(resp, f"Shopify {what}"), resp

    async def fetch(self, store: StoreAccess, platform_order_id: str) -> dict[str, Any]:
        if not platform_order_id.isdigit():
            raise Permanent(f"Shopify order id must be numeric, got {platform_order_id!r}")
        body = await self._get(store, f"orders/{platform_order_id}.json", "get order")
        order = body.get("order") if isinstance(body, dict) else None
        if not isinstance(order, dict):
            raise Retryable("Shopify get order: answer without an 'order' object")
        return order

    async def list(self, store: StoreAccess, updated_since: datetime) -> OrderListing:
        since_second = updated_since.astimezone(UTC).replace(microsecond=0)
        params: dict[str, Any] = {"status": "any", "updated_at_min": since_second.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                  "order": "updated_at asc", "limit": self.page_size}
        collected: list[dict[str, Any]] = []
        newest: datetime | None = None
        while True:
            body, resp = await self._get_response(store, "orders.json", "list orders", params=params)
            orders = body.get("orders") if isinstance(body, dict) else None
            if not isinstance(orders, list):
                raise Retryable("Shopify list orders: answer without an 'orders' list")
            collected += [o for o in orders if isinstance(o, dict)]
            for seen in map(_updated_at, orders):
                if seen and (newest is None or seen > newest):
                    newest = seen
            complete = len(orders) < self.page_size
            cursor = None if complete else next_page_info(resp)
            if cursor is None or (newest is not None and newest.replace(microsecond=0) > since_second):
                break
            # A full page still at the watermark's second: the next call would get the same page again.
            params = {"limit": self.page_size, "page_info": cursor}
        return OrderListing(orders=collected, newest_update=newest, complete=complete)
