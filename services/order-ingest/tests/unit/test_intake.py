"""Every way a store order comes in gives one set of Dropline orders, and only once it is paid:
a delivery that carries the order, a thin delivery whose order a durable job fetches, and the
reconciliation listing that finds what no webhook brought."""

from __future__ import annotations

from datetime import timedelta

from order_ingest_testkit import T0, Deferred, Retryable, shopify_order

from dropline_schemas import topics as T
from order_ingest.services import FETCH_ORDER, RECONCILE_STORE


async def test_a_delivery_that_carries_the_order_is_split_at_once(harness):
    assert await harness.deliver("d-1", "1001", order=shopify_order(1001)) == "applied"
    [received] = await harness.outbox(T.ORDER_RECEIVED)
    assert received["data"]["platform_order_id"] == "1001" and received["data"]["status"] == "unpaid"
    assert [c for c in harness.store.calls if c[0] == "fetch"] == []  # nothing fetched


async def test_a_thin_delivery_is_fetched_by_a_job_and_a_second_one_for_the_same_order_adds_nothing(harness, store):
    store.put(shopify_order(1002))
    await harness.deliver("d-1", "1002")
    assert await harness.outbox(T.ORDER_RECEIVED) == []  # the handler never calls the store
    [job] = await harness.jobs(FETCH_ORDER)
    assert job.status == "pending"
    await harness.run_jobs()
    assert [e["data"]["platform_order_id"] for e in await harness.outbox(T.ORDER_RECEIVED)] == ["1002"]

    await harness.deliver("d-2", "1002")  # another delivery (an update, a retry with a new id)
    await harness.run_jobs()
    assert len(await harness.outbox(T.ORDER_RECEIVED)) == 1
    fetches = [c for c in store.calls if c[0] == "fetch"]
    assert fetches == [("fetch", "1002")]  # the second job saw it ingested and did not call the store


async def test_an_order_not_paid_yet_waits_for_the_delivery_that_says_it_is_paid(harness, store):
    store.put(shopify_order(1003, financial_status="pending"))
    await harness.deliver("d-1", "1003")
    await harness.run_jobs()
    assert await harness.outbox(T.ORDER_RECEIVED) == []
    store.put(shopify_order(1003, financial_status="paid", updated_at=T0 + timedelta(minutes=5)))
    await harness.deliver("d-2", "1003")
    await harness.run_jobs()
    assert len(await harness.outbox(T.ORDER_RECEIVED)) == 1


async def test_a_store_that_fails_is_retried_and_then_reported(harness, store):
    store.put(shopify_order(1004))
    store.fail = Retryable("HTTP 500")
    await harness.deliver("d-1", "1004")
    for _ in range(3):
        await harness.make_due(FETCH_ORDER)
        await harness.run_jobs()
    [job] = await harness.jobs(FETCH_ORDER)
    assert job.status == "failed" and job.attempts == 3
    [failed] = await harness.outbox(T.STORE_HEALTH, "StoreIntakeFailed")
    assert failed["event_type"] == "StoreIntakeFailed" and failed["data"]["platform_order_id"] == "1004"
    assert "HTTP 500" in failed["data"]["reason"]


async def test_reconciliation_ingests_what_no_webhook_brought_once_and_moves_its_watermark(harness, store):
    # One order came by webhook; two never did (the platform dropped them); one is not paid yet.
    await harness.deliver("d-1", "2001", order=shopify_order(2001, updated_at=T0))
    store.put(shopify_order(2001, updated_at=T0))
    store.put(shopify_order(2002, updated_at=T0 + timedelta(minutes=1)))
    store.put(shopify_order(2003, updated_at=T0 + timedelta(minutes=2)))
    store.put(shopify_order(2004, financial_status="pending", updated_at=T0 + timedelta(minutes=3)))
    await harness.make_due(RECONCILE_STORE)
    await harness.run_jobs()

    ids = sorted(e["data"]["platform_order_id"] for e in await harness.outbox(T.ORDER_RECEIVED))
    assert ids == ["2001", "2002", "2003"]
    [_, report] = await harness.outbox(T.STORE_HEALTH, "StoreReconciled")
    assert (report["data"]["examined"], report["data"]["ingested"], report["data"]["error"]) == (4, 2, None)
    assert report["data"]["watermark"].startswith("2026-12-01T09:03:00")
    [job] = await harness.jobs(RECONCILE_STORE)
    assert job.status == "pending" and job.attempts == 0  # it comes back after the interval

    # The next run lists from just before the watermark and ingests nothing twice.
    await harness.make_due(RECONCILE_STORE)
    await harness.run_jobs()
    assert len(await harness.outbox(T.ORDER_RECEIVED)) == 3
    assert store.calls[-1] == ("list", T0 + timedelta(minutes=3) - timedelta(seconds=30))


async def test_a_throttled_store_reports_its_reconciliation_and_comes_back_when_it_allows(harness, store):
    store.fail = Deferred("shopify:demo: HTTP 429 (throttled)", retry_after=7)
    await harness.make_due(RECONCILE_STORE)
    await harness.run_jobs()
    [_, report] = await harness.outbox(T.STORE_HEALTH, "StoreReconciled")
    assert "429" in report["data"]["error"]
    [job] = await harness.jobs(RECONCILE_STORE)
    wait = (job.next_attempt_at - report_time(report)).total_seconds()
    assert 5 < wait < 30  # at the store's Retry-After, not the whole interval (60 s)


def report_time(report):
    from datetime import datetime

    return datetime.fromisoformat(report["data"]["finished_at"])


async def test_an_unreadable_order_in_a_delivery_is_dead_lettered_with_its_reason(harness):
    assert await harness.deliver("d-1", "3001", order={"id": 3001, "currency": "EUR", "line_items": []}) \
        == "dead-lettered"
    [letter] = await harness.dead_letters()
    assert "line_items" in letter.reason
