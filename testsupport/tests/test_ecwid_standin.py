"""Behaviour of the Ecwid stand-in, checked against platforms.md §3 (not against its own code): it signs
as Ecwid signs (verified here with hmac), sends the documented thin bodies, and rejects what Ecwid rejects."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from dropline_testsupport.ecwid_standin import create_app
from dropline_testsupport.harness import run_module

STORE_ID = "1003"
TOKEN = "secret_ab12cd"
CLIENT_SECRET = "app_client_secret"
WEBHOOK_URL = "http://dropline.test/webhooks/ecwid"
API = f"/api/v3/{STORE_ID}"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

ORDER = {
    "id": "XJ12H", "email": "michael@example.com", "paymentStatus": "PAID",
    "fulfillmentStatus": "AWAITING_PROCESSING", "subtotal": 40.0, "total": 50.0,
    "items": [{"id": 1000001, "sku": "TSHIRT-RED-M", "name": "T-shirt", "quantity": 2, "price": 20.0},
              {"id": 1000002, "sku": "MUG", "name": "Mug", "quantity": 1, "price": 9.0}],
    "shippingPerson": {"name": "Michael Scott", "city": "Scranton", "countryCode": "US"},
    "shippingOption": {"shippingMethodName": "USPS Priority Mail", "shippingRate": 10.0},
}


def documented_signature(event_created: int, event_id: str, secret: str) -> str:
    """platforms.md §3.1 "Minimal verification", written out independently of the stand-in."""
    message = f"{event_created}.{event_id}".encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


@dataclass
class Hook:
    url: str
    body: bytes
    headers: httpx.Headers


@dataclass
class Receiver:
    statuses: list[int] = field(default_factory=list)
    received: list[Hook] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/{path:path}")
        async def catch(path: str, request: Request) -> Response:
            self.received.append(Hook(str(request.url), await request.body(), httpx.Headers(request.headers)))
            return Response(status_code=self.statuses.pop(0) if self.statuses else 200)

        return app


@dataclass
class Env:
    client: httpx.AsyncClient
    receiver: Receiver

    async def seed(self, order: dict[str, Any] | None = None, **params: Any) -> dict[str, Any]:
        resp = await self.client.post(f"/_control/stores/{STORE_ID}/orders", json=order or ORDER, params=params)
        assert resp.status_code == 201, resp.text
        return resp.json()


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    receiver = Receiver()
    app = create_app(webhook_transport=httpx.ASGITransport(app=receiver.app()),
                     stores=[{"store_id": STORE_ID, "secret_token": TOKEN, "client_secret": CLIENT_SECRET,
                              "currency": "EUR", "webhook_url": WEBHOOK_URL}])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ecwid.test") as client:
        yield Env(client, receiver)


def check_signed(hook: Hook) -> dict[str, Any]:
    body = json.loads(hook.body)
    expected = documented_signature(body["eventCreated"], body["eventId"], CLIENT_SECRET)
    assert hook.headers["X-Ecwid-Webhook-Signature"] == expected
    return body


async def test_seeding_an_order_sends_a_signed_thin_order_created(env):
    seeded = await env.seed()
    order = seeded["order"]
    assert order["id"] == "XJ12H" and isinstance(order["internalId"], int)
    assert order["createDate"].endswith(" +0000") and isinstance(order["createTimestamp"], int)
    assert seeded["webhook"]["attempts"][0]["status_code"] == 200

    [hook] = env.receiver.received
    assert hook.url == f"{WEBHOOK_URL}?eventtype=order.created"
    body = check_signed(hook)
    assert set(body) == {"eventId", "eventCreated", "storeId", "entityId", "eventType", "data"}
    assert body["storeId"] == 1003 and body["eventType"] == "order.created"
    assert body["entityId"] == order["internalId"] and isinstance(body["eventCreated"], int)
    assert body["data"] == {"orderId": "XJ12H", "newPaymentStatus": "PAID",
                            "newFulfillmentStatus": "AWAITING_PROCESSING"}
    assert "items" not in json.dumps(body)  # thin: ids and statuses only


async def test_status_changes_and_deletion_send_order_updated_and_deleted(env):
    await env.seed()
    resp = await env.client.post(f"/_control/stores/{STORE_ID}/orders/XJ12H/status",
                                 json={"paymentStatus": "REFUNDED"})
    assert resp.status_code == 200 and resp.json()["order"]["paymentStatus"] == "REFUNDED"
    resp = await env.client.post(f"/_control/stores/{STORE_ID}/orders/XJ12H/status",
                                 json={"paymentStatus": "SOMETHING"})
    assert resp.status_code == 422
    await env.client.delete(f"/_control/stores/{STORE_ID}/orders/XJ12H")
    created, updated, deleted = env.receiver.received
    assert updated.url.endswith("?eventtype=order.updated") and deleted.url.endswith("?eventtype=order.deleted")
    assert check_signed(updated)["data"] == {"orderId": "XJ12H", "oldPaymentStatus": "PAID",
                                             "newPaymentStatus": "REFUNDED",
                                             "oldFulfillmentStatus": "AWAITING_PROCESSING",
                                             "newFulfillmentStatus": "AWAITING_PROCESSING"}
    assert check_signed(deleted)["eventType"] == "order.deleted"
    assert (await env.client.get(f"{API}/orders/XJ12H", headers=AUTH)).status_code == 404


async def test_drop_and_redeliver_send_the_very_same_delivery(env):
    assert (await env.client.post("/_control/webhooks/drop", json={"count": 1})).json() == {"drop_next": 1}
    seeded = await env.seed()
    assert seeded["webhook"]["dropped"] is True and env.receiver.received == []
    webhook_id = seeded["webhook"]["id"]
    env.receiver.statuses = [203]  # Ecwid: 203 is not a success
    first = (await env.client.post(f"/_control/webhooks/{webhook_id}/redeliver")).json()
    assert first["ok"] is False
    second = (await env.client.post(f"/_control/webhooks/{webhook_id}/redeliver")).json()
    assert second["ok"] is True and [a["status_code"] for a in second["attempts"]] == [203, 200]
    a, b = env.receiver.received
    assert a.body == b.body and a.headers["X-Ecwid-Webhook-Signature"] == b.headers["X-Ecwid-Webhook-Signature"]
    listed = (await env.client.get("/_control/webhooks", params={"store_id": STORE_ID})).json()["webhooks"]
    assert [w["id"] for w in listed] == [webhook_id] and len(listed[0]["attempts"]) == 2


async def test_auth_is_a_bearer_token_and_anything_else_is_403(env):
    await env.seed()
    ok = await env.client.get(f"{API}/orders/XJ12H", headers=AUTH)
    assert ok.status_code == 200 and ok.json()["items"][0]["sku"] == "TSHIRT-RED-M"
    assert (await env.client.get(f"{API}/orders/XJ12H", params={"token": TOKEN})).status_code == 200  # legacy
    for headers in ({}, {"Authorization": "Bearer secret_wrong"}, {"Authorization": TOKEN},
                    {"Authorization": f"Basic {TOKEN}"}):
        resp = await env.client.get(f"{API}/orders/XJ12H", headers=headers)
        assert resp.status_code == 403 and isinstance(resp.json()["errorMessage"], str)
    assert (await env.client.get("/api/v3/999/orders", headers=AUTH)).status_code == 404


async def test_unknown_order_is_404_with_an_error_message(env):
    resp = await env.client.get(f"{API}/orders/NOPE1", headers=AUTH)
    assert resp.status_code == 404 and "errorMessage" in resp.json()
    put = await env.client.put(f"{API}/orders/NOPE1", headers=AUTH, json={"trackingNumber": "1Z"})
    assert put.status_code == 404


async def test_profile_carries_the_store_currency(env):
    profile = (await env.client.get(f"{API}/profile", headers=AUTH)).json()
    assert profile["formatsAndUnits"]["currency"] == "EUR" and profile["generalInfo"]["storeId"] == 1003


async def test_update_keeps_omitted_fields_and_replaces_items_when_sent(env):
    await env.seed()
    resp = await env.client.put(f"{API}/orders/XJ12H", headers=AUTH,
                                json={"fulfillmentStatus": "SHIPPED", "trackingNumber": "1Z999"})
    assert resp.status_code == 200 and resp.json() == {"updateCount": 1}
    order = (await env.client.get(f"{API}/orders/XJ12H", headers=AUTH)).json()
    assert (order["fulfillmentStatus"], order["trackingNumber"], order["email"]) == \
        ("SHIPPED", "1Z999", "michael@example.com")
    assert len(order["items"]) == 2
    # An API update is an order.updated too (the loop Ecwid warns about).
    assert env.receiver.received[-1].url.endswith("?eventtype=order.updated")
    await env.client.put(f"{API}/orders/XJ12H", headers=AUTH, json={"items": [ORDER["items"][0]]})
    order = (await env.client.get(f"{API}/orders/XJ12H", headers=AUTH)).json()
    assert [i["id"] for i in order["items"]] == [1000001]  # omitted items are removed, as on Ecwid
    view = (await env.client.get(f"/_control/stores/{STORE_ID}/orders/XJ12H")).json()
    assert [w["body"] for w in view["writes"]][0] == {"fulfillmentStatus": "SHIPPED", "trackingNumber": "1Z999"}


@pytest.mark.parametrize(("content", "headers", "status"), [
    (b"{not json", {"Content-Type": "application/json"}, 400),
    (b"[1]", {"Content-Type": "application/json"}, 400),
    (b'{"fulfillmentStatus": "SENT"}', {"Content-Type": "application/json"}, 400),
    (b'{"paymentStatus": "PAYED"}', {"Content-Type": "application/json"}, 400),
    (b'{"trackingNumber": 12345}', {"Content-Type": "application/json"}, 400),
    (b'{"items": {"id": 1}}', {"Content-Type": "application/json"}, 400),
    (b'{"trackingNumber": "1Z"}', {"Content-Type": "text/plain"}, 415),
])
async def test_bad_update_bodies_are_refused(env, content, headers, status):
    await env.seed()
    resp = await env.client.put(f"{API}/orders/XJ12H", content=content, headers={**AUTH, **headers})
    assert resp.status_code == status and "errorMessage" in resp.json()
    assert (await env.client.get(f"/_control/stores/{STORE_ID}/orders/XJ12H")).json()["writes"] == []


async def test_search_filters_pages_and_refuses_bad_parameters(env):
    for i in range(5):
        await env.seed({**ORDER, "id": f"ORD{i}", "createTimestamp": 1_700_000_000 + i * 100,
                        "updateTimestamp": 1_700_000_000 + i * 100}, webhook="false")
    await env.seed({**ORDER, "id": "CART1", "paymentStatus": "INCOMPLETE"}, webhook="false")
    page = (await env.client.get(f"{API}/orders", headers=AUTH,
                                 params={"updatedFrom": 1_700_000_100, "limit": 2})).json()
    assert (page["total"], page["count"], page["offset"], page["limit"]) == (4, 2, 0, 2)
    assert [o["id"] for o in page["items"]] == ["ORD4", "ORD3"]  # newest first
    rest = (await env.client.get(f"{API}/orders", headers=AUTH,
                                 params={"updatedFrom": 1_700_000_100, "updatedTo": "2023-11-14 22:18:20 +0000",
                                         "offset": 0})).json()
    assert [o["id"] for o in rest["items"]] == ["ORD3", "ORD2", "ORD1"]  # 1_700_000_300 = 2023-11-14 22:18:20
    everything = (await env.client.get(f"{API}/orders", headers=AUTH)).json()
    assert everything["limit"] == 100 and "CART1" not in [o["id"] for o in everything["items"]]
    carts = (await env.client.get(f"{API}/orders", headers=AUTH, params={"paymentStatus": "INCOMPLETE"})).json()
    assert [o["id"] for o in carts["items"]] == ["CART1"]
    by_id = (await env.client.get(f"{API}/orders", headers=AUTH, params={"ids": "ORD1,ORD2"})).json()
    assert sorted(o["id"] for o in by_id["items"]) == ["ORD1", "ORD2"]
    for params in ({"limit": 101}, {"limit": "ten"}, {"offset": -1}, {"updatedFrom": "last tuesday"},
                   {"paymentStatus": "PAYED"}):
        resp = await env.client.get(f"{API}/orders", headers=AUTH, params=params)
        assert resp.status_code == 400 and "errorMessage" in resp.json(), params


async def test_rate_limit_window_per_token(env):
    await env.client.post("/_control/rate-limit", json={"requests": 3, "window_seconds": 0.3})
    statuses = [(await env.client.get(f"{API}/profile", headers=AUTH)).status_code for _ in range(3)]
    throttled = await env.client.get(f"{API}/profile", headers=AUTH)
    assert statuses == [200, 200, 200] and throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1 and "errorMessage" in throttled.json()
    other = await env.client.get(f"{API}/profile", headers={"Authorization": "Bearer secret_other"})
    assert other.status_code == 403  # another token has its own window
    await asyncio.sleep(0.35)
    assert (await env.client.get(f"{API}/profile", headers=AUTH)).status_code == 200


async def test_forced_failures_last_their_duration(env):
    await env.client.post(f"/_control/stores/{STORE_ID}/failures", json={"status": 503, "seconds": 0.2})
    assert (await env.client.get(f"{API}/profile", headers=AUTH)).status_code == 503
    await asyncio.sleep(0.25)
    assert (await env.client.get(f"{API}/profile", headers=AUTH)).status_code == 200
    await env.client.post(f"/_control/stores/{STORE_ID}/failures", json={"status": 429, "seconds": 5, "retry_after": 9})
    throttled = await env.client.get(f"{API}/orders", headers=AUTH)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "9"
    bad = await env.client.post(f"/_control/stores/{STORE_ID}/failures", json={"status": 404, "seconds": 1})
    assert bad.status_code == 422


async def test_control_refuses_bad_stores_and_orders(env):
    assert (await env.client.post("/_control/stores", json={"store_id": "abc", "secret_token": "t",
                                                            "client_secret": "c"})).status_code == 422
    assert (await env.client.post("/_control/stores", json={"store_id": "77", "secret_token": "t",
                                                            "client_secret": "c", "currency": "XXY"})).status_code == 422
    created = await env.client.post("/_control/stores", json={"store_id": "77", "secret_token": "t",
                                                              "client_secret": "c"})
    assert created.status_code == 201 and created.json()["currency"] == "USD"
    await env.seed()
    assert (await env.client.post(f"/_control/stores/{STORE_ID}/orders", json=ORDER)).status_code == 409
    assert (await env.client.post(f"/_control/stores/{STORE_ID}/orders", json=[1])).status_code == 422


def test_the_command_line_starts_a_store():
    with run_module("dropline_testsupport.ecwid_standin", "--store-id", "4242", "--secret-token", "secret_cli",
                    "--currency", "GBP") as base:
        profile = httpx.get(f"{base}/api/v3/4242/profile", headers={"Authorization": "Bearer secret_cli"})
        assert profile.status_code == 200 and profile.json()["formatsAndUnits"]["currency"] == "GBP"
        store = httpx.get(f"{base}/_control/stores/4242").json()
        assert store["client_secret"] == "standin_client_secret" and store["webhook_url"] is None
