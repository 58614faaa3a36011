"""Wix tracking corrections against the Wix stand-in over httpx.ASGITransport: List Fulfillments For Single
Order, then Update Fulfillment on the same fulfillment (never a second one); a rerun writes nothing; a
fulfillment or order that is gone is Permanent; 429 defers."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dropline_infra.jobs import Deferred, Permanent
from dropline_integrations.limits import StoreLimiter
from dropline_integrations.port import (
    FulfilmentLine,
    FulfilmentRequest,
    StoreAccess,
    Tracking,
    TrackingCorrection,
)
from dropline_integrations.wix import WixPlatform
from dropline_integrations.wix.api import corrected_tracking_info
from dropline_testsupport.wix_standin import create_app


def _samples():
    spec = importlib.util.spec_from_file_location("wix_samples", Path(__file__).with_name("wix_samples.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


S = _samples()
INSTANCE = "7d1f0f57-0000-4000-8000-00000000a002"
BASE = "http://wix.test"
WRONG = Tracking(number="1Z999AA10123456784", company="UPS")
RIGHT = Tracking(number="1Z999AA10123456791", company="UPS")


@pytest.fixture
async def env() -> AsyncIterator[dict[str, Any]]:
    app = create_app(sites=[{"instance_id": INSTANCE, "app_id": "app-1", "app_secret": "secret-1"}])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        store = StoreAccess(store_id="store-1", shop=INSTANCE, api_base_url=BASE,
                            credentials={"app_id": "app-1", "app_secret": "secret-1", "instance_id": INSTANCE})
        wix = WixPlatform(http, StoreLimiter())
        resp = await http.post(f"/_control/sites/{INSTANCE}/orders", json=S.sample_order(id=S.ORDER_ID),
                               params={"deliver": "false"})
        assert resp.status_code == 201, resp.text
        result = await wix.fulfil(store, FulfilmentRequest(
            platform_order_id=S.ORDER_ID, tracking=WRONG,
            lines=(FulfilmentLine(line_id="l1", platform_line_id=S.LINE_ID, sku=None, quantity=2),)))
        yield {"http": http, "wix": wix, "store": store, "standin": app.state.standin,
               "fulfillment_id": result.platform_fulfillment_id}


def correction(fulfillment_id: str, tracking: Tracking = RIGHT, order_id: str = S.ORDER_ID) -> TrackingCorrection:
    return TrackingCorrection(platform_order_id=order_id, platform_fulfillment_id=fulfillment_id, previous=WRONG,
                              tracking=tracking)


async def view(env: dict[str, Any]) -> dict[str, Any]:
    return (await env["http"].get(f"/_control/sites/{INSTANCE}/orders/{S.ORDER_ID}")).json()


def patches(env: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in env["standin"].sites[INSTANCE].requests if r["method"] == "PATCH"]


async def test_corrected_once_on_the_same_fulfillment(env: dict[str, Any]) -> None:
    fid = env["fulfillment_id"]
    result = await env["wix"].correct_tracking(env["store"], correction(fid))
    assert (result.platform_fulfillment_id, result.already_present, result.kept_number) == (fid, False, None)
    seen = await view(env)
    [f] = seen["orderWithFulfillments"]["fulfillments"]
    assert f["id"] == fid and f["lineItems"] == [{"id": S.LINE_ID, "quantity": 2}]
    assert f["trackingInfo"]["trackingNumber"] == RIGHT.number and f["trackingInfo"]["shippingProvider"] == "ups"
    assert RIGHT.number in f["trackingInfo"]["trackingLink"]
    assert seen["trackingNumbers"] == {fid: RIGHT.number}
    [change] = seen["trackingHistory"][fid]
    assert (change["previous"]["trackingNumber"], change["trackingInfo"]["trackingNumber"]) == (
        WRONG.number, RIGHT.number)
    assert [p["path"] for p in patches(env)] == [f"/ecom/v1/fulfillments/{fid}/orders/{S.ORDER_ID}"]


async def test_a_rerun_after_the_write_is_already_present_and_writes_nothing(env: dict[str, Any]) -> None:
    fid = env["fulfillment_id"]
    await env["wix"].correct_tracking(env["store"], correction(fid))
    again = await env["wix"].correct_tracking(env["store"], correction(fid))
    assert (again.already_present, again.platform_fulfillment_id) == (True, fid)
    assert len(patches(env)) == 1
    assert len((await view(env))["trackingHistory"][fid]) == 1


async def test_a_gone_fulfillment_or_order_is_permanent(env: dict[str, Any]) -> None:
    with pytest.raises(Permanent, match="is gone from order"):
        await env["wix"].correct_tracking(env["store"], correction("0d824fc7-2621-4e97-a5c8-489ec1b43377"))
    with pytest.raises(Permanent, match="404"):
        await env["wix"].correct_tracking(env["store"], correction(env["fulfillment_id"], order_id="no-such-order"))
    assert patches(env) == []


async def test_throttled_is_deferred_and_nothing_is_written(env: dict[str, Any]) -> None:
    await env["http"].post(f"/_control/sites/{INSTANCE}/failures", json={"status": 429, "seconds": 30})
    with pytest.raises(Deferred):
        await env["wix"].correct_tracking(env["store"], correction(env["fulfillment_id"]))
    await env["http"].delete(f"/_control/sites/{INSTANCE}/failures")
    assert (await view(env))["trackingNumbers"][env["fulfillment_id"]] == WRONG.number


async def test_another_carrier_replaces_provider_and_link(env: dict[str, Any]) -> None:
    fid = env["fulfillment_id"]
    await env["wix"].correct_tracking(env["store"], correction(
        fid, Tracking(number="CP123", company="PostNL", url="https://postnl.example/CP123")))
    [f] = (await view(env))["orderWithFulfillments"]["fulfillments"]
    assert f["trackingInfo"] == {"trackingNumber": "CP123", "shippingProvider": "PostNL",
                                 "trackingLink": "https://postnl.example/CP123"}


def test_the_update_body_sends_every_tracking_field() -> None:
    assert corrected_tracking_info(Tracking(number="X1", company="Unknown Carrier")) == {
        "trackingNumber": "X1", "shippingProvider": "Unknown Carrier", "trackingLink": None}
