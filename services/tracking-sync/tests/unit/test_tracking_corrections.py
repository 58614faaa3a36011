"""Tracking corrections end to end inside one process: TrackingCorrected in, the correct_tracking job
against an in-memory store platform adapter, outcome and events in the outbox (SQLite, real migrations,
the real consumers and job worker)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from tracking_sync_testkit import (
    RIGHT_NUMBER,
    RIGHT_URL,
    UPS_NUMBER,
    UPS_URL,
    FakeShopify,
    FakeStorePlatform,
    Harness,
    fast_settings,
    order_received,
    tracking_added,
    tracking_corrected,
)

from dropline_infra.db import utcnow
from dropline_infra.messaging import RetryLater
from dropline_infra.models import Job
from dropline_schemas import topics as T
from dropline_schemas.events import Platform
from tracking_sync import handlers
from tracking_sync.corrections import CORRECT_TRACKING
from tracking_sync.models import SyncFulfillment
from tracking_sync.syncing import SYNC_TRACKING

THIRD_NUMBER = "1Z999AA10123456800"


@pytest.fixture
def store() -> FakeStorePlatform:
    return FakeStorePlatform()


@pytest.fixture
async def h(tmp_path, store):
    harness = await Harness(fast_settings(f"sqlite+aiosqlite:///{tmp_path}/ts.db"), FakeShopify(),
                            adapters={Platform.SHOPIFY: store}).start()
    try:
        await harness.connect_store()
        await harness.deliver(order_received())
        yield harness
    finally:
        await harness.close()


async def job(h: Harness, kind: str, key: str):
    [found] = [j for j in await h.jobs() if (j.kind, j.key) == (kind, key)]
    return found


async def synced(h: Harness) -> dict[str, dict]:
    return {e["data"]["tracking_id"]: e["data"] for e in await h.outbox(T.ORDER_SYNCED)}


async def test_a_correction_after_the_original_synced_changes_the_number_on_the_same_fulfilment(h, store):
    await h.deliver(tracking_added())
    await h.run_jobs()
    await h.deliver(tracking_corrected())
    await h.run_jobs()

    [fulfil] = store.of("fulfil")
    [correction] = store.of("correct")
    assert correction.platform_order_id == fulfil.platform_order_id
    assert correction.platform_fulfillment_id == "F1"
    assert (correction.previous.number, correction.previous.company, correction.previous.url) == (
        UPS_NUMBER, "UPS", UPS_URL)
    assert (correction.tracking.number, correction.tracking.company, correction.tracking.url) == (
        RIGHT_NUMBER, "UPS", RIGHT_URL)
    assert [(line.line_id, line.quantity) for line in correction.lines] == [("l-1", 2), ("l-2", 1)]
    assert store.fulfilments == {"F1": {"number": RIGHT_NUMBER, "lines": fulfil.lines}}  # still one fulfilment

    events = await synced(h)
    assert set(events) == {"trk-1", "trk-2"}
    new = events["trk-2"]
    assert (new["order_id"], new["platform_fulfillment_id"], new["tracking_number"], new["already_present"],
            new["kept_number"]) == ("order-1", "F1", RIGHT_NUMBER, False, None)
    [event] = [e for e in await h.outbox(T.ORDER_SYNCED) if e["data"]["tracking_id"] == "trk-2"]
    assert event["_key"] == "order-1" and event["producer"] == "tracking-sync"
    row = await h.get(SyncFulfillment, "trk-2")
    assert (row.order_id, row.platform_fulfillment_id, row.already_present) == ("order-1", "F1", False)
    assert await h.outbox(T.ORDER_SYNC_FAILED) == []


async def test_the_correction_keeps_the_shipments_lines(h, store):
    await h.deliver(tracking_added(lines={"l-1": 1}))
    await h.run_jobs()
    await h.deliver(tracking_corrected(lines={"l-1": 1}))
    await h.run_jobs()
    [correction] = store.of("correct")
    assert [(line.line_id, line.platform_line_id, line.quantity) for line in correction.lines] == [
        ("l-1", "466157049", 1)]


async def test_a_correction_before_the_original_synced_waits_then_corrects(h, store):
    store.fail_fulfil = 1                         # the original's first write-back fails: it is retried
    await h.deliver(tracking_added())
    await h.deliver(tracking_corrected())
    assert await h.worker.run_one()               # sync_tracking: fails once
    assert await h.worker.run_one()               # correct_tracking: the original is still pending
    waiting = await job(h, CORRECT_TRACKING, "trk-2")
    assert (waiting.status, waiting.attempts) == ("pending", 0)    # no attempt spent on waiting
    assert waiting.last_error.startswith("deferred: waiting for the write-back of the corrected tracking trk-1")
    assert store.of("correct") == []

    await h.run_jobs()
    assert [k for k, _ in store.calls] == ["fulfil", "fulfil", "correct"]
    assert store.fulfilments["F1"]["number"] == RIGHT_NUMBER and len(store.fulfilments) == 1
    done = await job(h, CORRECT_TRACKING, "trk-2")
    assert (done.status, done.attempts) == ("done", 1)
    assert set(await synced(h)) == {"trk-1", "trk-2"}


async def test_a_correction_ahead_of_the_corrected_tracking_added_waits_for_it(h, store):
    await h.deliver(tracking_corrected())          # TrackingAdded (another topic) is late
    assert await h.worker.run_one()
    waiting = await job(h, CORRECT_TRACKING, "trk-2")
    assert (waiting.status, waiting.attempts) == ("pending", 0)
    assert "has not reached tracking-sync yet" in waiting.last_error
    assert store.calls == []

    await h.deliver(tracking_added())
    await h.run_jobs()
    assert [k for k, _ in store.calls] == ["fulfil", "correct"]
    assert store.fulfilments["F1"]["number"] == RIGHT_NUMBER and len(store.fulfilments) == 1
    assert set(await synced(h)) == {"trk-1", "trk-2"}


async def test_a_correction_whose_corrected_tracking_never_arrives_gives_up_after_the_window(h, store):
    await h.deliver(tracking_corrected())          # TrackingAdded of trk-1 never comes (say, dead-lettered)
    assert await h.worker.run_one()
    assert (await job(h, CORRECT_TRACKING, "trk-2")).status == "pending"   # waiting, within the window
    async with h.db.uow() as uow:                  # the correction was queued longer ago than the window
        waiting = await uow.session.get(Job, (await job(h, CORRECT_TRACKING, "trk-2")).id)
        waiting.created_at = utcnow() - timedelta(seconds=h.settings.correction_wait_max_seconds + 1)
        waiting.next_attempt_at = utcnow()
        uow.session.add(waiting)
        await uow.commit()
    await h.run_jobs()
    assert (await job(h, CORRECT_TRACKING, "trk-2")).status == "failed"
    [failed] = await h.outbox(T.ORDER_SYNC_FAILED)
    assert failed["data"]["tracking_id"] == "trk-2"
    assert "never reached tracking-sync" in failed["data"]["reason"]
    assert store.calls == []


async def test_original_failed_for_good_the_new_number_is_a_fresh_fulfilment(h, store):
    store.fail_fulfil = h.settings.job_max_attempts
    await h.deliver(tracking_added())
    await h.deliver(tracking_corrected())          # waits while the original is retried, then takes over
    await h.run_jobs()

    assert (await job(h, SYNC_TRACKING, "trk-1")).status == "failed"
    [failed] = await h.outbox(T.ORDER_SYNC_FAILED)
    assert failed["data"]["tracking_id"] == "trk-1"
    assert store.of("correct") == []                # nothing in the store to correct
    fresh = store.of("fulfil")[-1]
    assert (fresh.tracking.number, fresh.tracking.url) == (RIGHT_NUMBER, RIGHT_URL)
    assert [(line.line_id, line.quantity) for line in fresh.lines] == [("l-1", 2), ("l-2", 1)]
    assert store.fulfilments == {"F1": {"number": RIGHT_NUMBER, "lines": fresh.lines}}
    events = await synced(h)
    assert set(events) == {"trk-2"}
    assert (events["trk-2"]["platform_fulfillment_id"], events["trk-2"]["tracking_number"]) == ("F1", RIGHT_NUMBER)


async def test_redelivered_correction_makes_one_job_and_one_store_write(h, store):
    await h.deliver(tracking_added())
    await h.run_jobs()
    event = tracking_corrected()
    assert await h.deliver(event) == "applied"
    assert await h.deliver(event) == "duplicate"            # same event id (Kafka redelivery)
    assert await h.deliver(tracking_corrected()) == "applied"  # same correction, another event id
    await h.run_jobs()
    assert len([j for j in await h.jobs() if j.kind == CORRECT_TRACKING]) == 1
    assert len(store.of("correct")) == 1
    assert len(await h.outbox(T.ORDER_SYNCED)) == 2


async def test_a_rerun_after_a_crash_past_the_store_write_does_not_write_twice(h, store):
    await h.deliver(tracking_added())
    await h.run_jobs()
    store.crash_after_write = True                 # the store has the new number; our commit is lost
    await h.deliver(tracking_corrected())
    await h.run_jobs()

    assert len(store.of("correct")) == 2           # the rerun looked ...
    assert store.writes == 2                       # ... and wrote nothing (1 fulfilment + 1 correction)
    events = await synced(h)
    assert events["trk-2"]["already_present"] is True and events["trk-2"]["platform_fulfillment_id"] == "F1"
    assert (await h.get(SyncFulfillment, "trk-2")).already_present is True

    # Once more (the job claimed again after its commit): the new record's row short-circuits.
    [kind] = [k for k in h.svc.job_kinds if k.kind == CORRECT_TRACKING]
    payload = json.loads((await job(h, CORRECT_TRACKING, "trk-2")).payload)
    async with h.db.uow() as uow:
        await kind.handler(uow, payload)
        await uow.commit()
    assert len(store.of("correct")) == 2
    assert len(await h.outbox(T.ORDER_SYNCED)) == 2


async def test_giving_up_publishes_order_sync_failed_for_the_correction(h, store):
    await h.deliver(tracking_added())
    await h.run_jobs()
    store.fail_correct = h.settings.job_max_attempts
    await h.deliver(tracking_corrected())
    await h.run_jobs()
    [failed] = await h.outbox(T.ORDER_SYNC_FAILED)
    assert (failed["data"]["order_id"], failed["data"]["tracking_id"]) == ("order-1", "trk-2")
    assert failed["_key"] == "order-1"
    assert failed["data"]["reason"].startswith("gave up after 3 attempts") and "HTTP 503" in failed["data"]["reason"]
    assert set(await synced(h)) == {"trk-1"}
    assert await h.get(SyncFulfillment, "trk-2") is None


async def test_a_fulfilment_gone_from_the_store_is_reported_not_retried(h, store):
    await h.deliver(tracking_added())
    await h.run_jobs()
    store.gone = True
    await h.deliver(tracking_corrected())
    await h.run_jobs()
    assert len(store.of("correct")) == 1
    [failed] = await h.outbox(T.ORDER_SYNC_FAILED)
    assert failed["data"]["tracking_id"] == "trk-2" and "gone from the store" in failed["data"]["reason"]


async def test_correcting_a_failed_correction_corrects_what_the_store_shows(h, store):
    await h.deliver(tracking_added())
    await h.run_jobs()
    store.fail_correct = h.settings.job_max_attempts
    await h.deliver(tracking_corrected())          # trk-2 never reaches the store
    await h.run_jobs()
    await h.deliver(tracking_corrected(tracking_id="trk-3", corrects="trk-2", previous=RIGHT_NUMBER,
                                       number=THIRD_NUMBER, url=None))
    await h.run_jobs()
    last = store.of("correct")[-1]
    assert (last.platform_fulfillment_id, last.previous.number, last.tracking.number) == (
        "F1", UPS_NUMBER, THIRD_NUMBER)             # the store still showed trk-1's number
    assert store.fulfilments["F1"]["number"] == THIRD_NUMBER and len(store.fulfilments) == 1
    assert (await synced(h))["trk-3"]["platform_fulfillment_id"] == "F1"


async def test_a_correction_of_a_correction_after_it_synced(h, store):
    await h.deliver(tracking_added())
    await h.deliver(tracking_corrected())
    await h.deliver(tracking_corrected(tracking_id="trk-3", corrects="trk-2", previous=RIGHT_NUMBER,
                                       number=THIRD_NUMBER, url=None))
    await h.run_jobs()
    corrections = store.of("correct")
    assert [(c.previous.number, c.tracking.number) for c in corrections] == [
        (UPS_NUMBER, RIGHT_NUMBER), (RIGHT_NUMBER, THIRD_NUMBER)]
    assert store.fulfilments["F1"]["number"] == THIRD_NUMBER and len(store.fulfilments) == 1


async def test_unknown_order_or_store_is_retried_later(tmp_path, store):
    h = await Harness(fast_settings(f"sqlite+aiosqlite:///{tmp_path}/ts.db"), FakeShopify(),
                      adapters={Platform.SHOPIFY: store}).start()
    try:
        async with h.db.uow() as uow:
            with pytest.raises(RetryLater, match="order order-1"):
                await handlers.on_tracking_corrected(uow, tracking_corrected())
        await h.deliver(order_received())
        async with h.db.uow() as uow:
            with pytest.raises(RetryLater, match="store store-1"):
                await handlers.on_tracking_corrected(uow, tracking_corrected())
        await h.connect_store()
        assert await h.deliver(tracking_corrected()) == "applied"
        [queued] = await h.jobs()
        assert (queued.kind, queued.key) == (CORRECT_TRACKING, "trk-2")
    finally:
        await h.close()


def test_the_service_runs_correct_tracking_jobs():
    from tracking_sync.app import build

    svc = build(fast_settings("sqlite+aiosqlite:///:memory:"))
    assert CORRECT_TRACKING in {k.kind for k in svc.job_kinds}
