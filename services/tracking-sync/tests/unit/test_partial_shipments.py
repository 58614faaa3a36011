"""Partial shipments: a TrackingAdded with `lines` (quantities per line) fulfils exactly those quantities;
over-shipping or unknown lines fail permanently with the reason; the adapter's kept_number (a store that
keeps one tracking number per order) reaches OrderSynced."""

from __future__ import annotations

import pytest
from sqlmodel import select
from tracking_sync_testkit import UPS_NUMBER, Harness, fast_settings, order_received, tracking_added

from dropline_integrations.port import FulfilmentLine, FulfilmentResult
from dropline_schemas import topics as T
from dropline_schemas.events import Platform
from tracking_sync.domain import Shipped, UnknownLines, lines_to_fulfil

LINES = [FulfilmentLine("l-1", "p-1", "A", 3), FulfilmentLine("l-2", "p-2", "B", 1)]


def test_shipped_quantities_replace_the_line_quantities():
    assert lines_to_fulfil(LINES, None, [Shipped("l-1", 1)]) == [FulfilmentLine("l-1", "p-1", "A", 1)]
    assert lines_to_fulfil(LINES, ["l-2"], [Shipped("l-2", 1), Shipped("l-1", 3)]) == LINES  # lines wins


def test_a_line_named_twice_counts_both():
    assert lines_to_fulfil(LINES, None, [Shipped("l-1", 1), Shipped("l-1", 2)]) == [LINES[0]]


def test_without_shipped_lines_line_ids_or_all_lines_as_before():
    assert lines_to_fulfil(LINES, None, None) == LINES
    assert lines_to_fulfil(LINES, ["l-2"], None) == [LINES[1]]


def test_more_than_the_line_has_is_refused_with_the_reason():
    with pytest.raises(UnknownLines, match=r"ships more than the order has: l-1 \(4 shipped, the order has 3\)"):
        lines_to_fulfil(LINES, None, [Shipped("l-1", 4)])
    with pytest.raises(UnknownLines, match=r"l-1 \(4 shipped"):
        lines_to_fulfil(LINES, None, [Shipped("l-1", 2), Shipped("l-1", 2)])


def test_unknown_shipped_line_is_refused():
    with pytest.raises(UnknownLines, match="not in the order: x-9"):
        lines_to_fulfil(LINES, None, [Shipped("x-9", 1)])


async def test_one_of_two_is_fulfilled_then_the_other_as_a_second_fulfillment(harness, shopify):
    await harness.connect_store()
    await harness.deliver(order_received())
    await harness.deliver(tracking_added(tracking_id="trk-1", lines={"l-1": 1}))
    await harness.deliver(tracking_added(tracking_id="trk-2", number="1Z999AA10123456795", url=None,
                                         lines={"l-1": 1, "l-2": 1}))
    await harness.run_jobs()
    first, second = shopify.mutations()
    assert first["fulfillment"]["lineItemsByFulfillmentOrder"][0]["fulfillmentOrderLineItems"] == [
        {"id": "gid://shopify/FulfillmentOrderLineItem/11", "quantity": 1}]
    assert second["fulfillment"]["lineItemsByFulfillmentOrder"][0]["fulfillmentOrderLineItems"] == [
        {"id": "gid://shopify/FulfillmentOrderLineItem/11", "quantity": 1},
        {"id": "gid://shopify/FulfillmentOrderLineItem/12", "quantity": 1}]
    assert len(await harness.jobs()) == 2  # one job per tracking record
    assert [e["data"]["kept_number"] for e in await harness.outbox(T.ORDER_SYNCED)] == [None, None]


async def test_over_shipping_is_reported_not_written(harness, shopify):
    await harness.connect_store()
    await harness.deliver(order_received())
    await harness.deliver(tracking_added(lines={"l-2": 2}))
    await harness.run_jobs()
    assert shopify.requests == []
    [failed] = await harness.outbox(T.ORDER_SYNC_FAILED)
    assert failed["data"]["reason"] == "tracking ships more than the order has: l-2 (2 shipped, the order has 1)"


class KeepsOneNumber:
    """An adapter whose store already holds another number (as Ecwid's adapter answers)."""

    platform = Platform.ECWID

    def __init__(self):
        self.requests = []

    async def fulfil(self, store, request):
        self.requests.append(request)
        return FulfilmentResult(platform_fulfillment_id=f"{request.platform_order_id}:{request.tracking.number}",
                                kept_number="EARLIER-1")


async def test_kept_number_reaches_order_synced(tmp_path, shopify):
    adapter = KeepsOneNumber()
    h = await Harness(fast_settings(f"sqlite+aiosqlite:///{tmp_path}/ts.db"), shopify,
                      adapters={Platform.ECWID: adapter}).start()
    try:
        await h.connect_store(platform=Platform.ECWID, api_base_url="https://app.ecwid.com/api/v3/1")
        await h.deliver(order_received(platform=Platform.ECWID))
        await h.deliver(tracking_added(lines={"l-1": 2}))
        await h.run_jobs()
        [request] = adapter.requests
        assert [(line.line_id, line.quantity) for line in request.lines] == [("l-1", 2)]
        [event] = await h.outbox(T.ORDER_SYNCED)
        assert (event["data"]["kept_number"], event["data"]["tracking_number"]) == ("EARLIER-1", UPS_NUMBER)
    finally:
        await h.close()


async def test_an_orders_shipments_reach_the_store_in_the_order_they_were_reported(harness, shopify):
    """Two workers may claim two write-backs of one order at once (a batch queues both in one commit); the
    later one waits for the earlier (Ecwid keeps the first number it is given, ADR 24)."""
    from datetime import timedelta

    from dropline_infra.db import utcnow
    from dropline_infra.models import Job

    await harness.connect_store()
    await harness.deliver(order_received())
    await harness.deliver(tracking_added(tracking_id="trk-1", lines={"l-1": 1}))
    await harness.deliver(tracking_added(tracking_id="trk-2", number="1Z999AA10123456795", url=None,
                                         lines={"l-2": 1}))
    async with harness.db.uow() as uow:  # the earlier one is not due yet: only the later one can be claimed
        first = (await uow.session.exec(select(Job).where(Job.key == "trk-1"))).one()
        first.next_attempt_at = utcnow() + timedelta(seconds=0.3)
        uow.session.add(first)
        await uow.commit()
    assert await harness.worker.run_one()
    assert shopify.mutations() == []  # trk-2 was not written before trk-1
    later = await harness.get(Job, first.id + 1)
    assert later.key == "trk-2" and later.attempts == 0 and "trk-1 is written back first" in later.last_error
    await harness.run_jobs()
    written = [m["fulfillment"]["trackingInfo"]["number"] for m in shopify.mutations()]
    assert written == [UPS_NUMBER, "1Z999AA10123456795"]
