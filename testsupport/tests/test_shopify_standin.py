"""Behaviour of the Shopify stand-in, checked against platforms.md §1 (not against its own code)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest

from dropline_testsupport.harness import Receiver, run_module, serve_in_loop
from dropline_testsupport.shopify_standin import IdAllocator, build_order_payload, create_app, sign_webhook

SHOP = "demo-store.myshopify.com"
TOKEN = "shpat_test_token"
SECRET = "whsec_test_secret"
WEBHOOK_URL = "http://dropline.test/webhooks/shopify"
GRAPHQL = f"/shops/{SHOP}/admin/api/2025-01/graphql.json"

ORDER_QUERY = """
query Order($id: ID!) {
  order(id: $id) {
    id name legacyResourceId displayFulfillmentStatus
    fulfillmentOrders(first: 5) {
      nodes {
        id status requestStatus
        assignedLocation { location { id } }
        lineItems(first: 10) { nodes { id remainingQuantity totalQuantity lineItem { id sku } } }
      }
      edges { node { id } }
    }
    fulfillments(first: 5) { id status trackingInfo(first: 5) { company number url } }
  }
}
"""

FULFILL = """
mutation fulfillmentCreate($fulfillment: FulfillmentInput!, $message: String) {
  fulfillmentCreate(fulfillment: $fulfillment, message: $message) {
    fulfillment { id status createdAt trackingInfo(first: 5) { company number url } }
    userErrors { field message }
  }
}
"""


def documented_hmac(raw_body: bytes, secret: str) -> str:
    """platforms.md §1.1 "Minimal verification": base64(HMAC-SHA256(secret, raw body))."""
    return base64.b64encode(hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()).decode()


@dataclass
class Env:
    client: httpx.AsyncClient
    receiver: Receiver

    async def gql(self, query: str, variables: dict[str, Any] | None = None, *, token: str = TOKEN,
                  shop: str = SHOP, version: str = "2025-01") -> httpx.Response:
        return await self.client.post(
            f"/shops/{shop}/admin/api/{version}/graphql.json",
            json={"query": query, "variables": variables or {}},
            headers={"X-Shopify-Access-Token": token},
        )

    async def new_order(self, **spec: Any) -> dict[str, Any]:
        body = {
            "currency": "EUR",
            "email": "jane@example.com",
            "line_items": [
                {"sku": "MUG-BLUE", "title": "Blue mug", "quantity": 2, "price": "14.99"},
                {"sku": "LAMP-01", "title": "Desk lamp", "quantity": 1, "price": "39.00", "variant_id": 4242},
            ],
            **spec,
        }
        response = await self.client.post(f"/_control/shops/{SHOP}/orders", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    async def fulfillment_order(self, order_gid: str) -> dict[str, Any]:
        data = (await self.gql(ORDER_QUERY, {"id": order_gid})).json()["data"]["order"]
        return data["fulfillmentOrders"]["nodes"][0]

    async def fulfill(self, fulfillment: dict[str, Any]) -> dict[str, Any]:
        response = await self.gql(FULFILL, {"fulfillment": fulfillment})
        assert response.status_code == 200, response.text
        return response.json()


async def make_env(receiver: Receiver, **app_kwargs: Any) -> AsyncIterator[Env]:
    app = create_app(webhook_transport=receiver.transport, **app_kwargs)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shopify.test") as client:
        created = await client.post("/_control/shops", json={
            "shop_domain": SHOP, "access_token": TOKEN, "webhook_secret": SECRET, "webhook_url": WEBHOOK_URL,
        })
        assert created.status_code == 201, created.text
        yield Env(client, receiver)
        await app.state.standin.aclose()


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async for value in make_env(Receiver()):
        yield value


# ------------------------------------------------------------------------------------------------
# orders/create webhook
# ------------------------------------------------------------------------------------------------


async def test_orders_create_webhook_is_signed_with_the_documented_algorithm(env: Env) -> None:
    created = await env.new_order()
    assert len(env.receiver.received) == 1
    delivery = env.receiver.received[0]
    assert delivery.method == "POST" and delivery.path == "/webhooks/shopify"
    assert delivery.headers["X-Shopify-Hmac-Sha256"] == documented_hmac(delivery.body, SECRET)
    assert sign_webhook(delivery.body, SECRET) == documented_hmac(delivery.body, SECRET)
    # a different secret does not verify
    assert delivery.headers["X-Shopify-Hmac-Sha256"] != documented_hmac(delivery.body, "other")
    headers = delivery.headers
    assert headers["X-Shopify-Topic"] == "orders/create"
    assert headers["X-Shopify-Shop-Domain"] == SHOP
    assert headers["X-Shopify-API-Version"]
    assert headers["X-Shopify-Event-Id"]
    assert headers["X-Shopify-Triggered-At"].endswith("Z")
    assert headers["Content-Type"] == "application/json"
    assert created["delivery"]["webhook_id"] == headers["X-Shopify-Webhook-Id"]
    assert created["delivery"]["status_code"] == 200
    assert created["delivery"]["response_body"] == '{"received": true}'
    # the body is the REST order the control API returned
    assert json.loads(delivery.body) == created["order"]


async def test_order_payload_has_the_documented_rest_shape(env: Env) -> None:
    created = await env.new_order(shipping_address={
        "first_name": "Jürgen", "last_name": "Groß", "address1": "Hauptstraße 5", "city": "Berlin",
        "zip": "10115", "province_code": "BE", "country_code": "DE", "phone": "+49 30 1234567",
    })
    order = created["order"]
    assert isinstance(order["id"], int)
    assert order["admin_graphql_api_id"] == f"gid://shopify/Order/{order['id']}"
    assert (order["name"], order["order_number"], order["number"]) == ("#1001", 1001, 1)
    assert order["currency"] == "EUR" and order["email"] == "jane@example.com"
    assert order["financial_status"] == "paid" and order["fulfillment_status"] is None
    assert order["created_at"][-6] in "+-"  # REST timestamps carry the shop's UTC offset
    items = order["line_items"]
    assert [i["sku"] for i in items] == ["MUG-BLUE", "LAMP-01"]
    assert items[1]["variant_id"] == 4242 and isinstance(items[0]["variant_id"], int)
    assert all(isinstance(i["id"], int) and isinstance(i["price"], str) for i in items)
    # totals: decimal strings that add up (10 % tax on 2 x 14.99 + 39.00, shipping 5.00)
    assert order["total_line_items_price"] == "68.98"
    assert order["total_tax"] == "6.90"
    assert Decimal(order["total_price"]) == Decimal("68.98") + Decimal("6.90") + Decimal("5.00")
    assert order["tax_lines"][0]["price"] == "6.90"
    assert order["total_price_set"]["shop_money"] == {"amount": order["total_price"], "currency_code": "EUR"}
    address = order["shipping_address"]
    assert set(address) >= {"first_name", "last_name", "name", "company", "address1", "address2", "city",
                            "province", "province_code", "zip", "country", "country_code", "phone"}
    assert (address["name"], address["country"], address["province"]) == ("Jürgen Groß", "Germany", "Berlin")
    assert order["customer"]["email"] == "jane@example.com"
    assert order["shipping_lines"][0]["price"] == "5.00"
    # non-ASCII is sent as raw UTF-8, so only the raw bytes verify
    raw = env.receiver.received[0].body
    assert "Jürgen".encode() in raw
    assert documented_hmac(json.dumps(json.loads(raw)).encode(), SECRET) != \
        env.receiver.received[0].headers["X-Shopify-Hmac-Sha256"]
    # order numbers go up per shop
    assert (await env.new_order())["order"]["name"] == "#1002"


def test_build_order_payload_is_pure_and_signable() -> None:
    spec = {"line_items": [{"sku": "A", "title": "A", "quantity": 1, "price": "10"}], "tax_rate": "0"}
    one = build_order_payload(spec, shop_domain=SHOP, new_id=IdAllocator(1000), order_number=1042)
    two = build_order_payload(spec, shop_domain=SHOP, new_id=IdAllocator(1000), order_number=1042)
    assert one["id"] == two["id"] == 1000
    assert one["name"] == "#1042" and one["tax_lines"] == [] and one["total_price"] == "15.00"
    body = json.dumps(one).encode()
    assert sign_webhook(body, SECRET) == documented_hmac(body, SECRET)


async def test_redeliver_resends_the_same_bytes_and_webhook_id(env: Env) -> None:
    created = await env.new_order()
    order_id = created["order"]["id"]
    again = await env.client.post(f"/_control/shops/{SHOP}/orders/{order_id}/redeliver")
    assert again.status_code == 200
    first, second = env.receiver.received
    assert first.body == second.body
    for header in ("X-Shopify-Webhook-Id", "X-Shopify-Event-Id", "X-Shopify-Hmac-Sha256", "X-Shopify-Triggered-At"):
        assert first.headers[header] == second.headers[header]
    assert again.json()["webhook_id"] == created["delivery"]["webhook_id"]
    assert again.json()["attempt"] == 2

    # another delivery of the same event (e.g. a second subscription): new webhook id, same event id
    dup = await env.client.post(f"/_control/shops/{SHOP}/orders/{order_id}/redeliver", json={"new_webhook_id": True})
    third = env.receiver.received[2]
    assert third.body == first.body
    assert third.headers["X-Shopify-Webhook-Id"] != first.headers["X-Shopify-Webhook-Id"]
    assert third.headers["X-Shopify-Event-Id"] == first.headers["X-Shopify-Event-Id"]
    assert dup.json()["webhook_id"] == third.headers["X-Shopify-Webhook-Id"]

    view = (await env.client.get(f"/_control/shops/{SHOP}/orders/{order_id}")).json()
    assert [len(d["attempts"]) for d in view["webhook_deliveries"]] == [2, 1]


async def test_order_without_delivery_can_be_delivered_later(env: Env) -> None:
    created = await env.new_order(deliver_webhook=False)
    assert created["delivery"] is None and env.receiver.received == []
    later = await env.client.post(f"/_control/shops/{SHOP}/orders/{created['order']['id']}/redeliver")
    assert later.json()["status_code"] == 200 and len(env.receiver.received) == 1


async def test_slow_or_failing_receivers_are_failed_deliveries() -> None:
    slow = Receiver(delay=1.0)
    async for env in make_env(slow, webhook_timeout_seconds=0.2):
        created = await env.new_order()
        assert created["delivery"]["status_code"] is None
        assert "timeout" in created["delivery"]["error"] and created["delivery"]["ok"] is False

    failing = Receiver(statuses=[500])
    async for env in make_env(failing):
        created = await env.new_order()
        assert created["delivery"]["status_code"] == 500 and created["delivery"]["ok"] is False
        retry = await env.client.post(f"/_control/shops/{SHOP}/orders/{created['order']['id']}/redeliver")
        assert retry.json()["status_code"] == 200 and retry.json()["ok"] is True


async def test_invalid_order_spec_is_rejected(env: Env) -> None:
    response = await env.client.post(f"/_control/shops/{SHOP}/orders", json={"currency": "XYZ", "line_items": []})
    assert response.status_code == 422
    assert {d["loc"][0] for d in response.json()["details"]} == {"currency", "line_items"}
    unknown = await env.client.post("/_control/shops/nope.myshopify.com/orders", json={})
    assert unknown.status_code == 404


# ------------------------------------------------------------------------------------------------
# Admin GraphQL: auth, errors
# ------------------------------------------------------------------------------------------------


async def test_graphql_requires_the_shops_access_token(env: Env) -> None:
    created = await env.new_order()
    for token in ("wrong", ""):
        response = await env.gql(ORDER_QUERY, {"id": created["order"]["admin_graphql_api_id"]}, token=token)
        assert response.status_code == 401
        assert response.json() == {
            "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
        }
    assert (await env.gql("{ shop { name } }", shop="unknown.myshopify.com")).status_code == 404
    assert (await env.gql("{ shop { name } }", version="2025-13")).status_code == 404
    assert (await env.gql("{ shop { myshopifyDomain } }", version="unstable")).json()["data"] == {
        "shop": {"myshopifyDomain": SHOP}
    }


async def test_invalid_graphql_is_answered_with_errors_and_http_200(env: Env) -> None:
    syntax = await env.gql("query { order(id: ")
    assert syntax.status_code == 200
    assert "data" not in syntax.json() and syntax.json()["errors"][0]["message"].startswith("Syntax Error")
    unknown = await env.gql("{ shop { notAField } }")
    assert unknown.status_code == 200
    assert "Cannot query field 'notAField'" in unknown.json()["errors"][0]["message"]
    bad_url = await env.gql(FULFILL, {"fulfillment": {
        "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1"}],
        "trackingInfo": {"number": "1Z1", "url": "not a url"}}})
    assert bad_url.status_code == 200 and "data" not in bad_url.json()
    assert "$fulfillment" in bad_url.json()["errors"][0]["message"]
    missing = await env.client.post(GRAPHQL, json={"variables": {}}, headers={"X-Shopify-Access-Token": TOKEN})
    assert missing.status_code == 400


# ------------------------------------------------------------------------------------------------
# Fulfillment orders and fulfillmentCreate
# ------------------------------------------------------------------------------------------------


async def test_each_order_has_one_open_fulfillment_order(env: Env) -> None:
    created = await env.new_order()
    response = await env.gql(ORDER_QUERY, {"id": created["order"]["admin_graphql_api_id"]})
    body = response.json()
    order = body["data"]["order"]
    assert order["name"] == "#1001" and order["legacyResourceId"] == str(created["order"]["id"])
    assert order["displayFulfillmentStatus"] == "UNFULFILLED" and order["fulfillments"] == []
    (fo,) = order["fulfillmentOrders"]["nodes"]
    assert order["fulfillmentOrders"]["edges"] == [{"node": {"id": fo["id"]}}]
    assert fo["id"].startswith("gid://shopify/FulfillmentOrder/")
    assert (fo["status"], fo["requestStatus"]) == ("OPEN", "UNSUBMITTED")
    assert fo["assignedLocation"]["location"]["id"].startswith("gid://shopify/Location/")
    lines = fo["lineItems"]["nodes"]
    assert [(li["lineItem"]["sku"], li["totalQuantity"], li["remainingQuantity"]) for li in lines] == [
        ("MUG-BLUE", 2, 2), ("LAMP-01", 1, 1)]
    assert lines[0]["lineItem"]["id"] == created["order"]["line_items"][0]["admin_graphql_api_id"]
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] >= cost["actualQueryCost"] > 0
    assert set(cost["throttleStatus"]) == {"maximumAvailable", "currentlyAvailable", "restoreRate"}
    # unknown order: null, not an error; malformed id: an error
    missing = await env.gql(ORDER_QUERY, {"id": "gid://shopify/Order/1"})
    assert missing.json()["data"] == {"order": None}
    malformed = await env.gql(ORDER_QUERY, {"id": "12345"})
    assert "Invalid global id" in malformed.json()["errors"][0]["message"]


async def test_fulfilling_everything_closes_the_fulfillment_order(env: Env) -> None:
    created = await env.new_order()
    fo = await env.fulfillment_order(created["order"]["admin_graphql_api_id"])
    result = await env.fulfill({
        "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo["id"]}],  # omitted items: all remaining
        "notifyCustomer": True,
        "trackingInfo": {"company": "UPS", "number": "1Z999AA10123456784",
                         "url": "https://www.ups.com/track?tracknum=1Z999AA10123456784"},
    })
    payload = result["data"]["fulfillmentCreate"]
    assert payload["userErrors"] == []
    assert payload["fulfillment"]["status"] == "SUCCESS"
    assert payload["fulfillment"]["trackingInfo"] == [{"company": "UPS", "number": "1Z999AA10123456784",
                                                       "url": "https://www.ups.com/track?tracknum=1Z999AA10123456784"}]
    assert result["extensions"]["cost"]["requestedQueryCost"] == 10  # mutations cost 10

    after = (await env.gql(ORDER_QUERY, {"id": created["order"]["admin_graphql_api_id"]})).json()["data"]["order"]
    assert after["displayFulfillmentStatus"] == "FULFILLED"
    closed = after["fulfillmentOrders"]["nodes"][0]
    assert closed["status"] == "CLOSED"
    assert [li["remainingQuantity"] for li in closed["lineItems"]["nodes"]] == [0, 0]
    assert after["fulfillments"][0]["trackingInfo"][0]["number"] == "1Z999AA10123456784"

    view = (await env.client.get(f"/_control/shops/{SHOP}/orders/{created['order']['id']}")).json()
    assert view["display_fulfillment_status"] == "FULFILLED"
    assert view["order"]["fulfillment_status"] == "fulfilled"
    assert view["fulfillment_orders"][0]["status"] == "CLOSED"
    (fulfillment,) = view["fulfillments"]
    assert fulfillment["status"] == "SUCCESS" and fulfillment["notifyCustomer"] is True
    assert fulfillment["trackingInfo"][0]["company"] == "UPS"
    assert sorted(li["quantity"] for li in fulfillment["fulfillmentLineItems"]) == [1, 2]


async def test_a_second_fulfillment_of_a_closed_fulfillment_order_fails(env: Env) -> None:
    created = await env.new_order()
    fo = await env.fulfillment_order(created["order"]["admin_graphql_api_id"])
    request = {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo["id"]}],
               "trackingInfo": {"company": "UPS", "number": "1Z999AA10123456784"}}
    assert (await env.fulfill(request))["data"]["fulfillmentCreate"]["userErrors"] == []
    second = (await env.fulfill(request))["data"]["fulfillmentCreate"]
    assert second["fulfillment"] is None
    assert second["userErrors"] and "closed" in second["userErrors"][0]["message"]
    view = (await env.client.get(f"/_control/shops/{SHOP}/orders/{created['order']['id']}")).json()
    assert len(view["fulfillments"]) == 1


async def test_partial_fulfilment_then_over_fulfilment_is_a_user_error(env: Env) -> None:
    created = await env.new_order()
    fo = await env.fulfillment_order(created["order"]["admin_graphql_api_id"])
    mug = fo["lineItems"]["nodes"][0]
    one = await env.fulfill({"lineItemsByFulfillmentOrder": [{
        "fulfillmentOrderId": fo["id"], "fulfillmentOrderLineItems": [{"id": mug["id"], "quantity": 1}]}]})
    assert one["data"]["fulfillmentCreate"]["userErrors"] == []
    after = (await env.gql(ORDER_QUERY, {"id": created["order"]["admin_graphql_api_id"]})).json()["data"]["order"]
    assert after["displayFulfillmentStatus"] == "PARTIALLY_FULFILLED"
    assert after["fulfillmentOrders"]["nodes"][0]["status"] == "IN_PROGRESS"

    too_many = await env.fulfill({"lineItemsByFulfillmentOrder": [{
        "fulfillmentOrderId": fo["id"], "fulfillmentOrderLineItems": [{"id": mug["id"], "quantity": 2}]}]})
    payload = too_many["data"]["fulfillmentCreate"]
    assert payload["fulfillment"] is None
    assert payload["userErrors"][0]["message"] == "Invalid fulfillment order line item quantity requested."
    # nothing changed
    still = await env.fulfillment_order(created["order"]["admin_graphql_api_id"])
    assert [li["remainingQuantity"] for li in still["lineItems"]["nodes"]] == [1, 1]


@pytest.mark.parametrize("tracking", [
    {"number": "1Z1", "numbers": ["1Z2"]},
    {"number": "1Z1", "url": "https://a.example/1", "urls": ["https://a.example/2"]},
    {"url": "https://a.example/1"},
    {"urls": ["https://a.example/1"]},
])
async def test_tracking_input_rules_are_enforced(env: Env, tracking: dict[str, Any]) -> None:
    created = await env.new_order()
    fo = await env.fulfillment_order(created["order"]["admin_graphql_api_id"])
    payload = (await env.fulfill({"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo["id"]}],
                                  "trackingInfo": tracking}))["data"]["fulfillmentCreate"]
    assert payload["fulfillment"] is None
    assert payload["userErrors"] and payload["userErrors"][0]["field"] == ["fulfillment", "trackingInfo"]
    assert (await env.fulfillment_order(created["order"]["admin_graphql_api_id"]))["status"] == "OPEN"


async def test_unknown_and_foreign_fulfillment_orders_are_user_errors(env: Env) -> None:
    first = await env.new_order()
    second = await env.new_order()
    fo1 = await env.fulfillment_order(first["order"]["admin_graphql_api_id"])
    fo2 = await env.fulfillment_order(second["order"]["admin_graphql_api_id"])
    unknown = (await env.fulfill({"lineItemsByFulfillmentOrder": [
        {"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/999"}]}))["data"]["fulfillmentCreate"]
    assert unknown["userErrors"][0]["message"] == "Fulfillment order does not exist."
    mixed = (await env.fulfill({"lineItemsByFulfillmentOrder": [
        {"fulfillmentOrderId": fo1["id"]}, {"fulfillmentOrderId": fo2["id"]}]}))["data"]["fulfillmentCreate"]
    assert mixed["fulfillment"] is None
    assert any("same order" in e["message"] for e in mixed["userErrors"])
    wrong_line = (await env.fulfill({"lineItemsByFulfillmentOrder": [{
        "fulfillmentOrderId": fo1["id"],
        "fulfillmentOrderLineItems": [{"id": fo2["lineItems"]["nodes"][0]["id"], "quantity": 1}]}]}))
    assert wrong_line["data"]["fulfillmentCreate"]["userErrors"]


async def test_known_carrier_gets_a_tracking_url_and_tracking_can_be_updated(env: Env) -> None:
    created = await env.new_order()
    fo = await env.fulfillment_order(created["order"]["admin_graphql_api_id"])
    made = (await env.fulfill({"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo["id"]}],
                               "trackingInfo": {"company": "UPS", "numbers": ["1ZA", "1ZB"]}}))
    fulfillment = made["data"]["fulfillmentCreate"]["fulfillment"]
    assert [t["url"] for t in fulfillment["trackingInfo"]] == [
        "https://www.ups.com/track?tracknum=1ZA", "https://www.ups.com/track?tracknum=1ZB"]
    update = await env.gql(
        """mutation($id: ID!, $t: FulfillmentTrackingInput!) {
             fulfillmentTrackingInfoUpdate(fulfillmentId: $id, trackingInfoInput: $t, notifyCustomer: false) {
               fulfillment { trackingInfo { company number url } } userErrors { field message } } }""",
        {"id": fulfillment["id"], "t": {"company": "Acme Post", "number": "AP1", "url": "https://acme.example/AP1"}},
    )
    assert update.json()["data"]["fulfillmentTrackingInfoUpdate"] == {
        "fulfillment": {"trackingInfo": [{"company": "Acme Post", "number": "AP1", "url": "https://acme.example/AP1"}]},
        "userErrors": [],
    }


# ------------------------------------------------------------------------------------------------
# Rate limiting (calculated query cost, leaky bucket)
# ------------------------------------------------------------------------------------------------


async def test_throttled_when_the_bucket_cannot_pay(env: Env) -> None:
    created = await env.new_order()
    order_gid = created["order"]["admin_graphql_api_id"]
    configured = await env.client.post(f"/_control/shops/{SHOP}/rate-limit",
                                       json={"maximum_available": 50, "restore_rate": 0})
    assert configured.json()["currently_available"] == 50
    response = await env.gql(ORDER_QUERY, {"id": order_gid})  # requested cost > 50
    assert response.status_code == 200
    body = response.json()
    assert body["errors"] == [{"message": "Throttled", "extensions": {
        "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}]
    assert "data" not in body
    cost = body["extensions"]["cost"]
    assert cost["actualQueryCost"] is None and cost["requestedQueryCost"] > 50
    assert cost["throttleStatus"] == {"maximumAvailable": 50.0, "currentlyAvailable": 50, "restoreRate": 0.0}

    cheap = await env.gql("query($id: ID!) { order(id: $id) { id name } }", {"id": order_gid})
    assert cheap.json()["data"]["order"]["name"] == "#1001"
    assert cheap.json()["extensions"]["cost"] == {
        "requestedQueryCost": 1, "actualQueryCost": 1,
        "throttleStatus": {"maximumAvailable": 50.0, "currentlyAvailable": 49, "restoreRate": 0.0}}

    # the HTTP status of a throttled answer is configurable (UNCONFIRMED on Shopify)
    await env.client.post(f"/_control/shops/{SHOP}/rate-limit", json={"throttled_status_code": 429})
    throttled = await env.gql(ORDER_QUERY, {"id": order_gid})
    assert throttled.status_code == 429 and throttled.headers["Retry-After"]
    assert throttled.json()["errors"][0]["extensions"]["code"] == "THROTTLED"


async def test_actual_cost_is_charged_and_the_bucket_restores(env: Env) -> None:
    created = await env.new_order()
    await env.client.post(f"/_control/shops/{SHOP}/rate-limit",
                          json={"maximum_available": 1000, "restore_rate": 0, "currently_available": 1000})
    body = (await env.gql(ORDER_QUERY, {"id": created["order"]["admin_graphql_api_id"]})).json()
    cost = body["extensions"]["cost"]
    # requested: order 1 + fulfillmentOrders [2 + 5 x nodes (1 + location 2 + lineItems (2 + 10 x 2))
    # + 5 x edges.node 1] + fulfillments 5 x (1 + trackingInfo 5 x 1)
    assert cost["requestedQueryCost"] == 1 + (2 + 5 * (1 + 2 + 2 + 10 * 2) + 5 * 1) + 5 * (1 + 5)
    # actual: the one FO (as node and as edge) with its two lines, no fulfillments
    assert cost["actualQueryCost"] == 1 + (2 + (1 + 2 + 2 + 2 * 2) + 1)
    assert cost["throttleStatus"]["currentlyAvailable"] == 1000 - cost["actualQueryCost"]

    await env.client.post(f"/_control/shops/{SHOP}/rate-limit",
                          json={"restore_rate": 1000, "currently_available": 0})
    await asyncio.sleep(0.05)
    status = (await env.client.get(f"/_control/shops/{SHOP}")).json()["rate_limit"]
    assert status["currently_available"] >= 40


async def test_a_query_over_the_single_query_limit_is_refused(env: Env) -> None:
    response = await env.gql("{ orders(first: 250) { nodes { id fulfillmentOrders(first: 10) { nodes { id } } } } }")
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert body["extensions"]["cost"]["actualQueryCost"] is None


# ------------------------------------------------------------------------------------------------
# Orders list (reconciliation), log, hold, reset
# ------------------------------------------------------------------------------------------------


async def test_orders_can_be_listed_page_by_page_and_searched(env: Env) -> None:
    for _ in range(3):
        await env.new_order(deliver_webhook=False)
    page = """query($after: String, $q: String) { orders(first: 2, after: $after, query: $q) {
        nodes { name lineItems(first: 5) { nodes { sku quantity originalUnitPriceSet { shopMoney { amount currencyCode } } } } }
        pageInfo { hasNextPage endCursor } } }"""
    first = (await env.gql(page)).json()["data"]["orders"]
    assert [o["name"] for o in first["nodes"]] == ["#1001", "#1002"] and first["pageInfo"]["hasNextPage"]
    assert first["nodes"][0]["lineItems"]["nodes"][0] == {
        "sku": "MUG-BLUE", "quantity": 2, "originalUnitPriceSet": {"shopMoney": {"amount": "14.99", "currencyCode": "EUR"}}}
    second = (await env.gql(page, {"after": first["pageInfo"]["endCursor"]})).json()["data"]["orders"]
    assert [o["name"] for o in second["nodes"]] == ["#1003"] and not second["pageInfo"]["hasNextPage"]

    searched = (await env.gql(page, {"q": "name:#1002"})).json()["data"]["orders"]
    assert [o["name"] for o in searched["nodes"]] == ["#1002"]
    later = (await env.gql(page, {"q": "created_at:>2999-01-01"})).json()["data"]["orders"]
    assert later["nodes"] == []
    warned = (await env.gql(page, {"q": "colour:blue"})).json()
    assert warned["extensions"]["search"][0]["warnings"][0]["field"] == "colour"
    no_first = (await env.gql("{ orders { nodes { id } } }")).json()
    assert no_first["errors"][0]["message"] == "you must provide one of first or last"


async def test_graphql_requests_are_logged(env: Env) -> None:
    created = await env.new_order()
    await env.gql(ORDER_QUERY, {"id": created["order"]["admin_graphql_api_id"]})
    await env.gql("{ shop { name } }", token="bad")
    log = (await env.client.get(f"/_control/shops/{SHOP}/graphql-log")).json()["requests"]
    assert [entry["status_code"] for entry in log] == [200, 401]
    assert log[0]["query"] == ORDER_QUERY
    assert log[0]["variables"] == {"id": created["order"]["admin_graphql_api_id"]}
    assert log[0]["response"]["data"]["order"]["name"] == "#1001"


async def test_held_fulfillment_is_applied_before_the_response(env: Env) -> None:
    created = await env.new_order()
    fo = await env.fulfillment_order(created["order"]["admin_graphql_api_id"])
    await env.client.post(f"/_control/shops/{SHOP}/hold-mutations", json={"seconds": 0.6})
    started = time.monotonic()
    call = asyncio.create_task(env.fulfill({"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo["id"]}]}))
    await asyncio.sleep(0.2)
    assert not call.done()
    view = (await env.client.get(f"/_control/shops/{SHOP}/orders/{created['order']['id']}")).json()
    assert view["fulfillment_orders"][0]["status"] == "CLOSED"  # applied while the caller still waits
    result = await call
    assert time.monotonic() - started >= 0.55
    assert result["data"]["fulfillmentCreate"]["userErrors"] == []
    # only the next one was held
    started = time.monotonic()
    await env.gql("{ shop { name } }")
    assert time.monotonic() - started < 0.5


async def test_reset_forgets_everything(env: Env) -> None:
    await env.new_order()
    assert (await env.client.post("/_control/reset")).status_code == 200
    assert (await env.client.get("/_control/shops")).json() == {"shops": []}
    assert (await env.client.get("/healthz")).json()["status"] == "ok"


# ------------------------------------------------------------------------------------------------
# Real processes and sockets
# ------------------------------------------------------------------------------------------------


async def test_command_line_stand_in_delivers_over_real_http() -> None:
    receiver = Receiver()
    async with serve_in_loop(receiver.app) as dropline:
        with run_module("dropline_testsupport.shopify_standin", "--shop", SHOP, "--access-token", TOKEN,
                        "--webhook-secret", SECRET, "--webhook-url", f"{dropline}/webhooks/shopify") as base:
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                created = await client.post(f"/_control/shops/{SHOP}/orders", json={
                    "line_items": [{"sku": "S", "title": "T", "quantity": 1, "price": "1.00"}]})
                assert created.status_code == 201 and created.json()["delivery"]["status_code"] == 200
                answer = await client.post(GRAPHQL, json={"query": "{ shop { myshopifyDomain } }"},
                                           headers={"X-Shopify-Access-Token": TOKEN})
                assert answer.json()["data"]["shop"]["myshopifyDomain"] == SHOP
    (delivery,) = receiver.received
    assert delivery.headers["X-Shopify-Hmac-Sha256"] == documented_hmac(delivery.body, SECRET)
