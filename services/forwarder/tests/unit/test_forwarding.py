"""forward_order end to end inside one process: OrderPaid in, supplier call through httpx.MockTransport,
outcome and events in the outbox (SQLite, real migrations, the real consumer and job worker)."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from forwarder_testkit import API_KEY, SUPPLIER_URL, TENANT, make_order, order_paid, supplier_registered

from dropline_infra.db import utcnow
from dropline_infra.messaging import RetryLater
from dropline_schemas import topics as T
from forwarder import handlers
from forwarder.models import ForwarderForward


def registered(harness, **kwargs):
    return supplier_registered(harness.settings.secrets_key.get_secret_value(), **kwargs)


async def test_paid_order_is_sent_to_the_supplier_with_its_idempotency_key(harness, supplier):
    await harness.deliver(registered(harness))
    paid = order_paid()
    assert await harness.deliver(paid) == "applied"
    await harness.run_jobs()

    [request] = supplier.requests
    assert request.method == "POST"
    assert str(request.url) == f"{SUPPLIER_URL}/v1/orders"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Idempotency-Key"] == "dropline-order-order-1"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "external_id": "order-1",
        "order_number": "D100001",
        "lines": [{"sku": "ACME-IPOD-G", "quantity": 2, "title": "iPod Nano - green"},
                  {"sku": "ACME-CASE", "quantity": 1, "title": "Case"}],
        "ship_to": {"name": "Bob Norman", "address1": "Chestnut Street 92", "address2": "Apt 1",
                    "city": "Louisville", "province": "Kentucky", "province_code": "KY", "zip": "40202",
                    "country_code": "US", "phone": "555-625-1199"},
        "customer": {"email": "bob.norman@example.com", "phone": "+15556251199"},
    }

    forward = await harness.get(ForwarderForward, "order-1")
    assert (forward.supplier_id, forward.supplier_order_id, forward.attempts) == ("sup-1", "SO-00001", 1)
    [event] = await harness.outbox(T.ORDER_FORWARDED)
    assert event["_key"] == "order-1"
    assert event["event_type"] == "OrderForwarded"
    assert event["data"]["supplier_order_id"] == "SO-00001"
    assert event["data"]["attempts"] == 1
    # The forward belongs to the order's story and was caused by the payment event.
    assert (event["tenant_id"], event["correlation_id"], event["causation_id"]) == (
        TENANT, paid.correlation_id, str(paid.event_id))
    assert event["producer"] == "forwarder"
    assert (await harness.jobs())[0].status == "done"


@pytest.mark.parametrize("first_answer", [503, 429, 500, httpx.ConnectError("connection refused"),
                                          httpx.ReadTimeout("read timed out")],
                         ids=["503", "429", "500", "network", "timeout"])
async def test_transient_supplier_failure_is_retried_with_the_same_key_and_emits_one_event(
        harness, supplier, first_answer):
    supplier.script = [first_answer]
    await harness.deliver(registered(harness))
    await harness.deliver(order_paid())
    await harness.run_jobs()

    assert len(supplier.requests) == 2
    assert {r.headers["Idempotency-Key"] for r in supplier.requests} == {"dropline-order-order-1"}
    [event] = await harness.outbox(T.ORDER_FORWARDED)
    assert event["data"]["attempts"] == 2
    assert (await harness.get(ForwarderForward, "order-1")).attempts == 2
    assert await harness.outbox(T.ORDER_FORWARDING_FAILED) == []


async def test_retry_after_from_the_supplier_sets_the_next_attempt(harness, supplier):
    supplier.script = [lambda _r: httpx.Response(429, headers={"Retry-After": "120"}, json={"error": "slow down"})]
    await harness.deliver(registered(harness))
    await harness.deliver(order_paid())
    assert await harness.worker.run_one()

    [job] = await harness.jobs()
    assert job.status == "pending" and job.attempts == 1
    wait = job.next_attempt_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None)
    assert timedelta(seconds=110) < wait <= timedelta(seconds=120)
    assert "HTTP 429" in job.last_error


async def test_rejected_order_is_permanent_and_reported_at_once(harness, supplier):
    supplier.script = [lambda _r: httpx.Response(422, json={"error": {"code": "unknown_sku",
                                                                       "message": "unknown sku ACME-CASE"}})]
    await harness.deliver(registered(harness))
    paid = order_paid()
    await harness.deliver(paid)
    await harness.run_jobs()

    assert len(supplier.requests) == 1  # not retried
    [job] = await harness.jobs()
    assert (job.status, job.attempts) == ("failed", 1)
    [failed] = await harness.outbox(T.ORDER_FORWARDING_FAILED)
    assert failed["_key"] == "order-1"
    assert failed["data"]["status_code"] == 422
    assert failed["data"]["supplier_id"] == "sup-1"
    assert failed["data"]["reason"] == ("the supplier's order API refused the order (HTTP 422): "
                                        "unknown_sku: unknown sku ACME-CASE")
    assert failed["data"]["rejected_by_supplier"] is True  # checkout refunds it
    assert failed["causation_id"] == str(paid.event_id)
    assert await harness.outbox(T.ORDER_FORWARDED) == []
    assert await harness.get(ForwarderForward, "order-1") is None


@pytest.mark.parametrize("status, body", [
    (400, {"error": "out_of_stock", "message": "ACME-CASE is sold out", "sku": "ACME-CASE"}),
    (410, {"error": {"code": "discontinued", "message": "no longer sold"}}),
    (422, {"error": "invalid_request", "details": [{"loc": ["ship_to", "city"], "msg": "missing"}]}),
], ids=["400-out-of-stock", "410-discontinued", "422-invalid-address"])
async def test_a_4xx_about_the_order_is_the_suppliers_rejection(harness, supplier, status, body):
    supplier.script = [lambda _r: httpx.Response(status, json=body)]
    await harness.deliver(registered(harness))
    await harness.deliver(order_paid())
    await harness.run_jobs()

    assert len(supplier.requests) == 1
    [failed] = await harness.outbox(T.ORDER_FORWARDING_FAILED)
    assert (failed["data"]["status_code"], failed["data"]["rejected_by_supplier"]) == (status, True)


@pytest.mark.parametrize("status, body", [
    (401, {"error": "unauthorized"}),
    (403, {"error": "forbidden"}),
    (404, {"error": "not_found"}),
    (400, {"error": "idempotency_key_required"}),
    (422, {"error": "idempotency_key_reused", "message": "this Idempotency-Key was used with a different body"}),
    (422, {"error": "invalid_json", "details": "Expecting value"}),
], ids=["401-key", "403-key", "404-url", "400-no-key", "422-key-reused", "422-not-json"])
async def test_a_4xx_about_droplines_request_is_not_a_rejection(harness, supplier, status, body):
    """A wrong key or URL, or Dropline breaking the protocol: the order could not be forwarded, but the
    supplier never said no to it, so nothing is refunded (an operator looks)."""
    supplier.script = [lambda _r: httpx.Response(status, json=body)]
    await harness.deliver(registered(harness))
    await harness.deliver(order_paid())
    await harness.run_jobs()

    assert len(supplier.requests) == 1  # permanent all the same: not retried
    [failed] = await harness.outbox(T.ORDER_FORWARDING_FAILED)
    assert (failed["data"]["status_code"], failed["data"]["rejected_by_supplier"]) == (status, False)
    assert failed["data"]["reason"].startswith(f"supplier order API: HTTP {status}")


async def test_giving_up_after_max_attempts_emits_forwarding_failed(harness, supplier):
    supplier.script = [503] * harness.settings.job_max_attempts
    await harness.deliver(registered(harness))
    await harness.deliver(order_paid())
    await harness.run_jobs()

    assert len(supplier.requests) == harness.settings.job_max_attempts == 3
    [job] = await harness.jobs()
    assert (job.status, job.attempts) == ("failed", 3)
    [failed] = await harness.outbox(T.ORDER_FORWARDING_FAILED)
    assert failed["data"]["status_code"] == 503
    assert failed["data"]["reason"].startswith("gave up after 3 attempts")
    assert failed["data"]["rejected_by_supplier"] is False  # an outage is no rejection: nothing is refunded
    assert await harness.outbox(T.ORDER_FORWARDED) == []


async def test_a_rerun_after_the_supplier_accepted_does_not_place_a_second_order(harness, supplier):
    """The worker dies after the supplier accepted and before our commit: the job runs again, the
    Idempotency-Key makes the supplier answer with the order it already has."""
    def accept_then_crash(request):
        supplier.accept(request)  # the supplier has the order now...
        raise RuntimeError("worker crashed before commit")  # ...and our transaction never commits

    supplier.script = [accept_then_crash]
    await harness.deliver(registered(harness))
    await harness.deliver(order_paid())
    await harness.run_jobs()

    assert len(supplier.requests) == 2
    assert list(supplier.orders.values()) == ["SO-00001"]  # one order at the supplier
    [event] = await harness.outbox(T.ORDER_FORWARDED)
    assert event["data"]["supplier_order_id"] == "SO-00001"


async def test_redelivered_order_paid_makes_one_job_and_one_supplier_order(harness, supplier):
    await harness.deliver(registered(harness))
    paid = order_paid()
    assert await harness.deliver(paid) == "applied"
    assert await harness.deliver(paid) == "duplicate"  # same event id (Kafka redelivery)
    assert await harness.deliver(order_paid()) == "applied"  # same order, another event id
    await harness.run_jobs()

    assert len(await harness.jobs()) == 1
    assert len(supplier.requests) == 1
    assert len(await harness.outbox(T.ORDER_FORWARDED)) == 1


async def test_unknown_supplier_is_retried_later(harness, supplier):
    async with harness.db.uow() as uow:
        with pytest.raises(RetryLater):
            await handlers.on_order_paid(uow, order_paid())
    # Through the consumer (1 attempt allowed in tests) it is dead-lettered, not silently dropped.
    assert await harness.deliver(order_paid()) == "dead-lettered"
    assert await harness.jobs() == []


async def test_catalog_arriving_later_lets_the_order_through(harness, supplier):
    paid = order_paid()
    assert await harness.deliver(paid) == "dead-lettered"
    await harness.deliver(registered(harness))
    assert await harness.deliver(paid) == "applied"  # operator replay of the dead letter
    await harness.run_jobs()
    assert len(await harness.outbox(T.ORDER_FORWARDED)) == 1


async def test_order_of_a_supplier_without_auto_order_is_not_forwarded(harness, supplier):
    await harness.deliver(registered(harness, auto_order=False, url=None, api_key=None))
    assert await harness.deliver(order_paid(make_order(auto_order=False))) == "applied"
    await harness.run_jobs()
    assert await harness.jobs() == []
    assert supplier.requests == []
    assert await harness.outbox() == []


async def test_auto_order_supplier_without_order_api_is_reported(harness, supplier):
    await harness.deliver(registered(harness, url=None, api_key=None))
    await harness.deliver(order_paid())
    assert await harness.jobs() == []
    [failed] = await harness.outbox(T.ORDER_FORWARDING_FAILED)
    assert "no order API" in failed["data"]["reason"]
    assert failed["data"]["rejected_by_supplier"] is False  # Dropline could not forward it


async def test_key_rotated_after_payment_is_used_by_the_job(harness, supplier):
    await harness.deliver(registered(harness))
    await harness.deliver(order_paid())
    await harness.deliver(registered(harness, api_key="sk_live_rotated"))
    await harness.run_jobs()
    assert supplier.requests[0].headers["Authorization"] == "Bearer sk_live_rotated"


async def test_older_supplier_event_does_not_overwrite_a_newer_one(harness, supplier):
    newer = registered(harness, api_key="sk_new")
    older = registered(harness, api_key="sk_old", occurred_at=newer.occurred_at - timedelta(minutes=5))
    await harness.deliver(newer)
    await harness.deliver(older)
    await harness.deliver(order_paid())
    await harness.run_jobs()
    assert supplier.requests[0].headers["Authorization"] == "Bearer sk_new"


async def test_line_without_supplier_sku_is_reported_not_sent(harness, supplier):
    order = make_order()
    broken = order.model_copy(update={"lines": [order.lines[0].model_copy(update={"supplier_sku": None})]})
    await harness.deliver(registered(harness))
    await harness.deliver(order_paid(broken))
    await harness.run_jobs()
    assert supplier.requests == []
    [failed] = await harness.outbox(T.ORDER_FORWARDING_FAILED)
    assert "no supplier SKU" in failed["data"]["reason"]
    assert failed["data"]["rejected_by_supplier"] is False


async def test_the_supplier_key_never_reaches_the_logs_or_events(harness, supplier, caplog):
    # A careless supplier echoes the Authorization header in its error body.
    supplier.script = [lambda r: httpx.Response(400, json={"error": f"bad request with {r.headers['Authorization']}"})]
    event = registered(harness)
    await harness.deliver(event)
    await harness.deliver(order_paid())
    await harness.run_jobs()

    logs = caplog.text
    assert "job failed for good" in logs and "Bearer ***" in logs  # the logs were captured, redacted
    sealed = event.data.order_api_key_encrypted
    assert API_KEY not in logs and sealed not in logs
    [job] = await harness.jobs()
    assert API_KEY not in job.payload and API_KEY not in (job.last_error or "")
    assert all(API_KEY not in json.dumps(e) for e in await harness.outbox())
