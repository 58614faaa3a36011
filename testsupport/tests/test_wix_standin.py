"""Behaviour of the Wix stand-in, checked against platforms.md §4 and Wix's documented shapes (not
against its own code): OAuth, auth errors, orders + search, order fulfillments, rate limit, JWT webhooks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest

from dropline_testsupport.harness import Receiver
from dropline_testsupport.wix_standin import __main__ as cli
from dropline_testsupport.wix_standin import create_app

INSTANCE = "inst-1"
OTHER = "inst-2"
APP_ID, APP_SECRET = "app-1", "secret-1"
WEBHOOK_URL = "http://dropline.test/webhooks/wix"


def wix_order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "status": "APPROVED", "paymentStatus": "PAID", "currency": "USD",
        "buyerInfo": {"email": "jane@example.com"},
        "lineItems": [
            {"id": "00000000-0000-0000-0000-000000000001", "productName": {"original": "T-shirt"},
             "quantity": 2, "physicalProperties": {"sku": "TS-RED-M"}, "price": {"amount": "20.00"}},
            {"id": "00000000-0000-0000-0000-000000000002", "productName": {"original": "Mug"},
             "quantity": 1, "price": {"amount": "8.00"}},
        ],
        "priceSummary": {"total": {"amount": "48.00"}},
    }
    order.update(changes)
    return order


@pytest.fixture
async def env() -> AsyncIterator[dict[str, Any]]:
    receiver = Receiver()
    app = create_app(webhook_transport=receiver.transport, sites=[
        {"instance_id": INSTANCE, "app_id": APP_ID, "app_secret": APP_SECRET, "webhook_url": WEBHOOK_URL,
         "api_key": "IST.key", "site_id": "site-1"},
        {"instance_id": OTHER, "app_id": APP_ID, "app_secret": APP_SECRET}])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wix.test") as http:
        yield {"http": http, "receiver": receiver, "app": app}


async def token(http: httpx.AsyncClient, instance: str = INSTANCE) -> str:
    resp = await http.post("/oauth2/token", json={"grant_type": "client_credentials", "client_id": APP_ID,
                                                  "client_secret": APP_SECRET, "instance_id": instance})
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"]


async def seed(http: httpx.AsyncClient, instance: str = INSTANCE, **changes: Any) -> dict[str, Any]:
    resp = await http.post(f"/_control/sites/{instance}/orders", json=wix_order(**changes))
    assert resp.status_code == 201, resp.text
    return resp.json()


def is_wix_error(body: dict[str, Any], code: str | None = None) -> None:
    assert isinstance(body.get("message"), str)
    details = body["details"]
    if code is not None:
        assert details["applicationError"]["code"] == code


# -- OAuth and auth ------------------------------------------------------------------------------


async def test_create_access_token_as_documented(env: dict[str, Any]) -> None:
    resp = await env["http"].post("/oauth2/token", json={"grant_type": "client_credentials", "client_id": APP_ID,
                                                         "client_secret": APP_SECRET, "instance_id": INSTANCE})
    body = resp.json()
    assert resp.status_code == 200
    assert body["token_type"] == "Bearer" and body["expires_in"] == 14400 and body["access_token"]


@pytest.mark.parametrize(("change", "status", "error"), [
    ({"client_secret": "wrong"}, 401, "invalid_client"),
    ({"client_id": "other-app"}, 401, "invalid_client"),
    ({"grant_type": "authorization_code"}, 400, "unsupported_grant_type"),
    ({"instance_id": None}, 400, "invalid_request"),
    ({"instance_id": "not-installed"}, 400, "invalid_grant"),
])
async def test_token_refusals(env: dict[str, Any], change: dict[str, Any], status: int, error: str) -> None:
    body = {"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": APP_SECRET,
            "instance_id": INSTANCE, **change}
    resp = await env["http"].post("/oauth2/token", json={k: v for k, v in body.items() if v is not None})
    assert resp.status_code == status and resp.json()["error"] == error


async def test_api_auth(env: dict[str, Any]) -> None:
    http = env["http"]
    order_id = (await seed(http))["order"]["id"]
    path = f"/ecom/v1/orders/{order_id}"
    for headers in ({}, {"Authorization": "made-up"}):
        resp = await http.get(path, headers=headers)
        assert resp.status_code == 401
        is_wix_error(resp.json(), "UNAUTHENTICATED")
    t = await token(http)
    assert (await http.get(path, headers={"Authorization": t})).status_code == 200
    assert (await http.get(path, headers={"Authorization": f"Bearer {t}"})).status_code == 200
    other = await token(http, OTHER)  # a token is for one instance: that instance has no such order
    assert (await http.get(path, headers={"Authorization": other})).status_code == 404
    assert (await http.get(path, headers={"Authorization": "IST.key"})).status_code == 403
    assert (await http.get(path, headers={"Authorization": "IST.key", "wix-site-id": "site-x"})).status_code == 403
    assert (await http.get(path, headers={"Authorization": "IST.key", "wix-site-id": "site-1"})).status_code == 200
    await http.post(f"/_control/sites/{INSTANCE}/expire-tokens")
    assert (await http.get(path, headers={"Authorization": t})).status_code == 401


# -- orders and search ----------------------------------------------------------------------------


async def test_get_order_and_404(env: dict[str, Any]) -> None:
    http = env["http"]
    seeded = (await seed(http))["order"]
    assert seeded["number"] == "10001" and seeded["fulfillmentStatus"] == "NOT_FULFILLED"
    assert seeded["createdDate"].endswith("Z") and seeded["updatedDate"] == seeded["createdDate"]
    auth = {"Authorization": await token(http)}
    assert (await http.get(f"/ecom/v1/orders/{seeded['id']}", headers=auth)).json() == {"order": seeded}
    resp = await http.get("/ecom/v1/orders/nope", headers=auth)
    assert resp.status_code == 404
    is_wix_error(resp.json(), "NOT_FOUND")


async def test_seed_refuses_what_no_wix_order_looks_like(env: dict[str, Any]) -> None:
    http = env["http"]
    for bad in ({"lineItems": []}, {"status": "PAID"}, {"paymentStatus": "DONE"},
                {"lineItems": [{"id": "a", "quantity": 0}]}):
        assert (await http.post(f"/_control/sites/{INSTANCE}/orders", json=wix_order(**bad))).status_code == 422


async def search(http: httpx.AsyncClient, auth: dict[str, str], body: Any) -> httpx.Response:
    return await http.post("/ecom/v1/orders/search", json=body, headers=auth)


async def test_search_defaults_filter_sort_and_cursor(env: dict[str, Any]) -> None:
    http = env["http"]
    for day in (1, 2, 3):
        stamp = f"2025-05-0{day}T10:00:00.000Z"
        await seed(http, id=f"o{day}", createdDate=stamp, updatedDate=f"2025-06-0{4 - day}T10:00:00.000Z")
    await seed(http, id="o-init", status="INITIALIZED")
    auth = {"Authorization": await token(http)}

    body = (await search(http, auth, {})).json()  # defaults: createdDate DESC, no INITIALIZED
    assert [o["id"] for o in body["orders"]] == ["o3", "o2", "o1"]
    assert body["metadata"]["hasNext"] is False and body["metadata"]["count"] == 3

    query = {"search": {"filter": {"updatedDate": {"$gte": "2025-06-02T10:00:00.000Z"}},
                        "sort": [{"fieldName": "updatedDate", "order": "ASC"}], "cursorPaging": {"limit": 1}}}
    page = (await search(http, auth, query)).json()
    assert [o["id"] for o in page["orders"]] == ["o2"] and page["metadata"]["hasNext"] is True
    nxt = {"search": {"cursorPaging": {"limit": 1, "cursor": page["metadata"]["cursors"]["next"]}}}
    page = (await search(http, auth, nxt)).json()
    assert [o["id"] for o in page["orders"]] == ["o1"] and page["metadata"]["hasNext"] is False
    assert "next" not in page["metadata"]["cursors"]

    explicit = {"search": {"filter": {"status": "INITIALIZED"}}}
    assert (await search(http, auth, explicit)).json()["orders"] == []  # INITIALIZED: never returned
    by_payment = {"search": {"filter": {"paymentStatus": {"$hasSome": ["PAID"]}, "id": {"$ne": "o2"}}}}
    assert {o["id"] for o in (await search(http, auth, by_payment)).json()["orders"]} == {"o1", "o3"}


@pytest.mark.parametrize("body", [
    {"search": {"filter": {"buyerInfo.email": "x"}}},  # not a filterable field
    {"search": {"filter": {"updatedDate": {"$regex": "x"}}}},
    {"search": {"filter": {"updatedDate": {"$gte": "not a date"}}}},
    {"search": {"sort": [{"fieldName": "currency", "order": "ASC"}]}},
    {"search": {"sort": [{"fieldName": "updatedDate", "order": "UP"}]}},
    {"search": {"cursorPaging": {"limit": 101}}},
    {"search": {"cursorPaging": {"cursor": "garbage!!"}}},
    {"search": []},
    [],
])
async def test_search_rejects_what_it_does_not_support(env: dict[str, Any], body: Any) -> None:
    http = env["http"]
    resp = await search(http, {"Authorization": await token(http)}, body)
    assert resp.status_code == 400
    assert resp.json()["details"]["validationError"]["fieldViolations"][0]["field"]


# -- fulfillments ---------------------------------------------------------------------------------


def create(http: httpx.AsyncClient, auth: dict[str, str], order_id: str, body: Any) -> Any:
    return http.post(f"/ecom/v1/fulfillments/orders/{order_id}/create-fulfillment", json=body, headers=auth)


async def test_fulfillments_as_documented(env: dict[str, Any]) -> None:
    http = env["http"]
    order_id = (await seed(http))["order"]["id"]
    auth = {"Authorization": await token(http)}
    line1, line2 = "00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002"
    listed = (await http.get(f"/ecom/v1/fulfillments/orders/{order_id}", headers=auth)).json()
    assert listed == {"orderWithFulfillments": {"orderId": order_id, "fulfillments": []}}

    resp = await create(http, auth, order_id, {"fulfillment": {
        "lineItems": [{"id": line1, "quantity": 1}], "trackingInfo": {"trackingNumber": "12345",
                                                                      "shippingProvider": "fedex"}}})
    body = resp.json()
    assert resp.status_code == 200
    (f,) = body["orderWithFulfillments"]["fulfillments"]
    assert body["fulfillmentId"] == f["id"] and f["createdDate"].endswith("Z")
    assert f["trackingInfo"] == {"trackingNumber": "12345", "shippingProvider": "fedex", "trackingLink":
                                 "https://www.fedex.com/apps/fedextrack/?action=track&trackingnumber=12345"}
    view = (await http.get(f"/_control/sites/{INSTANCE}/orders/{order_id}")).json()
    assert view["order"]["fulfillmentStatus"] == "PARTIALLY_FULFILLED"

    too_many = await create(http, auth, order_id, {"fulfillment": {"lineItems": [{"id": line1, "quantity": 2}]}})
    assert too_many.status_code == 428
    is_wix_error(too_many.json(), "INSUFFICIENT_LINE_ITEM_QUANTITY")
    unknown = await create(http, auth, order_id, {"fulfillment": {"lineItems": [{"id": "nope"}]}})
    assert unknown.status_code == 428
    # quantity omitted: what is not yet fulfilled
    rest = await create(http, auth, order_id, {"fulfillment": {"lineItems": [{"id": line1}, {"id": line2}]}})
    assert rest.status_code == 200
    assert rest.json()["orderWithFulfillments"]["fulfillments"][1]["lineItems"] == [
        {"id": line1, "quantity": 1}, {"id": line2, "quantity": 1}]
    view = (await http.get(f"/_control/sites/{INSTANCE}/orders/{order_id}")).json()
    assert view["order"]["fulfillmentStatus"] == "FULFILLED"
    assert len(view["orderWithFulfillments"]["fulfillments"]) == 2


async def test_fulfillment_refusals(env: dict[str, Any]) -> None:
    http = env["http"]
    auth = {"Authorization": await token(http)}
    pending = (await seed(http, status="INITIALIZED"))["order"]["id"]
    line = {"id": "00000000-0000-0000-0000-000000000001", "quantity": 1}
    resp = await create(http, auth, pending, {"fulfillment": {"lineItems": [line]}})
    assert resp.status_code == 428
    is_wix_error(resp.json(), "ORDER_NOT_APPROVED")
    assert (await create(http, auth, "nope", {"fulfillment": {"lineItems": [line]}})).status_code == 404
    approved = (await seed(http))["order"]["id"]
    for bad in ({}, {"fulfillment": {"lineItems": []}}, {"fulfillment": {"lineItems": [{"quantity": 1}]}},
                {"fulfillment": {"lineItems": [{**line, "quantity": 0}]}},
                {"fulfillment": {"lineItems": [line], "trackingInfo": {"trackingNumber": "1"},
                                 "customInfo": {"fieldsData": {}}}}):
        resp = await create(http, auth, approved, bad)
        assert resp.status_code == 400, bad
        assert "validationError" in resp.json()["details"]
    raw = await http.post(f"/ecom/v1/fulfillments/orders/{approved}/create-fulfillment", content=b"{",
                          headers={**auth, "content-type": "application/json"})
    assert raw.status_code == 400


# -- limits and forced failures --------------------------------------------------------------------


async def test_requests_per_minute_per_instance(env: dict[str, Any]) -> None:
    http = env["http"]
    auth = {"Authorization": await token(http)}  # the token call counts too
    other = {"Authorization": await token(http, OTHER)}
    await http.post(f"/_control/sites/{INSTANCE}/rate-limit", json={"requests_per_minute": 2})
    for _ in range(2):
        assert (await search(http, auth, {})).status_code == 200
    resp = await search(http, auth, {})
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1
    is_wix_error(resp.json(), "RESOURCE_EXHAUSTED")
    assert (await search(http, other, {})).status_code == 200  # another instance has its own 200/min


async def test_forced_failures(env: dict[str, Any]) -> None:
    http = env["http"]
    auth = {"Authorization": await token(http)}
    await http.post(f"/_control/sites/{INSTANCE}/failures", json={"status": 503, "seconds": 60})
    assert (await search(http, auth, {})).status_code == 503
    await http.delete(f"/_control/sites/{INSTANCE}/failures")
    assert (await search(http, auth, {})).status_code == 200
    await http.post(f"/_control/sites/{INSTANCE}/failures", json={"status": 429, "seconds": 60})
    resp = await search(http, auth, {})
    assert resp.status_code == 429 and 59 <= int(resp.headers["Retry-After"]) <= 60


# -- webhooks --------------------------------------------------------------------------------------


async def public_key(http: httpx.AsyncClient) -> dict[str, Any]:
    return (await http.get(f"/_control/apps/{APP_ID}/public-key")).json()


def decode(raw: bytes, pem: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """platforms.md §4.1 "wix_decode": verify (RS256, exp), then parse data, then data.data."""
    claims = jwt.decode(raw.decode(), pem, algorithms=["RS256"])
    outer = json.loads(claims["data"])
    return claims, outer, json.loads(outer["data"])


async def test_seed_sends_created_then_approved_jwts(env: dict[str, Any]) -> None:
    http, receiver = env["http"], env["receiver"]
    answer = await seed(http)
    order = answer["order"]
    assert [w["status_code"] for w in answer["webhooks"]] == [200, 200]
    key = await public_key(http)
    assert key["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert [r.path for r in receiver.received] == ["/webhooks/wix", "/webhooks/wix"]
    events = []
    for r in receiver.received:
        assert jwt.get_unverified_header(r.body.decode()) == {"kid": key["kid"], "alg": "RS256", "typ": "JWT"}
        claims, outer, event = decode(r.body, key["public_key_pem"])
        assert isinstance(claims["data"], str) and claims["exp"] - claims["iat"] == 300_000
        assert outer["instanceId"] == INSTANCE and isinstance(outer["identity"], str)
        assert event["entityFqdn"] == "wix.ecom.v1.order" and event["entityId"] == order["id"]
        events.append((outer["eventType"], event))
    (t1, created), (t2, approved) = events
    assert (t1, t2) == ("wix.ecom.v1.order_created", "wix.ecom.v1.order_approved")
    assert created["slug"] == "created" and created["createdEvent"]["entity"] == order
    assert approved["slug"] == "approved" and approved["actionEvent"]["body"]["order"] == order
    assert created["id"] != approved["id"]  # event ids: the dedupe key


async def test_later_approval_and_payment(env: dict[str, Any]) -> None:
    http, receiver = env["http"], env["receiver"]
    order_id = (await seed(http, status="INITIALIZED", paymentStatus="NOT_PAID"))["order"]["id"]
    assert len(receiver.received) == 1  # created only: not approved
    await http.post(f"/_control/sites/{INSTANCE}/orders/{order_id}/approve")
    paid = (await http.post(f"/_control/sites/{INSTANCE}/orders/{order_id}/payment-status",
                            json={"paymentStatus": "PAID"})).json()
    assert paid["order"]["paymentStatus"] == "PAID"
    pem = (await public_key(http))["public_key_pem"]
    types = [decode(r.body, pem)[1]["eventType"] for r in receiver.received]
    assert types == ["wix.ecom.v1.order_created", "wix.ecom.v1.order_approved", "wix.ecom.v1.order_updated",
                     "wix.ecom.v1.order_payment_status_updated", "wix.ecom.v1.order_updated"]
    payment_event = decode(receiver.received[3].body, pem)[2]
    assert payment_event["actionEvent"]["body"]["order"]["paymentStatus"] == "PAID"
    assert payment_event["actionEvent"]["body"]["previousPaymentStatus"] == "NOT_PAID"
    await http.post(f"/_control/sites/{INSTANCE}/orders/{order_id}/cancel")
    assert decode(receiver.received[5].body, pem)[1]["eventType"] == "wix.ecom.v1.order_canceled"


async def test_drop_list_and_redeliver(env: dict[str, Any]) -> None:
    http, receiver = env["http"], env["receiver"]
    await http.post(f"/_control/sites/{INSTANCE}/webhooks/drop-next", json={"count": 1})
    await seed(http)
    assert len(receiver.received) == 1  # created was "lost", approved arrived
    hooks = (await http.get(f"/_control/sites/{INSTANCE}/webhooks")).json()["webhooks"]
    assert [(h["event_type"], h["dropped"], len(h["attempts"])) for h in hooks] == [
        ("wix.ecom.v1.order_created", True, 0), ("wix.ecom.v1.order_approved", False, 1)]
    receiver.default_status = 500
    again = (await http.post(f"/_control/sites/{INSTANCE}/webhooks/{hooks[0]['id']}/redeliver")).json()
    assert again["status_code"] == 500 and again["attempts"] == 1
    receiver.default_status = 200
    again = (await http.post(f"/_control/sites/{INSTANCE}/webhooks/{hooks[0]['id']}/redeliver")).json()
    assert again["status_code"] == 200 and again["attempts"] == 2
    assert receiver.received[-1].body == receiver.received[-2].body == hooks[0]["body"].encode()  # the same JWT


async def test_fulfillment_webhooks(env: dict[str, Any]) -> None:
    http, receiver = env["http"], env["receiver"]
    order_id = (await seed(http))["order"]["id"]
    auth = {"Authorization": await token(http)}
    await create(http, auth, order_id, {"fulfillment": {"lineItems": [{"id": "00000000-0000-0000-0000-000000000002"}]}})
    for _ in range(50):
        if len(receiver.received) >= 4:
            break
        await asyncio.sleep(0.01)
    pem = (await public_key(http))["public_key_pem"]
    _, outer, event = decode(receiver.received[2].body, pem)
    assert outer["eventType"] == "wix.ecom.v1.fulfillments_updated"
    assert event["updatedEvent"]["currentEntity"]["orderId"] == order_id


async def test_sites_and_reset(env: dict[str, Any]) -> None:
    http = env["http"]
    created = await http.post("/_control/sites", json={"instance_id": "inst-new", "app_id": "app-2"})
    assert created.status_code == 201
    site = created.json()
    assert site["public_key_pem"] != (await public_key(http))["public_key_pem"]  # one key pair per app
    assert (await http.post("/_control/sites", json={"instance_id": "x", "app_id": APP_ID,
                                                     "app_secret": "different"})).status_code == 409
    await http.post("/_control/reset")
    assert {s["instance_id"] for s in (await http.get("/_control/sites")).json()["sites"]} == {INSTANCE, OTHER}


def test_cli_builds_the_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(cli, "serve", lambda app, args: seen.update(app=app, args=args))
    cli.main(["--port", "8199", "--instance-id", "i-1", "--app-id", "a", "--app-secret", "s",
              "--webhook-url", WEBHOOK_URL])
    assert seen["args"].port == 8199
    site = seen["app"].state.standin.sites["i-1"]
    assert (site.config.app_id, site.config.app_secret, site.config.webhook_url) == ("a", "s", WEBHOOK_URL)
    cli.main([])
    assert seen["args"].port == 8107 and seen["app"].state.standin.sites == {}
