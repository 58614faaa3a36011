"""The internal HTTP API and the pay-exactly-once flow, against a fake card provider on SQLite."""

import json
from decimal import Decimal

import pytest
from sqlmodel import col, select

from checkout.models import CheckoutOrder, CheckoutPayment
from dropline_infra.models import OutboxMessage
from dropline_schemas import topics as T
from dropline_schemas.events import OrderPaidV1, OrderPaymentFailedV1, OrderPaymentStartedV1, OrderStatus


def pay_body(order_ids, request_id="req-1", payment_method="pm_card_visa", retailer_id="ret-1", method="card"):
    return {"retailer_id": retailer_id, "order_ids": order_ids, "method": method, "payment_method": payment_method,
            "request_id": request_id}


async def seed(harness, *orders):
    for o in orders:
        assert await harness.deliver(harness_received(o)) == "applied"
    return [o.order_id for o in orders]


def harness_received(o):
    from dropline_schemas.events import OrderReceivedV1

    return OrderReceivedV1.create(data=o, producer="order-ingest", tenant_id=o.retailer_id,
                                  correlation_id=f"store-order-{o.platform_order_id}")


async def outbox(db, topic):
    async with db.uow() as uow:
        rows = (await uow.session.exec(select(OutboxMessage).where(OutboxMessage.topic == topic.name)
                                       .order_by(col(OutboxMessage.id)))).all()
    return rows


async def statuses(db, ids):
    async with db.uow() as uow:
        return {i: (await uow.session.get(CheckoutOrder, i)).status for i in ids}


# --------------------------------------------------------------------------- reads


async def test_unpaid_orders_are_grouped_by_supplier(harness, make_order, make_terms):
    a1, a2 = make_order(("12.50", 2), ("3.333", 1)), make_order(("7.99", 1))
    b1 = make_order(("10", 1), supplier=make_terms("sup-us", currency="USD", vat="0", name="US Goods"))
    other = make_order(retailer_id="ret-2")
    await seed(harness, a1, a2, b1, other, make_order(status=OrderStatus.NON_AUTO_ORDER))
    r = await harness.http.get("/internal/v1/unpaid", params={"retailer_id": "ret-1"})
    assert r.status_code == 200
    body = r.json()
    groups = {g["supplier_id"]: g for g in body["suppliers"]}
    assert set(groups) == {"sup-eu", "sup-us"}
    eu = groups["sup-eu"]
    assert (eu["name"], eu["currency"], eu["order_count"]) == ("Supplier sup-eu", "EUR", 2)
    assert eu["order_ids"] == [a1.order_id, a2.order_id]
    assert eu["amounts"] == {"currency": "EUR", "product_cost": "36.32", "shipping": "13.00", "vat": "10.36",
                             "total": "59.68"}
    assert groups["sup-us"]["amounts"]["total"] == "15.00" and groups["sup-us"]["name"] == "US Goods"


async def test_quote_in_supplier_currency_and_usd(harness, make_order, make_terms):
    ids = await seed(harness, make_order(("12.50", 2), ("3.333", 1)), make_order(("7.99", 1)))
    r = await harness.http.post("/internal/v1/quotes", json={"retailer_id": "ret-1", "order_ids": ids})
    assert r.status_code == 200, r.text
    q = r.json()
    assert [o["order_id"] for o in q["orders"]] == ids
    assert q["orders"][0]["supplier_currency"]["total"] == "43.96" and q["orders"][0]["usd"]["total"] == "48.16"
    assert q["total"]["supplier_currency"]["total"] == "59.68"
    assert q["total"]["usd"] == {"currency": "USD", "product_cost": "39.79", "shipping": "14.24", "vat": "11.35",
                                 "total": "65.38"}
    assert q["charge"] == {"currency": "USD", "amount": "65.38", "amount_minor": 6538}
    assert q["fx"]["rate"] == "1.0956" and q["fx"]["rate_date"] == "2024-01-02"
    assert q["fx"]["source"].startswith("ECB")
    assert q["payment_methods"] == ["card"]


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("body, status, code", [
    ({"retailer_id": "ret-1", "order_ids": []}, 422, "empty_order_ids"),
    ({"retailer_id": "ret-1", "order_ids": ["a", "a"]}, 422, "duplicate_order_ids"),
    ({"retailer_id": "ret-1"}, 422, "invalid_request"),
    ({"retailer_id": "ret-1", "order_ids": "a"}, 422, "invalid_request"),
    ({"retailer_id": "ret-1", "order_ids": ["a"], "extra": 1}, 422, "invalid_request"),
    ({"retailer_id": "ret-1", "order_ids": ["does-not-exist"]}, 404, "orders_not_found"),
])
async def test_bad_quote_requests_get_a_clear_4xx(harness, body, status, code):
    r = await harness.http.post("/internal/v1/quotes", json=body)
    assert r.status_code == status
    assert r.json()["error"]["code"] == code and r.json()["error"]["message"]


