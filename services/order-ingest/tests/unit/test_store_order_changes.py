"""A store order that is already ingested and comes again (an update delivery that carries it, a fetch for
a thin update delivery, a reconciliation listing) tells each of its Dropline orders what changed in the
store (StoreOrderChanged: address, customer, cancelled), once per change: an unchanged re-listing, a
second delivery of the same change or an older version arriving late publishes nothing."""

from __future__ import annotations

import json
from datetime import timedelta

from order_ingest_testkit import T0, shopify_order

from dropline_schemas import topics as T
from dropline_schemas.events import DeliveryKind
from order_ingest.services import FETCH_ORDER, RECONCILE_STORE

UPDATED = DeliveryKind.ORDER_UPDATED
CANCELLED = DeliveryKind.ORDER_CANCELLED


async def changes(harness) -> list[dict]:
    return await harness.outbox(T.STORE_ORDER_CHANGED)


async def test_an_address_change_in_an_update_delivery_is_published_once_per_dropline_order(harness):
    await harness.deliver("d-1", "4001", order=shopify_order(4001))
    [received] = await harness.outbox(T.ORDER_RECEIVED)
    assert await changes(harness) == []

    moved = shopify_order(4001, address1="Elm St 9", updated_at=T0 + timedelta(minutes=5))
    assert await harness.deliver("d-2", "4001", order=moved, kind=UPDATED) == "applied"
    [change] = await changes(harness)
    assert change["event_type"] == "StoreOrderChanged" and change["producer"] == "order-ingest"
    d = change["data"]
    assert (d["order_id"], d["store_id"], d["platform_order_id"]) == (received["data"]["order_id"], "store-1", "4001")
    assert d["shipping_address"]["address1"] == "Elm St 9" and d["customer"]["email"] == "a@example.com"
    assert d["cancelled"] is False and d["changed_at"].startswith("2026-12-01T09:05:00")
    assert change["correlation_id"] == "order:4001" and change["tenant_id"] == "retailer-1"
    assert len(await harness.outbox(T.ORDER_RECEIVED)) == 1  # still one Dropline order

    # The same change again (Shopify sends orders/updated twice, a retried delivery): nothing new.
    assert await harness.deliver("d-3", "4001", order=moved, kind=UPDATED) == "applied"
    assert len(await changes(harness)) == 1


async def test_a_customer_contact_change_is_a_change_too(harness):
    await harness.deliver("d-1", "4002", order=shopify_order(4002))
    await harness.deliver("d-2", "4002", order=shopify_order(4002, email="new@example.com",
                                                               updated_at=T0 + timedelta(minutes=1)), kind=UPDATED)
    [change] = await changes(harness)
    assert change["data"]["customer"]["email"] == "new@example.com"


async def test_an_update_that_changes_nothing_we_follow_publishes_nothing(harness):
    await harness.deliver("d-1", "4003", order=shopify_order(4003))
    # A note or a tag changed in the store: updated_at moves, address / customer / state do not.
    await harness.deliver("d-2", "4003", order=shopify_order(4003, updated_at=T0 + timedelta(minutes=1)),
                          kind=UPDATED)
    assert await changes(harness) == []


async def test_a_cancellation_is_published_with_cancelled_and_the_orders_updated_twin_adds_nothing(harness):
    await harness.deliver("d-1", "4004", order=shopify_order(4004))
    at = T0 + timedelta(minutes=10)
    cancelled = shopify_order(4004, updated_at=at, cancelled_at=at)
    await harness.deliver("d-2", "4004", order=cancelled, kind=CANCELLED)
    await harness.deliver("d-3", "4004", order=cancelled, kind=UPDATED)  # orders/updated of the same moment
    [change] = await changes(harness)
    assert change["data"]["cancelled"] is True


async def test_an_older_version_delivered_late_changes_nothing_back(harness):
    await harness.deliver("d-1", "4005", order=shopify_order(4005))
    newer = shopify_order(4005, address1="Third St 3", updated_at=T0 + timedelta(minutes=9))
    older = shopify_order(4005, address1="Second St 2", updated_at=T0 + timedelta(minutes=4))
    await harness.deliver("d-3", "4005", order=newer, kind=UPDATED)
    await harness.deliver("d-2", "4005", order=older, kind=UPDATED)  # arrives after the newer one
    assert [c["data"]["shipping_address"]["address1"] for c in await changes(harness)] == ["Third St 3"]


async def test_a_thin_update_delivery_of_an_ingested_order_is_fetched_and_its_change_published(harness, store):
    store.put(shopify_order(4006))
    await harness.deliver("d-1", "4006")
    await harness.run_jobs()
    assert len(await harness.outbox(T.ORDER_RECEIVED)) == 1

    store.put(shopify_order(4006, address1="Elm St 9", updated_at=T0 + timedelta(minutes=5)))
    await harness.deliver("d-2", "4006", kind=UPDATED)
    [job] = [j for j in await harness.jobs(FETCH_ORDER) if j.key == "d-2"]
    assert json.loads(job.payload)["kind"] == "order_updated"
    await harness.run_jobs()
    assert [c for c in store.calls if c[0] == "fetch"] == [("fetch", "4006"), ("fetch", "4006")]
    [change] = await changes(harness)
    assert change["data"]["shipping_address"]["address1"] == "Elm St 9"
    assert len(await harness.outbox(T.ORDER_RECEIVED)) == 1


async def test_reconciliation_publishes_a_change_no_webhook_brought_once_and_nothing_for_unchanged_orders(
        harness, store):
    for n in (5001, 5002):
        await harness.deliver(f"d-{n}", str(n), order=shopify_order(n))
        store.put(shopify_order(n))
    # 5002 was cancelled in the store and the orders/cancelled webhook was dropped.
    at = T0 + timedelta(minutes=3)
    store.put(shopify_order(5002, updated_at=at, cancelled_at=at))
    await harness.make_due(RECONCILE_STORE)
    await harness.run_jobs()
    [change] = await changes(harness)
    assert (change["data"]["platform_order_id"], change["data"]["cancelled"]) == ("5002", True)

    # The next run lists an overlapping window (5002 again, unchanged): nothing more.
    await harness.make_due(RECONCILE_STORE)
    await harness.run_jobs()
    assert len(await changes(harness)) == 1
    assert len(await harness.outbox(T.ORDER_RECEIVED)) == 2


async def test_a_store_order_split_over_suppliers_tells_each_dropline_order(harness):
    order = shopify_order(6001)
    order["line_items"].append({"id": 60012, "sku": "NO-LISTING", "title": "Loose", "quantity": 1, "price": "3.00"})
    await harness.deliver("d-1", "6001", order=order)
    received = await harness.outbox(T.ORDER_RECEIVED)
    assert len(received) == 2  # supplier A + unmatched
    moved = {**order, "updated_at": (T0 + timedelta(minutes=2)).isoformat(),
             "shipping_address": {**order["shipping_address"], "address1": "Elm St 9"}}
    await harness.deliver("d-2", "6001", order=moved, kind=UPDATED)
    found = await changes(harness)
    assert sorted(c["data"]["order_id"] for c in found) == sorted(r["data"]["order_id"] for r in received)
    assert all(c["data"]["shipping_address"]["address1"] == "Elm St 9" for c in found)
