"""The Ecwid adapter against the Ecwid stand-in, in-process over httpx.ASGITransport: fetch (with the
profile currency), the reconciliation listing, the tracking write-back, and how failures are classified."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from dropline_infra.jobs import Deferred, Permanent, Retryable
from dropline_integrations.ecwid import DROPLINE_KEY, EcwidPlatform, EcwidSettings
from dropline_integrations.limits import StoreLimiter
from dropline_integrations.port import FulfilmentLine, FulfilmentRequest, OrderState, StoreAccess, Tracking
from dropline_testsupport.ecwid_standin import create_app

STORE_ID = "1003"
TOKEN = "secret_store_token"
BASE = f"http://ecwid.test/api/v3/{STORE_ID}"


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Env:
    client: httpx.AsyncClient
    platform: EcwidPlatform
    store: StoreAccess
    clock: Clock
    app: Any

    @property
    def standin(self):
        return self.app.state.standin

    async def seed(self, order: dict[str, Any], **params: Any) -> dict[str, Any]:
        resp = await self.client.post(f"/_control/stores/{STORE_ID}/orders", json=order,
                                      params={"webhook": "false", **params})
        assert resp.status_code == 201, resp.text
        return resp.json()["order"]

    async def stored(self, order_id: str) -> dict[str, Any]:
        return (await self.client.get(f"/_control/stores/{STORE_ID}/orders/{order_id}")).json()


def platform_for(client: httpx.AsyncClient, **settings: Any) -> EcwidPlatform:
    return EcwidPlatform(client, StoreLimiter(), EcwidSettings(**settings))


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    clock = Clock(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2))
    app = create_app(stores=[{"store_id": STORE_ID, "secret_token": TOKEN, "client_secret": "cs",
                              "currency": "EUR"}], clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ecwid.test") as client:
        store = StoreAccess(store_id="store-1", shop=STORE_ID, api_base_url=BASE,
                            credentials={"secret_token": TOKEN})
        yield Env(client=client, platform=platform_for(client), store=store, clock=clock, app=app)


def order_json(sample: dict[str, Any], order_id: str, **extra: Any) -> dict[str, Any]:
    order = copy.deepcopy(sample)
    order.update(id=order_id, **extra)
    order.pop("internalId", None)
    return order


async def test_fetch_attaches_the_store_currency_and_normalises(env, sample_order):
    await env.seed(order_json(sample_order, "XJ12H"))
    order = await env.platform.fetch_order(env.store, "XJ12H")
    assert order[DROPLINE_KEY] == {"currency": "EUR", "storeId": STORE_ID}
    assert order["items"][0]["sku"] == "TSHIRT-RED-M"
    normalised = env.platform.normalise(order)
    assert normalised.currency == "EUR" and normalised.platform_order_id == "XJ12H"
    assert normalised.state is OrderState.PAID and normalised.placed_at is not None

    calls = env.standin.stores[STORE_ID].api_calls
    await env.platform.fetch_order(env.store, "XJ12H")
    assert env.standin.stores[STORE_ID].api_calls == calls + 1  # the currency came from the cache


async def test_unknown_order_is_permanent(env):
    with pytest.raises(Permanent, match="404"):
        await env.platform.fetch_order(env.store, "NOPE1")


async def test_wrong_token_is_permanent(env):
    wrong = StoreAccess(store_id="store-1", shop=STORE_ID, api_base_url=BASE, credentials={"secret_token": "x"})
    with pytest.raises(Permanent, match="403"):
        await env.platform.fetch_order(wrong, "XJ12H")
    with pytest.raises(Permanent, match="secret_token"):
        await env.platform.fetch_order(StoreAccess("store-1", STORE_ID, BASE, {}), "XJ12H")


async def test_forced_429_is_deferred_for_retry_after(env, sample_order):
    await env.seed(order_json(sample_order, "XJ12H"))
    await env.client.post(f"/_control/stores/{STORE_ID}/failures",
                          json={"status": 429, "seconds": 30, "retry_after": 7})
    with pytest.raises(Deferred) as caught:
        await env.platform.fetch_order(env.store, "XJ12H")
    assert caught.value.retry_after == pytest.approx(7, abs=0.5)
    with pytest.raises(Deferred):  # the store is blocked locally: no second call goes out
        await env.platform.fetch_order(env.store, "XJ12H")


async def test_forced_500_is_retryable_then_recovers(env, sample_order):
    await env.seed(order_json(sample_order, "XJ12H"))
    await env.client.post(f"/_control/stores/{STORE_ID}/failures", json={"status": 500, "seconds": 30})
    with pytest.raises(Retryable):
        await env.platform.fetch_order(env.store, "XJ12H")
    await env.client.delete(f"/_control/stores/{STORE_ID}/failures")
    fresh = platform_for(env.client)  # a new limiter: no cool-down left from the failure
    assert (await fresh.fetch_order(env.store, "XJ12H"))["id"] == "XJ12H"


async def test_list_since_a_watermark_oldest_first(env, sample_order):
    start = env.clock.now
    for i, order_id in enumerate(["AAAA1", "AAAA2", "AAAA3"]):
        env.clock.now = start + timedelta(minutes=10 * i)
        await env.seed(order_json(sample_order, order_id))
    listing = await env.platform.list_orders(env.store, start + timedelta(minutes=5))
    assert [o["id"] for o in listing.orders] == ["AAAA2", "AAAA3"]  # the stand-in answers newest first
    assert all(o[DROPLINE_KEY]["currency"] == "EUR" for o in listing.orders)
    assert listing.newest_update == start + timedelta(minutes=20)
    assert listing.complete is True
    nothing = await env.platform.list_orders(env.store, start + timedelta(hours=1))
    assert (list(nothing.orders), nothing.newest_update, nothing.complete) == ([], None, True)


async def test_list_walks_every_page(env, sample_order):
    start = env.clock.now
    for i in range(7):
        env.clock.now = start + timedelta(seconds=i)
        await env.seed(order_json(sample_order, f"PAGE{i}"))
    small = platform_for(env.client, list_page_size=3, list_max_orders=100)
    listing = await small.list_orders(env.store, start)
    assert [o["id"] for o in listing.orders] == [f"PAGE{i}" for i in range(7)] and listing.complete


async def test_a_listing_larger_than_its_cap_narrows_the_window_and_resumes(env, sample_order):
    start = env.clock.now
    for i in range(9):
        env.clock.now = start + timedelta(minutes=i)
        await env.seed(order_json(sample_order, f"MANY{i}"))
    capped = platform_for(env.client, list_page_size=2, list_max_orders=2)
    seen: list[str] = []
    watermark, rounds = start, 0
    while True:
        rounds += 1
        assert rounds < 40
        listing = await capped.list_orders(env.store, watermark)
        assert len(listing.orders) <= 2
        seen += [o["id"] for o in listing.orders if o["id"] not in seen]
        if listing.complete:
            break
        assert listing.newest_update is not None and listing.newest_update >= watermark
        watermark = listing.newest_update
    assert sorted(seen) == [f"MANY{i}" for i in range(9)]


def request(order_id: str, number: str, *lines: tuple[str, int], url: str | None = None,
            company: str | None = "UPS") -> FulfilmentRequest:
    return FulfilmentRequest(platform_order_id=order_id,
                             lines=tuple(FulfilmentLine(line_id=f"dl-{item}", platform_line_id=item, sku=None,
                                                        quantity=qty) for item, qty in lines),
                             tracking=Tracking(number=number, company=company, url=url))


async def test_fulfil_then_again_is_already_present_without_a_second_write(env, sample_order):
    await env.seed(order_json(sample_order, "XJ12H"))
    url = "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    first = await env.platform.fulfil(env.store, request("XJ12H", "1Z999AA10123456784", ("1000001", 2), url=url))
    assert first.already_present is False
    view = await env.stored("XJ12H")
    order = view["order"]
    assert order["trackingNumber"] == "1Z999AA10123456784" and order["trackingUrl"] == url
    assert order["fulfillmentStatus"] == "SHIPPED"  # every item is covered
    assert "tracking 1Z999AA10123456784; carrier UPS; items 1000001x2" in order["privateAdminNotes"]
    assert len(order["items"]) == 1
    assert len(view["writes"]) == 1 and "items" not in view["writes"][0]["body"]

    again = await env.platform.fulfil(env.store, request("XJ12H", "1z 999aa1012 3456784", ("1000001", 2)))
    assert again.already_present is True and again.platform_fulfillment_id
    assert len((await env.stored("XJ12H"))["writes"]) == 1  # looked, did not write


async def test_a_second_number_is_kept_out_and_the_store_keeps_the_first(env, sample_order):
    order = order_json(sample_order, "SPLIT1", privateAdminNotes="Gift wrap, please")
    order["items"].append({"id": 1000002, "sku": "MUG-1", "name": "Mug", "quantity": 1, "price": 9.0})
    await env.seed(order)

    first = await env.platform.fulfil(env.store, request("SPLIT1", "1ZFIRST", ("1000001", 2),
                                                         url="https://ups/1ZFIRST"))
    assert first.kept_number is None and first.already_present is False
    stored = (await env.stored("SPLIT1"))["order"]
    assert stored["fulfillmentStatus"] == "PROCESSING" and stored["trackingNumber"] == "1ZFIRST"

    second = await env.platform.fulfil(env.store, request("SPLIT1", "LX2NDPARCEL", ("1000002", 1), company="DHL"))
    assert (second.kept_number, second.already_present) == ("1ZFIRST", False)
    assert second.platform_fulfillment_id == "SPLIT1/LX2NDPARCEL"
    view = await env.stored("SPLIT1")
    assert len(view["writes"]) == 1  # the second shipment wrote nothing
    assert view["order"]["trackingNumber"] == "1ZFIRST" and view["order"]["trackingUrl"] == "https://ups/1ZFIRST"
    notes = view["order"]["privateAdminNotes"].splitlines()
    assert notes[0] == "Gift wrap, please" and "tracking 1ZFIRST; carrier UPS; items 1000001x2" in notes[1]
    assert len(notes) == 2 and len(view["order"]["items"]) == 2

    # The first parcel's number again: already present, nothing written.
    again = await env.platform.fulfil(env.store, request("SPLIT1", "1ZFIRST", ("1000001", 2)))
    assert (again.already_present, again.kept_number) == (True, None)
    assert len((await env.stored("SPLIT1"))["writes"]) == 1


async def test_a_split_order_shipped_in_one_parcel_is_shipped(env, sample_order):
    order = order_json(sample_order, "SPLIT2")
    order["items"].append({"id": 1000002, "sku": "MUG-1", "name": "Mug", "quantity": 1, "price": 9.0})
    order["items"].append({"id": 1000003, "sku": "EBOOK", "name": "E-book", "quantity": 1, "price": 5.0,
                           "isShippingRequired": False})
    await env.seed(order)
    await env.platform.fulfil(env.store, request("SPLIT2", "1ZALL", ("1000001", 2), ("1000002", 1)))
    stored = (await env.stored("SPLIT2"))["order"]
    assert stored["fulfillmentStatus"] == "SHIPPED"  # the e-book needs no shipping
    assert stored["trackingNumber"] == "1ZALL"


async def test_a_number_the_merchant_entered_is_kept(env, sample_order):
    await env.seed(order_json(sample_order, "BYHAND", trackingNumber="RR123456785CH"))
    result = await env.platform.fulfil(env.store, request("BYHAND", "1ZOURS", ("1000001", 2)))
    assert result.kept_number == "RR123456785CH"
    view = await env.stored("BYHAND")
    assert view["writes"] == [] and view["order"]["trackingNumber"] == "RR123456785CH"


async def test_a_status_the_merchant_set_is_not_changed(env, sample_order):
    await env.seed(order_json(sample_order, "DONE1", fulfillmentStatus="DELIVERED"))
    await env.platform.fulfil(env.store, request("DONE1", "1ZLATE", ("1000001", 2)))
    view = await env.stored("DONE1")
    assert view["order"]["fulfillmentStatus"] == "DELIVERED" and view["order"]["trackingNumber"] == "1ZLATE"
    assert "fulfillmentStatus" not in view["writes"][0]["body"]


async def test_fulfil_of_an_unknown_item_or_order_is_permanent(env, sample_order):
    await env.seed(order_json(sample_order, "XJ12H"))
    with pytest.raises(Permanent, match="no item 999"):
        await env.platform.fulfil(env.store, request("XJ12H", "1ZX", ("999", 1)))
    with pytest.raises(Permanent, match="404"):
        await env.platform.fulfil(env.store, request("NOPE1", "1ZX", ("1000001", 1)))
    assert (await env.stored("XJ12H"))["writes"] == []


async def test_the_local_budget_defers_before_ecwid_throttles(env, sample_order):
    await env.seed(order_json(sample_order, "XJ12H"))
    tight = platform_for(env.client, requests_per_minute=2)
    await tight.fetch_order(env.store, "XJ12H")  # order + profile
    with pytest.raises(Deferred, match="budget"):
        await tight.fetch_order(env.store, "XJ12H")
