"""The Shopify stand-in's REST Admin order endpoints and the order-change / drop-webhook controls, checked
against platforms.md §1 and Shopify's REST Order reference (not against the stand-in's own code)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from dropline_testsupport.harness import Receiver
from dropline_testsupport.shopify_standin import create_app

SHOP = "rest-store.myshopify.com"
TOKEN = "shpat_rest_token"
SECRET = "whsec_rest_secret"
WEBHOOK_URL = "http://dropline.test/webhooks/shopify"
API = f"/shops/{SHOP}/admin/api/2025-10"
INVALID_TOKEN = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}


def documented_hmac(raw_body: bytes, secret: str) -> str:
    """platforms.md §1.1 "Minimal verification": base64(HMAC-SHA256(secret, raw body))."""
    return base64.b64encode(hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()).decode()


class Clock:
    """The stand-in's wall clock, moved by the test."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 15, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Env:
    client: httpx.AsyncClient
    receiver: Receiver
    clock: Clock

    async def get(self, path: str, token: str | None = TOKEN, **params: Any) -> httpx.Response:
        headers = {"X-Shopify-Access-Token": token} if token is not None else {}
        return await self.client.get(f"{API}/{path}", params=params, headers=headers)

    async def new_order(self, **spec: Any) -> dict[str, Any]:
        body = {"line_items": [{"sku": "MUG", "title": "Mug", "quantity": 1, "price": "10.00"}], **spec}
        response = await self.client.post(f"/_control/shops/{SHOP}/orders", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    async def control(self, path: str, body: Any = None) -> httpx.Response:
        return await self.client.post(f"/_control/shops/{SHOP}/{path}", json=body)

    def topics(self) -> list[str]:
        return [r.headers["X-Shopify-Topic"] for r in self.receiver.received]


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    receiver, clock = Receiver(), Clock()
    app = create_app(webhook_transport=receiver.transport, clock=clock, shops=[{
        "shop_domain": SHOP, "access_token": TOKEN, "webhook_secret": SECRET, "webhook_url": WEBHOOK_URL}])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shopify.test") as client:
        yield Env(client, receiver, clock)
    await app.state.standin.aclose()


def utc(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp).astimezone(UTC)


# ------------------------------------------------------------------------------------------------
# GET orders/{id}.json
# ------------------------------------------------------------------------------------------------


async def test_get_order_returns_the_rest_order_the_webhook_carried(env: Env) -> None:
    created = await env.new_order(currency="EUR")
    order_id = created["order"]["id"]
    response = await env.get(f"orders/{order_id}.json")
    assert response.status_code == 200
    order = response.json()["order"]
    delivered = json.loads(env.receiver.received[0].body)
    # the same REST representation: every key of the webhook body, same values where nothing changed
    assert set(order) >= set(delivered)
    for key in ("id", "admin_graphql_api_id", "name", "email", "created_at", "currency", "financial_status",
                "total_price", "line_items", "shipping_address", "shipping_lines", "customer"):
        assert order[key] == delivered[key], key
    assert order["updated_at"] == order["created_at"]  # unchanged since creation
    assert order["updated_at"][-6] in "+-"  # shop offset, like every REST timestamp
    assert response.headers["X-Shopify-Shop-Api-Call-Limit"] == "1/40"
    assert response.headers["content-type"].startswith("application/json")

    fields = await env.get(f"orders/{order_id}.json", fields="id,updated_at")
    assert set(fields.json()["order"]) == {"id", "updated_at"}


async def test_auth_and_not_found_answers_are_shopifys(env: Env) -> None:
    created = await env.new_order()
    order_id = created["order"]["id"]
    for token in (None, "", "shpat_wrong"):
        response = await env.get(f"orders/{order_id}.json", token=token)
        assert response.status_code == 401 and response.json() == INVALID_TOKEN
        assert response.headers["X-Shopify-Shop-Api-Call-Limit"] == "0/40"  # a 401 does not fill the bucket
        listing = await env.get("orders.json", token=token)
        assert listing.status_code == 401 and listing.json() == INVALID_TOKEN

    missing = await env.get(f"orders/{order_id + 999_999}.json")
    assert missing.status_code == 404 and missing.json() == {"errors": "Not Found"}
    assert (await env.get("orders/not-a-number.json")).status_code == 404
    unknown_shop = await env.client.get(f"/shops/nope.myshopify.com/admin/api/2025-10/orders/{order_id}.json",
                                        headers={"X-Shopify-Access-Token": TOKEN})
    assert unknown_shop.status_code == 404 and unknown_shop.json() == {"errors": "Not Found"}
    bad_version = await env.client.get(f"/shops/{SHOP}/admin/api/2025-02/orders.json",
                                       headers={"X-Shopify-Access-Token": TOKEN})
    assert bad_version.status_code == 404

    log = (await env.client.get(f"/_control/shops/{SHOP}/rest-log")).json()["requests"]
    assert [e["status_code"] for e in log][:2] == [401, 401] and log[-1]["status_code"] == 404


# ------------------------------------------------------------------------------------------------
# GET orders.json
# ------------------------------------------------------------------------------------------------


async def test_list_filters_and_orders_by_updated_at(env: Env) -> None:
    first = (await env.new_order(deliver_webhook=False))["order"]
    env.clock.advance(minutes=10)
    second = (await env.new_order(deliver_webhook=False))["order"]
    env.clock.advance(minutes=10)
    third = (await env.new_order(deliver_webhook=False))["order"]
    env.clock.advance(minutes=10)
    changed = await env.control(f"orders/{first['id']}/shipping-address", {
        "first_name": "Ann", "last_name": "Lee", "address1": "1 Main St", "city": "Austin",
        "province_code": "TX", "zip": "73301", "country_code": "US"})
    assert changed.status_code == 200

    # default: status=open, newest id first, limit 50
    default = (await env.get("orders.json")).json()["orders"]
    assert [o["id"] for o in default] == [third["id"], second["id"], first["id"]]

    watermark = utc(second["created_at"]) + timedelta(minutes=5)
    since = await env.get("orders.json", status="any", updated_at_min=watermark.strftime("%Y-%m-%dT%H:%M:%SZ"),
                          order="updated_at asc", limit=10)
    assert since.status_code == 200
    orders = since.json()["orders"]
    assert [o["id"] for o in orders] == [third["id"], first["id"]]  # oldest update first
    assert utc(orders[1]["updated_at"]) > utc(orders[0]["updated_at"]) > watermark
    assert orders[1]["shipping_address"]["address1"] == "1 Main St"
    assert "Link" not in since.headers

    # updated_at_min is inclusive ("at or after"), in any offset
    exact = utc(third["created_at"]).astimezone().isoformat()
    inclusive = (await env.get("orders.json", updated_at_min=exact, order="updated_at asc")).json()["orders"]
    assert [o["id"] for o in inclusive] == [third["id"], first["id"]]

    created = await env.get("orders.json", created_at_min=second["created_at"], order="created_at asc")
    assert [o["id"] for o in created.json()["orders"]] == [second["id"], third["id"]]
    by_ids = await env.get("orders.json", ids=f"{first['id']},{third['id']}")
    assert [o["id"] for o in by_ids.json()["orders"]] == [third["id"], first["id"]]
    after = await env.get("orders.json", since_id=str(first["id"]))
    assert [o["id"] for o in after.json()["orders"]] == [second["id"], third["id"]]  # ids upwards
    slim = await env.get("orders.json", fields="id,name", limit=1)
    assert slim.json()["orders"] == [{"id": third["id"], "name": third["name"]}]


async def test_status_filter_open_cancelled_any(env: Env) -> None:
    kept = (await env.new_order(deliver_webhook=False))["order"]
    gone = (await env.new_order(deliver_webhook=False))["order"]
    assert (await env.control(f"orders/{gone['id']}/cancel", {"reason": "customer"})).status_code == 200

    async def ids(**params: Any) -> list[int]:
        response = await env.get("orders.json", **params)
        assert response.status_code == 200, response.text
        return [o["id"] for o in response.json()["orders"]]

    assert await ids() == [kept["id"]]  # default status is open
    assert await ids(status="open") == [kept["id"]]
    assert await ids(status="cancelled") == [gone["id"]]
    assert await ids(status="any") == [gone["id"], kept["id"]]
    assert await ids(status="closed") == []
    assert await ids(status="any", financial_status="paid") == [gone["id"], kept["id"]]
    assert await ids(status="any", fulfillment_status="shipped") == []


@pytest.mark.parametrize("params", [
    {"limit": "251"}, {"limit": "0"}, {"limit": "ten"}, {"status": "archived"},
    {"updated_at_min": "yesterday"}, {"order": "price asc"}, {"order": "updated_at sideways"},
    {"since_id": "abc"}, {"ids": "1,x"}, {"financial_status": "free"}, {"page_info": "not-a-cursor"},
])
async def test_malformed_list_parameters_are_400(env: Env, params: dict[str, str]) -> None:
    response = await env.get("orders.json", **params)
    assert response.status_code == 400, response.text
    errors = response.json()["errors"]
    assert isinstance(errors, dict) and set(errors) == {next(iter(params))}


async def test_limit_bounds_and_default(env: Env) -> None:
    for _ in range(3):
        await env.new_order(deliver_webhook=False)
    assert len((await env.get("orders.json", limit="250")).json()["orders"]) == 3
    assert len((await env.get("orders.json", limit="1")).json()["orders"]) == 1
    big = (await env.get("orders.json", limit="251"))
    assert big.status_code == 400 and "limit" in big.json()["errors"]


async def test_cursor_pagination_with_link_headers(env: Env) -> None:
    made = []
    for _ in range(5):
        made.append((await env.new_order(deliver_webhook=False))["order"]["id"])
        env.clock.advance(seconds=30)
    first = await env.get("orders.json", status="any", order="updated_at asc", limit=2)
    assert [o["id"] for o in first.json()["orders"]] == made[:2]
    link = first.headers["Link"]
    assert 'rel="next"' in link and 'rel="previous"' not in link
    seen = [o["id"] for o in first.json()["orders"]]
    url = link.split(";")[0].strip("<>")
    pages = 1
    while url:
        parts = urlsplit(url)
        assert parts.path == f"{API}/orders.json"
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        assert set(query) == {"limit", "page_info"}
        page = await env.client.get(parts.path, params=query, headers={"X-Shopify-Access-Token": TOKEN})
        assert page.status_code == 200
        seen += [o["id"] for o in page.json()["orders"]]
        pages += 1
        links = {rel.split('"')[1]: part.split(";")[0].strip(" <>")
                 for part in page.headers.get("Link", "").split(",") if part
                 for rel in [part.split(";")[1]]}
        assert "previous" in links
        url = links.get("next")
    assert seen == made and pages == 3

    # page_info carries the filters: only limit and fields may come with it
    cursor = parse_qs(urlsplit(link.split(";")[0].strip("<>")).query)["page_info"][0]
    mixed = await env.get("orders.json", page_info=cursor, status="any")
    assert mixed.status_code == 400 and "page_info" in mixed.json()["errors"]


# ------------------------------------------------------------------------------------------------
# REST leaky bucket
# ------------------------------------------------------------------------------------------------


async def test_rest_bucket_counts_requests_and_answers_429_when_full(env: Env) -> None:
    created = await env.new_order(deliver_webhook=False)
    path = f"orders/{created['order']['id']}.json"
    configured = await env.control("rest-rate-limit", {"leak_rate": 0})
    assert configured.json() == {"bucket_size": 40, "leak_rate": 0.0, "used": 0}
    for used in range(1, 41):
        response = await env.get(path)
        assert response.status_code == 200
        assert response.headers["X-Shopify-Shop-Api-Call-Limit"] == f"{used}/40"
    full = await env.get(path)
    assert full.status_code == 429
    assert full.headers["Retry-After"] == "60.0"  # nothing leaks: no slot will free soon
    assert full.headers["X-Shopify-Shop-Api-Call-Limit"] == "40/40"
    assert "calls per second" in full.json()["errors"]
    listing = await env.get("orders.json")
    assert listing.status_code == 429  # one bucket for every REST endpoint of the shop
    # GraphQL has its own bucket: untouched
    gql = await env.client.post(f"{API}/graphql.json", json={"query": "{ shop { name } }"},
                                headers={"X-Shopify-Access-Token": TOKEN})
    assert gql.status_code == 200 and "errors" not in gql.json()

    # at the documented 2/s, a full bucket answers Retry-After: 2.0
    await env.control("rest-rate-limit", {"leak_rate": 2.0, "used": 40})
    throttled = await env.get(path)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "2.0"
    shop = (await env.client.get(f"/_control/shops/{SHOP}")).json()
    assert shop["rest_rate_limit"]["bucket_size"] == 40 and shop["rest_rate_limit"]["used"] >= 39


async def test_rest_bucket_leaks_and_is_configurable_per_shop() -> None:
    app = create_app(shops=[{"shop_domain": SHOP, "access_token": TOKEN, "webhook_secret": SECRET,
                             "rest_bucket_size": 80, "rest_leak_rate": 10_000_000}])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s.test") as client:
        headers = {"X-Shopify-Access-Token": TOKEN}
        await client.post(f"/_control/shops/{SHOP}/rest-rate-limit", json={"used": 80})
        response = await client.get(f"{API}/orders.json", headers=headers)
        assert response.status_code == 200  # 10 million/s leaks a slot within any two requests
        used, size = response.headers["X-Shopify-Shop-Api-Call-Limit"].split("/")
        assert size == "80" and int(used) <= 80
        resized = await client.post(f"/_control/shops/{SHOP}/rest-rate-limit",
                                    json={"bucket_size": 40, "leak_rate": 0, "used": 10})
        assert resized.json() == {"bucket_size": 40, "leak_rate": 0.0, "used": 10}
        again = await client.get(f"{API}/orders.json", headers=headers)
        assert again.headers["X-Shopify-Shop-Api-Call-Limit"] == "11/40"


# ------------------------------------------------------------------------------------------------
# Order changes → orders/* webhooks
# ------------------------------------------------------------------------------------------------


async def test_pending_order_marked_paid_sends_orders_paid_and_updated(env: Env) -> None:
    created = await env.new_order(financial_status="pending")
    order = created["order"]
    assert order["financial_status"] == "pending" and order["total_outstanding"] == order["total_price"]
    assert env.topics() == ["orders/create"]
    env.clock.advance(minutes=2)
    paid = await env.control(f"orders/{order['id']}/mark-paid")
    assert paid.status_code == 200, paid.text
    body = paid.json()
    assert [d["topic"] for d in body["deliveries"]] == ["orders/paid", "orders/updated"]
    assert all(d["ok"] and not d["dropped"] for d in body["deliveries"])
    assert env.topics() == ["orders/create", "orders/paid", "orders/updated"]
    ids = set()
    for delivery in env.receiver.received[1:]:
        assert delivery.headers["X-Shopify-Hmac-Sha256"] == documented_hmac(delivery.body, SECRET)
        assert delivery.headers["X-Shopify-Shop-Domain"] == SHOP
        ids.add(delivery.headers["X-Shopify-Event-Id"])
        sent = json.loads(delivery.body)
        assert sent["id"] == order["id"] and sent["financial_status"] == "paid"
        assert sent["total_outstanding"] == "0.00"
        assert utc(sent["updated_at"]) == env.clock.now
    assert len(ids) == 2  # two events
    fetched = (await env.get(f"orders/{order['id']}.json")).json()["order"]
    assert fetched["financial_status"] == "paid" and utc(fetched["updated_at"]) > utc(fetched["created_at"])

    again = await env.control(f"orders/{order['id']}/mark-paid")
    assert again.status_code == 409


async def test_cancel_sends_orders_cancelled_with_reason(env: Env) -> None:
    created = await env.new_order(financial_status="authorized")
    order_id = created["order"]["id"]
    env.clock.advance(hours=1)
    cancelled = await env.control(f"orders/{order_id}/cancel", {"reason": "fraud"})
    assert cancelled.status_code == 200, cancelled.text
    assert [d["topic"] for d in cancelled.json()["deliveries"]] == ["orders/cancelled", "orders/updated"]
    sent = json.loads(env.receiver.received[1].body)
    assert env.receiver.received[1].headers["X-Shopify-Topic"] == "orders/cancelled"
    assert sent["cancel_reason"] == "fraud" and sent["financial_status"] == "voided"
    assert utc(sent["cancelled_at"]) == env.clock.now == utc(sent["updated_at"])
    assert (await env.control(f"orders/{order_id}/cancel")).status_code == 409
    assert (await env.control(f"orders/{order_id}/cancel", {"reason": "bored"})).status_code == 422
    view = (await env.client.get(f"/_control/shops/{SHOP}/orders/{order_id}")).json()
    assert all(fo["status"] == "CLOSED" for fo in view["fulfillment_orders"])

    paid = (await env.new_order())["order"]
    refunded = await env.control(f"orders/{paid['id']}/cancel", {"reason": "customer", "refund": True})
    assert refunded.json()["order"]["financial_status"] == "refunded"


async def test_updated_at_moves_on_every_change_even_within_a_second(env: Env) -> None:
    order = (await env.new_order(financial_status="pending"))["order"]
    address = {"address1": "2 Side St", "city": "Boston", "province_code": "MA", "country_code": "US"}
    stamps = [utc(order["updated_at"])]
    for path, body in ((f"orders/{order['id']}/shipping-address", address), (f"orders/{order['id']}/mark-paid", None),
                       (f"orders/{order['id']}/cancel", None)):
        response = await env.control(path, body)  # the clock does not move
        assert response.status_code == 200, response.text
        stamps.append(utc(response.json()["order"]["updated_at"]))
    assert stamps == sorted(set(stamps)) and len(stamps) == 4
    assert (await env.control(f"orders/{order['id']}/shipping-address", {"city": "x"})).status_code == 422


async def test_dropped_webhooks_are_recorded_not_sent_and_can_be_redelivered(env: Env) -> None:
    assert (await env.control("drop-webhooks", {"count": 2})).json() == {"drop_next_webhooks": 2}
    lost = await env.new_order(financial_status="pending")
    assert lost["delivery"]["dropped"] is True and lost["delivery"]["status_code"] is None
    paid = await env.control(f"orders/{lost['order']['id']}/mark-paid")
    assert [d["dropped"] for d in paid.json()["deliveries"]] == [True, False]  # only N are dropped
    assert env.topics() == ["orders/updated"]
    shop = (await env.client.get(f"/_control/shops/{SHOP}")).json()
    assert shop["drop_next_webhooks"] == 0

    deliveries = (await env.client.get(f"/_control/shops/{SHOP}/webhook-deliveries")).json()["deliveries"]
    assert [(d["topic"], d["dropped"], len(d["attempts"])) for d in deliveries] == [
        ("orders/create", True, 0), ("orders/paid", True, 0), ("orders/updated", False, 1)]

    # reconciliation finds the order although its orders/create never arrived
    listed = (await env.get("orders.json", status="any")).json()["orders"]
    assert [o["id"] for o in listed] == [lost["order"]["id"]]

    # a dropped delivery can still be redelivered, by topic
    again = await env.control(f"orders/{lost['order']['id']}/redeliver", {"topic": "orders/create"})
    assert again.json()["topic"] == "orders/create" and again.json()["ok"] is True
    assert env.topics() == ["orders/updated", "orders/create"]
    assert env.receiver.received[-1].body.decode() == deliveries[0]["body"]
    missing = await env.control(f"orders/{lost['order']['id']}/redeliver", {"topic": "orders/cancelled"})
    assert missing.status_code == 404

    assert (await env.control("drop-webhooks", {"count": -1})).status_code == 422
