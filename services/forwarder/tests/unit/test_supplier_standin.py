"""forwarder against the supplier stand-in (dropline_testsupport.supplier_standin, in-process through
httpx.ASGITransport): it enforces auth, validation and Idempotency-Key like the published contract."""

from __future__ import annotations

import httpx
import pytest
from forwarder_testkit import Harness, fast_settings, make_order, order_paid, supplier_registered

from dropline_schemas import topics as T
from dropline_testsupport.supplier_standin import create_app
from forwarder.models import ForwarderForward

STANDIN_URL = "http://supplier.test"
STANDIN_KEY = "sup_test_key_123"


@pytest.fixture
async def standin():
    app = create_app({"api_key": STANDIN_KEY, "catalog": ["ACME-IPOD-G", "ACME-CASE"], "rate_limit_per_second": None})
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def control(standin):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=standin), base_url=STANDIN_URL) as client:
        yield client


@pytest.fixture
async def harness(tmp_path, standin):
    h = await Harness(fast_settings(f"sqlite+aiosqlite:///{tmp_path}/forwarder.db"),
                      httpx.ASGITransport(app=standin)).start()
    try:
        yield h
    finally:
        await h.close()


async def register(h: Harness, api_key: str = STANDIN_KEY) -> None:
    await h.deliver(supplier_registered(h.settings.secrets_key.get_secret_value(), url=STANDIN_URL, api_key=api_key))


async def test_order_is_accepted_by_the_supplier(harness, control):
    await register(harness)
    await harness.deliver(order_paid())
    await harness.run_jobs()

    [order] = (await control.get("/_control/orders")).json()["orders"]
    assert order["external_id"] == "order-1" and order["idempotency_key"] == "dropline-order-order-1"
    assert [(line["sku"], line["quantity"]) for line in order["lines"]] == [("ACME-IPOD-G", 2), ("ACME-CASE", 1)]
    forward = await harness.get(ForwarderForward, "order-1")
    assert forward.supplier_order_id == order["id"]
    [event] = await harness.outbox(T.ORDER_FORWARDED)
    assert event["data"]["supplier_order_id"] == order["id"]


async def test_lost_answer_after_the_supplier_created_the_order_is_replayed_not_duplicated(harness, control):
    # The supplier creates the order and then answers 503 (a lost response): our retry gets the same order.
    await control.post("/_control/fail-next", json={"count": 1, "status": 503, "apply": "after"})
    await register(harness)
    await harness.deliver(order_paid())
    await harness.run_jobs()

    state = (await control.get("/_control/orders")).json()
    [order] = state["orders"]
    assert order["idempotency_key_posts"] == 2
    [event] = await harness.outbox(T.ORDER_FORWARDED)
    assert event["data"]["supplier_order_id"] == order["id"]
    assert event["data"]["attempts"] == 2


async def test_unknown_sku_is_rejected_for_good(harness, control):
    order = make_order()
    unknown = order.model_copy(update={"lines": [order.lines[0].model_copy(update={"supplier_sku": "NOPE"})]})
    await register(harness)
    await harness.deliver(order_paid(unknown))
    await harness.run_jobs()

    assert (await control.get("/_control/orders")).json()["orders"] == []
    [failed] = await harness.outbox(T.ORDER_FORWARDING_FAILED)
    assert failed["data"]["status_code"] == 422 and "unknown_sku" in failed["data"]["reason"]
    assert failed["data"]["rejected_by_supplier"] is True
    assert len((await control.get("/_control/requests")).json()["requests"]) == 1


async def test_an_order_the_supplier_cannot_take_is_rejected_by_the_supplier(harness, control):
    await control.post("/_control/configure", json={"out_of_stock": ["ACME-CASE"]})
    await register(harness)
    await harness.deliver(order_paid())
    await harness.run_jobs()

    assert (await control.get("/_control/orders")).json()["orders"] == []
    [failed] = await harness.outbox(T.ORDER_FORWARDING_FAILED)
    assert failed["data"]["rejected_by_supplier"] is True and failed["data"]["status_code"] == 422
    assert failed["data"]["reason"] == ("the supplier's order API refused the order (HTTP 422): order_rejected: "
                                        "ACME-CASE is out of stock (reason out_of_stock, sku ACME-CASE)")
    assert await harness.outbox(T.ORDER_FORWARDED) == []


async def test_reject_next_makes_the_next_paid_order_a_rejection(harness, control):
    await control.post("/_control/reject-next", json={"reason": "discontinued", "message": "no longer sold"})
    await register(harness)
    await harness.deliver(order_paid())
    await harness.run_jobs()
    [failed] = await harness.outbox(T.ORDER_FORWARDING_FAILED)
    assert failed["data"]["rejected_by_supplier"] is True
    assert "discontinued" in failed["data"]["reason"] and "no longer sold" in failed["data"]["reason"]


async def test_wrong_api_key_is_permanent(harness, control):
    await register(harness, api_key="sup_wrong")
    await harness.deliver(order_paid())
    await harness.run_jobs()
    [failed] = await harness.outbox(T.ORDER_FORWARDING_FAILED)
    assert failed["data"]["status_code"] == 401
    assert failed["data"]["rejected_by_supplier"] is False  # our key, not the supplier refusing the order
    assert "sup_wrong" not in failed["data"]["reason"]


async def test_supplier_outage_is_retried_until_it_recovers(harness, control):
    await control.post("/_control/fail-next", json={"count": 1, "status": 503})
    await harness.deliver(supplier_registered(harness.settings.secrets_key.get_secret_value(), url=STANDIN_URL,
                                              api_key=STANDIN_KEY))
    await harness.deliver(order_paid())
    # The stand-in sends Retry-After: 1 with its 503s; the job honours it.
    await harness.run_jobs(timeout=10)
    [event] = await harness.outbox(T.ORDER_FORWARDED)
    assert event["data"]["attempts"] == 2