async def test_malformed_json_is_a_422_not_a_500(harness):
    r = await harness.http.post("/internal/v1/payments", content=b"{not json",
                                headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"


async def test_another_retailers_orders_look_like_missing_ones(harness, make_order):
    mine, theirs = make_order(), make_order(retailer_id="ret-2")
    await seed(harness, mine, theirs)
    for path, body in (("/internal/v1/quotes", {"retailer_id": "ret-1", "order_ids": [theirs.order_id]}),
                       ("/internal/v1/payments", pay_body([mine.order_id, theirs.order_id]))):
        r = await harness.http.post(path, json=body)
        assert r.status_code == 404
        err = r.json()["error"]
        assert err["code"] == "orders_not_found" and err["order_ids"] == [theirs.order_id]
        assert "ret-2" not in r.text and theirs.order_number not in r.text
    assert harness.provider.calls == []


async def test_mixed_suppliers_are_refused(harness, make_order, make_terms):
    ids = await seed(harness, make_order(), make_order(supplier=make_terms("sup-b")))
    r = await harness.http.post("/internal/v1/payments", json=pay_body(ids))
    assert r.status_code == 422 and r.json()["error"]["code"] == "mixed_suppliers"
    assert await statuses(harness.db, ids) == dict.fromkeys(ids, "unpaid")


async def test_orders_that_are_not_unpaid_are_refused_with_each_status(harness, make_order):
    paid, fresh = make_order(), make_order()
    non_auto = make_order(status=OrderStatus.NON_AUTO_ORDER)
    await seed(harness, paid, fresh, non_auto)
    assert (await harness.http.post("/internal/v1/payments", json=pay_body([paid.order_id]))).status_code == 201
    r = await harness.http.post("/internal/v1/payments",
                                json=pay_body([fresh.order_id, paid.order_id, non_auto.order_id], "req-2"))
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "not_payable"
    assert {(o["order_id"], o["status"]) for o in err["orders"]} == {(paid.order_id, "paid"),
                                                                     (non_auto.order_id, "non_auto_order")}
    assert await statuses(harness.db, [fresh.order_id]) == {fresh.order_id: "unpaid"}  # nothing claimed


async def test_method_checks(harness, make_order, make_terms):
    card_only = make_order()
    both = make_order(supplier=make_terms("sup-pp", methods=("card", "paypal")))
    await seed(harness, card_only, both)
    r = await harness.http.post("/internal/v1/payments", json=pay_body([card_only.order_id], method="paypal"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "method_not_accepted"
    assert r.json()["error"]["accepted"] == ["card"]
    r = await harness.http.post("/internal/v1/payments", json=pay_body([both.order_id], method="paypal",
                                                                       payment_method=None))
    assert r.status_code == 422 and r.json()["error"]["code"] == "return_url_required"  # PayPal sends the buyer back
    r = await harness.http.post("/internal/v1/payments", json=pay_body([both.order_id], payment_method=None))
    assert r.status_code == 422 and r.json()["error"]["code"] == "payment_method_required"
    assert await statuses(harness.db, [card_only.order_id, both.order_id]) == {
        card_only.order_id: "unpaid", both.order_id: "unpaid"}


async def test_amount_below_the_card_minimum(harness, make_order, make_terms):
    ids = await seed(harness, make_order(("0.10", 1), supplier=make_terms("s", currency="USD", first="0", vat="0")))
    r = await harness.http.post("/internal/v1/payments", json=pay_body(ids))
    assert r.status_code == 422 and r.json()["error"]["code"] == "amount_too_small"


async def test_unknown_supplier_currency(harness, make_order, make_terms):
    ids = await seed(harness, make_order(supplier=make_terms("s", currency="XXX")))
    r = await harness.http.post("/internal/v1/quotes", json={"retailer_id": "ret-1", "order_ids": ids})
    assert r.status_code == 422 and r.json()["error"]["code"] == "unsupported_currency"


async def test_internal_token_is_required_when_configured(settings_for, fake_provider):
    import httpx

    from checkout.app import build

    svc = build(settings_for(internal_token="s3cret"), provider=fake_provider)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.app), base_url="http://c") as http:
        r = await http.get("/internal/v1/unpaid", params={"retailer_id": "ret-1"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        r = await http.get("/internal/v1/unpaid", params={"retailer_id": "ret-1"},
                           headers={"X-Internal-Token": "wrong"})
        assert r.status_code == 401
        r = await http.get("/internal/v1/unpaid", params={"retailer_id": "ret-1"},
                           headers={"X-Internal-Token": "s3cret"})
        assert r.status_code == 200
        assert (await http.get("/healthz")).status_code == 200
    await svc.db.dispose()


def test_the_development_stripe_key_is_refused_in_production():
    from checkout.settings import Settings

    paypal = {"paypal_client_id": "live-id", "paypal_client_secret": "live-secret", "paypal_webhook_id": "WH-LIVE"}
    with pytest.raises(ValueError, match="stripe_api_key"):
        Settings(environment="production", secrets_key="x" * 44, **paypal)
    with pytest.raises(ValueError, match="stripe_webhook_secret"):
        Settings(environment="production", stripe_api_key="sk_live_real", **paypal)
    with pytest.raises(ValueError, match="paypal_client_id"):
        Settings(environment="production", stripe_api_key="sk_live_real", stripe_webhook_secret="whsec_real")
    s = Settings(environment="production", stripe_api_key="sk_live_real", stripe_webhook_secret="whsec_real", **paypal)
    assert s.stripe_api_key.get_secret_value() == "sk_live_real" and s.paypal_client_id == "live-id"


# --------------------------------------------------------------------------- paying


async def test_a_bulk_card_payment_pays_every_order_once(harness, make_order):
    orders = [make_order(("12.50", 2), ("3.333", 1)), make_order(("7.99", 1)), make_order(("100.00", 3))]
    ids = await seed(harness, *orders)
    # The third order is sold below its cost (19.99 a unit): the retailer confirms the price check.
    r = await harness.http.post("/internal/v1/payments", json=pay_body(ids) | {"confirm_flagged": True})
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["status"] == "succeeded" and p["failure_reason"] is None
    assert p["order_ids"] == ids and p["provider"] == "stripe" and p["provider_reference"].startswith("pi_")
    assert p["charge"] == {"currency": "USD", "amount": "473.68", "amount_minor": 47368}
    assert p["total"]["supplier_currency"]["total"] == "432.36"
    assert r.headers["location"] == f"/internal/v1/payments/{p['payment_id']}"
    assert harness.provider.intents[p["provider_reference"]]["amount"] == 47368
    assert harness.provider.intents[p["provider_reference"]]["metadata"] == {
        "payment_id": p["payment_id"], "supplier_id": "sup-eu", "order_count": "3"}
    assert await statuses(harness.db, ids) == dict.fromkeys(ids, "paid")

    rows = await outbox(harness.db, T.ORDER_PAID)
    assert [row.key for row in rows] == sorted(ids)
    events = {e.data.order_id: e for e in (OrderPaidV1.model_validate_json(row.payload) for row in rows)}
    e = events[orders[0].order_id]
    assert (e.data.payment_id, e.data.provider_reference, e.data.method.value) == (
        p["payment_id"], p["provider_reference"], "card")
    assert str(e.data.supplier_currency_amounts.total) == "43.96" and str(e.data.usd_amounts.total) == "48.16"
    assert e.data.fx.rate_date == "2024-01-02" and str(e.data.fx.rate) == "1.0956"
    assert e.data.order.order_id == orders[0].order_id and e.data.order.status == OrderStatus.PAID
    assert e.tenant_id == "ret-1" and e.correlation_id == f"store-order-{orders[0].platform_order_id}"
    assert e.causation_id == p["payment_id"] and e.producer == "checkout"
    assert await outbox(harness.db, T.ORDER_PAYMENT_FAILED) == []

    got = await harness.http.get(f"/internal/v1/payments/{p['payment_id']}", params={"retailer_id": "ret-1"})
    assert got.status_code == 200 and got.json() == p
    other = await harness.http.get(f"/internal/v1/payments/{p['payment_id']}", params={"retailer_id": "ret-2"})
    assert other.status_code == 404 and other.json()["error"]["code"] == "payment_not_found"


async def test_a_declined_card_answers_402_and_gives_the_orders_back(harness, make_order):
    ids = await seed(harness, make_order(), make_order())
    r = await harness.http.post("/internal/v1/payments", json=pay_body(ids, payment_method="pm_card_chargeCustomerFail"))
    assert r.status_code == 402
    p = r.json()
    assert p["status"] == "failed" and "declined" in p["failure_reason"]
    assert await statuses(harness.db, ids) == dict.fromkeys(ids, "unpaid")
    failed = [OrderPaymentFailedV1.model_validate_json(row.payload) for row in
              await outbox(harness.db, T.ORDER_PAYMENT_FAILED)]
    assert sorted(e.data.order_id for e in failed) == sorted(ids)
    assert all(e.data.provider_reference == p["provider_reference"] for e in failed)
    assert await outbox(harness.db, T.ORDER_PAID) == []
    # The retailer tries again with another card: a new request.
    r = await harness.http.post("/internal/v1/payments", json=pay_body(ids, request_id="req-2"))
    assert r.status_code == 201 and r.json()["status"] == "succeeded"


async def test_an_unknown_payment_method_fails_the_payment_cleanly(harness, make_order):
    ids = await seed(harness, make_order())
    r = await harness.http.post("/internal/v1/payments", json=pay_body(ids, payment_method="pm_unknown"))
    assert r.status_code == 402 and "does not exist" in r.json()["failure_reason"]
    assert await statuses(harness.db, ids) == dict.fromkeys(ids, "unpaid")


async def test_the_same_request_id_returns_the_same_payment_without_a_second_charge(harness, make_order):
    ids = await seed(harness, make_order(), make_order())
    first = await harness.http.post("/internal/v1/payments", json=pay_body(ids))
    again = await harness.http.post("/internal/v1/payments", json=pay_body(list(reversed(ids))))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert harness.provider.count("create") == 1 and harness.provider.count("confirm") == 1
    assert len(await outbox(harness.db, T.ORDER_PAID)) == 2
    # A declined payment replays as declined too.
    ids2 = await seed(harness, make_order())
    body = pay_body(ids2, request_id="req-declined", payment_method="pm_card_chargeCustomerFail")
    assert (await harness.http.post("/internal/v1/payments", json=body)).status_code == 402
    replay = await harness.http.post("/internal/v1/payments", json=body)
    assert replay.status_code == 402 and harness.provider.count("create") == 2


async def test_a_request_id_reused_for_other_orders_is_refused(harness, make_order):
    a, b = await seed(harness, make_order(), make_order())
    assert (await harness.http.post("/internal/v1/payments", json=pay_body([a]))).status_code == 201
    r = await harness.http.post("/internal/v1/payments", json=pay_body([b]))
    assert r.status_code == 422 and r.json()["error"]["code"] == "request_id_reused"
    assert await statuses(harness.db, [b]) == {b: "unpaid"}


async def test_a_3d_secure_card_waits_for_the_buyer_then_succeeds(harness, make_order):
    ids = await seed(harness, make_order())
    r = await harness.http.post("/internal/v1/payments",
                                json=pay_body(ids, payment_method="pm_card_authenticationRequired"))
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["status"] == "requires_action" and p["next_action"]["type"] == "authenticate_card"
    assert p["next_action"]["client_secret"].startswith(p["provider_reference"])
    assert await statuses(harness.db, ids) == dict.fromkeys(ids, "payment_pending")
    harness.provider.authenticate(p["provider_reference"], success=True)  # stripe.js, in the browser
    done = await harness.http.post(f"/internal/v1/payments/{p['payment_id']}/complete", json={"retailer_id": "ret-1"})
    assert done.status_code == 200 and done.json()["status"] == "succeeded" and done.json()["next_action"] is None
    assert await statuses(harness.db, ids) == dict.fromkeys(ids, "paid")
    assert harness.provider.count("confirm") == 1 and len(await outbox(harness.db, T.ORDER_PAID)) == 1


async def test_a_failed_3d_secure_authentication_releases_the_orders(harness, make_order):
    ids = await seed(harness, make_order())
    p = (await harness.http.post("/internal/v1/payments",
                                 json=pay_body(ids, payment_method="pm_card_authenticationRequired"))).json()
    harness.provider.authenticate(p["provider_reference"], success=False)
    done = await harness.http.post(f"/internal/v1/payments/{p['payment_id']}/complete", json={"retailer_id": "ret-1"})
    assert done.json()["status"] == "failed" and "authentication failed" in done.json()["failure_reason"]
    assert await statuses(harness.db, ids) == dict.fromkeys(ids, "unpaid")


async def test_another_retailer_cannot_complete_or_cancel_a_payment(harness, make_order):
    ids = await seed(harness, make_order())
    p = (await harness.http.post("/internal/v1/payments",
                                 json=pay_body(ids, payment_method="pm_card_authenticationRequired"))).json()
    for action in ("complete", "cancel"):
        r = await harness.http.post(f"/internal/v1/payments/{p['payment_id']}/{action}", json={"retailer_id": "ret-2"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "payment_not_found"
    assert await statuses(harness.db, ids) == dict.fromkeys(ids, "payment_pending")


async def test_provider_unreachable_at_create_charges_nothing_and_releases(harness, make_order):
    ids = await seed(harness, make_order())
    harness.provider.fail_next.add("create")
    r = await harness.http.post("/internal/v1/payments", json=pay_body(ids))
    assert r.status_code == 402 and "could not be reached" in r.json()["failure_reason"]
    assert await statuses(harness.db, ids) == dict.fromkeys(ids, "unpaid")


# --------------------------------------------------------------------------- recovery


async def test_a_network_error_at_confirm_leaves_the_payment_processing_until_recovery(harness, make_order):
    ids = await seed(harness, make_order(), make_order())
    harness.provider.fail_next |= {"confirm", "retrieve"}
    r = await harness.http.post("/internal/v1/payments", json=pay_body(ids))
    assert r.status_code == 201 and r.json()["status"] == "processing"
    pid = r.json()["payment_id"]
    assert await statuses(harness.db, ids) == dict.fromkeys(ids, "payment_pending")
    # Another checkout cannot take these orders meanwhile.
    r2 = await harness.http.post("/internal/v1/payments", json=pay_body(ids, request_id="req-2"))
    assert r2.status_code == 409 and {o["payment_id"] for o in r2.json()["error"]["orders"]} == {pid}

    assert await harness.checkout.recover_once() == 0  # not stuck long enough yet
    harness.checkout.settings.payment_recovery_after_seconds = 0
    assert await harness.checkout.recover_once() == 1
    p = (await harness.http.get(f"/internal/v1/payments/{pid}", params={"retailer_id": "ret-1"})).json()
    assert p["status"] == "succeeded"
    assert await statuses(harness.db, ids) == dict.fromkeys(ids, "paid")
    assert len(await outbox(harness.db, T.ORDER_PAID)) == 2
    assert harness.provider.count("create") == 1
    assert await harness.checkout.recover_once() == 0  # nothing left open


async def test_a_crash_before_the_intent_id_is_saved_is_undone_by_recovery(harness, make_order):
    from checkout.views import PaymentRequest

    ids = await seed(harness, make_order())
    harness.provider.crash_after_create = True
    with pytest.raises(Exception, match="process died"):
        await harness.checkout.pay(PaymentRequest(**pay_body(ids)))
    async with harness.db.uow() as uow:
        (payment,) = (await uow.session.exec(select(CheckoutPayment))).all()
    assert payment.status == "created" and payment.provider_reference is None
    assert await statuses(harness.db, ids) == dict.fromkeys(ids, "payment_pending")

    harness.checkout.settings.payment_recovery_after_seconds = 0
    assert await harness.checkout.recover_once() == 1
    async with harness.db.uow() as uow:
        payment = await uow.session.get(CheckoutPayment, payment.payment_id)
    assert payment.status == "failed" and "interrupted" in payment.failure_reason
    assert await statuses(harness.db, ids) == dict.fromkeys(ids, "unpaid")
    (pi,) = harness.provider.intents.values()
    assert pi["status"] == "requires_confirmation"  # created but never confirmed: no money moved
    assert harness.provider.count("confirm") == 0
    assert len(await outbox(harness.db, T.ORDER_PAYMENT_FAILED)) == 1


async def test_a_late_provider_answer_never_confirms_a_payment_recovery_closed(harness, make_order):
    """The request waited so long for create_intent that recovery already released the orders."""
    ids = await seed(harness, make_order())
    checkout, provider = harness.checkout, harness.provider
    real_open = provider.open

    async def slow_open(req):
        checkout.settings.payment_recovery_after_seconds = 0
        assert await checkout.recover_once() == 1  # runs "while we wait"
        return await real_open(req)

    provider.open = slow_open
    r = await harness.http.post("/internal/v1/payments", json=pay_body(ids))
    assert r.status_code == 402 and "interrupted" in r.json()["failure_reason"]
    assert provider.count("confirm") == 0 and provider.count("cancel") == 1
    assert await statuses(harness.db, ids) == dict.fromkeys(ids, "unpaid")


def test_payment_rows_store_amounts_as_strings(make_order):
    from datetime import date

    from checkout.domain import build_quote
    from checkout.fx import usd_rate

    q = build_quote([make_order(("12.50", 2))], usd_rate("EUR", date(2024, 1, 2)))
    raw = json.loads(q.model_dump_json())
    assert raw["charge"]["amount"] == "41.76"  # 27.39 + 7.12 + 7.25
    assert isinstance(raw["fx"]["rate"], str) and Decimal(raw["fx"]["rate"]) == q.fx.rate


# --------------------------------------------------------------------------- OrderPaymentStarted


async def started_events(db) -> list[OrderPaymentStartedV1]:
    rows = await outbox(db, T.ORDER_PAYMENT_STARTED)
    events = [OrderPaymentStartedV1.model_validate_json(row.payload) for row in rows]
    assert [row.key for row in rows] == [e.data.order_id for e in events]
    return events


async def test_checkout_start_publishes_payment_started_per_order_with_the_quoted_amounts(harness, make_order):
    orders = [make_order(("12.50", 2), ("3.333", 1)), make_order(("7.99", 1)), make_order(("100.00", 3))]
    ids = await seed(harness, *orders)
    # The third order is sold below its cost (19.99 a unit): the retailer confirms the price check.
    r = await harness.http.post("/internal/v1/payments", json=pay_body(ids) | {"confirm_flagged": True})
    assert r.status_code == 201, r.text
    p = r.json()
    started = await started_events(harness.db)
    assert sorted(e.data.order_id for e in started) == sorted(ids)
    by_order = {e.data.order_id: e for e in started}
    for o in orders:
        e = by_order[o.order_id]
        line = next(q for q in p["orders"] if q["order_id"] == o.order_id)
        assert (e.event_type, e.producer, e.tenant_id) == ("OrderPaymentStarted", "checkout", "ret-1")
        assert e.correlation_id == f"store-order-{o.platform_order_id}" and e.causation_id == p["payment_id"]
        assert (e.data.payment_id, e.data.method.value) == (p["payment_id"], "card")
        assert {k: str(v) for k, v in e.data.supplier_currency_amounts.model_dump().items()} == {
            k: v for k, v in line["supplier_currency"].items() if k != "currency"}
        assert {k: str(v) for k, v in e.data.usd_amounts.model_dump().items()} == {
            k: v for k, v in line["usd"].items() if k != "currency"}
        assert (e.data.fx.from_currency, str(e.data.fx.rate), e.data.fx.rate_date) == ("EUR", "1.0956", "2024-01-02")
    # Per order amounts add up to the payment's totals and to the USD charge.
    for part in ("product_cost", "shipping", "vat", "total"):
        assert str(sum(getattr(e.data.supplier_currency_amounts, part) for e in started)) == \
            p["total"]["supplier_currency"][part]
        assert str(sum(getattr(e.data.usd_amounts, part) for e in started)) == p["total"]["usd"][part]
    assert str(sum(e.data.usd_amounts.total for e in started)) == p["charge"]["amount"] == "473.68"
    # Started comes before paid in the outbox (the claim committed first).
    async with harness.db.uow() as uow:
        topics = [row.topic for row in (await uow.session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))
                  .all() if row.topic in (T.ORDER_PAYMENT_STARTED.name, T.ORDER_PAID.name)]
    assert topics == [T.ORDER_PAYMENT_STARTED.name] * 3 + [T.ORDER_PAID.name] * 3


async def test_a_declined_payment_publishes_started_then_failed_for_each_order(harness, make_order):
    ids = await seed(harness, make_order(), make_order())
    r = await harness.http.post("/internal/v1/payments",
                                json=pay_body(ids, payment_method="pm_card_chargeCustomerFail"))
    assert r.status_code == 402
    pid = r.json()["payment_id"]
    async with harness.db.uow() as uow:
        rows = (await uow.session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    for oid in ids:
        steps = [(row.topic, json.loads(row.payload)["data"]["payment_id"]) for row in rows
                 if row.key == oid and row.topic != T.ORDER_PRICED.name]
        assert steps == [(T.ORDER_PAYMENT_STARTED.name, pid), (T.ORDER_PAYMENT_FAILED.name, pid)]
    assert await outbox(harness.db, T.ORDER_PAID) == []


async def test_a_refused_or_replayed_request_publishes_no_payment_started(harness, make_order):
    ids = await seed(harness, make_order(), make_order())
    first = await harness.http.post("/internal/v1/payments", json=pay_body(ids))
    assert first.status_code == 201
    rows_after_first = len(await outbox_all(harness.db))
    again = await harness.http.post("/internal/v1/payments", json=pay_body(ids))
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert len(await outbox_all(harness.db)) == rows_after_first
    # Declined and replayed: still only the first attempt's events.
    ids2 = await seed(harness, make_order())
    body = pay_body(ids2, request_id="req-declined", payment_method="pm_card_chargeCustomerFail")
    assert (await harness.http.post("/internal/v1/payments", json=body)).status_code == 402
    rows_after_declined = len(await outbox_all(harness.db))
    assert (await harness.http.post("/internal/v1/payments", json=body)).status_code == 402
    assert len(await outbox_all(harness.db)) == rows_after_declined > rows_after_first
    # A refused request (the orders are already paid) claims nothing and publishes nothing.
    refused = await harness.http.post("/internal/v1/payments", json=pay_body(ids, request_id="req-3"))
    assert refused.status_code == 409
    assert len(await outbox_all(harness.db)) == rows_after_declined
    assert sorted(e.data.order_id for e in await started_events(harness.db)) == sorted([*ids, *ids2])


async def outbox_all(db):
    async with db.uow() as uow:
        return (await uow.session.exec(select(OutboxMessage))).all()
