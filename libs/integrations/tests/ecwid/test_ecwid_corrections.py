"""Ecwid tracking corrections against the Ecwid stand-in (httpx.ASGITransport), under ADR 24 (one tracking
number per order): the order's number is the wrong one → replaced (and its ledger line); already the new
one → nothing written; another shipment's number → only Dropline's ledger line is corrected, or nothing,
and the store's number is reported as kept; a gone order is Permanent; 429 defers."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from dropline_infra.jobs import Deferred, Permanent
from dropline_integrations.ecwid import EcwidPlatform, EcwidSettings
from dropline_integrations.ecwid.api import parse_ledger, rewrite_ledger
from dropline_integrations.limits import StoreLimiter
from dropline_integrations.port import (
    FulfilmentLine,
    FulfilmentRequest,
    StoreAccess,
    Tracking,
    TrackingCorrection,
)
from dropline_testsupport.ecwid_standin import create_app

STORE_ID = "1003"
TOKEN = "secret_store_token"
BASE = f"http://ecwid.test/api/v3/{STORE_ID}"
WRONG = Tracking(number="1Z999AA10123456784", company="UPS", url="https://ups.example/1Z999AA10123456784")
RIGHT = Tracking(number="1Z999AA10123456791", company="UPS", url="https://ups.example/1Z999AA10123456791")


@dataclass
class Env:
    client: httpx.AsyncClient
    platform: EcwidPlatform
    store: StoreAccess

    async def seed(self, order: dict[str, Any]) -> None:
        resp = await self.client.post(f"/_control/stores/{STORE_ID}/orders", json=order, params={"webhook": "false"})
        assert resp.status_code == 201, resp.text

    async def stored(self, order_id: str) -> dict[str, Any]:
        return (await self.client.get(f"/_control/stores/{STORE_ID}/orders/{order_id}")).json()

    async def fulfil(self, order_id: str, tracking: Tracking, item: int = 1000001, quantity: int = 2):
        return await self.platform.fulfil(self.store, FulfilmentRequest(
            platform_order_id=order_id, tracking=tracking,
            lines=(FulfilmentLine(line_id="l1", platform_line_id=str(item), sku=None, quantity=quantity),)))


@pytest.fixture
async def env(sample_order) -> AsyncIterator[Env]:
    app = create_app(stores=[{"store_id": STORE_ID, "secret_token": TOKEN, "client_secret": "cs", "currency": "EUR"}])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ecwid.test") as client:
        store = StoreAccess(store_id="store-1", shop=STORE_ID, api_base_url=BASE, credentials={"secret_token": TOKEN})
        yield Env(client=client, platform=EcwidPlatform(client, StoreLimiter(), EcwidSettings()), store=store)


def order_json(sample: dict[str, Any], order_id: str, **extra: Any) -> dict[str, Any]:
    order = copy.deepcopy(sample)
    order.update(id=order_id, **extra)
    order.pop("internalId", None)
    return order


def correction(order_id: str, tracking: Tracking = RIGHT, previous: Tracking = WRONG) -> TrackingCorrection:
    return TrackingCorrection(platform_order_id=order_id, platform_fulfillment_id=f"{order_id}/{previous.number}",
                              previous=previous, tracking=tracking)


async def test_the_orders_number_is_replaced_and_its_ledger_line_too(env, sample_order):
    await env.seed(order_json(sample_order, "COR01", privateAdminNotes="Gift wrap please"))
    await env.fulfil("COR01", WRONG)
    status = (await env.stored("COR01"))["order"]["fulfillmentStatus"]

    result = await env.platform.correct_tracking(env.store, correction("COR01"))
    assert (result.platform_fulfillment_id, result.already_present, result.kept_number) == (
        f"COR01/{RIGHT.number}", False, None)
    stored = await env.stored("COR01")
    order = stored["order"]
    assert (order["trackingNumber"], order["trackingUrl"]) == (RIGHT.number, RIGHT.url)
    assert order["fulfillmentStatus"] == status  # kept as it was
    notes = order["privateAdminNotes"].split("\n")
    assert notes[0] == "Gift wrap please"  # the merchant's note untouched
    [entry] = parse_ledger(order["privateAdminNotes"])
    assert (entry.number, entry.items, entry.url) == (RIGHT.number, {"1000001": 2}, RIGHT.url)
    assert stored["tracking_number"] == RIGHT.number
    assert [(h["previous"], h["trackingNumber"]) for h in stored["tracking_history"]] == [
        (None, WRONG.number), (WRONG.number, RIGHT.number)]
    assert "fulfillmentStatus" not in stored["writes"][-1]["body"] and "items" not in stored["writes"][-1]["body"]


async def test_a_rerun_after_the_write_is_already_present_and_writes_nothing(env, sample_order):
    await env.seed(order_json(sample_order, "COR02"))
    await env.fulfil("COR02", WRONG)
    await env.platform.correct_tracking(env.store, correction("COR02"))
    writes = len((await env.stored("COR02"))["writes"])
    again = await env.platform.correct_tracking(env.store, correction("COR02"))
    assert (again.already_present, again.kept_number, again.platform_fulfillment_id) == (
        True, None, f"COR02/{RIGHT.number}")
    assert len((await env.stored("COR02"))["writes"]) == writes


async def test_another_number_is_kept_and_only_our_ledger_line_is_corrected(env, sample_order):
    two_items = order_json(sample_order, "COR03")
    two_items["items"].append({**two_items["items"][0], "id": 1000002, "sku": "MUG", "quantity": 1})
    await env.seed(two_items)
    await env.fulfil("COR03", WRONG)  # written: the order's number, and its ledger line
    # The merchant typed another number over ours; our ledger line still names the wrong one.
    await env.client.put(f"/api/v3/{STORE_ID}/orders/COR03", json={"trackingNumber": "RR123456785CH"},
                         headers={"Authorization": f"Bearer {TOKEN}"})

    result = await env.platform.correct_tracking(env.store, correction("COR03"))
    assert (result.kept_number, result.already_present) == ("RR123456785CH", False)
    order = (await env.stored("COR03"))["order"]
    assert order["trackingNumber"] == "RR123456785CH"  # the store's number stays
    assert [e.number for e in parse_ledger(order["privateAdminNotes"])] == [RIGHT.number]
    assert (await env.stored("COR03"))["writes"][-1]["body"] == {"privateAdminNotes": order["privateAdminNotes"]}

    again = await env.platform.correct_tracking(env.store, correction("COR03"))
    assert (again.kept_number, again.already_present) == ("RR123456785CH", True)


async def test_another_number_and_no_ledger_line_writes_nothing(env, sample_order):
    await env.seed(order_json(sample_order, "COR04"))
    await env.fulfil("COR04", Tracking(number="1ZFIRST", company="UPS"))
    kept = await env.fulfil("COR04", WRONG, quantity=1)  # a second parcel: kept out (ADR 24)
    assert kept.kept_number == "1ZFIRST"
    writes = len((await env.stored("COR04"))["writes"])

    result = await env.platform.correct_tracking(env.store, correction("COR04"))
    assert (result.kept_number, result.already_present, result.platform_fulfillment_id) == (
        "1ZFIRST", False, f"COR04/{RIGHT.number}")
    assert len((await env.stored("COR04"))["writes"]) == writes


async def test_a_gone_order_is_permanent_and_429_defers(env, sample_order):
    with pytest.raises(Permanent, match="404"):
        await env.platform.correct_tracking(env.store, correction("NOPE1"))
    await env.seed(order_json(sample_order, "COR05"))
    await env.fulfil("COR05", WRONG)
    await env.client.post(f"/_control/stores/{STORE_ID}/failures", json={"status": 429, "seconds": 30, "retry_after": 5})
    with pytest.raises(Deferred) as caught:
        await env.platform.correct_tracking(env.store, correction("COR05"))
    assert caught.value.retry_after == pytest.approx(5, abs=0.5)
    await env.client.delete(f"/_control/stores/{STORE_ID}/failures")
    assert (await env.stored("COR05"))["order"]["trackingNumber"] == WRONG.number


def test_rewrite_ledger_leaves_other_lines_alone():
    notes = ("call first\n[Dropline] shipment: tracking 1ZOLD; carrier UPS; items 1x1; url https://u/1ZOLD\n"
             "[Dropline] shipment: tracking 1ZOTHER; items 2x1")
    rewritten = rewrite_ledger(notes, "1zold", Tracking(number="1ZNEW"))
    assert rewritten == ("call first\n[Dropline] shipment: tracking 1ZNEW; carrier UPS; items 1x1\n"
                         "[Dropline] shipment: tracking 1ZOTHER; items 2x1")
    assert rewrite_ledger(notes, "1ZNONE", Tracking(number="1ZNEW")) is None
    assert rewrite_ledger(None, "1ZOLD", Tracking(number="1ZNEW")) is None
