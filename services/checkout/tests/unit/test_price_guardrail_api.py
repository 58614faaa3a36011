"""The price guardrail through checkout's internal API: the unpaid view and the quote carry each
order's price check; paying a flagged order needs confirm_flagged, without it the answer is 409
price_check_failed and nothing is charged. On SQLite with the fake card provider."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import select

from checkout.models import CheckoutOrder
from dropline_infra.models import OutboxMessage
from dropline_schemas import topics as T
from dropline_schemas.events import OrderReceivedV1, StoreTotals


def priced(o, price: str, currency: str = "USD", **totals):
    """The order with every line sold at `price` in a store of `currency`."""
    lines = [line.model_copy(update={"unit_price": Decimal(price)}) for line in o.lines]
    return o.model_copy(update={"lines": lines, "store_totals": StoreTotals(currency=currency, **totals)})


async def seed(harness, *orders) -> list[str]:
    for o in orders:
        event = OrderReceivedV1.create(data=o, producer="order-ingest", tenant_id=o.retailer_id,
                                       correlation_id=f"store-order-{o.platform_order_id}")
        assert await harness.deliver(event) == "applied"
    return [o.order_id for o in orders]


def pay_body(order_ids, request_id="req-1", **extra):
    return {"retailer_id": "ret-1", "order_ids": order_ids, "method": "card", "payment_method": "pm_card_visa",
            "request_id": request_id, **extra}


async def status_of(harness, order_id: str) -> str:
    async with harness.db.uow() as uow:
        return (await uow.session.get(CheckoutOrder, order_id)).status


async def payment_started_count(harness) -> int:
    async with harness.db.uow() as uow:
        rows = (await uow.session.exec(select(OutboxMessage).where(
            OutboxMessage.topic == T.ORDER_PAYMENT_STARTED.name))).all()
    return len(rows)


# --------------------------------------------------------------------------- reads


async def test_the_quote_carries_each_orders_price_check(harness, make_order):
    # 10.00 EUR + 5.00 shipping + 21 % VAT = 18.15 EUR = 10.96 + 5.48 + 3.45 = 19.89 USD at 1.0956.
    losing = priced(make_order(("10.00", 1)), "15.00")  # sold for 15.00 USD
    winning = priced(make_order(("10.00", 1)), "30.00", "EUR")  # 30.00 EUR = 32.87 USD
    ids = await seed(harness, losing, winning)
    r = await harness.http.post("/internal/v1/quotes", json={"retailer_id": "ret-1", "order_ids": ids})
    assert r.status_code == 200, r.text
    pc = r.json()["price_check"]
    assert pc["flagged_order_ids"] == [losing.order_id] and pc["requires_confirmation"] is True
    assert pc["max_buy_price_usd"] is None and "shipping" in pc["basis"]
    lose, win = pc["orders"]
    assert (lose["order_number"], lose["store_currency"], lose["revenue"], lose["revenue_usd"]) == (
        losing.order_number, "USD", "15.00", "15.00")
    assert (lose["cost_usd"], lose["margin_usd"], lose["flags"], lose["flagged"]) == ("19.89", "-4.89", ["loss"], True)
    assert r.json()["orders"][0]["usd"]["total"] == lose["cost_usd"]  # the very figure that is charged
    assert (win["revenue"], win["revenue_usd"], win["margin_usd"], win["flags"]) == ("30.00", "32.87", "12.98", [])
    assert win["revenue_fx"]["rate"] == "1.0956"  # the quote's own EUR rate


async def test_the_quote_checks_the_max_buy_price_it_is_given(harness, make_order):
    (oid,) = await seed(harness, priced(make_order(("10.00", 1)), "100.00"))  # 10.00 EUR = 10.96 USD a unit
    body = {"retailer_id": "ret-1", "order_ids": [oid]}
    under = (await harness.http.post("/internal/v1/quotes", json=body | {"max_buy_price_usd": "10.96"})).json()
    assert under["price_check"]["orders"][0]["flags"] == []
    over = (await harness.http.post("/internal/v1/quotes", json=body | {"max_buy_price_usd": "10.95"})).json()
    g = over["price_check"]["orders"][0]
    assert g["flags"] == ["over_max_buy_price"] and g["max_buy_price_usd"] == "10.95"
    assert g["reasons"] == ["Above your max buy price of $10.95: SKU0 costs $10.96 per unit."]


async def test_the_unpaid_view_carries_each_orders_price_check(harness, make_order):
    losing, fine = priced(make_order(("10.00", 1)), "15.00"), priced(make_order(("10.00", 1)), "40.00")
    await seed(harness, losing, fine)
    r = await harness.http.get("/internal/v1/unpaid", params={"retailer_id": "ret-1", "max_buy_price_usd": "50"})
    assert r.status_code == 200, r.text
    pc = r.json()["price_check"]
    assert {g["order_id"]: g["flags"] for g in pc["orders"]} == {losing.order_id: ["loss"], fine.order_id: []}
    assert pc["flagged_order_ids"] == [losing.order_id] and pc["max_buy_price_usd"] == "50"
    assert {g["order_id"]: g["cost_usd"] for g in pc["orders"]} == {losing.order_id: "19.89", fine.order_id: "19.89"}


async def test_a_store_currency_without_a_rate_is_flagged_and_nothing_crashes(harness, make_order):
    (oid,) = await seed(harness, priced(make_order(("10.00", 1)), "99.00", "XYZ"))
    r = await harness.http.post("/internal/v1/quotes", json={"retailer_id": "ret-1", "order_ids": [oid]})
    assert r.status_code == 200, r.text
    g = r.json()["price_check"]["orders"][0]
    assert g["flags"] == ["unconverted_currency"] and g["revenue_usd"] is None and g["margin_usd"] is None
    assert g["reasons"][0].startswith("Margin unknown: what the customer paid (XYZ) cannot be converted to USD")
    unpaid = (await harness.http.get("/internal/v1/unpaid", params={"retailer_id": "ret-1"})).json()
    assert unpaid["price_check"]["flagged_order_ids"] == [oid]
    r = await harness.http.post("/internal/v1/payments", json=pay_body([oid]))
    assert r.status_code == 409 and r.json()["error"]["code"] == "price_check_failed"


async def test_a_bad_max_buy_price_is_a_clear_422(harness, make_order):
    (oid,) = await seed(harness, make_order())
    for bad in ("-1", "0", "abc", "1.234", "100000000"):
        r = await harness.http.post("/internal/v1/quotes", json={"retailer_id": "ret-1", "order_ids": [oid],
                                                                 "max_buy_price_usd": bad})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request", bad
        r = await harness.http.get("/internal/v1/unpaid", params={"retailer_id": "ret-1", "max_buy_price_usd": bad})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request", bad


# --------------------------------------------------------------------------- paying


async def test_paying_a_losing_order_without_confirmation_is_refused_and_charges_nothing(harness, make_order):
    losing, fine = priced(make_order(("10.00", 1)), "15.00"), priced(make_order(("10.00", 1)), "40.00")
    ids = await seed(harness, losing, fine)
    r = await harness.http.post("/internal/v1/payments", json=pay_body(ids))
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == "price_check_failed"
    assert losing.order_number in err["message"] and fine.order_number not in err["message"]
    assert "Loses money" in err["message"] and "Nothing was charged" in err["message"]
    assert err["orders"] == [{"order_id": losing.order_id, "order_number": losing.order_number, "flags": ["loss"],
                              "reasons": [err["orders"][0]["reasons"][0]], "revenue_usd": "15.00",
                              "cost_usd": "19.89", "margin_usd": "-4.89"}]
    assert harness.provider.calls == [] and await payment_started_count(harness) == 0
    assert [await status_of(harness, i) for i in ids] == ["unpaid", "unpaid"]


async def test_paying_a_losing_order_with_confirmation_pays_it(harness, make_order):
    ids = await seed(harness, priced(make_order(("10.00", 1)), "15.00"))
    r = await harness.http.post("/internal/v1/payments", json=pay_body(ids, confirm_flagged=True))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "succeeded" and await status_of(harness, ids[0]) == "paid"


async def test_a_refused_request_id_can_be_retried_with_confirmation(harness, make_order):
    ids = await seed(harness, priced(make_order(("10.00", 1)), "15.00"))
    assert (await harness.http.post("/internal/v1/payments", json=pay_body(ids))).status_code == 409
    r = await harness.http.post("/internal/v1/payments", json=pay_body(ids, confirm_flagged=True))
    assert r.status_code == 201 and r.json()["status"] == "succeeded"


async def test_the_max_buy_price_of_the_payment_request_is_checked(harness, make_order):
    (oid,) = await seed(harness, priced(make_order(("10.00", 1)), "100.00"))  # profitable, 10.96 USD a unit
    r = await harness.http.post("/internal/v1/payments", json=pay_body([oid], max_buy_price_usd="10.00"))
    assert r.status_code == 409 and r.json()["error"]["orders"][0]["flags"] == ["over_max_buy_price"]
    assert "Above your max buy price of $10.00" in r.json()["error"]["message"]
    r = await harness.http.post("/internal/v1/payments", json=pay_body([oid], "req-2", max_buy_price_usd="11.00"))
    assert r.status_code == 201 and r.json()["status"] == "succeeded"


async def test_an_unflagged_order_pays_without_confirmation(harness, make_order):
    (oid,) = await seed(harness, priced(make_order(("10.00", 1)), "40.00"))
    r = await harness.http.post("/internal/v1/payments", json=pay_body([oid]))
    assert r.status_code == 201 and r.json()["status"] == "succeeded"
