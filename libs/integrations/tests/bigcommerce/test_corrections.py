"""BigCommerce tracking corrections against the stand-in (httpx.ASGITransport): GET the shipment, PUT the
right number on it (never a new shipment); a rerun writes nothing; a gone shipment is Permanent; 429 defers."""

from __future__ import annotations

from typing import Any

import pytest

from dropline_infra.jobs import Deferred, Permanent
from dropline_integrations.port import FulfilmentLine, FulfilmentRequest, Tracking, TrackingCorrection
from dropline_testsupport.bigcommerce_standin.samples import sample

WRONG = Tracking(number="1Z999AA10123456784", company="UPS")
RIGHT = Tracking(number="1Z999AA10123456791", company="UPS")


async def shipped(env: Any, order_id: int) -> str:
    payload = sample()
    order = {**payload["order"], "id": order_id, "status_id": 11}
    products = [{**payload["products"][0], "id": order_id * 10 + 1, "quantity": 2}]
    await env.seed(order, products, payload["shipping_addresses"])
    result = await env.platform.fulfil(env.store, FulfilmentRequest(
        platform_order_id=str(order_id), tracking=WRONG,
        lines=(FulfilmentLine(line_id="d1", platform_line_id=str(order_id * 10 + 1), sku=None, quantity=2),)))
    return result.platform_fulfillment_id


def correction(order_id: int, shipment_id: str, tracking: Tracking = RIGHT) -> TrackingCorrection:
    return TrackingCorrection(platform_order_id=str(order_id), platform_fulfillment_id=shipment_id,
                              previous=WRONG, tracking=tracking)


async def api_calls(env: Any) -> list[dict[str, Any]]:
    return (await env.control.get(f"/_control/stores/{env.store.shop}/api-log")).json()["requests"]


async def test_corrected_once_on_the_same_shipment(env: Any) -> None:
    shipment_id = await shipped(env, 500)
    result = await env.platform.correct_tracking(
        env.store, correction(500, shipment_id, Tracking(number=RIGHT.number, company="DHL",
                                                         url="https://dhl.example/t/1")))
    assert (result.platform_fulfillment_id, result.already_present, result.kept_number) == (shipment_id, False, None)
    view = await env.view(500)
    [shipment] = view["shipments"]  # the same shipment, no second one
    assert str(shipment["id"]) == shipment_id and shipment["tracking_number"] == RIGHT.number
    assert (shipment["shipping_provider"], shipment["tracking_carrier"], shipment["tracking_link"],
            shipment["shipping_method"]) == ("", "dhl", "https://dhl.example/t/1", "DHL")
    assert view["tracking_numbers"] == {shipment_id: RIGHT.number}
    [change] = view["tracking_changes"]
    assert (change["previous"], change["tracking_number"]) == (WRONG.number, RIGHT.number)
    assert view["products"][0]["quantity_shipped"] == 2  # the items were not touched


async def test_a_rerun_after_the_write_is_already_present_and_writes_nothing(env: Any) -> None:
    shipment_id = await shipped(env, 501)
    await env.platform.correct_tracking(env.store, correction(501, shipment_id))
    before = len(await api_calls(env))
    again = await env.platform.correct_tracking(env.store, correction(501, shipment_id))
    assert again.already_present and again.platform_fulfillment_id == shipment_id
    assert [c["method"] for c in (await api_calls(env))[before:]] == ["GET"]
    assert len((await env.view(501))["tracking_changes"]) == 1


async def test_an_unknown_shipment_is_permanent(env: Any) -> None:
    await shipped(env, 502)
    with pytest.raises(Permanent, match="gone from store"):
        await env.platform.correct_tracking(env.store, correction(502, "99999"))
    with pytest.raises(Permanent, match="numeric"):
        await env.platform.correct_tracking(env.store, correction(502, "abc"))
    assert not any(c["method"] == "PUT" for c in await api_calls(env))


async def test_429_defers_and_nothing_is_written(env: Any) -> None:
    shipment_id = await shipped(env, 503)
    await env.fail(429, seconds=20)
    with pytest.raises(Deferred):
        await env.platform.correct_tracking(env.store, correction(503, shipment_id))
    assert env.platform.api.limiter.snapshot()  # the store is blocked locally now
    assert (await env.view(503))["shipments"][0]["tracking_number"] == WRONG.number


async def test_a_number_too_long_is_permanent_before_any_call(env: Any) -> None:
    shipment_id = await shipped(env, 504)
    before = len(await api_calls(env))
    with pytest.raises(Permanent, match="50 characters"):
        await env.platform.correct_tracking(env.store, correction(504, shipment_id, Tracking(number="X" * 51)))
    assert len(await api_calls(env)) == before
