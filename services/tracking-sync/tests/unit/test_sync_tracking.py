"""sync_tracking end to end inside one process: catalog, OrderReceived and TrackingAdded in, Shopify
through httpx.MockTransport, outcome and events in the outbox (SQLite, real migrations, the real
consumers and job worker)."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import select
from tracking_sync_testkit import (
    ORDER_GID,
    OTHER_LINE,
    SHOP_URL,
    TENANT,
    TOKEN,
    UPS_NUMBER,
    UPS_URL,
    Harness,
    fast_settings,
    fo_line,
    fulfillment_order,
    order_received,
    tracking_added,
)

from dropline_infra.db import utcnow
from dropline_infra.models import Job
from dropline_schemas import topics as T
from dropline_schemas.events import Platform
from tracking_sync.models import SyncFulfillment
from tracking_sync.repository import as_utc


async def ready(harness, order=None):
    await harness.connect_store()
    await harness.deliver(order or order_received())


async def test_split_order_fulfils_only_this_orders_lines(harness, shopify):
    await ready(harness)
    added = tracking_added()
    assert await harness.deliver(added) == "applied"
    await harness.run_jobs()

    query, mutation = shopify.requests
    for request in (query, mutation):
        assert str(request.url) == f"{SHOP_URL}/admin/api/2025-10/graphql.json"
        assert request.headers["X-Shopify-Access-Token"] == TOKEN
    assert json.loads(query.content)["variables"] == {"id": ORDER_GID}
    assert json.loads(mutation.content)["variables"] == {"fulfillment": {
        "lineItemsByFulfillmentOrder": [{
            "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1001",
            # 466157049 x2 and 466157050 x1 are ours; 518995019 (another supplier's line) is left alone.
            "fulfillmentOrderLineItems": [{"id": "gid://shopify/FulfillmentOrderLineItem/11", "quantity": 2},
                                          {"id": "gid://shopify/FulfillmentOrderLineItem/12", "quantity": 1}]}],
        "notifyCustomer": True,
        "trackingInfo": {"number": UPS_NUMBER, "company": "UPS", "url": UPS_URL},
    }}

    row = await harness.get(SyncFulfillment, "trk-1")
    assert (row.order_id, row.platform_fulfillment_id, row.already_present) == (
        "order-1", "gid://shopify/Fulfillment/5001", False)
    [event] = await harness.outbox(T.ORDER_SYNCED)
    assert event["_key"] == "order-1"
    assert event["data"] == {"order_id": "order-1", "tracking_id": "trk-1", "platform": "shopify",
                             "platform_fulfillment_id": "gid://shopify/Fulfillment/5001",
                             "tracking_number": UPS_NUMBER, "already_present": False, "kept_number": None}
    assert (event["tenant_id"], event["correlation_id"], event["causation_id"]) == (
        TENANT, added.correlation_id, str(added.event_id))


async def test_tracking_for_some_lines_fulfils_only_those(harness, shopify):
    await ready(harness)
    await harness.deliver(tracking_added(line_ids=["l-2"]))
    await harness.run_jobs()
    [variables] = shopify.mutations()
    assert variables["fulfillment"]["lineItemsByFulfillmentOrder"][0]["fulfillmentOrderLineItems"] == [
        {"id": "gid://shopify/FulfillmentOrderLineItem/12", "quantity": 1}]


async def test_quantity_is_capped_by_what_remains_and_closed_fulfillment_orders_are_skipped(harness, shopify):
    shopify.fulfillment_orders = [
        fulfillment_order(1000, [fo_line(10, "466157049", "IPOD-GREEN", 0, 1)], status="CLOSED"),
        fulfillment_order(1001, [fo_line(11, "466157049", "IPOD-GREEN", 1, 1),  # one of two was fulfilled by hand
                                 fo_line(12, "466157050", "CASE", 1)], status="IN_PROGRESS"),
    ]
    await ready(harness)
    await harness.deliver(tracking_added())
    await harness.run_jobs()
    [variables] = shopify.mutations()
    assert variables["fulfillment"]["lineItemsByFulfillmentOrder"] == [{
        "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1001",
        "fulfillmentOrderLineItems": [{"id": "gid://shopify/FulfillmentOrderLineItem/11", "quantity": 1},
                                      {"id": "gid://shopify/FulfillmentOrderLineItem/12", "quantity": 1}]}]


async def test_lines_at_two_locations_are_fulfilled_with_one_call_per_location(harness, shopify):
    shopify.fulfillment_orders = [
        fulfillment_order(1001, [fo_line(11, "466157049", "IPOD-GREEN", 2)], location=1),
        fulfillment_order(1002, [fo_line(12, "466157050", "CASE", 1)], location=2),
    ]
    await ready(harness)
    await harness.deliver(tracking_added())
    await harness.run_jobs()
    calls = shopify.mutations()
    assert [[g["fulfillmentOrderId"] for g in c["fulfillment"]["lineItemsByFulfillmentOrder"]] for c in calls] == [
        ["gid://shopify/FulfillmentOrder/1001"], ["gid://shopify/FulfillmentOrder/1002"]]
    [event] = await harness.outbox(T.ORDER_SYNCED)
    assert event["data"]["platform_fulfillment_id"] == "gid://shopify/Fulfillment/5001,gid://shopify/Fulfillment/5002"


async def test_tracking_already_in_the_store_is_recorded_without_a_second_fulfillment(harness, shopify):
    """A rerun after a crash between fulfillmentCreate and our commit: look before writing."""
    shopify.fulfillments = [
        {"id": "gid://shopify/Fulfillment/77", "status": "CANCELLED",
         "trackingInfo": [{"company": "UPS", "number": UPS_NUMBER, "url": None}]},  # cancelled: does not count
        {"id": "gid://shopify/Fulfillment/88", "status": "SUCCESS",
         "trackingInfo": [{"company": "UPS", "number": "1z999aa1 0123456784", "url": None}]},
    ]
    await ready(harness)
    await harness.deliver(tracking_added())
    await harness.run_jobs()

    assert len(shopify.requests) == 1 and shopify.mutations() == []
    row = await harness.get(SyncFulfillment, "trk-1")
    assert (row.platform_fulfillment_id, row.already_present) == ("gid://shopify/Fulfillment/88", True)
    [event] = await harness.outbox(T.ORDER_SYNCED)
    assert event["data"]["already_present"] is True


async def test_a_rerun_after_the_write_does_not_fulfil_twice(harness, shopify):
    def create_then_crash(request):
        shopify.create(json.loads(request.content)["variables"])  # Shopify has the fulfilment now...
        raise RuntimeError("worker crashed before commit")  # ...and our transaction never commits

    shopify.script = [lambda r: shopify.state(json.loads(r.content)["variables"]), create_then_crash]
    await ready(harness)
    await harness.deliver(tracking_added())
    await harness.run_jobs()

    assert len(shopify.fulfillments) == 1
    assert len(shopify.mutations()) == 1
    [event] = await harness.outbox(T.ORDER_SYNCED)
    assert event["data"]["already_present"] is True
    assert event["data"]["platform_fulfillment_id"] == shopify.fulfillments[0]["id"]


async def test_user_errors_are_permanent_and_reported(harness, shopify):
    shopify.script = [
        lambda r: shopify.state(json.loads(r.content)["variables"]),
        {"data": {"fulfillmentCreate": {"fulfillment": None, "userErrors": [
            {"field": ["fulfillment", "lineItemsByFulfillmentOrder", "0", "fulfillmentOrderLineItems"],
             "message": "Invalid fulfillment order line item quantity requested."}]}},
         "extensions": shopify.cost(10)},
    ]
    await ready(harness)
    added = tracking_added()
    await harness.deliver(added)
    await harness.run_jobs()

    assert len(shopify.requests) == 2  # not retried
    [job] = await harness.jobs()
    assert (job.status, job.attempts) == ("failed", 1)
    [failed] = await harness.outbox(T.ORDER_SYNC_FAILED)
    assert failed["_key"] == "order-1"
    assert failed["data"]["tracking_id"] == "trk-1"
    assert "Invalid fulfillment order line item quantity requested." in failed["data"]["reason"]
    assert failed["causation_id"] == str(added.event_id)
    assert await harness.outbox(T.ORDER_SYNCED) == []


@pytest.mark.parametrize("status", [200, 429])
async def test_throttled_call_is_retried_when_the_bucket_holds_its_cost(harness, shopify, status):
    throttled = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                 "extensions": {"cost": {"requestedQueryCost": 602, "actualQueryCost": None,
                                         "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 2,
                                                            "restoreRate": 50.0}}}}
    shopify.script = [lambda _r: httpx.Response(status, json=throttled)]
    await ready(harness)
    await harness.deliver(tracking_added())
    assert await harness.worker.run_one()

    [job] = await harness.jobs()
    assert job.status == "pending" and "throttled" in job.last_error
    wait = job.next_attempt_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None)
    # (602 needed - 2 available) / 50 points per second = 12 s
    assert timedelta(seconds=11) < wait <= timedelta(seconds=12)


@pytest.mark.parametrize("first", [503, 502, httpx.ConnectError("refused"), httpx.ReadTimeout("slow")],
                         ids=["503", "502", "network", "timeout"])
async def test_outage_is_retried_until_it_succeeds(harness, shopify, first):
    shopify.script = [first]
    await ready(harness)
    await harness.deliver(tracking_added())
    await harness.run_jobs()
    assert len(shopify.mutations()) == 1
    assert len(await harness.outbox(T.ORDER_SYNCED)) == 1
    assert (await harness.jobs())[0].attempts == 2


@pytest.mark.parametrize("status", [401, 403, 404])
async def test_auth_and_missing_shop_are_permanent(harness, shopify, status):
    shopify.script = [status]
    await ready(harness)
    await harness.deliver(tracking_added())
    await harness.run_jobs()
    assert len(shopify.requests) == 1
    [failed] = await harness.outbox(T.ORDER_SYNC_FAILED)
    assert f"HTTP {status}" in failed["data"]["reason"]


async def test_giving_up_after_max_attempts_reports_the_reason(harness, shopify):
    shopify.script = [503] * harness.settings.job_max_attempts
    await ready(harness)
    await harness.deliver(tracking_added())
    await harness.run_jobs()
    [failed] = await harness.outbox(T.ORDER_SYNC_FAILED)
    assert failed["data"]["reason"].startswith("gave up after 3 attempts") and "HTTP 503" in failed["data"]["reason"]


async def test_nothing_left_to_fulfil_is_permanent(harness, shopify):
    shopify.fulfillment_orders = [fulfillment_order(1001, [fo_line(11, "466157049", "IPOD-GREEN", 0, 2),
                                                           fo_line(12, "466157050", "CASE", 0, 1)], status="CLOSED")]
    await ready(harness)
    await harness.deliver(tracking_added())
    await harness.run_jobs()
    assert shopify.mutations() == []
    [failed] = await harness.outbox(T.ORDER_SYNC_FAILED)
    assert failed["data"]["reason"].startswith("nothing to fulfil")


async def test_order_missing_in_the_store_is_permanent(harness, shopify):
    await harness.connect_store()
    await harness.deliver(order_received(platform_order_id="999"))
    await harness.deliver(tracking_added())
    await harness.run_jobs()
    [failed] = await harness.outbox(T.ORDER_SYNC_FAILED)
    assert "not found" in failed["data"]["reason"]


async def test_tracking_naming_lines_outside_the_order_is_reported(harness, shopify):
    await ready(harness)
    await harness.deliver(tracking_added(line_ids=[OTHER_LINE[0]]))
    await harness.run_jobs()
    assert shopify.requests == []
    [failed] = await harness.outbox(T.ORDER_SYNC_FAILED)
    assert "x-1" in failed["data"]["reason"]


async def test_a_platform_without_an_adapter_is_reported_not_retried(tmp_path, shopify):
    h = await Harness(fast_settings(f"sqlite+aiosqlite:///{tmp_path}/ts.db"), shopify, adapters={}).start()
    try:
        await h.connect_store(platform=Platform.WIX, api_base_url="https://www.wixapis.com")
        await h.deliver(order_received(platform=Platform.WIX))
        await h.deliver(tracking_added())
        await h.run_jobs()
        assert shopify.requests == []
        [failed] = await h.outbox(T.ORDER_SYNC_FAILED)
        assert failed["data"]["reason"] == "writing fulfilments back to wix is not supported yet"
    finally:
        await h.close()


async def test_redelivered_tracking_added_makes_one_job_and_one_fulfillment(harness, shopify):
    await ready(harness)
    added = tracking_added()
    assert await harness.deliver(added) == "applied"
    assert await harness.deliver(added) == "duplicate"  # same event id (Kafka redelivery)
    assert await harness.deliver(tracking_added()) == "applied"  # same tracking record, another event id
    await harness.run_jobs()
    assert len(await harness.jobs()) == 1
    assert len(shopify.mutations()) == 1
    assert len(await harness.outbox(T.ORDER_SYNCED)) == 1


async def test_second_tracking_record_for_other_lines_is_a_second_fulfillment(harness, shopify):
    await ready(harness)
    await harness.deliver(tracking_added(tracking_id="trk-1", line_ids=["l-1"]))
    await harness.deliver(tracking_added(tracking_id="trk-2", number="1Z999AA10123456795", url=None,
                                         line_ids=["l-2"]))
    await harness.run_jobs()
    assert len(shopify.mutations()) == 2
    assert len(await harness.outbox(T.ORDER_SYNCED)) == 2


async def test_tracking_before_its_order_or_store_is_parked_then_written_back(harness, shopify):
    """The consumer does not hold up its partition for it (no RetryLater): the job is queued parked and
    waits — no attempt spent — for the order, then for its store, then writes back as any other."""
    assert await harness.deliver(tracking_added()) == "applied"
    [job] = await harness.jobs()
    assert "lines" not in json.loads(job.payload) and "parked_at" in json.loads(job.payload)
    assert await harness.worker.run_one()
    [job] = await harness.jobs()
    assert (job.status, job.attempts) == ("pending", 0) and "order order-1 not known yet" in job.last_error

    await harness.deliver(order_received())  # makes the parked job due at once (no waiting out its delay)
    [job] = await harness.jobs()
    assert as_utc(job.next_attempt_at) <= utcnow()
    assert await harness.worker.run_one()
    [job] = await harness.jobs()
    assert (job.status, job.attempts) == ("pending", 0) and "store store-1 not known yet" in job.last_error
    assert shopify.requests == []

    await harness.connect_store()
    async with harness.db.uow() as uow:
        await uow.session.exec(update(Job).values(next_attempt_at=utcnow()))
        await uow.commit()
    await harness.run_jobs()
    [synced] = await harness.outbox(T.ORDER_SYNCED)
    assert synced["data"]["tracking_id"] == "trk-1"
    assert (await harness.get(SyncFulfillment, "trk-1")) is not None
    assert len(shopify.mutations()) == 1


async def test_a_parked_tracking_whose_order_never_comes_gives_up_and_says_so(harness, shopify):
    await harness.deliver(tracking_added())
    async with harness.db.uow() as uow:  # parked longer ago than order_wait_max_seconds (3600 s by default)
        job = (await uow.session.exec(select(Job))).one()
        payload = json.loads(job.payload)
        payload["parked_at"] = (utcnow() - timedelta(seconds=3601)).isoformat()
        job.payload = json.dumps(payload)
        await uow.commit()
    await harness.run_jobs()
    [job] = await harness.jobs()
    assert job.status == "failed"
    [failed] = await harness.outbox(T.ORDER_SYNC_FAILED)
    assert failed["data"]["reason"].startswith("order order-1 never reached tracking-sync")
    assert shopify.requests == []


async def test_reconnected_store_token_is_used_by_a_pending_job(harness, shopify):
    await ready(harness)
    await harness.deliver(tracking_added())
    await harness.connect_store(token="shpat_rotated")
    await harness.run_jobs()
    assert {r.headers["X-Shopify-Access-Token"] for r in shopify.requests} == {"shpat_rotated"}


async def test_credentials_never_reach_the_logs_jobs_or_events(harness, shopify, caplog):
    shopify.script = [401]
    await ready(harness)
    await harness.deliver(tracking_added())
    await harness.run_jobs()
    assert "job failed for good" in caplog.text
    assert TOKEN not in caplog.text
    [job] = await harness.jobs()
    assert TOKEN not in job.payload and TOKEN not in (job.last_error or "")
    assert all(TOKEN not in json.dumps(e) for e in await harness.outbox())
