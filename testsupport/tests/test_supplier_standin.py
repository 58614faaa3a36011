"""Behaviour of the supplier stand-in against the supplier contract (docs/supplier-api.md)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from dropline_testsupport.harness import Receiver, run_module
from dropline_testsupport.supplier_standin import create_app, tracking_for, ups_check_digit

API_KEY = "sup_live_key"
DROPLINE_KEY = "dl_supplier_key"
TRACKING_URL = "http://dropline.test/supplier/v1/orders/{external_id}/tracking"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def order_body(external_id: str = "DL-1001-1", **extra: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "order_number": "DL-1001-1",
        "lines": [{"sku": "SUP-MUG", "quantity": 2, "title": "Blue mug"}],
        "ship_to": {"name": "Jane Doe", "address1": "Hauptstrasse 5", "address2": None, "city": "Berlin",
                    "province": None, "province_code": None, "zip": "10115", "country_code": "DE",
                    "phone": "+49 30 1234567"},
        "customer": {"email": "jane@example.com", "phone": None},
        **extra,
    }


@dataclass
class Env:
    client: httpx.AsyncClient
    dropline: Receiver

    async def post(self, body: Any, key: str | None = "key-1", headers: dict[str, str] | None = None,
                   **kwargs: Any) -> httpx.Response:
        merged = {**AUTH, **({"Idempotency-Key": key} if key else {}), **(headers or {})}
        if isinstance(body, (bytes, str)):
            return await self.client.post("/v1/orders", content=body, headers=merged, **kwargs)
        return await self.client.post("/v1/orders", json=body, headers=merged, **kwargs)

    async def control_orders(self) -> dict[str, Any]:
        return (await self.client.get("/_control/orders")).json()


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    dropline = Receiver()
    app = create_app(
        {"api_key": API_KEY, "catalog": ["SUP-MUG", "SUP-LAMP"], "dropline_tracking_url": TRACKING_URL,
         "dropline_api_key": DROPLINE_KEY, "rate_limit_per_second": None},
        dropline_transport=dropline.transport,
        notify_retry_delays=(0.01, 0.01, 0.01),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://supplier.test") as client:
        yield Env(client, dropline)
    await app.state.standin.aclose()


async def test_orders_need_the_api_key(env: Env) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {API_KEY}"}):
        response = await env.client.post("/v1/orders", json=order_body(),
                                          headers={"Idempotency-Key": "k", **headers})
        assert response.status_code == 401 and response.json() == {"error": "unauthorized"}
    assert (await env.client.get("/v1/orders/SUP-100001")).status_code == 401
    assert (await env.control_orders())["orders"] == []


async def test_the_idempotency_key_is_required(env: Env) -> None:
    response = await env.post(order_body(), key=None)
    assert response.status_code == 400 and response.json() == {"error": "idempotency_key_required"}


async def test_an_accepted_order_can_be_looked_up(env: Env) -> None:
    response = await env.post(order_body())
    assert response.status_code == 201
    body = response.json()
    assert body["id"] == "SUP-100001" and body["status"] == "accepted"
    assert body["external_id"] == "DL-1001-1" and body["order_number"] == "DL-1001-1"
    assert body["lines"] == [{"sku": "SUP-MUG", "quantity": 2, "title": "Blue mug"}]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["created_at"])
    assert response.headers["Location"] == "/v1/orders/SUP-100001"

    by_id = await env.client.get("/v1/orders/SUP-100001", headers=AUTH)
    assert by_id.status_code == 200 and by_id.json()["shipments"] == []
    by_external = await env.client.get("/v1/orders", params={"external_id": "DL-1001-1"}, headers=AUTH)
    assert [o["id"] for o in by_external.json()["orders"]] == ["SUP-100001"]
    none = await env.client.get("/v1/orders", params={"external_id": "nope"}, headers=AUTH)
    assert none.json() == {"orders": []}
    assert (await env.client.get("/v1/orders/SUP-999999", headers=AUTH)).status_code == 404


async def test_same_key_and_body_replays_the_stored_response(env: Env) -> None:
    first = await env.post(order_body())
    # same JSON, different key order and whitespace
    reordered = json.dumps(dict(reversed(list(order_body().items()))), indent=2)
    again = await env.post(reordered, headers={"Content-Type": "application/json"})
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    control = await env.control_orders()
    assert len(control["orders"]) == 1
    assert control["orders"][0]["idempotency_key"] == "key-1"
    assert control["orders"][0]["idempotency_key_posts"] == 2


async def test_same_key_with_a_different_body_is_refused(env: Env) -> None:
    assert (await env.post(order_body())).status_code == 201
    reused = await env.post(order_body(note="leave at the door"))
    assert reused.status_code == 422 and reused.json()["error"] == "idempotency_key_reused"
    assert len((await env.control_orders())["orders"]) == 1


async def test_unknown_sku_and_malformed_bodies_are_refused(env: Env) -> None:
    unknown = await env.post(order_body(lines=[{"sku": "NOT-SOLD", "quantity": 1}]))
    assert unknown.status_code == 422 and unknown.json() == {"error": "unknown_sku", "sku": "NOT-SOLD"}
    # the key was not bound by a refused request: the corrected order goes through with it
    assert (await env.post(order_body())).status_code == 201

    broken = order_body(external_id="DL-2")
    del broken["ship_to"]["city"]
    broken["lines"][0]["quantity"] = 0
    invalid = await env.post(broken, key="key-2")
    assert invalid.status_code == 422 and invalid.json()["error"] == "invalid_request"
    locations = {tuple(d["loc"]) for d in invalid.json()["details"]}
    assert locations == {("ship_to", "city"), ("lines", 0, "quantity")}
    not_json = await env.post(b"{not json", key="key-3")
    assert not_json.status_code == 422 and not_json.json()["error"] == "invalid_json"


async def test_out_of_stock_skus_are_rejected_with_order_rejected(env: Env) -> None:
    await env.client.post("/_control/configure", json={"out_of_stock": ["SUP-LAMP"]})
    lamp = order_body(lines=[{"sku": "SUP-MUG", "quantity": 1}, {"sku": "SUP-LAMP", "quantity": 1}])
    rejected = await env.post(lamp)
    assert rejected.status_code == 422
    assert rejected.json() == {"error": "order_rejected", "reason": "out_of_stock", "sku": "SUP-LAMP",
                               "message": "SUP-LAMP is out of stock"}
    assert (await env.control_orders())["orders"] == []
    # the key was not bound by the refusal: the same order without the lamp goes through with it
    assert (await env.post(order_body())).status_code == 201


async def test_reject_next_refuses_the_next_valid_orders_only(env: Env) -> None:
    queued = await env.client.post("/_control/reject-next", json={"count": 2, "reason": "cannot_ship_to_address",
                                                                   "message": "we do not ship to DE"})
    assert queued.json()["pending_rejections"] == [{"count": 2, "reason": "cannot_ship_to_address",
                                                    "message": "we do not ship to DE"}]
    invalid = await env.post(order_body(lines=[]), key="bad")  # invalid bodies are refused as before, uncounted
    assert invalid.json()["error"] == "invalid_request"
    answers = [await env.post(order_body(), key=f"k{i}") for i in range(3)]
    assert [a.status_code for a in answers] == [422, 422, 201]
    assert answers[0].json() == {"error": "order_rejected", "reason": "cannot_ship_to_address",
                                 "message": "we do not ship to DE"}
    bad = await env.client.post("/_control/reject-next", json={"count": 0})
    assert bad.status_code == 422


async def test_rejecting_an_accepted_order_reports_it_to_dropline(env: Env) -> None:
    created = (await env.post(order_body(external_id="DL-1001/1"))).json()
    result = (await env.client.post(f"/_control/orders/{created['id']}/reject",
                                    json={"reason": "Out of stock since this morning"})).json()
    assert result["delivered"] is True and result["status_code"] == 200
    assert result["order"]["status"] == "rejected"
    (report,) = env.dropline.received
    # derived from dropline_tracking_url: …/orders/{external_id}/tracking → …/rejection
    assert report.method == "POST" and report.raw_path == "/supplier/v1/orders/DL-1001%2F1/rejection"
    assert report.headers["Authorization"] == f"Bearer {DROPLINE_KEY}"
    assert report.headers["Idempotency-Key"] == f"{created['id']}-rejection"
    assert json.loads(report.body) == {"supplier_order_id": created["id"], "reason": "Out of stock since this morning"}

    env.dropline.statuses[:] = [409]
    refused = (await env.client.post(f"/_control/orders/{created['id']}/reject")).json()
    assert refused["delivered"] is False and refused["status_code"] == 409
    assert (await env.client.post("/_control/orders/SUP-1/reject")).status_code == 404
    await env.client.post("/_control/configure", json={"dropline_tracking_url": None})
    unconfigured = (await env.client.post(f"/_control/orders/{created['id']}/reject")).json()
    assert unconfigured["delivered"] is False and "not configured" in unconfigured["error"]


async def test_injected_failure_then_success(env: Env) -> None:
    await env.client.post("/_control/fail-next", json={"count": 2, "status": 503})
    for _ in range(2):
        failed = await env.post(order_body())
        assert failed.status_code == 503 and failed.headers["Retry-After"] == "1"
    assert (await env.control_orders())["orders"] == []
    ok = await env.post(order_body())
    assert ok.status_code == 201
    control = await env.control_orders()
    assert len(control["orders"]) == 1 and control["orders"][0]["idempotency_key_posts"] == 3


async def test_failure_after_creation_is_resolved_by_retrying_with_the_same_key(env: Env) -> None:
    await env.client.post("/_control/fail-next", json={"status": 502, "apply": "after"})
    lost = await env.post(order_body())
    assert lost.status_code == 502
    retried = await env.post(order_body())
    assert retried.status_code == 200 and retried.headers["Idempotent-Replayed"] == "true"
    assert retried.json()["id"] == "SUP-100001"
    assert len((await env.control_orders())["orders"]) == 1


async def test_held_response_comes_after_the_order_exists(env: Env) -> None:
    await env.client.post("/_control/hold-next", json={"seconds": 0.5})
    call = asyncio.create_task(env.post(order_body()))
    await asyncio.sleep(0.2)
    assert not call.done()
    assert len((await env.control_orders())["orders"]) == 1
    # a retry while the first response is still held gets the stored answer
    retry = await env.post(order_body())
    assert retry.status_code == 200 and retry.json()["id"] == "SUP-100001"
    assert (await call).status_code == 201


async def test_rate_limit_answers_429_with_retry_after(env: Env) -> None:
    await env.client.post("/_control/configure", json={"rate_limit_per_second": 2})
    statuses = [(await env.client.get("/v1/orders", headers=AUTH)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = await env.client.get("/v1/orders", headers=AUTH)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json() == {"error": "rate_limited"}


async def test_shipping_reports_tracking_to_dropline(env: Env) -> None:
    created = (await env.post(order_body(external_id="DL-1001/1"))).json()
    shipped = await env.client.post(f"/_control/orders/{created['id']}/ship")
    assert shipped.status_code == 200
    result = shipped.json()
    assert result["delivered"] is True and result["status_code"] == 200
    assert result["response_body"] == {"received": True}
    (report,) = env.dropline.received
    assert report.method == "POST"
    assert report.raw_path == "/supplier/v1/orders/DL-1001%2F1/tracking"  # external_id is URL-encoded
    assert report.headers["Authorization"] == f"Bearer {DROPLINE_KEY}"
    assert report.headers["Idempotency-Key"] == f"{created['id']}-shipment-1"
    body = json.loads(report.body)
    assert set(body) == {"supplier_order_id", "tracking_number", "carrier", "tracking_url"}
    number = body["tracking_number"]
    assert body["supplier_order_id"] == created["id"] and body["carrier"] == "UPS"
    assert re.fullmatch(r"1Z[0-9A-Z]{16}", number) and ups_check_digit(number[2:17]) == number[17]
    assert body["tracking_url"] == f"https://www.ups.com/track?tracknum={number}"
    looked_up = (await env.client.get(f"/v1/orders/{created['id']}", headers=AUTH)).json()
    assert looked_up["status"] == "shipped" and looked_up["shipments"][0]["tracking_number"] == number

    given = await env.client.post(f"/_control/orders/{created['id']}/ship",
                                  json={"tracking_number": "123456789012", "carrier": "FedEx"})
    assert given.json()["shipment"]["tracking_url"] == "https://www.fedex.com/fedextrack/?trknbr=123456789012"
    assert (await env.client.post("/_control/orders/SUP-1/ship")).status_code == 404


async def test_tracking_report_retries_transient_failures(env: Env) -> None:
    created = (await env.post(order_body())).json()
    env.dropline.statuses[:] = [503, 500]
    result = (await env.client.post(f"/_control/orders/{created['id']}/ship")).json()
    assert [a["status_code"] for a in result["attempts"]] == [503, 500, 200]
    assert result["delivered"] is True and len(env.dropline.received) == 3
    assert len({r.body for r in env.dropline.received}) == 1  # the same report each time

    env.dropline.statuses[:] = [422]
    refused = (await env.client.post(f"/_control/orders/{created['id']}/ship")).json()
    assert refused["delivered"] is False and refused["status_code"] == 422 and len(refused["attempts"]) == 1


async def test_auto_ship_reports_tracking_by_itself(env: Env) -> None:
    await env.client.post("/_control/configure", json={"auto_ship_after_seconds": 0.05})
    created = (await env.post(order_body())).json()
    for _ in range(100):
        if env.dropline.received:
            break
        await asyncio.sleep(0.02)
    (report,) = env.dropline.received
    assert json.loads(report.body)["supplier_order_id"] == created["id"]
    control = await env.control_orders()
    assert control["orders"][0]["status"] == "shipped"
    assert control["orders"][0]["shipments"][0]["notification"]["delivered"] is True


async def test_requests_are_recorded_and_reset_restores_the_start(env: Env) -> None:
    await env.post(order_body())
    await env.client.post("/_control/configure", json={"carrier": "USPS"})
    log = (await env.client.get("/_control/requests")).json()["requests"]
    assert log[0]["method"] == "POST" and log[0]["status_code"] == 201
    assert log[0]["headers"]["idempotency-key"] == "key-1" and log[0]["body"]["external_id"] == "DL-1001-1"
    await env.client.post("/_control/reset")
    assert (await env.control_orders()) == {"orders": [], "idempotency_keys": []}
    assert (await env.client.get("/_control/config")).json()["carrier"] == "UPS"
    assert (await env.post(order_body())).json()["id"] == "SUP-100001"


def test_generated_tracking_numbers_have_valid_check_digits() -> None:
    assert ups_check_digit("999AA1012345678") == "4"  # 1Z999AA10123456784, UPS's documented sample
    for _ in range(50):
        number, url = tracking_for("UPS")
        assert len(number) == 18 and ups_check_digit(number[2:17]) == number[17]
        assert url == f"https://www.ups.com/track?tracknum={number}"
    assert tracking_for("Someone Else", "X1") == ("X1", None)


def test_command_line_stand_in_serves_the_contract() -> None:
    with run_module("dropline_testsupport.supplier_standin", "--api-key", API_KEY, "--catalog", "A,B") as base:
        ok = httpx.post(f"{base}/v1/orders", headers={**AUTH, "Idempotency-Key": "cli"},
                        json=order_body(lines=[{"sku": "A", "quantity": 1}]))
        assert ok.status_code == 201
        unknown = httpx.post(f"{base}/v1/orders", headers={**AUTH, "Idempotency-Key": "cli-2"},
                             json=order_body(lines=[{"sku": "C", "quantity": 1}]))
        assert unknown.json() == {"error": "unknown_sku", "sku": "C"}
