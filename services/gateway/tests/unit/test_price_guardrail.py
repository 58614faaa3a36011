"""The price guardrail in the gateway: the retailer's maximum buy price (GET/PUT /api/v1/settings,
kept with the retailer's account) is passed to checkout on every unpaid, quote and payment call;
POST /api/v1/payments passes confirm_flagged; checkout's 409 price_check_failed reaches the client
with the flagged orders. In-process on SQLite, checkout a recording fake."""

from __future__ import annotations

import httpx
import pytest

from dropline_infra.migrations import upgrade
from gateway.app import MIGRATIONS, build
from gateway.errors import GatewayError
from gateway.settings import Settings

ADMIN = {"Authorization": "Bearer dev-admin-token"}
PASSWORD = "correct horse battery"
FX = {"from_currency": "EUR", "to_currency": "USD", "rate": "1.0956", "rate_date": "2024-01-02", "source": "ECB"}
AMOUNTS = {"product_cost": "10.00", "shipping": "5.00", "vat": "3.15", "total": "18.15"}
USD = {"currency": "USD", "product_cost": "10.96", "shipping": "5.48", "vat": "3.45", "total": "19.89"}
EUR = {"currency": "EUR", **AMOUNTS}
GUARDRAIL = {"order_id": "o-1", "order_number": "D100001", "store_currency": "USD", "revenue": "15.00",
             "revenue_usd": "15.00", "cost_usd": "19.89", "margin_usd": "-4.89", "revenue_fx": None,
             "max_buy_price_usd": None, "flags": ["loss"],
             "reasons": ["Loses money: the customer paid $15.00 for these items, the supplier costs $19.89 "
                         "(margin −$4.89)."], "flagged": True}
PRICE_CHECK = {"max_buy_price_usd": None, "basis": "…", "orders": [GUARDRAIL], "flagged_order_ids": ["o-1"],
               "requires_confirmation": True}
QUOTE = {"retailer_id": "r", "supplier": {"supplier_id": "sup", "name": "Berlin", "currency": "EUR"},
         "payment_methods": ["card"],
         "orders": [{"order_id": "o-1", "order_number": "D100001", "supplier_currency": EUR, "usd": USD}],
         "total": {"supplier_currency": EUR, "usd": USD}, "charge": {"currency": "USD", "amount": "19.89",
                                                                    "amount_minor": 1989},
         "fx": FX, "price_check": PRICE_CHECK}
PAYMENT = {k: QUOTE[k] for k in ("supplier", "orders", "total", "charge", "fx")} | {
    "payment_id": "pay-1", "retailer_id": "r", "request_id": "k", "status": "succeeded", "method": "card",
    "order_ids": ["o-1"], "provider": "stripe", "provider_reference": "pi_1", "failure_reason": None,
    "created_at": "2026-12-01T10:00:00Z", "completed_at": "2026-12-01T10:00:01Z"}


class RecordingCheckout:
    """checkout's internal API: records every call; pays only with confirm_flagged (as checkout does
    for a flagged order)."""

    def __init__(self):
        self.calls: list[tuple[str, str, dict | None]] = []

    async def call(self, method, path, *, json=None, params=None):
        self.calls.append((method, path, json if json is not None else params))
        if path == "/internal/v1/unpaid":
            return 200, {"retailer_id": params["retailer_id"], "suppliers": [], "price_check": PRICE_CHECK}
        if path == "/internal/v1/quotes":
            return 200, QUOTE
        if path == "/internal/v1/payments":
            if not json.get("confirm_flagged"):
                raise GatewayError(409, "price_check_failed", "1 of these orders is flagged by the price check. "
                                   "D100001: Loses money … Nothing was charged",
                                   orders=[{"order_id": "o-1", "order_number": "D100001", "flags": ["loss"]}])
            return 201, PAYMENT
        raise AssertionError(f"unexpected call {method} {path}")


