"""The Shopify stand-in's fulfillment-service flow ("Request fulfillment"), checked against platforms.md §1.3
and Shopify's webhook reference sample for fulfillment_orders/fulfillment_request_submitted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from dropline_testsupport.harness import Receiver
from dropline_testsupport.shopify_standin import create_app

SHOP = "fs-store.myshopify.com"
TOKEN = "shpat_fs_token"
SECRET = "whsec_fs_secret"
WEBHOOK_URL = "http://dropline.test/webhooks/shopify"
TOPIC = "fulfillment_orders/fulfillment_request_submitted"

FO_QUERY = """
query($id: ID!) {
  fulfillmentOrder(id: $id) {
    id status requestStatus orderId order { id displayFulfillmentStatus }
    supportedActions { action }
    merchantRequests(first: 5) { nodes { id kind message requestOptions responseData sentAt } }
  }
}
"""

ACCEPT = """
mutation fulfillmentOrderAcceptFulfillmentRequest($id: ID!, $message: String) {
  fulfillmentOrderAcceptFulfillmentRequest(id: $id, message: $message) {
    fulfillmentOrder { id status requestStatus }
    userErrors { field message }
  }
}
"""

FULFILL = """
mutation($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status trackingInfo(first: 5) { company number url } }
    userErrors { field message }
  }
}
"""


@dataclass
class Env:
    client: httpx.AsyncClient
    receiver: Receiver

    async def gql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(f"/shops/{SHOP}/admin/api/2025-10/graphql.json",
                                          json={"query": query, "variables": variables},
                                          headers={"X-Shopify-Access-Token": TOKEN})
        assert response.status_code == 200, response.text
        return response.json()

    async def new_order(self) -> dict[str, Any]:
        response = await self.client.post(f"/_control/shops/{SHOP}/orders", json={
            "currency": "EUR", "email": "jane@example.com",
            "line_items": [{"sku": "MUG-BLUE", "title": "Blue mug", "quantity": 2, "price": "14.99"}]})
        assert response.status_code == 201, response.text
        return response.json()

    async def request(self, order_id: int, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.client.post(f"/_control/shops/{SHOP}/orders/{order_id}/request-fulfillment",
                                      json=body)


async def make_env(*, fulfillment_service: str | None = "Dropline") -> AsyncIterator[Env]:
    receiver = Receiver()
    app = create_app(webhook_transport=receiver.transport)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shopify.test") as client:
        created = await client.post("/_control/shops", json={
            "shop_domain": SHOP, "access_token": TOKEN, "webhook_secret": SECRET, "webhook_url": WEBHOOK_URL,
            "fulfillment_service": fulfillment_service})
        assert created.status_code == 201, created.text
        yield Env(client, receiver)
        await app.state.standin.aclose()


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async for value in make_env():
        yield value


async def test_request_fulfillment_sends_the_signed_webhook_in_shopifys_shape(env: Env) -> None:
    created = await env.new_order()
    fo_gid = created["fulfillment_orders"][0]["id"]
    assert "REQUEST_FULFILLMENT" in created["fulfillment_orders"][0]["supportedActions"]

    response = await env.request(created["order"]["id"], {"message": "Fragile"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["fulfillment_order"]["status"], answer["fulfillment_order"]["requestStatus"]) == ("OPEN",
                                                                                                    "SUBMITTED")
    assert answer["delivery"]["topic"] == TOPIC and answer["delivery"]["ok"]

    sent = env.receiver.received[-1]
    assert sent.headers["X-Shopify-Topic"] == TOPIC
    assert sent.headers["X-Shopify-Shop-Domain"] == SHOP
    assert sent.headers["X-Shopify-Hmac-Sha256"] == base64.b64encode(
        hmac.new(SECRET.encode(), sent.body, hashlib.sha256).digest()).decode()
    body = json.loads(sent.body)
    request_gid = body["fulfillment_order_merchant_request"]["id"]
    assert request_gid.startswith("gid://shopify/FulfillmentOrderMerchantRequest/")
    # Shopify's sample: ids and lower-case statuses of the fulfillment orders, the merchant's message, no order.
    assert body == {
        "original_fulfillment_order": {"id": fo_gid, "status": "open", "request_status": "unsubmitted"},
        "submitted_fulfillment_order": {"id": fo_gid, "status": "open", "request_status": "submitted"},
        "fulfillment_order_merchant_request": {"id": request_gid, "message": "Fragile"},
    }

    fo = (await env.gql(FO_QUERY, {"id": fo_gid}))["data"]["fulfillmentOrder"]
    assert (fo["status"], fo["requestStatus"]) == ("OPEN", "SUBMITTED")
    assert fo["order"]["id"] == fo["orderId"] == f"gid://shopify/Order/{created['order']['id']}"
    [merchant_request] = fo["merchantRequests"]["nodes"]
    assert (merchant_request["id"], merchant_request["kind"], merchant_request["message"]) == (
        request_gid, "FULFILLMENT_REQUEST", "Fragile")
    assert merchant_request["requestOptions"] == {"notify_customer": True}
    assert "REQUEST_FULFILLMENT" not in [a["action"] for a in fo["supportedActions"]]


async def test_accept_moves_the_request_to_accepted_and_the_order_in_progress(env: Env) -> None:
    created = await env.new_order()
    fo_gid = created["fulfillment_orders"][0]["id"]
    assert (await env.request(created["order"]["id"])).status_code == 200

    answer = await env.gql(ACCEPT, {"id": fo_gid, "message": "We ship it this week"})
    assert answer["data"]["fulfillmentOrderAcceptFulfillmentRequest"] == {
        "fulfillmentOrder": {"id": fo_gid, "status": "IN_PROGRESS", "requestStatus": "ACCEPTED"}, "userErrors": []}
    assert answer["extensions"]["cost"]["requestedQueryCost"] == 10

    fo = (await env.gql(FO_QUERY, {"id": fo_gid}))["data"]["fulfillmentOrder"]
    assert (fo["status"], fo["requestStatus"]) == ("IN_PROGRESS", "ACCEPTED")
    assert fo["order"]["displayFulfillmentStatus"] == "IN_PROGRESS"  # the admin shows it In progress
    assert fo["merchantRequests"]["nodes"][0]["responseData"]["message"] == "We ship it this week"

    # accepting again: a userError, nothing changes
    again = (await env.gql(ACCEPT, {"id": fo_gid}))["data"]["fulfillmentOrderAcceptFulfillmentRequest"]
    assert again["fulfillmentOrder"] is None and again["userErrors"]
    assert "accepted" in again["userErrors"][0]["message"]

    # fulfillmentCreate still works on the IN_PROGRESS fulfillment order, with tracking
    line = created["fulfillment_orders"][0]["lineItems"][0]
    done = (await env.gql(FULFILL, {"fulfillment": {
        "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo_gid,
                                         "fulfillmentOrderLineItems": [{"id": line["id"], "quantity": 2}]}],
        "trackingInfo": {"company": "UPS", "number": "1Z999AA10123456784"}}}))["data"]["fulfillmentCreate"]
    assert done["userErrors"] == [] and done["fulfillment"]["trackingInfo"][0]["number"] == "1Z999AA10123456784"
    fo = (await env.gql(FO_QUERY, {"id": fo_gid}))["data"]["fulfillmentOrder"]
    assert fo["status"] == "CLOSED" and fo["order"]["displayFulfillmentStatus"] == "FULFILLED"


async def test_accept_without_a_submitted_request_is_a_user_error(env: Env) -> None:
    created = await env.new_order()
    fo_gid = created["fulfillment_orders"][0]["id"]
    answer = (await env.gql(ACCEPT, {"id": fo_gid}))["data"]["fulfillmentOrderAcceptFulfillmentRequest"]
    assert answer["fulfillmentOrder"] is None
    assert answer["userErrors"][0]["field"] == ["id"] and "unsubmitted" in answer["userErrors"][0]["message"]
    fo = (await env.gql(FO_QUERY, {"id": fo_gid}))["data"]["fulfillmentOrder"]
    assert (fo["status"], fo["requestStatus"]) == ("OPEN", "UNSUBMITTED")

    missing = (await env.gql(ACCEPT, {"id": "gid://shopify/FulfillmentOrder/999999"}))["data"]
    assert missing["fulfillmentOrderAcceptFulfillmentRequest"]["userErrors"][0]["message"] == \
        "Fulfillment order does not exist."


async def test_request_twice_or_after_acceptance_is_refused(env: Env) -> None:
    created = await env.new_order()
    order_id = created["order"]["id"]
    assert (await env.request(order_id)).status_code == 200
    assert (await env.request(order_id)).status_code == 409
    await env.gql(ACCEPT, {"id": created["fulfillment_orders"][0]["id"]})
    refused = await env.request(order_id)
    assert refused.status_code == 409 and "IN_PROGRESS" in refused.text
    # one webhook for the one request (plus orders/create)
    topics = [r.headers["X-Shopify-Topic"] for r in env.receiver.received]
    assert topics == ["orders/create", TOPIC]


async def test_the_submitted_webhook_can_be_redelivered_byte_for_byte(env: Env) -> None:
    created = await env.new_order()
    order_id = created["order"]["id"]
    await env.request(order_id, {"message": "Gift wrap"})
    again = await env.client.post(f"/_control/shops/{SHOP}/orders/{order_id}/redeliver", json={"topic": TOPIC})
    assert again.status_code == 200 and again.json()["topic"] == TOPIC
    first, second = env.receiver.received[-2:]
    assert first.body == second.body
    assert first.headers["X-Shopify-Webhook-Id"] == second.headers["X-Shopify-Webhook-Id"]


async def test_a_merchant_managed_location_takes_no_requests() -> None:
    async for env in make_env(fulfillment_service=None):
        created = await env.new_order()
        assert "REQUEST_FULFILLMENT" not in created["fulfillment_orders"][0]["supportedActions"]
        refused = await env.request(created["order"]["id"])
        assert refused.status_code == 409 and "not a fulfillment service location" in refused.text
        answer = (await env.gql(ACCEPT, {"id": created["fulfillment_orders"][0]["id"]}))["data"]
        assert answer["fulfillmentOrderAcceptFulfillmentRequest"]["userErrors"]

        # the control API turns the shop's location into a fulfillment service's: existing orders too
        shop = await env.client.post(f"/_control/shops/{SHOP}/fulfillment-service", json={"name": "Dropline"})
        assert shop.status_code == 200 and shop.json()["fulfillment_service"] == "Dropline"
        assert (await env.request(created["order"]["id"])).status_code == 200
