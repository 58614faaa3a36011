"""Reading orders back from Shopify (REST Admin) through `ShopifyPlatform`, against the Shopify stand-in
in-process (httpx.ASGITransport): fetch by id, errors, reconciliation listing from a watermark, the REST
leaky bucket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from dropline_infra.jobs import Deferred, Permanent
from dropline_integrations.limits import StoreLimiter
from dropline_integrations.port import OrderState, StoreAccess
from dropline_integrations.shopify import ShopifyPlatform
from dropline_integrations.shopify.settings import ShopifySettings
from dropline_testsupport.shopify_standin import create_app

SHOP = "orders-store.myshopify.com"
BASE = "http://shopify.test"
TOKEN = "shpat_orders_token"
STORE = StoreAccess(store_id="store-1", shop=SHOP, api_base_url=f"{BASE}/shops/{SHOP}",
                    credentials={"access_token": TOKEN})
T0 = datetime(2026, 3, 2, 15, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Env:
    control: httpx.AsyncClient
    http: httpx.AsyncClient
    clock: Clock

    def platform(self, **settings: Any) -> ShopifyPlatform:
        return ShopifyPlatform(self.http, StoreLimiter(), ShopifySettings(**settings))

    async def new_order(self, at: datetime | None = None, **spec: Any) -> dict[str, Any]:
        if at is not None:
            self.clock.now = at
        body = {"deliver_webhook": False,
                "line_items": [{"sku": "MUG", "title": "Mug", "quantity": 2, "price": "12.50"}], **spec}
        response = await self.control.post(f"/_control/shops/{SHOP}/orders", json=body)
        assert response.status_code == 201, response.text
        return response.json()["order"]

    async def rest_log(self) -> list[dict[str, Any]]:
        return (await self.control.get(f"/_control/shops/{SHOP}/rest-log")).json()["requests"]


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    clock = Clock()
    app = create_app(clock=clock, shops=[{"shop_domain": SHOP, "access_token": TOKEN, "webhook_secret": "s"}])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as control, \
            httpx.AsyncClient(transport=transport) as http:
        yield Env(control, http, clock)
    await app.state.standin.aclose()


def updated(order: Any) -> datetime:
    return datetime.fromisoformat(order["updated_at"]).astimezone(UTC)


# ------------------------------------------------------------------------------------------------
# fetch_order
# ------------------------------------------------------------------------------------------------


async def test_fetch_order_returns_the_full_rest_order(env: Env) -> None:
    created = await env.new_order(financial_status="pending")
    platform = env.platform()
    order = await platform.fetch_order(STORE, str(created["id"]))
    assert order["id"] == created["id"] and order["line_items"] == [
        dict(created["line_items"][0], fulfillable_quantity=2, fulfillment_status=None)]
    normalised = platform.normalise(order)
    assert normalised.platform_order_id == str(created["id"])
    assert normalised.state is OrderState.AWAITING_PAYMENT
    assert normalised.updated_at == T0
    [request] = await env.rest_log()
    assert request["path"] == f"/shops/{SHOP}/admin/api/2025-10/orders/{created['id']}.json"


async def test_an_unknown_order_is_permanent(env: Env) -> None:
    created = await env.new_order()
    with pytest.raises(Permanent, match="404"):
        await env.platform().fetch_order(STORE, str(created["id"] + 1_000_000))
    with pytest.raises(Permanent, match="numeric"):
        await env.platform().fetch_order(STORE, "gid://shopify/Order/1")
    assert len(await env.rest_log()) == 1  # a malformed id never reaches Shopify


async def test_a_wrong_or_missing_token_is_permanent(env: Env) -> None:
    created = await env.new_order()
    wrong = StoreAccess(store_id="store-1", shop=SHOP, api_base_url=STORE.api_base_url,
                        credentials={"access_token": "shpat_revoked"})
    with pytest.raises(Permanent, match="401") as caught:
        await env.platform().fetch_order(wrong, str(created["id"]))
    assert "shpat_revoked" not in str(caught.value)
    with pytest.raises(Permanent, match="401"):
        await env.platform().list_orders(wrong, T0)
    nothing = StoreAccess(store_id="store-1", shop=SHOP, api_base_url=STORE.api_base_url, credentials={})
    with pytest.raises(Permanent, match="access_token"):
        await env.platform().fetch_order(nothing, str(created["id"]))


# ------------------------------------------------------------------------------------------------
# list_orders (reconciliation)
# ------------------------------------------------------------------------------------------------


async def test_list_orders_since_a_watermark_oldest_update_first(env: Env) -> None:
    first = await env.new_order(at=T0)
    second = await env.new_order(at=T0 + timedelta(minutes=10))
    third = await env.new_order(at=T0 + timedelta(minutes=20))
    env.clock.now = T0 + timedelta(minutes=30)
    cancelled = await env.control.post(f"/_control/shops/{SHOP}/orders/{first['id']}/cancel")
    assert cancelled.status_code == 200

    listing = await env.platform().list_orders(STORE, T0 + timedelta(minutes=5))
    assert [o["id"] for o in listing.orders] == [second["id"], third["id"], first["id"]]
    assert listing.newest_update == T0 + timedelta(minutes=30)
    assert listing.complete is True
    assert env.platform().normalise(listing.orders[-1]).state is OrderState.CANCELLED  # status=any
    [request] = await env.rest_log()
    assert request["query"] == {"status": "any", "updated_at_min": "2026-03-02T15:05:00Z",
                                "order": "updated_at asc", "limit": "100"}

    later = await env.platform().list_orders(STORE, T0 + timedelta(minutes=31))
    assert (later.orders, later.newest_update, later.complete) == ([], None, True)


async def test_list_orders_page_by_page_with_a_small_page(env: Env) -> None:
    made = [await env.new_order(at=T0 + timedelta(minutes=i)) for i in range(5)]
    platform = env.platform(list_page_size=2)
    watermark, seen, calls = T0 - timedelta(minutes=1), [], 0
    while True:
        listing = await platform.list_orders(STORE, watermark)
        calls += 1
        assert [updated(o) for o in listing.orders] == sorted(updated(o) for o in listing.orders)
        seen += [o["id"] for o in listing.orders if o["id"] not in seen]
        if listing.complete:
            break
        assert len(listing.orders) == 2 and listing.newest_update is not None
        assert listing.newest_update > watermark  # every page moves the watermark on
        watermark = listing.newest_update
        assert calls < 10
    assert seen == [o["id"] for o in made]
    assert listing.newest_update == updated(made[-1])


async def test_many_orders_updated_in_the_same_second_do_not_stall_the_listing(env: Env) -> None:
    """updated_at has second precision and updated_at_min is inclusive: a full page of orders that share
    the watermark's second must not come back forever (the adapter follows the page_info cursor)."""
    same_second = [await env.new_order(at=T0) for _ in range(5)]
    later = await env.new_order(at=T0 + timedelta(seconds=1))
    platform = env.platform(list_page_size=2)
    watermark, seen = T0, []
    for _ in range(6):
        listing = await platform.list_orders(STORE, watermark)
        seen += [o["id"] for o in listing.orders if o["id"] not in seen]
        if listing.complete:
            break
        assert listing.newest_update is not None and listing.newest_update > watermark
        watermark = listing.newest_update
    assert listing.complete
    assert sorted(seen) == sorted(o["id"] for o in [*same_second, later])


