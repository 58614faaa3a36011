"""The BigCommerce adapter against the stand-in (httpx.ASGITransport): fetch, list, fulfil, errors."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from dropline_infra.jobs import Deferred, Permanent, Retryable
from dropline_integrations.port import (
    DeliveryKind,
    FulfilmentLine,
    FulfilmentRequest,
    OrderState,
    StoreAccess,
    Tracking,
    WebhookSecrets,
)
from dropline_testsupport.bigcommerce_standin.samples import CLIENT_SECRET, HEADER_SECRET, STORE_HASH, sample

SECRETS = WebhookSecrets(signing_key=CLIENT_SECRET, header_secret=HEADER_SECRET)


def two_line_order(order_id: int = 300, status_id: int = 11, modified: str | None = None) -> tuple[Any, Any, Any]:
    payload = sample()
    order = {**payload["order"], "id": order_id, "status_id": status_id}
    if modified:
        order["date_modified"] = modified
    products = [{**payload["products"][0], "id": order_id * 10 + 1, "quantity": 2},
                {**payload["products"][0], "id": order_id * 10 + 2, "sku": "S-BLUE", "name": "Blue towel"}]
    return order, products, payload["shipping_addresses"]


def request(order_id: int, lines: list[tuple[int, int]], number: str = "1Z999AA10123456784",
            company: str | None = "UPS", url: str | None = None) -> FulfilmentRequest:
    return FulfilmentRequest(platform_order_id=str(order_id), tracking=Tracking(number=number, company=company, url=url),
                             lines=tuple(FulfilmentLine(line_id=f"d{pid}", platform_line_id=str(pid), sku=None,
                                                        quantity=q) for pid, q in lines))


async def test_seeded_order_arrives_as_a_thin_webhook_then_fetches_and_normalises(env: Any) -> None:
    await env.seed(*two_line_order(300))
    received = env.receiver.received[-1]
    delivery = env.platform.verify_delivery(received.body, received.headers, SECRETS, datetime.now(UTC))
    assert delivery.kind is DeliveryKind.ORDER_CREATED and delivery.platform_order_id == "300"
    assert env.platform.webhook_store_key(received.body, received.headers) == STORE_HASH

    full = await env.platform.fetch_order(env.store, "300")
    assert set(full) == {"order", "products", "shipping_addresses"}
    order = env.platform.normalise(full)
    assert order.platform_order_id == "300" and order.state is OrderState.PAID
    assert [(line.platform_line_id, line.quantity) for line in order.lines] == [("3001", 2), ("3002", 1)]
    assert order.shipping_address and order.shipping_address.city == "Austin"
    assert order.placed_at is not None and order.updated_at is not None


async def test_incomplete_order_still_fires_created_and_reads_awaiting_payment(env: Any) -> None:
    await env.seed(*two_line_order(301, status_id=0))
    body = json.loads(env.receiver.received[-1].body)
    assert body["scope"] == "store/order/created" and body["data"] == {"type": "order", "id": 301}
    order = env.platform.normalise(await env.platform.fetch_order(env.store, "301"))
    assert order.state is OrderState.AWAITING_PAYMENT


async def test_status_change_sends_status_updated_and_updated(env: Any) -> None:
    await env.seed(*two_line_order(302, status_id=7))
    resp = await env.control.post(f"/_control/stores/{STORE_HASH}/orders/302/status", json={"status_id": 11})
    scopes = [w["scope"] for w in resp.json()["webhooks"]]
    assert scopes == ["store/order/statusUpdated", "store/order/updated"]
    status = env.receiver.received[-2]
    delivery = env.platform.verify_delivery(status.body, status.headers, SECRETS, datetime.now(UTC))
    assert delivery.kind is DeliveryKind.ORDER_UPDATED
    assert delivery.body["data"]["status"] == {"previous_status_id": 7, "new_status_id": 11}
    assert env.platform.normalise(await env.platform.fetch_order(env.store, "302")).state is OrderState.PAID


async def test_unknown_order_is_permanent(env: Any) -> None:
    with pytest.raises(Permanent, match="404"):
        await env.platform.fetch_order(env.store, "999")
    with pytest.raises(Permanent, match="numeric"):
        await env.platform.fetch_order(env.store, "abc")


async def test_list_since_a_watermark_oldest_first(env: Any) -> None:
    await env.seed(*two_line_order(310, modified="Mon, 01 Jan 2024 10:00:00 +0000"))
    await env.seed(*two_line_order(311, modified="Mon, 01 Jan 2024 12:00:00 +0000"))
    await env.seed(*two_line_order(312, modified="Mon, 01 Jan 2024 11:00:00 +0000"))
    listing = await env.platform.list_orders(env.store, datetime(2024, 1, 1, 10, 30, tzinfo=UTC))
    assert [o["order"]["id"] for o in listing.orders] == [312, 311]
    assert listing.newest_update == datetime(2024, 1, 1, 12, 0, tzinfo=UTC) and listing.complete
    assert all(env.platform.normalise(o).lines for o in listing.orders)
    empty = await env.platform.list_orders(env.store, datetime(2030, 1, 1, tzinfo=UTC))  # 204 No Content
    assert empty.orders == [] and empty.newest_update is None and empty.complete


async def test_list_pages(env: Any) -> None:
    env.platform.api.page_size = 2
    for i in range(3):
        await env.seed(*two_line_order(320 + i, modified=f"Mon, 01 Jan 2024 1{i}:00:00 +0000"))
    first = await env.platform.list_orders(env.store, datetime(2024, 1, 1, tzinfo=UTC))
    assert [o["order"]["id"] for o in first.orders] == [320, 321] and not first.complete
    second = await env.platform.list_orders(env.store, first.newest_update)
    # min_date_modified is inclusive: the order at the watermark comes again (downstream dedupes).
    assert [o["order"]["id"] for o in second.orders] == [321, 322] and not second.complete
    third = await env.platform.list_orders(env.store, second.newest_update)
    assert [o["order"]["id"] for o in third.orders] == [322] and third.complete


async def test_fulfil_twice_makes_one_shipment(env: Any) -> None:
    await env.seed(*two_line_order(330))
    first = await env.platform.fulfil(env.store, request(330, [(3301, 2), (3302, 1)]))
    assert not first.already_present
    again = await env.platform.fulfil(env.store, request(330, [(3301, 2), (3302, 1)], number="1z 999aa1 0123456784"))
    assert again.already_present and again.platform_fulfillment_id == first.platform_fulfillment_id
    view = await env.view(330)
    assert len(view["shipments"]) == 1
    shipment = view["shipments"][0]
    assert shipment["tracking_number"] == "1Z999AA10123456784" and shipment["shipping_provider"] == "ups"
    assert sorted((i["order_product_id"], i["quantity"]) for i in shipment["items"]) == [(3301, 2), (3302, 1)]
    assert view["order"]["status_id"] == 2 and view["order"]["status"] == "Shipped"


async def test_partial_lines_then_the_rest(env: Any) -> None:
    await env.seed(*two_line_order(340))
    await env.platform.fulfil(env.store, request(340, [(3301 + 100, 2)], number="LINE1", company="DHL",
                                                 url="https://dhl.example/t/LINE1"))
    view = await env.view(340)
    assert view["order"]["status_id"] == 3 and len(view["shipments"]) == 1
    shipment = view["shipments"][0]
    assert shipment["items"] == [{"order_product_id": 3401, "product_id": 77, "quantity": 2}]
    assert (shipment["tracking_carrier"], shipment["shipping_provider"]) == ("dhl", "")
    assert shipment["tracking_link"] == "https://dhl.example/t/LINE1"
    await env.platform.fulfil(env.store, request(340, [(3402, 1)], number="LINE2", company="Some Courier"))
    view = await env.view(340)
    assert view["order"]["status_id"] == 2 and len(view["shipments"]) == 2
    assert {p["id"]: p["quantity_shipped"] for p in view["products"]} == {3401: 2, 3402: 1}
    with pytest.raises(Permanent, match="nothing to fulfil"):
        await env.platform.fulfil(env.store, request(340, [(3402, 1)], number="LINE3"))


async def test_line_not_in_the_order_is_permanent(env: Any) -> None:
    await env.seed(*two_line_order(350))
    with pytest.raises(Permanent, match="not in this BigCommerce order"):
        await env.platform.fulfil(env.store, request(350, [(1, 1)]))
    with pytest.raises(Permanent, match="50 characters"):
        await env.platform.fulfil(env.store, request(350, [(3501, 1)], number="X" * 51))


async def test_wrong_token_is_permanent(env: Any) -> None:
    await env.seed(*two_line_order(360))
    wrong = StoreAccess(store_id="s", shop=STORE_HASH, api_base_url=env.store.api_base_url,
                        credentials={"access_token": "nope"})
    with pytest.raises(Permanent, match="401"):
        await env.platform.fetch_order(wrong, "360")
    with pytest.raises(Permanent, match="access_token"):
        await env.platform.fetch_order(StoreAccess("s", STORE_HASH, env.store.api_base_url, {}), "360")


async def test_forced_429_defers_and_blocks_the_store(env: Any) -> None:
    await env.seed(*two_line_order(370))
    await env.fail(429, seconds=20)
    with pytest.raises(Deferred) as caught:
        await env.platform.fetch_order(env.store, "370")
    assert 15 <= caught.value.retry_after <= 21
    calls = len(env.platform.api.limiter.snapshot())
    with pytest.raises(Deferred, match="cooling down"):  # not even sent: the store is blocked locally
        await env.platform.fetch_order(env.store, "370")
    assert len(env.platform.api.limiter.snapshot()) == calls


async def test_forced_500_is_retryable(env: Any) -> None:
    await env.seed(*two_line_order(380))
    await env.fail(500, seconds=20)
    with pytest.raises(Retryable, match="500"):
        await env.platform.fulfil(env.store, request(380, [(3801, 1)]))


async def test_quota_headers_feed_the_limiter(env: Any) -> None:
    await env.seed(*two_line_order(390))
    await env.control.post(f"/_control/stores/{STORE_HASH}/rate-limit", json={"quota": 3, "window_seconds": 30})
    await env.platform.fetch_order(env.store, "390")  # 3 calls: the store's quota is spent
    with pytest.raises(Deferred) as caught:
        await env.platform.fetch_order(env.store, "390")
    assert 0 < caught.value.retry_after <= 30
    log = (await env.control.get(f"/_control/stores/{STORE_HASH}/api-log")).json()["requests"]
    assert len(log) == 3  # deferred locally: the spent window was never hit


def test_signature_key_is_the_client_secret_bytes() -> None:
    # BigCommerce's sample passes base64(client_secret); the library decodes it back to the secret.
    wh = Webhook(base64.b64encode(CLIENT_SECRET.encode()).decode())
    assert wh._whsecret == CLIENT_SECRET.encode()


async def test_two_parcels_of_one_line_are_two_shipments_and_a_rerun_touches_neither(env: Any) -> None:
    await env.seed(*two_line_order(360))
    first = await env.platform.fulfil(env.store, request(360, [(3601, 1)], number="PARCEL1"))
    second = await env.platform.fulfil(env.store, request(360, [(3601, 1), (3602, 1)], number="PARCEL2"))
    assert not first.already_present and not second.already_present
    assert first.platform_fulfillment_id != second.platform_fulfillment_id
    view = await env.view(360)
    assert [(s["tracking_number"], [(i["order_product_id"], i["quantity"]) for i in s["items"]])
            for s in view["shipments"]] == [("PARCEL1", [(3601, 1)]), ("PARCEL2", [(3601, 1), (3602, 1)])]
    assert view["order"]["status_id"] == 2

    again = await env.platform.fulfil(env.store, request(360, [(3601, 1)], number="parcel1"))
    assert again.already_present and again.platform_fulfillment_id == first.platform_fulfillment_id
    assert len((await env.view(360))["shipments"]) == 2
