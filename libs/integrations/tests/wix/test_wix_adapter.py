"""The Wix adapter against the Wix stand-in over httpx.ASGITransport (no sockets): OAuth token flow,
fetch, search since a watermark, fulfilment (twice → one fulfillment), and how failures map to jobs."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from dropline_infra.jobs import Deferred, Permanent, Retryable
from dropline_integrations.limits import StoreLimiter
from dropline_integrations.port import FulfilmentLine, FulfilmentRequest, OrderState, StoreAccess, Tracking
from dropline_integrations.registry import build_platforms
from dropline_integrations.wix import WixPlatform
from dropline_schemas.events import Platform
from dropline_testsupport.wix_standin import create_app


def _samples():
    spec = importlib.util.spec_from_file_location("wix_samples", Path(__file__).with_name("wix_samples.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


S = _samples()
INSTANCE = "7d1f0f57-0000-4000-8000-00000000a001"
APP_ID, APP_SECRET = "app-1", "app-secret-1"
BASE = "http://wix.test"
APP_CREDENTIALS = {"app_id": APP_ID, "app_secret": APP_SECRET, "instance_id": INSTANCE}


@pytest.fixture
async def env() -> AsyncIterator[dict[str, Any]]:
    app = create_app(sites=[{"instance_id": INSTANCE, "app_id": APP_ID, "app_secret": APP_SECRET,
                             "api_key": "IST.api-key", "site_id": "site-1"}])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        yield {"http": http, "wix": WixPlatform(http, StoreLimiter()), "standin": app.state.standin,
               "store": StoreAccess(store_id="store-1", shop=INSTANCE, api_base_url=BASE,
                                    credentials=APP_CREDENTIALS)}


async def seed(http: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    order = S.sample_order(**changes)
    if "id" not in changes:
        order.pop("id")
    order.pop("number", None)
    resp = await http.post(f"/_control/sites/{INSTANCE}/orders", json=order)
    assert resp.status_code == 201, resp.text
    return resp.json()["order"]


def token_calls(env: dict[str, Any]) -> int:
    return sum(1 for r in env["standin"].sites[INSTANCE].requests if r["path"] == "/oauth2/token")


async def test_registry_builds_wix() -> None:
    async with httpx.AsyncClient() as http:
        assert isinstance(build_platforms(http)[Platform.WIX], WixPlatform)


async def test_fetch_with_a_cached_token(env: dict[str, Any]) -> None:
    seeded = await seed(env["http"], id=S.ORDER_ID)
    wix: WixPlatform = env["wix"]
    order = await wix.fetch_order(env["store"], S.ORDER_ID)
    assert order == seeded
    assert wix.normalise(order).state is OrderState.PAID
    await wix.fetch_order(env["store"], S.ORDER_ID)
    assert token_calls(env) == 1  # one token for both calls


async def test_a_refused_token_is_replaced_once(env: dict[str, Any]) -> None:
    await seed(env["http"], id=S.ORDER_ID)
    wix: WixPlatform = env["wix"]
    await wix.fetch_order(env["store"], S.ORDER_ID)
    assert (await env["http"].post(f"/_control/sites/{INSTANCE}/expire-tokens")).json() == {"expired": 1}
    assert (await wix.fetch_order(env["store"], S.ORDER_ID))["id"] == S.ORDER_ID
    assert token_calls(env) == 2


async def test_unknown_order_is_permanent(env: dict[str, Any]) -> None:
    with pytest.raises(Permanent, match="404"):
        await env["wix"].fetch_order(env["store"], "no-such-order")


async def test_wrong_credentials_are_permanent(env: dict[str, Any]) -> None:
    store = StoreAccess(store_id="s", shop=INSTANCE, api_base_url=BASE,
                        credentials={**APP_CREDENTIALS, "app_secret": "wrong"})
    with pytest.raises(Permanent, match="401"):
        await env["wix"].fetch_order(store, S.ORDER_ID)
    store = StoreAccess(store_id="s", shop=INSTANCE, api_base_url=BASE, credentials={"api_key": "IST.wrong",
                                                                                     "site_id": "site-1"})
    with pytest.raises(Permanent, match="401"):
        await env["wix"].fetch_order(store, S.ORDER_ID)
    with pytest.raises(Permanent, match="credentials"):
        await env["wix"].fetch_order(StoreAccess(store_id="s", shop=INSTANCE, api_base_url=BASE, credentials={}),
                                     S.ORDER_ID)


async def test_api_key_flow(env: dict[str, Any]) -> None:
    await seed(env["http"], id=S.ORDER_ID)
    store = StoreAccess(store_id="s", shop=INSTANCE, api_base_url=BASE,
                        credentials={"api_key": "IST.api-key", "site_id": "site-1"})
    assert (await env["wix"].fetch_order(store, S.ORDER_ID))["id"] == S.ORDER_ID
    assert token_calls(env) == 0


async def test_list_since_watermark(env: dict[str, Any]) -> None:
    http = env["http"]
    for day in (1, 2, 3, 4):
        stamp = f"2025-05-0{day}T10:00:00.000Z"
        await seed(http, id=f"order-{day}", createdDate=stamp, updatedDate=stamp)
    await seed(http, id="order-initialized", status="INITIALIZED", createdDate="2025-05-05T10:00:00.000Z",
               updatedDate="2025-05-05T10:00:00.000Z")
    wix: WixPlatform = env["wix"]
    listing = await wix.list_orders(env["store"], datetime(2025, 5, 2, 10, tzinfo=UTC))
    assert [o["id"] for o in listing.orders] == ["order-2", "order-3", "order-4"]  # oldest first, ≥ watermark
    assert listing.newest_update == datetime(2025, 5, 4, 10, tzinfo=UTC)
    assert listing.complete is True

    wix.api.page_size = 2
    first = await wix.list_orders(env["store"], datetime(2025, 5, 1, tzinfo=UTC))
    assert [o["id"] for o in first.orders] == ["order-1", "order-2"] and first.complete is False
    rest = await wix.list_orders(env["store"], first.newest_update)
    assert [o["id"] for o in rest.orders] == ["order-2", "order-3"] and rest.complete is False


def request(order_id: str, *lines: tuple[str, int], number: str = "1Z999AA10123456784",
            company: str | None = "UPS", url: str | None = None) -> FulfilmentRequest:
    return FulfilmentRequest(platform_order_id=order_id,
                             lines=tuple(FulfilmentLine(line_id=f"dl-{i}", platform_line_id=lid, sku=None, quantity=q)
                                         for i, (lid, q) in enumerate(lines)),
                             tracking=Tracking(number=number, company=company, url=url))


async def test_fulfil_twice_makes_one_fulfillment(env: dict[str, Any]) -> None:
    await seed(env["http"], id=S.ORDER_ID)
    wix: WixPlatform = env["wix"]
    first = await wix.fulfil(env["store"], request(S.ORDER_ID, (S.LINE_ID, 2)))
    assert first.already_present is False and first.platform_fulfillment_id
    again = await wix.fulfil(env["store"], request(S.ORDER_ID, (S.LINE_ID, 2), number="1z 999aa1 0123456784"))
    assert again.already_present is True
    assert again.platform_fulfillment_id == first.platform_fulfillment_id
    view = (await env["http"].get(f"/_control/sites/{INSTANCE}/orders/{S.ORDER_ID}")).json()
    fulfillments = view["orderWithFulfillments"]["fulfillments"]
    assert len(fulfillments) == 1
    assert fulfillments[0]["lineItems"] == [{"id": S.LINE_ID, "quantity": 2}]
    assert fulfillments[0]["trackingInfo"]["shippingProvider"] == "ups"
    assert fulfillments[0]["trackingInfo"]["trackingLink"].endswith("1Z999AA10123456784")
    assert view["order"]["fulfillmentStatus"] == "FULFILLED"


async def test_fulfil_only_our_lines_and_other_carriers(env: dict[str, Any]) -> None:
    order = S.sample_order(id=S.ORDER_ID)
    order["lineItems"].append({**order["lineItems"][0], "id": "line-2", "quantity": 1})
    assert (await env["http"].post(f"/_control/sites/{INSTANCE}/orders", json=order)).status_code == 201
    result = await env["wix"].fulfil(env["store"], request(S.ORDER_ID, (S.LINE_ID, 1), (S.LINE_ID, 1),
                                                           number="CP123", company="PostNL",
                                                           url="https://postnl.example/CP123"))
    view = (await env["http"].get(f"/_control/sites/{INSTANCE}/orders/{S.ORDER_ID}")).json()
    (f,) = view["orderWithFulfillments"]["fulfillments"]
    assert f["id"] == result.platform_fulfillment_id
    assert f["lineItems"] == [{"id": S.LINE_ID, "quantity": 2}]
    assert f["trackingInfo"] == {"trackingNumber": "CP123", "shippingProvider": "PostNL",
                                 "trackingLink": "https://postnl.example/CP123"}
    assert view["order"]["fulfillmentStatus"] == "PARTIALLY_FULFILLED"


async def test_fulfil_refused_by_wix_is_permanent(env: dict[str, Any]) -> None:
    await seed(env["http"], id=S.ORDER_ID, status="INITIALIZED")
    with pytest.raises(Permanent, match="428"):
        await env["wix"].fulfil(env["store"], request(S.ORDER_ID, (S.LINE_ID, 1)))
    with pytest.raises(Permanent, match="404"):
        await env["wix"].fulfil(env["store"], request("no-such-order", (S.LINE_ID, 1)))


async def test_throttled_is_deferred(env: dict[str, Any]) -> None:
    await seed(env["http"], id=S.ORDER_ID)
    await env["http"].post(f"/_control/sites/{INSTANCE}/failures", json={"status": 429, "seconds": 30})
    with pytest.raises(Deferred) as info:
        await env["wix"].fetch_order(env["store"], S.ORDER_ID)
    assert 25 <= info.value.retry_after <= 30  # Retry-After from the stand-in
    with pytest.raises(Deferred, match="cooling down"):  # no second call to a throttled instance
        await env["wix"].fetch_order(env["store"], S.ORDER_ID)


async def test_server_error_is_retryable(env: dict[str, Any]) -> None:
    await seed(env["http"], id=S.ORDER_ID)
    await env["http"].post(f"/_control/sites/{INSTANCE}/failures", json={"status": 500, "seconds": 30})
    with pytest.raises(Retryable):
        await env["wix"].fetch_order(env["store"], S.ORDER_ID)


async def test_per_instance_limit_is_kept_locally(env: dict[str, Any]) -> None:
    await seed(env["http"], id=S.ORDER_ID)
    wix: WixPlatform = env["wix"]
    assert wix.api.policy.requests == 160 and wix.api.policy.window_seconds == 60  # 200/min with headroom
    await env["http"].post(f"/_control/sites/{INSTANCE}/rate-limit", json={"requests_per_minute": 2})
    await wix.fetch_order(env["store"], S.ORDER_ID)  # token + get: the instance's 2
    with pytest.raises(Deferred):
        await wix.fetch_order(env["store"], S.ORDER_ID)  # Wix answers 429


async def test_standin_webhooks_verify_with_the_published_key() -> None:
    from dropline_integrations.port import DeliveryKind, WebhookSecrets
    from dropline_testsupport.harness import Receiver

    receiver = Receiver()
    app = create_app(webhook_transport=receiver.transport, sites=[
        {"instance_id": INSTANCE, "app_id": APP_ID, "app_secret": APP_SECRET,
         "webhook_url": "http://dropline.test/webhooks/wix"}])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        await seed(http, id=S.ORDER_ID)
        pem = (await http.get(f"/_control/apps/{APP_ID}/public-key")).json()["public_key_pem"]
        wix = WixPlatform(http, StoreLimiter())
        created, approved = receiver.received
        assert wix.webhook_store_key(approved.body, approved.headers) == INSTANCE
        d = wix.verify_delivery(approved.body, approved.headers, WebhookSecrets(signing_key=pem),
                                datetime.now(UTC))
        assert (d.kind, d.topic, d.platform_order_id) == (DeliveryKind.ORDER_CREATED, "wix.ecom.v1.order_approved",
                                                          S.ORDER_ID)
        assert wix.normalise(d.order).state is OrderState.PAID
        first = wix.verify_delivery(created.body, created.headers, WebhookSecrets(signing_key=pem), datetime.now(UTC))
        assert first.delivery_id != d.delivery_id


async def test_two_parcels_are_two_fulfillments_and_a_rerun_touches_neither(env: dict[str, Any]) -> None:
    order = S.sample_order(id=S.ORDER_ID)
    order["lineItems"].append({**order["lineItems"][0], "id": "line-2", "quantity": 1})
    assert (await env["http"].post(f"/_control/sites/{INSTANCE}/orders", json=order)).status_code == 201
    wix: WixPlatform = env["wix"]
    first = await wix.fulfil(env["store"], request(S.ORDER_ID, (S.LINE_ID, 1), number="PARCEL1"))
    view = (await env["http"].get(f"/_control/sites/{INSTANCE}/orders/{S.ORDER_ID}")).json()
    assert view["order"]["fulfillmentStatus"] == "PARTIALLY_FULFILLED"
    second = await wix.fulfil(env["store"], request(S.ORDER_ID, (S.LINE_ID, 1), ("line-2", 1), number="PARCEL2"))
    assert not first.already_present and not second.already_present
    assert first.platform_fulfillment_id != second.platform_fulfillment_id
    again = await wix.fulfil(env["store"], request(S.ORDER_ID, (S.LINE_ID, 1), number="parcel 1"))
    assert again.already_present and again.platform_fulfillment_id == first.platform_fulfillment_id

    view = (await env["http"].get(f"/_control/sites/{INSTANCE}/orders/{S.ORDER_ID}")).json()
    fulfillments = view["orderWithFulfillments"]["fulfillments"]
    assert [(f["id"], f["trackingInfo"]["trackingNumber"], f["lineItems"]) for f in fulfillments] == [
        (first.platform_fulfillment_id, "PARCEL1", [{"id": S.LINE_ID, "quantity": 1}]),
        (second.platform_fulfillment_id, "PARCEL2", [{"id": S.LINE_ID, "quantity": 1}, {"id": "line-2", "quantity": 1}])]
    assert view["order"]["fulfillmentStatus"] == "FULFILLED"


async def test_more_than_is_left_to_fulfil_is_refused_by_wix(env: dict[str, Any]) -> None:
    await seed(env["http"], id=S.ORDER_ID)
    wix: WixPlatform = env["wix"]
    await wix.fulfil(env["store"], request(S.ORDER_ID, (S.LINE_ID, 1), number="PARCEL1"))
    with pytest.raises(Permanent, match="INSUFFICIENT_LINE_ITEM_QUANTITY|available 1"):
        await wix.fulfil(env["store"], request(S.ORDER_ID, (S.LINE_ID, 2), number="PARCEL2"))
    view = (await env["http"].get(f"/_control/sites/{INSTANCE}/orders/{S.ORDER_ID}")).json()
    assert len(view["orderWithFulfillments"]["fulfillments"]) == 1