# ------------------------------------------------------------------------------------------------
# REST leaky bucket
# ------------------------------------------------------------------------------------------------


async def test_a_full_rest_bucket_defers_with_the_retry_time(env: Env) -> None:
    created = await env.new_order()
    configured = await env.control.post(f"/_control/shops/{SHOP}/rest-rate-limit", json={"used": 40})
    assert configured.json()["used"] == 40
    platform = env.platform()
    with pytest.raises(Deferred) as caught:
        await platform.fetch_order(STORE, str(created["id"]))
    assert caught.value.retry_after == pytest.approx(2.0)  # Retry-After: 2.0
    # the store is now blocked locally: the next call is deferred without a request
    with pytest.raises(Deferred) as again:
        await platform.list_orders(STORE, T0)
    assert 0 < again.value.retry_after <= 2.0
    log = await env.rest_log()
    assert [e["status_code"] for e in log] == [429]


async def test_the_call_limit_header_feeds_the_local_budget(env: Env) -> None:
    created = await env.new_order()
    await env.control.post(f"/_control/shops/{SHOP}/rest-rate-limit", json={"used": 38, "leak_rate": 0})
    platform = env.platform()
    await platform.fetch_order(STORE, str(created["id"]))  # answered with 39/40: one request left
    await platform.fetch_order(STORE, str(created["id"]))  # 40/40: none left
    with pytest.raises(Deferred):
        await platform.fetch_order(STORE, str(created["id"]))  # deferred locally, never sent
    assert [e["status_code"] for e in await env.rest_log()] == [200, 200]
