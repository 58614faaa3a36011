"""Reading orders back from Shopify (REST Admin, platforms.md §1.2/§1.4): one order by id (for a
delivery that carries only its id) and the reconciliation listing by `updated_at_min`.

REST is used here because it returns the very Order representation the webhooks carry, so one
normaliser reads both. Its limit is a leaky bucket per app and store (40 requests, 2/s on Standard);
`X-Shopify-Shop-Api-Call-Limit: 32/40` tells how full it is, 429 + Retry-After when it overflows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

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
        resp = await store_call(self.http, self.limiter, f"shopify:{store.shop}", self.policy, "GET",
                                self._url(store, path), what=f"Shopify {what}", params=params,
                                headers=self._headers(store), timeout=self.timeout, reset_headers=call_limit)
        if resp.status_code == 404:
            raise Permanent(f"Shopify {what}: HTTP 404 (no such order in {store.shop})")
        return json_body(resp, f"Shopify {what}")

    async def fetch(self, store: StoreAccess, platform_order_id: str) -> dict[str, Any]:
        if not platform_order_id.isdigit():
            raise Permanent(f"Shopify order id must be numeric, got {platform_order_id!r}")
        body = await self._get(store, f"orders/{platform_order_id}.json", "get order")
        order = body.get("order") if isinstance(body, dict) else None
        if not isinstance(order, dict):
            raise Retryable("Shopify get order: answer without an 'order' object")
        return order

    async def list(self, store: StoreAccess, updated_since: datetime) -> OrderListing:
        since = updated_since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = await self._get(store, "orders.json", "list orders", params={
            "status": "any", "updated_at_min": since, "order": "updated_at asc", "limit": self.page_size})
        orders = body.get("orders") if isinstance(body, dict) else None
        if not isinstance(orders, list):
            raise Retryable("Shopify list orders: answer without an 'orders' list")
        newest = None
        for order in orders:
            try:
                seen = timestamp(order.get("updated_at") if isinstance(order, dict) else None, "updated_at")
            except InvalidStoreOrder:
                seen = None
            if seen and (newest is None or seen > newest):
                newest = seen
        return OrderListing(orders=[o for o in orders if isinstance(o, dict)], newest_update=newest,
                            complete=len(orders) < self.page_size)
