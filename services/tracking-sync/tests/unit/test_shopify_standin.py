"""tracking-sync against the Shopify stand-in (dropline_testsupport.shopify_standin, in-process through
httpx.ASGITransport): a strict Admin GraphQL schema, fulfillment orders, userErrors, calculated query cost
and a leaky bucket, as platforms.md §1.3/§1.4 describe."""

from __future__ import annotations

import httpx
import pytest
from tracking_sync_testkit import Harness, fast_settings, order_received, tracking_added

from dropline_integrations.port import FulfilmentRequest, FulfilmentResult, StoreAccess
from dropline_integrations.shopify.fulfil import ShopifyFulfilments
from dropline_schemas import topics as T
from dropline_schemas.events import Platform
from dropline_testsupport.shopify_standin import create_app
from tracking_sync.models import SyncFulfillment

SHOP = "demo-store.myshopify.com"
BASE = "http://shopify.test"
STORE_URL = f"{BASE}/shops/{SHOP}"
TOKEN = "shpat_standin_token"


@pytest.fixture
async def standin():
    app = create_app(shops=[{"shop_domain": SHOP, "access_token": TOKEN, "webhook_secret": "whsec"}])
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def control(standin):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=standin), base_url=BASE) as client:
        yield client


async def make_harness(tmp_path, standin, **build_overrides) -> Harness:
    return await Harness(fast_settings(f"sqlite+aiosqlite:///{tmp_path}/tracking_sync.db"),
                         httpx.ASGITransport(app=standin), **build_overrides).start()


@pytest.fixture
async def harness(tmp_path, standin):
    h = await make_harness(tmp_path, standin)
    try:
        yield h
    finally:
        await h.close()


async def store_order(control) -> dict:
    """A store order of three items: two from supplier A (Dropline order A), one from B (order B)."""
    resp = await control.post(f"/_control/shops/{SHOP}/orders", json={
        "deliver_webhook": False,
        "line_items": [{"sku": "IPOD-GREEN", "title": "iPod", "quantity": 2, "price": "199.00"},
                       {"sku": "CASE", "title": "Case", "quantity": 1, "price": "9.00"},
                       {"sku": "CHARGER", "title": "Charger", "quantity": 1, "price": "19.00"}]})
    assert resp.status_code == 201, resp.text
    return resp.json()["order"]


def dropline_orders(order: dict):
    items = order["line_items"]
    a = order_received("order-a", platform_order_id=str(order["id"]),
                       lines=[(f"a-{i}", str(li["id"]), li["sku"], li["quantity"]) for i, li in enumerate(items[:2])])
    b = order_received("order-b", platform_order_id=str(order["id"]),
                       lines=[("b-0", str(items[2]["id"]), items[2]["sku"], items[2]["quantity"])])
    return a, b


async def shop_view(control, order: dict) -> dict:
    return (await control.get(f"/_control/shops/{SHOP}/orders/{order['id']}")).json()


async def prepare(harness, control, **store):
    order = await store_order(control)
    await harness.connect_store(api_base_url=STORE_URL, token=store.get("token", TOKEN), shop=SHOP)
    a, b = dropline_orders(order)
    await harness.deliver(a)
    await harness.deliver(b)
    return order


async def test_only_this_orders_lines_are_fulfilled_in_the_store(harness, control):
    order = await prepare(harness, control)
    await harness.deliver(tracking_added("order-a", "trk-a"))
    await harness.run_jobs()

    view = await shop_view(control, order)
    assert view["display_fulfillment_status"] == "PARTIALLY_FULFILLED"
    [fulfillment] = view["order"]["fulfillments"]
    assert fulfillment["tracking_number"] == "1Z999AA10123456784" and fulfillment["tracking_company"] == "UPS"
    assert {li["sku"]: li["quantity"] for li in fulfillment["line_items"]} == {"IPOD-GREEN": 2, "CASE": 1}
    [event] = await harness.outbox(T.ORDER_SYNCED)
    assert event["data"]["platform_fulfillment_id"] == fulfillment["admin_graphql_api_id"]
    log = (await control.get(f"/_control/shops/{SHOP}/graphql-log")).json()["requests"]
    assert all(entry["status_code"] == 200 and "errors" not in entry["response"] for entry in log)
    assert log[0]["requested_cost"] <= 1000  # under the single-query ceiling


async def test_both_suppliers_orders_complete_the_store_order(harness, control):
    order = await prepare(harness, control)
    await harness.deliver(tracking_added("order-a", "trk-a"))
    await harness.deliver(tracking_added("order-b", "trk-b", number="1Z999AA10123456795", url=None))
    await harness.run_jobs()
    view = await shop_view(control, order)
    assert view["display_fulfillment_status"] == "FULFILLED"
    assert len(view["order"]["fulfillments"]) == 2
    assert len(await harness.outbox(T.ORDER_SYNCED)) == 2


class CrashAfterWrite:
    """The real adapter, but the first call 'crashes' after Shopify accepted the fulfilment."""

    def __init__(self, inner: ShopifyFulfilments):
        self.inner = inner
        self.crashed = False

    async def fulfil(self, store: StoreAccess, request: FulfilmentRequest) -> FulfilmentResult:
        result = await self.inner.fulfil(store, request)
        if not self.crashed:
            self.crashed = True
            raise RuntimeError("worker killed before commit")
        return result


