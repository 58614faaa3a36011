"""Behaviour of the BigCommerce stand-in, checked against platforms.md §2 and the bigcommerce/docs
reference (orders.v2.oas2.yml, webhooks.v3.yml, status codes), not against its own code."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from dropline_testsupport.bigcommerce_standin import create_app
from dropline_testsupport.bigcommerce_standin.samples import CLIENT_SECRET, STORE_HASH, TOKEN, sample
from dropline_testsupport.harness import Receiver, run_module

AUTH = {"X-Auth-Token": TOKEN, "Accept": "application/json"}
V2 = f"/stores/{STORE_HASH}/v2"
V3 = f"/stores/{STORE_HASH}/v3"
RATE_HEADERS = ("X-Rate-Limit-Time-Window-Ms", "X-Rate-Limit-Time-Reset-Ms", "X-Rate-Limit-Requests-Quota",
                "X-Rate-Limit-Requests-Left")
DESTINATION = "https://dropline.test/webhooks/bigcommerce"


@pytest.fixture
async def bc() -> AsyncIterator[tuple[httpx.AsyncClient, Receiver]]:
    receiver = Receiver()
    app = create_app(webhook_transport=receiver.transport, stores=[{
        "store_hash": STORE_HASH, "store_id": "1025646", "access_token": TOKEN, "client_secret": CLIENT_SECRET}])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bc.test") as client:
        yield client, receiver
        await app.state.standin.aclose()


async def register(client: httpx.AsyncClient, scope: str = "store/order/*", **extra: Any) -> httpx.Response:
    return await client.post(f"{V3}/hooks", headers=AUTH, json={
        "scope": scope, "destination": DESTINATION, "is_active": True,
        "headers": {"X-Dropline-Webhook-Secret": "s3cret"}, **extra})


async def seed(client: httpx.AsyncClient, order_id: int = 247, **order: Any) -> dict[str, Any]:
    payload = sample()
    payload["order"].update(id=order_id, **order)
    payload["products"][0]["quantity"] = 2
    payload["products"].append({**payload["products"][0], "id": 66, "quantity": 1, "sku": "ABS"})
    resp = await client.post(f"/_control/stores/{STORE_HASH}/orders", json=payload)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def ship(client: httpx.AsyncClient, order_id: int = 247, **body: Any) -> httpx.Response:
    return await client.post(f"{V2}/orders/{order_id}/shipments", headers=AUTH, json={
        "order_address_id": 51, "tracking_number": "1Z999AA10123456784", "shipping_provider": "ups",
        "items": [{"order_product_id": 65, "quantity": 1}], **body})


# -- auth, errors, quota ---------------------------------------------------------------------------


async def test_x_auth_token_is_required(bc) -> None:
    client, _ = bc
    await seed(client)
    for headers in ({}, {"X-Auth-Token": "wrong"}):
        resp = await client.get(f"{V2}/orders/247", headers=headers)
        assert resp.status_code == 401
        assert resp.json()[0]["status"] == 401
        assert all(h in resp.headers for h in RATE_HEADERS)
    v3 = await client.get(f"{V3}/hooks", headers={"X-Auth-Token": "wrong"})
    assert v3.status_code == 401 and v3.json()["status"] == 401 and "title" in v3.json()
    assert (await client.get(f"{V2}/orders/247", headers=AUTH)).status_code == 200


async def test_unknown_order_is_404_with_the_v2_error_array(bc) -> None:
    client, _ = bc
    resp = await client.get(f"{V2}/orders/999", headers=AUTH)
    assert resp.status_code == 404
    assert resp.json() == [{"status": 404, "message": "The requested resource was not found."}]
    assert (await client.get(f"{V2}/orders/999/products", headers=AUTH)).status_code == 404


async def test_quota_headers_on_every_answer_and_429_when_spent(bc) -> None:
    client, _ = bc
    await client.post(f"/_control/stores/{STORE_HASH}/rate-limit", json={"quota": 3, "window_seconds": 30})
    lefts = []
    for _ in range(3):
        resp = await client.get(f"{V2}/orders", headers=AUTH)
        assert resp.headers["X-Rate-Limit-Requests-Quota"] == "3"
        assert resp.headers["X-Rate-Limit-Time-Window-Ms"] == "30000"
        assert 0 < int(resp.headers["X-Rate-Limit-Time-Reset-Ms"]) <= 30000
        lefts.append(resp.headers["X-Rate-Limit-Requests-Left"])
    assert lefts == ["2", "1", "0"]
    spent = await client.get(f"{V2}/orders", headers=AUTH)
    assert spent.status_code == 429 and spent.headers["X-Rate-Limit-Requests-Left"] == "0"
    assert 1 <= int(spent.headers["X-Retry-After"]) <= 30


async def test_forced_failures(bc) -> None:
    client, _ = bc
    await client.post(f"/_control/stores/{STORE_HASH}/failures", json={"status": 500, "seconds": 30})
    assert (await client.get(f"{V2}/orders", headers=AUTH)).status_code == 500
    await client.post(f"/_control/stores/{STORE_HASH}/failures", json={"status": 429, "seconds": 30})
    resp = await client.get(f"{V2}/orders", headers=AUTH)
    assert resp.status_code == 429 and int(resp.headers["X-Rate-Limit-Time-Reset-Ms"]) > 25000
    await client.post(f"/_control/stores/{STORE_HASH}/failures", json={"status": 429, "seconds": 0})
    assert (await client.get(f"{V2}/orders", headers=AUTH)).status_code == 204


# -- orders ----------------------------------------------------------------------------------------


async def test_order_endpoints_answer_in_bigcommerces_shapes(bc) -> None:
    client, _ = bc
    await seed(client, date_modified="Wed, 05 Dec 2018 20:16:55 +0000")
    order = (await client.get(f"{V2}/orders/247", headers=AUTH)).json()
    assert order["status"] == "Awaiting Fulfillment" and order["items_total"] == 3
    assert order["products"]["resource"] == "/orders/247/products"  # a link, not the data
    assert order["date_modified"] == "Wed, 05 Dec 2018 20:16:55 +0000"
    products = (await client.get(f"{V2}/orders/247/products", headers=AUTH)).json()
    assert [(p["id"], p["order_address_id"], p["quantity_shipped"]) for p in products] == [(65, 51, 0), (66, 51, 0)]
    addresses = (await client.get(f"{V2}/orders/247/shipping_addresses", headers=AUTH)).json()
    assert addresses[0]["id"] == 51 and addresses[0]["items_total"] == 3
    assert (await client.get(f"{V2}/orders/247/shipments", headers=AUTH)).status_code == 204


async def test_list_filters_sort_and_paging(bc) -> None:
    client, _ = bc
    await seed(client, 1, date_modified="Mon, 01 Jan 2024 12:00:00 +0000")
    await seed(client, 2, date_modified="Mon, 01 Jan 2024 10:00:00 +0000", status_id=0)
    await seed(client, 3, date_modified="Mon, 01 Jan 2024 11:00:00 +0000")

    async def ids(**params: Any) -> list[int]:
        resp = await client.get(f"{V2}/orders", headers=AUTH, params=params)
        return [] if resp.status_code == 204 else [o["id"] for o in resp.json()]

    assert await ids() == [1, 2, 3]  # default sort: id ascending
    assert await ids(sort="date_modified:asc") == [2, 3, 1]
    assert await ids(min_date_modified="2024-01-01T10:30:00+00:00", sort="date_modified:asc") == [3, 1]
    assert await ids(min_date_modified="Mon, 01 Jan 2024 05:30:00 -0500") == [1, 3]
    assert await ids(status_id=0) == [2]
    assert await ids(sort="date_modified:asc", limit=2, page=2) == [1]
    assert await ids(min_date_modified="2030-01-01T00:00:00Z") == []
    for params, status in (({"min_date_modified": "yesterday"}, 400), ({"sort": "price"}, 400),
                           ({"limit": 251}, 413), ({"page": "x"}, 400)):
        assert (await client.get(f"{V2}/orders", headers=AUTH, params=params)).status_code == status


async def test_seed_refuses_what_is_not_a_bigcommerce_order(bc) -> None:
    client, _ = bc
    payload = sample()
    payload["order"]["status_id"] = 99
    assert (await client.post(f"/_control/stores/{STORE_HASH}/orders", json=payload)).status_code == 422
    payload = sample()
    payload["products"][0]["order_address_id"] = 7
    assert (await client.post(f"/_control/stores/{STORE_HASH}/orders", json=payload)).status_code == 422
    await seed(client)
    assert (await client.post(f"/_control/stores/{STORE_HASH}/orders", json=sample())).status_code == 409


# -- shipments -------------------------------------------------------------------------------------


async def test_shipments_update_quantities_and_status(bc) -> None:
    client, _ = bc
    await seed(client)
    first = await ship(client, tracking_carrier="")
    assert first.status_code == 201
    body = first.json()
    assert body["tracking_number"] == "1Z999AA10123456784" and body["order_address_id"] == 51
    assert body["items"] == [{"order_product_id": 65, "product_id": 77, "quantity": 1}]
    order = (await client.get(f"{V2}/orders/247", headers=AUTH)).json()
    assert (order["status_id"], order["status"], order["items_shipped"]) == (3, "Partially Shipped", 1)
    await ship(client, tracking_number="SECOND", items=[{"order_product_id": 65, "quantity": 1},
                                                         {"order_product_id": 66, "quantity": 1}])
    order = (await client.get(f"{V2}/orders/247", headers=AUTH)).json()
    assert (order["status_id"], order["status"], order["items_shipped"]) == (2, "Shipped", 3)
    shipments = (await client.get(f"{V2}/orders/247/shipments", headers=AUTH)).json()
    assert [s["tracking_number"] for s in shipments] == ["1Z999AA10123456784", "SECOND"]


@pytest.mark.parametrize(("body", "status"), [
    ({"items": None}, 422),
    ({"order_address_id": 999}, 422),
    ({"items": [{"order_product_id": 65, "quantity": 3}]}, 422),  # more than remains unshipped
    ({"items": [{"order_product_id": 12345, "quantity": 1}]}, 422),
    ({"items": [{"order_product_id": 65, "quantity": 0}]}, 422),
    ({"items": []}, 422),
    ({"tracking_number": "X" * 51}, 422),  # maxLength 50
    ({"tracking_link": "https://t.example/" + "x" * 500}, 422),  # maxLength 500
    ({"shipping_provider": "dhl"}, 422),  # not a BigCommerce provider (use tracking_carrier)
    ({"generated_tracking_link": "x"}, 400),  # read-only
])
async def test_invalid_shipments_are_refused(bc, body: dict[str, Any], status: int) -> None:
    client, _ = bc
    await seed(client)
    if body.get("items", 0) is None:
        resp = await client.post(f"{V2}/orders/247/shipments", headers=AUTH, json={"order_address_id": 51})
    else:
        resp = await ship(client, **body)
    assert resp.status_code == status, resp.text
    assert resp.json()[0]["status"] == status and resp.json()[0]["message"]
    assert (await client.get(f"{V2}/orders/247/shipments", headers=AUTH)).status_code == 204


async def test_shipment_body_must_be_json(bc) -> None:
    client, _ = bc
    await seed(client)
    url = f"{V2}/orders/247/shipments"
    assert (await client.post(url, headers={**AUTH, "Content-Type": "application/json"},
                              content=b"{nope")).status_code == 400
    assert (await client.post(url, headers={**AUTH, "Content-Type": "text/plain"}, content=b"{}")).status_code == 415
    assert (await client.post(f"{V2}/orders/999/shipments", headers=AUTH, json={})).status_code == 404


# -- hooks and callbacks ---------------------------------------------------------------------------


async def test_register_hooks_as_dropline_does(bc) -> None:
    client, _ = bc
    resp = await register(client)
    assert resp.status_code == 200
    hook = resp.json()["data"]
    assert hook["scope"] == "store/order/*" and hook["headers"] == {"X-Dropline-Webhook-Secret": "s3cret"}
    assert hook["store_hash"] == STORE_HASH and hook["is_active"] is True
    assert (await register(client)).status_code == 422  # one per scope + destination
    missing = await client.post(f"{V3}/hooks", headers=AUTH, json={"scope": "store/order/created"})
    assert missing.status_code == 422 and missing.json()["errors"] == {"destination": "error.path.missing"}
    listed = (await client.get(f"{V3}/hooks", headers=AUTH)).json()
    assert [h["id"] for h in listed["data"]] == [hook["id"]] and listed["meta"]["pagination"]["total"] == 1
    put = await client.put(f"{V3}/hooks/{hook['id']}", headers=AUTH, json={"is_active": False})
    assert put.json()["data"]["is_active"] is False
    assert (await client.get(f"{V3}/hooks/424242", headers=AUTH)).status_code == 404


async def test_seeded_order_sends_a_signed_thin_callback_with_the_custom_headers(bc) -> None:
    client, receiver = bc
    await register(client)
    await seed(client, 250, status_id=0)  # created fires for incomplete orders too
    assert len(receiver.received) == 1
    got = receiver.received[0]
    body = json.loads(got.body)
    assert set(body) == {"scope", "store_id", "data", "hash", "created_at", "producer"}
    assert body["scope"] == "store/order/created" and body["store_id"] == "1025646"
    assert body["data"] == {"type": "order", "id": 250} and body["producer"] == f"stores/{STORE_HASH}"
    assert body["hash"] == hashlib.sha1(json.dumps(body["data"], separators=(",", ":")).encode()).hexdigest()
    assert got.headers["X-Dropline-Webhook-Secret"] == "s3cret"
    # Verified independently with the Standard Webhooks library, keyed as BigCommerce's sample keys it.
    wh = Webhook(base64.b64encode(CLIENT_SECRET.encode()).decode())
    assert wh.verify(got.body, dict(got.headers)) == body
    with pytest.raises(WebhookVerificationError):
        Webhook(base64.b64encode(b"other").decode()).verify(got.body, dict(got.headers))


async def test_status_change_sends_status_updated_then_updated(bc) -> None:
    client, receiver = bc
    await register(client)
    await seed(client, status_id=7)
    resp = await client.post(f"/_control/stores/{STORE_HASH}/orders/247/status", json={"status_id": 11})
    assert resp.json()["order"]["status"] == "Awaiting Fulfillment"
    status, updated = (json.loads(r.body) for r in receiver.received[-2:])
    assert status["scope"] == "store/order/statusUpdated"
    assert status["data"] == {"type": "order", "id": 247, "status": {"previous_status_id": 7, "new_status_id": 11}}
    assert updated["scope"] == "store/order/updated" and updated["data"] == {"type": "order", "id": 247}
    again = await client.post(f"/_control/stores/{STORE_HASH}/orders/247/status", json={"status_id": 11})
    assert again.json()["webhooks"] == []  # statusUpdated fires only when the status changes


async def test_only_matching_active_hooks_receive(bc) -> None:
    client, receiver = bc
    await register(client, "store/order/statusUpdated")
    await seed(client)
    assert receiver.received == []


async def test_drop_and_redeliver(bc) -> None:
    client, receiver = bc
    await register(client, "store/order/created")
    await client.post(f"/_control/stores/{STORE_HASH}/webhooks/drop", json={"count": 1})
    await seed(client)
    assert receiver.received == []
    webhooks = (await client.get(f"/_control/stores/{STORE_HASH}/webhooks")).json()["webhooks"]
    assert len(webhooks) == 1 and webhooks[0]["dropped"] and webhooks[0]["attempts"] == []
    redelivered = await client.post(f"/_control/stores/{STORE_HASH}/webhooks/{webhooks[0]['id']}/redeliver")
    assert redelivered.json()["delivered"] and len(receiver.received) == 1
    assert receiver.received[0].headers["webhook-id"] == webhooks[0]["headers"]["webhook-id"]
    listed = (await client.get(f"/_control/stores/{STORE_HASH}/webhooks")).json()["webhooks"]
    assert [a["status_code"] for a in listed[0]["attempts"]] == [200]


async def test_shipment_sends_order_webhooks_in_the_background(bc) -> None:
    client, receiver = bc
    await register(client)
    await seed(client)
    await ship(client)
    webhooks = (await client.get(f"/_control/stores/{STORE_HASH}/webhooks")).json()["webhooks"]
    assert [w["scope"] for w in webhooks] == ["store/order/created", "store/order/statusUpdated",
                                             "store/order/updated"]  # no hook for store/shipment/*
    assert all(w["delivered"] for w in webhooks) and len(receiver.received) == 3


def test_command_line_starts_a_store() -> None:
    with run_module("dropline_testsupport.bigcommerce_standin", "--store-hash", "cli123", "--access-token", "t",
                    "--client-secret", "c", "--webhook-url", "https://dropline.test/wh",
                    "--header-secret", "h") as base:
        hooks = httpx.get(f"{base}/stores/cli123/v3/hooks", headers={"X-Auth-Token": "t"}).json()["data"]
        assert {h["scope"] for h in hooks} == {"store/order/created", "store/order/updated",
                                               "store/order/statusUpdated"}
        assert all(h["headers"] == {"X-Dropline-Webhook-Secret": "h"} for h in hooks)
        assert httpx.get(f"{base}/stores/cli123/v2/orders", headers={"X-Auth-Token": "t"}).status_code == 204