@pytest.fixture
async def gw(tmp_path):
    settings = Settings(data_dir=tmp_path, environment="test")
    upgrade("gateway", settings.database_url, MIGRATIONS)
    checkout = RecordingCheckout()
    svc = build(settings, checkout=checkout)
    transport = httpx.ASGITransport(app=svc.app, client=("203.0.113.8", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="https://gw.example") as client:
        mine = (await client.post("/admin/v1/retailers", json={"name": "Mine"}, headers=ADMIN)).json()
        theirs = (await client.post("/admin/v1/retailers", json={"name": "Theirs"}, headers=ADMIN)).json()
        r = await client.post(f"/admin/v1/retailers/{mine['retailer_id']}/users", headers=ADMIN,
                              json={"email": "ann@example.com", "password": PASSWORD})
        assert r.status_code == 201, r.text
        client.svc, client.checkout, client.retailer = svc, checkout, mine
        client.key = {"Authorization": f"Bearer {mine['api_key']}"}
        client.their_key = {"Authorization": f"Bearer {theirs['api_key']}"}
        yield client
    await svc.db.dispose()


# --------------------------------------------------------------------------- the setting


async def test_the_max_buy_price_is_unset_then_set_then_cleared(gw):
    r = await gw.get("/api/v1/settings", headers=gw.key)
    assert r.status_code == 200 and r.json() == {"max_buy_price_usd": None}
    r = await gw.put("/api/v1/settings", json={"max_buy_price_usd": "40"}, headers=gw.key)
    assert r.status_code == 200 and r.json() == {"max_buy_price_usd": "40.00"}
    assert (await gw.get("/api/v1/settings", headers=gw.key)).json() == {"max_buy_price_usd": "40.00"}
    assert (await gw.get("/api/v1/settings", headers=gw.their_key)).json() == {"max_buy_price_usd": None}
    r = await gw.put("/api/v1/settings", json={"max_buy_price_usd": None}, headers=gw.key)
    assert r.status_code == 200 and r.json() == {"max_buy_price_usd": None}
    assert (await gw.get("/api/v1/settings", headers=gw.key)).json() == {"max_buy_price_usd": None}


@pytest.mark.parametrize("body", [{"max_buy_price_usd": "-1"}, {"max_buy_price_usd": "0"},
                                  {"max_buy_price_usd": "abc"}, {"max_buy_price_usd": "12.345"},
                                  {"max_buy_price_usd": "1000000"}, {}, {"max_buy_price_usd": "5", "x": 1}])
async def test_a_bad_max_buy_price_is_a_readable_422(gw, body):
    r = await gw.put("/api/v1/settings", json=body, headers=gw.key)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid_request" and r.json()["message"]
    assert (await gw.get("/api/v1/settings", headers=gw.key)).json() == {"max_buy_price_usd": None}


async def test_a_browser_changes_the_setting_only_with_the_csrf_token(gw):
    assert (await gw.get("/api/v1/settings")).status_code == 401
    csrf = (await gw.post("/api/v1/session", json={"email": "ann@example.com", "password": PASSWORD})
            ).json()["csrf_token"]
    assert (await gw.get("/api/v1/settings")).json() == {"max_buy_price_usd": None}
    r = await gw.put("/api/v1/settings", json={"max_buy_price_usd": "25.50"})
    assert r.status_code == 403 and r.json()["error"] == "csrf_failed"
    r = await gw.put("/api/v1/settings", json={"max_buy_price_usd": "25.50"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json() == {"max_buy_price_usd": "25.50"}


# --------------------------------------------------------------------------- passed to checkout


async def test_the_setting_goes_to_checkout_with_unpaid_quote_and_payment(gw):
    rid = gw.retailer["retailer_id"]
    await gw.get("/api/v1/unpaid", headers=gw.key)
    await gw.post("/api/v1/checkout/quote", json={"order_ids": ["o-1"]}, headers=gw.key)
    await gw.post("/api/v1/payments", json={"order_ids": ["o-1"], "payment_method": "pm_card_visa",
                                            "confirm_flagged": True}, headers=gw.key)
    unset = list(gw.checkout.calls)
    assert unset[0] == ("GET", "/internal/v1/unpaid", {"retailer_id": rid})
    assert unset[1] == ("POST", "/internal/v1/quotes", {"retailer_id": rid, "order_ids": ["o-1"]})
    assert "max_buy_price_usd" not in unset[2][2] and unset[2][2]["confirm_flagged"] is True

    await gw.put("/api/v1/settings", json={"max_buy_price_usd": "12.50"}, headers=gw.key)
    gw.checkout.calls.clear()
    await gw.get("/api/v1/unpaid", headers=gw.key)
    await gw.post("/api/v1/checkout/quote", json={"order_ids": ["o-1"]}, headers=gw.key)
    await gw.post("/api/v1/payments", json={"order_ids": ["o-1"], "payment_method": "pm_card_visa",
                                            "confirm_flagged": True}, headers=gw.key)
    (_, _, unpaid), (_, _, quote), (_, _, pay) = gw.checkout.calls
    assert unpaid == {"retailer_id": rid, "max_buy_price_usd": "12.50"}
    assert quote == {"retailer_id": rid, "order_ids": ["o-1"], "max_buy_price_usd": "12.50"}
    assert pay["max_buy_price_usd"] == "12.50" and pay["confirm_flagged"] is True

    gw.checkout.calls.clear()  # another retailer's calls carry its own (unset) setting
    await gw.get("/api/v1/unpaid", headers=gw.their_key)
    assert "max_buy_price_usd" not in gw.checkout.calls[0][2]


async def test_the_quote_and_unpaid_list_carry_the_price_check(gw):
    q = (await gw.post("/api/v1/checkout/quote", json={"order_ids": ["o-1"]}, headers=gw.key)).json()
    assert q["price_check"]["flagged_order_ids"] == ["o-1"] and q["price_check"]["orders"][0]["flags"] == ["loss"]
    assert q["price_check"]["orders"][0]["margin_usd"] == "-4.89"
    u = (await gw.get("/api/v1/unpaid", headers=gw.key)).json()
    assert u["price_check"]["requires_confirmation"] is True


async def test_paying_a_flagged_order_without_confirmation_answers_409_with_the_orders(gw):
    r = await gw.post("/api/v1/payments", json={"order_ids": ["o-1"], "payment_method": "pm_card_visa"},
                      headers=gw.key)
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"] == "price_check_failed" and "D100001" in body["message"]
    assert body["details"]["orders"] == [{"order_id": "o-1", "order_number": "D100001", "flags": ["loss"]}]
    assert gw.checkout.calls[-1][2]["confirm_flagged"] is False
    r = await gw.post("/api/v1/payments", json={"order_ids": ["o-1"], "payment_method": "pm_card_visa",
                                                "confirm_flagged": True}, headers=gw.key)
    assert r.status_code == 201 and r.json()["status"] == "succeeded"


async def test_confirm_flagged_must_be_a_boolean(gw):
    r = await gw.post("/api/v1/payments", json={"order_ids": ["o-1"], "payment_method": "pm_card_visa",
                                                "confirm_flagged": "maybe"}, headers=gw.key)
    assert r.status_code == 422 and r.json()["error"] == "invalid_request"
    assert gw.checkout.calls == []
