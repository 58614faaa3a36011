"""Shopify tracking corrections through `ShopifyPlatform.correct_tracking`, against the Shopify stand-in
in-process: fulfil, correct once (fulfillmentTrackingInfoUpdate on the same fulfillment), a rerun writes
nothing, a fulfillment that is gone is Permanent, throttling is retried later."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from dropline_infra.jobs import Permanent, Retryable
from dropline_integrations.limits import StoreLimiter
from dropline_integrations.port import (
    FulfilmentLine,
    FulfilmentRequest,
    StoreAccess,
    Tracking,
    TrackingCorrection,
)
from dropline_integrations.shopify import ShopifyPlatform
from dropline_integrations.shopify.corrections import tracking_input
from dropline_testsupport.shopify_standin import create_app

SHOP = "corrections-store.myshopify.com"
BASE = "http://shopify.test"
TOKEN = "shpat_corrections_token"
STORE = StoreAccess(store_id="store-1", shop=SHOP, api_base_url=f"{BASE}/shops/{SHOP}",
                    credentials={"access_token": TOKEN})
WRONG = Tracking(number="1Z999AA10123456784", company="UPS")
RIGHT = Tracking(number="1Z999AA10123456791", company="UPS")


@dataclass
class Env:
    control: httpx.AsyncClient
    platform: ShopifyPlatform

    async def fulfilled_order(self) -> tuple[int, str]:
        """An order fulfilled by Dropline with the wrong number: (order id, platform_fulfillment_id)."""
        created = await self.control.post(f"/_control/shops/{SHOP}/orders", json={
            "deliver_webhook": False, "line_items": [{"sku": "MUG", "title": "Mug", "quantity": 2, "price": "12.50"}]})
        assert created.status_code == 201, created.text
        order = created.json()["order"]
        line = order["line_items"][0]
        result = await self.platform.fulfil(STORE, FulfilmentRequest(
            platform_order_id=str(order["id"]), tracking=WRONG,
            lines=(FulfilmentLine(line_id="l-1", platform_line_id=str(line["id"]), sku="MUG", quantity=2),)))
        return order["id"], result.platform_fulfillment_id

    async def fulfillments(self, order_id: int) -> list[dict[str, Any]]:
        return (await self.control.get(f"/_control/shops/{SHOP}/orders/{order_id}")).json()["fulfillments"]

    async def graphql_log(self) -> list[dict[str, Any]]:
        return (await self.control.get(f"/_control/shops/{SHOP}/graphql-log")).json()["requests"]


def correction(order_id: int, fulfillment_id: str, tracking: Tracking = RIGHT) -> TrackingCorrection:
    return TrackingCorrection(platform_order_id=str(order_id), platform_fulfillment_id=fulfillment_id,
                              previous=WRONG, tracking=tracking, notify_customer=False)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    app = create_app(shops=[{"shop_domain": SHOP, "access_token": TOKEN, "webhook_secret": "s"}])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as control, \
            httpx.AsyncClient(transport=transport) as http:
        yield Env(control, ShopifyPlatform(http, StoreLimiter()))
    await app.state.standin.aclose()


async def test_corrected_once_on_the_same_fulfillment(env: Env) -> None:
    order_id, fulfillment_id = await env.fulfilled_order()
    result = await env.platform.correct_tracking(STORE, correction(order_id, fulfillment_id))
    assert (result.platform_fulfillment_id, result.already_present, result.kept_number) == (
        fulfillment_id, False, None)

    [fulfillment] = await env.fulfillments(order_id)  # still one fulfillment: the same, corrected
    assert fulfillment["id"] == fulfillment_id and fulfillment["trackingNumber"] == RIGHT.number
    assert fulfillment["trackingInfo"] == [{"company": "UPS", "number": RIGHT.number,
                                            "url": f"https://www.ups.com/track?tracknum={RIGHT.number}"}]
    [change] = fulfillment["trackingHistory"]
    assert change["previous"][0]["number"] == WRONG.number and change["tracking"][0]["number"] == RIGHT.number
    assert change["notifyCustomer"] is False

    log = await env.graphql_log()
    mutation = next(e for e in log if "fulfillmentTrackingInfoUpdate" in e["query"])
    assert mutation["variables"] == {
        "fulfillmentId": fulfillment_id, "notifyCustomer": False,
        "trackingInfoInput": {"number": RIGHT.number, "company": "UPS",
                              "url": f"https://www.ups.com/track?tracknum={RIGHT.number}"}}
    assert not any("fulfillmentCreate" in e["query"] for e in log[-2:])


async def test_a_rerun_after_the_write_is_already_present_and_writes_nothing(env: Env) -> None:
    order_id, fulfillment_id = await env.fulfilled_order()
    await env.platform.correct_tracking(STORE, correction(order_id, fulfillment_id))
    before = len(await env.graphql_log())

    again = await env.platform.correct_tracking(STORE, correction(order_id, fulfillment_id))
    assert (again.already_present, again.platform_fulfillment_id) == (True, fulfillment_id)
    after = (await env.graphql_log())[before:]
    assert len(after) == 1 and "fulfillmentTrackingInfoUpdate" not in after[0]["query"]
    assert len((await env.fulfillments(order_id))[0]["trackingHistory"]) == 1


async def test_a_fulfillment_that_is_gone_is_permanent(env: Env) -> None:
    order_id, _ = await env.fulfilled_order()
    with pytest.raises(Permanent, match="gone from"):
        await env.platform.correct_tracking(STORE, correction(order_id, "gid://shopify/Fulfillment/987654"))
    with pytest.raises(Permanent, match="gone from"):
        await env.platform.correct_tracking(STORE, correction(order_id, "987654"))  # numeric ids too
    assert not any("fulfillmentTrackingInfoUpdate" in e["query"] for e in await env.graphql_log())


async def test_a_fulfillment_of_another_order_is_permanent(env: Env) -> None:
    _, fulfillment_id = await env.fulfilled_order()
    other_order, _ = await env.fulfilled_order()
    with pytest.raises(Permanent, match="belongs to order"):
        await env.platform.correct_tracking(STORE, correction(other_order, fulfillment_id))


async def test_throttled_is_retried_later_and_nothing_is_written(env: Env) -> None:
    order_id, fulfillment_id = await env.fulfilled_order()
    await env.control.post(f"/_control/shops/{SHOP}/rate-limit", json={"currently_available": 0, "restore_rate": 5})
    with pytest.raises(Retryable) as raised:
        await env.platform.correct_tracking(STORE, correction(order_id, fulfillment_id))
    assert re.search(r"throttled|rate-limit budget of .* is low", str(raised.value)), str(raised.value)
    assert raised.value.retry_after and raised.value.retry_after > 0
    assert (await env.fulfillments(order_id))[0]["trackingNumber"] == WRONG.number


async def test_a_refused_update_is_permanent(env: Env) -> None:
    order_id, fulfillment_id = await env.fulfilled_order()
    bad = Tracking(number=RIGHT.number, company="UPS", url="not a url")
    with pytest.raises(Permanent):  # Shopify refuses the URL (a GraphQL error, HTTP 200)
        await env.platform.correct_tracking(STORE, correction(order_id, fulfillment_id, bad))
    assert (await env.fulfillments(order_id))[0]["trackingNumber"] == WRONG.number


def test_several_numbers_keep_the_others() -> None:
    current = [{"company": "UPS", "number": "1ZA", "url": "https://u/1ZA"},
               {"company": "UPS", "number": WRONG.number, "url": "https://u/wrong"}]
    assert tracking_input(current, WRONG, Tracking(number="1ZC", company="UPS", url="https://u/1ZC")) == {
        "numbers": ["1ZA", "1ZC"], "urls": ["https://u/1ZA", "https://u/1ZC"], "company": "UPS"}
    with pytest.raises(Permanent, match="not guessing"):
        tracking_input(current[:1] * 2, WRONG, RIGHT)