async def test_rerun_after_a_crash_past_the_write_finds_the_fulfilment(tmp_path, standin, control):
    crashing: list[CrashAfterWrite] = []

    def adapters(http):
        crashing.append(CrashAfterWrite(ShopifyFulfilments(http)))
        return {Platform.SHOPIFY: crashing[0]}

    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=standin))
    h = await make_harness(tmp_path, standin, adapters=adapters(http))
    try:
        order = await prepare(h, control)
        await h.deliver(tracking_added("order-a", "trk-a"))
        await h.run_jobs()
        assert crashing[0].crashed
        view = await shop_view(control, order)
        assert len(view["order"]["fulfillments"]) == 1  # not fulfilled twice
        row = await h.get(SyncFulfillment, "trk-a")
        assert row.already_present is True
        [event] = await h.outbox(T.ORDER_SYNCED)
        assert event["data"]["already_present"] is True
    finally:
        await http.aclose()
        await h.close()


async def test_wrong_token_is_reported_not_retried(harness, control):
    await prepare(harness, control, token="shpat_wrong")
    await harness.deliver(tracking_added("order-a", "trk-a"))
    await harness.run_jobs()
    [failed] = await harness.outbox(T.ORDER_SYNC_FAILED)
    assert "HTTP 401" in failed["data"]["reason"]
    assert len((await control.get(f"/_control/shops/{SHOP}/graphql-log")).json()["requests"]) == 1


async def test_throttled_by_the_bucket_then_synced(harness, control):
    order = await prepare(harness, control)
    await harness.deliver(tracking_added("order-a", "trk-a"))
    # Empty the bucket just before the job runs, refilling at 1000 points/s: the first query (requested cost > 200)
    # cannot fit for a tenth of a second or more, far longer than the in-process call takes; the retry
    # waits as long as the throttleStatus it was answered says.
    await control.post(f"/_control/shops/{SHOP}/rate-limit", json={"currently_available": 0, "restore_rate": 1000})
    await harness.run_jobs(timeout=15.0)

    log = (await control.get(f"/_control/shops/{SHOP}/graphql-log")).json()["requests"]
    assert log[0].get("throttled") is True
    assert log[0]["requested_cost"] > 200  # so it cannot have fitted after 0.2 s of refill
    assert (await harness.jobs())[0].attempts == 2
    assert len((await shop_view(control, order))["order"]["fulfillments"]) == 1
    assert len(await harness.outbox(T.ORDER_SYNCED)) == 1


async def test_lines_fulfilled_by_the_retailer_meanwhile_are_reported(harness, control):
    order = await prepare(harness, control)
    view = await shop_view(control, order)
    fo_id = view["fulfillment_orders"][0]["id"]
    # The retailer fulfils everything by hand in the Shopify admin, with another carrier's number.
    resp = await control.post(f"/shops/{SHOP}/admin/api/2025-10/graphql.json", headers={"X-Shopify-Access-Token": TOKEN},
                              json={"query": "mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) "
                                             "{ fulfillment { id } userErrors { message } } }",
                                    "variables": {"f": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo_id}],
                                                        "trackingInfo": {"number": "RETAILER-1"}}}})
    assert resp.json()["data"]["fulfillmentCreate"]["userErrors"] == []
    await harness.deliver(tracking_added("order-a", "trk-a"))
    await harness.run_jobs()
    [failed] = await harness.outbox(T.ORDER_SYNC_FAILED)
    assert failed["data"]["reason"].startswith("nothing to fulfil")


async def test_two_parcels_of_one_order_are_two_fulfillments_with_their_quantities(harness, control):
    """One of two iPods with one number, the other iPod and the case with another: two fulfillments (planned
    by remainingQuantity), the first untouched; the first number again fulfils nothing more."""
    order = await prepare(harness, control)
    await harness.deliver(tracking_added("order-a", "trk-1", number="1Z999AA10123456784", lines={"a-0": 1}))
    await harness.run_jobs()
    await harness.deliver(tracking_added("order-a", "trk-2", number="1Z999AA10123456795", url=None,
                                         lines={"a-0": 1, "a-1": 1}))
    await harness.deliver(tracking_added("order-a", "trk-3", number="1z999aa10123456784", lines={"a-0": 1}))
    await harness.run_jobs()

    view = await shop_view(control, order)
    first, second = view["order"]["fulfillments"]
    assert (first["tracking_number"], {li["sku"]: li["quantity"] for li in first["line_items"]}) == (
        "1Z999AA10123456784", {"IPOD-GREEN": 1})
    assert (second["tracking_number"], {li["sku"]: li["quantity"] for li in second["line_items"]}) == (
        "1Z999AA10123456795", {"IPOD-GREEN": 1, "CASE": 1})
    assert view["display_fulfillment_status"] == "PARTIALLY_FULFILLED"  # the charger is order B's
    synced = {e["data"]["tracking_id"]: e["data"] for e in await harness.outbox(T.ORDER_SYNCED)}
    assert synced["trk-1"]["platform_fulfillment_id"] == first["admin_graphql_api_id"]
    assert synced["trk-2"]["platform_fulfillment_id"] == second["admin_graphql_api_id"]
    assert synced["trk-3"]["already_present"] is True
    assert synced["trk-3"]["platform_fulfillment_id"] == first["admin_graphql_api_id"]
