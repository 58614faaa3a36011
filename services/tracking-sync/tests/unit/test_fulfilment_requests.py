"""accept_fulfilment_request against the Shopify stand-in (in-process): a merchant's "Request fulfillment"
delivery in (as the gateway publishes it), the request accepted in the store, FulfilmentRequestAccepted on
every Dropline order of that store order; nothing paid, forwarded or fulfilled."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from tracking_sync_testkit import Harness, fast_settings, order_received, store_webhook

from dropline_infra.messaging import RetryLater
from dropline_schemas import topics as T
from dropline_schemas.events import DeliveryKind
from dropline_testsupport.harness import Receiver
from dropline_testsupport.shopify_standin import create_app
from tracking_sync import handlers
from tracking_sync.models import SyncFulfilmentRequest

SHOP = "demo-store.myshopify.com"
BASE = "http://shopify.test"
STORE_URL = f"{BASE}/shops/{SHOP}"
TOKEN = "shpat_standin_token"


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
async def standin(receiver):
    app = create_app(webhook_transport=receiver.transport, shops=[{
        "shop_domain": SHOP, "access_token": TOKEN, "webhook_secret": "whsec",
        "webhook_url": "http://dropline.test/webhooks/shopify", "fulfillment_service": "Dropline"}])
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def control(standin):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=standin), base_url=BASE) as client:
        yield client


@pytest.fixture
async def harness(tmp_path, standin):
    h = await Harness(fast_settings(f"sqlite+aiosqlite:///{tmp_path}/tracking_sync.db"),
                      httpx.ASGITransport(app=standin)).start()
    try:
        await h.connect_store(api_base_url=STORE_URL, token=TOKEN)
        yield h
    finally:
        await h.close()


async def store_order(control) -> dict:
    resp = await control.post(f"/_control/shops/{SHOP}/orders", json={
        "deliver_webhook": False,
        "line_items": [{"sku": "IPOD-GREEN", "title": "iPod", "quantity": 2, "price": "199.00"},
                       {"sku": "CHARGER", "title": "Charger", "quantity": 1, "price": "19.00"}]})
    assert resp.status_code == 201, resp.text
    return resp.json()["order"]


async def dropline_orders(harness, order: dict) -> None:
    """The store order split over two suppliers: Dropline orders A and B."""
    items = order["line_items"]
    for order_id, item in (("order-a", items[0]), ("order-b", items[1])):
        await harness.deliver(order_received(order_id, platform_order_id=str(order["id"]),
                                             lines=[(f"{order_id}-l", str(item["id"]), item["sku"], item["quantity"])]))


async def request_fulfillment(control, receiver, order: dict, message: str | None = "Fragile") -> dict:
    resp = await control.post(f"/_control/shops/{SHOP}/orders/{order['id']}/request-fulfillment",
                              json={"message": message})
    assert resp.status_code == 200, resp.text
    return json.loads(receiver.received[-1].body)


async def fulfillment_order(control, order: dict) -> dict:
    return (await control.get(f"/_control/shops/{SHOP}/orders/{order['id']}")).json()["fulfillment_orders"][0]


async def mutations(control) -> list[str]:
    log = (await control.get(f"/_control/shops/{SHOP}/graphql-log")).json()["requests"]
    return [name for e in log for name in ("fulfillmentOrderAcceptFulfillmentRequest", "fulfillmentCreate")
            if name in (e["query"] or "")]


async def test_the_request_is_accepted_and_said_on_every_dropline_order(harness, control, receiver):
    order = await store_order(control)
    await dropline_orders(harness, order)
    body = await request_fulfillment(control, receiver, order)
    webhook = store_webhook(body)
    assert await harness.deliver(webhook) == "applied"
    await harness.run_jobs()

    fo = await fulfillment_order(control, order)
    assert (fo["status"], fo["requestStatus"]) == ("IN_PROGRESS", "ACCEPTED")
    assert await mutations(control) == ["fulfillmentOrderAcceptFulfillmentRequest"]  # nothing fulfilled

    events = await harness.outbox(T.FULFILMENT_REQUEST)
    assert [e["_key"] for e in events] == ["order-a", "order-b"]
    for event in events:
        d = event["data"]
        assert event["event_type"] == "FulfilmentRequestAccepted"
        assert (d["store_id"], d["platform"], d["platform_order_id"], d["platform_fulfillment_order_id"],
                d["accepted"], d["message"], d["already_accepted"], d["reason"]) == (
            "store-1", "shopify", str(order["id"]), fo["id"], True, "Fragile", False, None)
        assert d["accepted_at"]
        assert (event["correlation_id"], event["causation_id"]) == (webhook.correlation_id, str(webhook.event_id))
    # only this event: no payment, no forwarding, no write-back of tracking
    assert {e["_topic"] for e in await harness.outbox()} == {T.FULFILMENT_REQUEST.name}
    row = await harness.get(SyncFulfilmentRequest, "dlv-1")
    assert (row.status, row.platform_order_id, json.loads(row.order_ids)) == (
        "accepted", str(order["id"]), ["order-a", "order-b"])


async def test_the_same_delivery_twice_or_a_second_delivery_is_one_acceptance(harness, control, receiver):
    order = await store_order(control)
    await dropline_orders(harness, order)
    body = await request_fulfillment(control, receiver, order)
    webhook = store_webhook(body)
    await harness.deliver(webhook)
    assert await harness.deliver(webhook) == "duplicate"  # the gateway's event again: the inbox drops it
    await harness.deliver(store_webhook(body, delivery_id="dlv-1"))  # same delivery, new event: same job key
    assert len(await harness.jobs()) == 1
    await harness.run_jobs()
    # Shopify sends it again with a new webhook id: answered already, nothing written, nothing published
    await harness.deliver(store_webhook(body, delivery_id="dlv-2"))
    await harness.run_jobs()
    assert await mutations(control) == ["fulfillmentOrderAcceptFulfillmentRequest"]
    assert len(await harness.outbox(T.FULFILMENT_REQUEST)) == 2
    assert (await harness.get(SyncFulfilmentRequest, "dlv-2")).status == "duplicate"


async def test_a_rerun_after_a_crash_past_the_store_write_reports_it(harness, control, receiver):
    order = await store_order(control)
    await dropline_orders(harness, order)
    body = await request_fulfillment(control, receiver, order)
    fo = await fulfillment_order(control, order)
    # the store accepted, then Dropline crashed before its commit: the job finds it accepted
    answer = await control.post(f"/shops/{SHOP}/admin/api/2025-10/graphql.json", headers={
        "X-Shopify-Access-Token": TOKEN}, json={
        "query": "mutation($id: ID!) { fulfillmentOrderAcceptFulfillmentRequest(id: $id) "
                 "{ fulfillmentOrder { id } userErrors { message } } }", "variables": {"id": fo["id"]}})
    assert answer.json()["data"]["fulfillmentOrderAcceptFulfillmentRequest"]["userErrors"] == []
    await harness.deliver(store_webhook(body))
    await harness.run_jobs()
    assert await mutations(control) == ["fulfillmentOrderAcceptFulfillmentRequest"]  # only the first one
    events = await harness.outbox(T.FULFILMENT_REQUEST)
    assert [(e["data"]["accepted"], e["data"]["already_accepted"]) for e in events] == [(True, True)] * 2


async def test_a_request_before_the_order_arrived_waits_for_it(harness, control, receiver):
    order = await store_order(control)
    body = await request_fulfillment(control, receiver, order)
    await harness.deliver(store_webhook(body))
    assert await harness.worker.run_one()  # the store order is not a Dropline order yet
    [job] = await harness.jobs()
    assert job.status == "pending" and "not a Dropline order (yet)" in job.last_error
    assert (await fulfillment_order(control, order))["requestStatus"] == "SUBMITTED"
    await dropline_orders(harness, order)
    await harness.run_jobs()
    assert (await fulfillment_order(control, order))["requestStatus"] == "ACCEPTED"
    assert len(await harness.outbox(T.FULFILMENT_REQUEST)) == 2


async def test_a_request_waits_for_the_store_orders_other_dropline_orders(harness, control, receiver):
    """Order A's OrderReceived is in, order B's is not yet (they travel apart, e.g. across a rebalance): the
    request is not answered on A alone — B would never hear of it — but waits until B has arrived."""
    order = await store_order(control)
    items = order["line_items"]
    await harness.deliver(order_received("order-a", platform_order_id=str(order["id"]),
                                         lines=[("order-a-l", str(items[0]["id"]), items[0]["sku"], 2)]))
    await harness.deliver(store_webhook(await request_fulfillment(control, receiver, order)))
    assert await harness.worker.run_one()
    [job] = await harness.jobs()
    assert job.status == "pending" and f"line items {items[1]['id']} are in no Dropline order yet" in job.last_error
    assert (await fulfillment_order(control, order))["requestStatus"] == "SUBMITTED"
    assert await harness.outbox(T.FULFILMENT_REQUEST) == []

    await harness.deliver(order_received("order-b", platform_order_id=str(order["id"]),
                                         lines=[("order-b-l", str(items[1]["id"]), items[1]["sku"], 1)]))
    await harness.run_jobs()
    assert (await fulfillment_order(control, order))["requestStatus"] == "ACCEPTED"
    assert [e["_key"] for e in await harness.outbox(T.FULFILMENT_REQUEST)] == ["order-a", "order-b"]
    assert json.loads((await harness.get(SyncFulfilmentRequest, "dlv-1")).order_ids) == ["order-a", "order-b"]


async def test_past_the_wait_the_request_is_answered_for_the_orders_known(harness, control, receiver):
    order = await store_order(control)
    item = order["line_items"][0]
    await harness.deliver(order_received("order-a", platform_order_id=str(order["id"]),
                                         lines=[("order-a-l", str(item["id"]), item["sku"], 2)]))
    webhook = store_webhook(await request_fulfillment(control, receiver, order))
    # requested longer ago than fulfilment_request_wait_seconds (120 s by default)
    webhook = webhook.model_copy(update={"occurred_at": webhook.occurred_at - timedelta(seconds=121)})
    await harness.deliver(webhook)
    await harness.run_jobs()
    assert (await fulfillment_order(control, order))["requestStatus"] == "ACCEPTED"
    assert [e["_key"] for e in await harness.outbox(T.FULFILMENT_REQUEST)] == ["order-a"]


async def test_an_order_dropline_never_gets_is_not_accepted(harness, control, receiver):
    order = await store_order(control)  # e.g. never paid: order-ingest never makes it a Dropline order
    await harness.deliver(store_webhook(await request_fulfillment(control, receiver, order)))
    await harness.run_jobs()
    [job] = await harness.jobs()
    assert job.status == "failed"
    assert (await fulfillment_order(control, order))["requestStatus"] == "SUBMITTED"
    assert await mutations(control) == []
    assert await harness.outbox(T.FULFILMENT_REQUEST) == []  # no Dropline order to say it on


async def test_a_request_not_submitted_is_reported_not_accepted(harness, control, receiver):
    order = await store_order(control)
    await dropline_orders(harness, order)
    fo = await fulfillment_order(control, order)
    # a delivery about a fulfillment order whose request is not (or no longer) submitted
    body = {"original_fulfillment_order": {"id": fo["id"], "status": "open", "request_status": "unsubmitted"},
            "submitted_fulfillment_order": {"id": fo["id"], "status": "open", "request_status": "submitted"},
            "fulfillment_order_merchant_request": {"id": "gid://shopify/FulfillmentOrderMerchantRequest/1",
                                                   "message": None}}
    await harness.deliver(store_webhook(body))
    await harness.run_jobs()
    assert await mutations(control) == []
    events = await harness.outbox(T.FULFILMENT_REQUEST)
    assert [e["_key"] for e in events] == ["order-a", "order-b"]
    assert all(not e["data"]["accepted"] and "UNSUBMITTED" in e["data"]["reason"] for e in events)
    assert (await harness.get(SyncFulfilmentRequest, "dlv-1")).status == "failed"


async def test_throttled_is_retried_then_accepted(harness, control, receiver):
    order = await store_order(control)
    await dropline_orders(harness, order)
    body = await request_fulfillment(control, receiver, order)
    await harness.deliver(store_webhook(body))
    # Empty the bucket only now, just before the job runs: emptied before the delivery, it could refill
    # enough for the first query while the delivery was handled (flaky: no throttled request).
    await control.post(f"/_control/shops/{SHOP}/rate-limit", json={"currently_available": 0, "restore_rate": 20})
    await harness.run_jobs(timeout=15.0)
    log = (await control.get(f"/_control/shops/{SHOP}/graphql-log")).json()["requests"]
    assert any(e.get("throttled") for e in log)
    assert (await fulfillment_order(control, order))["requestStatus"] == "ACCEPTED"
    assert len(await harness.outbox(T.FULFILMENT_REQUEST)) == 2


async def test_order_deliveries_are_not_tracking_syncs_business(harness):
    assert await harness.deliver(store_webhook({"id": 1}, kind=DeliveryKind.ORDER_CREATED,
                                               topic="orders/create")) == "applied"
    assert await harness.jobs() == []


async def test_a_request_for_an_unknown_store_waits(harness, control, receiver):
    order = await store_order(control)
    body = await request_fulfillment(control, receiver, order)
    async with harness.db.uow() as uow:
        with pytest.raises(RetryLater, match="store store-9 not known yet"):
            await handlers.on_store_webhook(uow, store_webhook(body, store_id="store-9"))
