"""Shopify "Request fulfillment" through `ShopifyPlatform` (AcceptsFulfilmentRequests), against the Shopify
stand-in in-process: read the request from the delivery as the stand-in sends it, accept it, accept again
(reported, not written), refused requests, throttling."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from dropline_infra.jobs import Permanent, Retryable
from dropline_integrations.limits import StoreLimiter
from dropline_integrations.port import (
    AcceptsFulfilmentRequests,
    FulfilmentRequestRef,
    InvalidStoreOrder,
    StoreAccess,
    accepts_fulfilment_requests,
)
from dropline_integrations.shopify import ShopifyPlatform
from dropline_integrations.shopify.requests import ACCEPT_MESSAGE
from dropline_testsupport.harness import Receiver
from dropline_testsupport.shopify_standin import create_app

SHOP = "requests-store.myshopify.com"
BASE = "http://shopify.test"
TOKEN = "shpat_requests_token"
STORE = StoreAccess(store_id="store-1", shop=SHOP, api_base_url=f"{BASE}/shops/{SHOP}",
                    credentials={"access_token": TOKEN})


@dataclass
class Env:
    control: httpx.AsyncClient
    receiver: Receiver
    platform: ShopifyPlatform

    async def new_order(self) -> dict[str, Any]:
        response = await self.control.post(f"/_control/shops/{SHOP}/orders", json={
            "deliver_webhook": False, "line_items": [{"sku": "MUG", "title": "Mug", "quantity": 2, "price": "12.50"}]})
        assert response.status_code == 201, response.text
        return response.json()

    async def request_fulfillment(self, order_id: int, message: str | None = "Fragile") -> dict[str, Any]:
        """The merchant presses Request fulfillment; returns the delivery body the stand-in sent."""
        response = await self.control.post(f"/_control/shops/{SHOP}/orders/{order_id}/request-fulfillment",
                                           json={"message": message})
        assert response.status_code == 200, response.text
        return json.loads(self.receiver.received[-1].body)

    async def fulfillment_order(self, order_id: int) -> dict[str, Any]:
        view = (await self.control.get(f"/_control/shops/{SHOP}/orders/{order_id}")).json()
        return view["fulfillment_orders"][0]

    async def graphql_log(self) -> list[dict[str, Any]]:
        return (await self.control.get(f"/_control/shops/{SHOP}/graphql-log")).json()["requests"]


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    receiver = Receiver()
    app = create_app(webhook_transport=receiver.transport, shops=[{
        "shop_domain": SHOP, "access_token": TOKEN, "webhook_secret": "s",
        "webhook_url": "http://dropline.test/webhooks/shopify", "fulfillment_service": "Dropline"}])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as control, \
            httpx.AsyncClient(transport=transport) as http:
        yield Env(control, receiver, ShopifyPlatform(http, StoreLimiter()))
    await app.state.standin.aclose()


def test_shopify_takes_fulfilment_requests() -> None:
    platform: AcceptsFulfilmentRequests = ShopifyPlatform(httpx.AsyncClient(), StoreLimiter())
    assert accepts_fulfilment_requests(platform)
    assert not accepts_fulfilment_requests(object())


def test_the_request_is_read_from_shopifys_documented_sample() -> None:
    platform = ShopifyPlatform(httpx.AsyncClient(), StoreLimiter())
    sample = {"original_fulfillment_order": {"id": "gid://shopify/FulfillmentOrder/1", "status": "open",
                                             "request_status": "unsubmitted"},
              "submitted_fulfillment_order": {"id": "gid://shopify/FulfillmentOrder/2", "status": "open",
                                              "request_status": "unsubmitted"},
              "fulfillment_order_merchant_request": {"id": "gid://shopify/FulfillmentOrderMerchantRequest/1",
                                                     "message": "Fragile"}}
    # the submitted one is what was sent to us (it differs from the original for a partial request)
    assert platform.fulfilment_request_of(sample) == FulfilmentRequestRef(
        platform_fulfillment_order_id="gid://shopify/FulfillmentOrder/2", message="Fragile",
        platform_request_id="gid://shopify/FulfillmentOrderMerchantRequest/1", platform_order_id=None)
    no_message = {"original_fulfillment_order": {"id": "gid://shopify/FulfillmentOrder/1"},
                  "fulfillment_order_merchant_request": {"id": "gid://shopify/FulfillmentOrderMerchantRequest/1",
                                                         "message": ""}}
    assert platform.fulfilment_request_of(no_message).message is None
    with pytest.raises(InvalidStoreOrder):
        platform.fulfilment_request_of({"fulfillment_order_merchant_request": {"message": "x"}})


async def test_accept_the_request_the_store_sent(env: Env) -> None:
    created = await env.new_order()
    order_id = created["order"]["id"]
    body = await env.request_fulfillment(order_id)
    request = env.platform.fulfilment_request_of(body)
    assert request.message == "Fragile"

    state = await env.platform.fulfilment_request(STORE, request.platform_fulfillment_order_id)
    assert (state.platform_order_id, state.request_status, state.status) == (str(order_id), "SUBMITTED", "OPEN")
    # the store line items the fulfillment order holds, as Dropline's order lines name them (REST ids)
    assert state.platform_line_ids == tuple(str(item["id"]) for item in created["order"]["line_items"])

    accepted = await env.platform.accept_fulfilment_request(STORE, request)
    assert (accepted.platform_fulfillment_order_id, accepted.platform_order_id, accepted.request_status,
            accepted.status, accepted.already_accepted) == (
        request.platform_fulfillment_order_id, str(order_id), "ACCEPTED", "IN_PROGRESS", False)
    fo = await env.fulfillment_order(order_id)
    assert (fo["status"], fo["requestStatus"]) == ("IN_PROGRESS", "ACCEPTED")
    assert fo["merchantRequests"][0]["responseData"]["message"] == ACCEPT_MESSAGE

    view = (await env.control.get(f"/_control/shops/{SHOP}/orders/{order_id}")).json()
    assert view["display_fulfillment_status"] == "IN_PROGRESS"
    log = await env.graphql_log()
    # state() once, then accept(): look (query), then the mutation
    assert ["fulfillmentOrderAcceptFulfillmentRequest" in e["query"] for e in log] == [False, False, True]
    mutation = next(e for e in log if "fulfillmentOrderAcceptFulfillmentRequest" in e["query"])
    assert mutation["variables"] == {"id": request.platform_fulfillment_order_id, "message": ACCEPT_MESSAGE}


async def test_accept_again_is_reported_not_written(env: Env) -> None:
    created = await env.new_order()
    request = env.platform.fulfilment_request_of(await env.request_fulfillment(created["order"]["id"]))
    await env.platform.accept_fulfilment_request(STORE, request)
    before = len(await env.graphql_log())

    again = await env.platform.accept_fulfilment_request(STORE, request)
    assert (again.already_accepted, again.request_status, again.status) == (True, "ACCEPTED", "IN_PROGRESS")
    after = (await env.graphql_log())[before:]
    assert len(after) == 1 and "fulfillmentOrderAcceptFulfillmentRequest" not in after[0]["query"]


async def test_a_request_not_submitted_is_refused(env: Env) -> None:
    created = await env.new_order()
    fo_gid = created["fulfillment_orders"][0]["id"]
    with pytest.raises(Permanent, match="no submitted request to accept .*UNSUBMITTED"):
        await env.platform.accept_fulfilment_request(STORE, FulfilmentRequestRef(platform_fulfillment_order_id=fo_gid))
    assert not any("fulfillmentOrderAcceptFulfillmentRequest" in e["query"] for e in await env.graphql_log())
    with pytest.raises(Permanent, match="not found"):
        await env.platform.accept_fulfilment_request(
            STORE, FulfilmentRequestRef(platform_fulfillment_order_id="gid://shopify/FulfillmentOrder/987654"))


async def test_throttled_is_retried_later(env: Env) -> None:
    created = await env.new_order()
    request = env.platform.fulfilment_request_of(await env.request_fulfillment(created["order"]["id"]))
    await env.control.post(f"/_control/shops/{SHOP}/rate-limit", json={"currently_available": 0, "restore_rate": 5})
    with pytest.raises(Retryable) as raised:
        await env.platform.accept_fulfilment_request(STORE, request)
    # Either Shopify throttles the call, or (on a slow machine the bucket refills enough for the first query)
    # our client-side budget sees the mutation cannot be paid for soon and stops before sending it.
    assert re.search(r"throttled|rate-limit budget of .* is low", str(raised.value)), str(raised.value)
    assert raised.value.retry_after and raised.value.retry_after > 0
    fo = await env.fulfillment_order(created["order"]["id"])
    assert fo["requestStatus"] == "SUBMITTED"  # nothing accepted


async def test_a_bad_token_is_permanent(env: Env) -> None:
    created = await env.new_order()
    request = env.platform.fulfilment_request_of(await env.request_fulfillment(created["order"]["id"]))
    wrong = StoreAccess(store_id="store-1", shop=SHOP, api_base_url=STORE.api_base_url,
                        credentials={"access_token": "shpat_wrong"})
    with pytest.raises(Permanent, match="HTTP 401"):
        await env.platform.accept_fulfilment_request(wrong, request)
