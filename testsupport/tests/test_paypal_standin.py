"""Behaviour of the PayPal stand-in, checked against payments.md §3 and PayPal's documented shapes (not against
its own code): OAuth, Orders v2 validation and states, PayPal-Request-Id replays, refunds, the approval page, and
webhooks signed as PayPal signs (verified here with `cryptography` and the served certificate)."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from dropline_testsupport.harness import Receiver, run_module
from dropline_testsupport.paypal_standin import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_WEBHOOK_ID,
    PayPalStandin,
    SigningKey,
    create_app,
)

BASE = "http://paypal.test"
WEBHOOK_URL = "http://dropline.test/webhooks/paypal"
KEY = SigningKey()  # one RSA key for the module: key generation is the slow part of building an app


def basic(client_id: str = DEFAULT_CLIENT_ID, secret: str = DEFAULT_CLIENT_SECRET) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def usd(value: str) -> dict[str, str]:
    return {"currency_code": "USD", "value": value}


def order_body(**changes: Any) -> dict[str, Any]:
    unit = {"amount": {**usd("12.50"), "breakdown": {"item_total": usd("10.00"), "shipping": usd("1.50"),
                                                      "tax_total": usd("1.00")}},
            "payee": {"email_address": "supplier@example.com"}, "custom_id": "pay-1", "invoice_id": "pay-1",
            "description": "3 orders"}
    body = {"intent": "CAPTURE", "purchase_units": [unit],
            "payment_source": {"paypal": {"experience_context": {
                "return_url": "http://shop.test/return?x=1", "cancel_url": "http://shop.test/cancel",
                "shipping_preference": "NO_SHIPPING", "user_action": "PAY_NOW"}}}}
    body.update(changes)
    return body


@dataclass
class Env:
    http: httpx.AsyncClient
    standin: PayPalStandin
    receiver: Receiver
    auth: dict[str, str]

    async def create(self, body: dict | None = None, *, request_id: str | None = None, prefer: str | None = None,
                     expect: int = 201) -> dict:
        headers = dict(self.auth)
        if request_id:
            headers["PayPal-Request-Id"] = request_id
        if prefer:
            headers["Prefer"] = prefer
        r = await self.http.post("/v2/checkout/orders", json=order_body() if body is None else body, headers=headers)
        assert r.status_code == expect, r.text
        return r.json()

    async def approve(self, order_id: str) -> httpx.Response:
        r = await self.http.post("/checkoutnow", data={"token": order_id, "action": "approve"})
        assert r.status_code in (200, 303), r.text
        return r

    async def capture(self, order_id: str, *, request_id: str | None = None, prefer: str | None = None
                      ) -> httpx.Response:
        headers = {**self.auth, "Content-Type": "application/json"}
        if request_id:
            headers["PayPal-Request-Id"] = request_id
        if prefer:
            headers["Prefer"] = prefer
        return await self.http.post(f"/v2/checkout/orders/{order_id}/capture", headers=headers)

    async def captured(self) -> tuple[dict, dict]:
        order = await self.create()
        await self.approve(order["id"])
        r = await self.capture(order["id"], request_id="cap-1")
        assert r.status_code == 201, r.text
        return r.json(), r.json()["purchase_units"][0]["payments"]["captures"][0]

    async def refund(self, capture_id: str, body: dict | None = None, *, request_id: str | None = None,
                     prefer: str | None = "return=representation") -> httpx.Response:
        headers = dict(self.auth)
        if request_id:
            headers["PayPal-Request-Id"] = request_id
        if prefer:
            headers["Prefer"] = prefer
        return await self.http.post(f"/v2/payments/captures/{capture_id}/refund", json=body, headers=headers)

    async def deliveries(self) -> list:
        await self.standin.webhooks.drain()
        return list(self.receiver.received)


@pytest.fixture
async def env():
    receiver = Receiver()
    app = create_app(webhook_url=WEBHOOK_URL, webhook_transport=receiver.transport, webhook_retry_delay_seconds=0,
                     signing_key=KEY)
    standin = app.state.standin
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        r = await http.post("/v1/oauth2/token", data={"grant_type": "client_credentials"}, headers=basic())
        yield Env(http, standin, receiver, {"Authorization": f"Bearer {r.json()['access_token']}"})
    await standin.webhooks.aclose()


def assert_error(r: httpx.Response, status: int, name: str, issue: str, field: str | None = None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["name"] == name and body["message"]
    assert re.fullmatch(r"[0-9a-f]{13}", body["debug_id"]) and r.headers["paypal-debug-id"] == body["debug_id"]
    detail = body["details"][0]
    assert detail["issue"] == issue and detail["description"]
    if field is not None:
        assert detail["field"] == field
    [link] = body["links"]
    assert link["rel"] == "information_link" and link["method"] == "GET" and issue in link["href"]
    return detail


# -- OAuth ------------------------------------------------------------------------------------------

async def test_client_credentials_give_a_bearer_token(env):
    r = await env.http.post("/v1/oauth2/token", data={"grant_type": "client_credentials"}, headers=basic())
    token = r.json()
    assert r.status_code == 200 and token["token_type"] == "Bearer" and token["expires_in"] == 32400
    assert token["access_token"].startswith("A21AA") and token["app_id"].startswith("APP-") and token["scope"]

    wrong = await env.http.post("/v1/oauth2/token", data={"grant_type": "client_credentials"},
                                headers=basic(secret="nope"))
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "invalid_client", "error_description": "Client Authentication failed"}
    no_grant = await env.http.post("/v1/oauth2/token", headers=basic())
    assert no_grant.status_code == 400 and no_grant.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("auth", [None, "Bearer not-a-token", "Basic " + base64.b64encode(b"a:b").decode()])
async def test_every_api_call_needs_a_valid_bearer_token(env, auth):
    headers = {"Authorization": auth} if auth else {}
    r = await env.http.post("/v2/checkout/orders", json=order_body(), headers=headers)
    assert r.status_code == 401 and r.json()["name"] == "AUTHENTICATION_FAILURE"
    assert (await env.http.get("/v2/payments/captures/X", headers=headers)).status_code == 401
    assert env.standin.counts["orders_created"] == 0


async def test_revoked_tokens_stop_working(env):
    await env.http.post("/_control/revoke-tokens")
    r = await env.http.post("/v2/checkout/orders", json=order_body(), headers=env.auth)
    assert r.status_code == 401


# -- create order -----------------------------------------------------------------------------------

UNIT = "/purchase_units/@reference_id=='default'"


def with_unit(**changes: Any) -> dict[str, Any]:
    body = order_body()
    body["purchase_units"][0].update(changes)
    return body


def amount(value: str, currency: str = "USD", **breakdown: str) -> dict[str, Any]:
    out: dict[str, Any] = {"currency_code": currency, "value": value}
    if breakdown:
        out["breakdown"] = {k: {"currency_code": currency, "value": v} for k, v in breakdown.items()}
    return out


@pytest.mark.parametrize(("body", "status", "issue", "field"), [
    ({"purchase_units": order_body()["purchase_units"]}, 400, "MISSING_REQUIRED_PARAMETER", "/intent"),
    (order_body(intent="SALE"), 400, "INVALID_PARAMETER_VALUE", "/intent"),
    (order_body(purchase_units=[]), 400, "INVALID_ARRAY_MIN_ITEMS", "/purchase_units"),
    (order_body(purchase_units=[{"reference_id": str(i), "amount": usd("1.00")} for i in range(11)]), 400,
     "INVALID_ARRAY_MAX_ITEMS", "/purchase_units"),
    (with_unit(amount=usd("12,50")), 400, "INVALID_PARAMETER_SYNTAX", f"{UNIT}/amount/value"),
    (with_unit(amount={"currency_code": "usd", "value": "1.00"}), 400, "INVALID_PARAMETER_SYNTAX",
     f"{UNIT}/amount/currency_code"),
    (with_unit(amount={"currency_code": "XYZ", "value": "1.00"}), 422, "CURRENCY_NOT_SUPPORTED",
     f"{UNIT}/amount/currency_code"),
    (with_unit(amount={"currency_code": "JPY", "value": "100.50"}), 422, "DECIMALS_NOT_SUPPORTED",
     f"{UNIT}/amount/value"),
    (with_unit(amount=usd("1.005")), 422, "DECIMAL_PRECISION", f"{UNIT}/amount/value"),
    (with_unit(amount=usd("0.00")), 422, "CANNOT_BE_ZERO_OR_NEGATIVE", f"{UNIT}/amount/value"),
    (with_unit(amount=amount("13.00", item_total="10.00", shipping="1.50", tax_total="1.00")), 422, "AMOUNT_MISMATCH",
     f"{UNIT}/amount/value"),
    (with_unit(amount=amount("12.50", item_total="10.00", shipping="1.50", shipping_discount="0.50", discount="1.00",
                             handling="2.00")), 422, "AMOUNT_MISMATCH", f"{UNIT}/amount/value"),  # adds up to 12.00
    (with_unit(amount=amount("10.00", item_total="10.00"),
               items=[{"name": "Mug", "quantity": "3", "unit_amount": usd("3.00")}]), 422, "ITEM_TOTAL_MISMATCH",
     f"{UNIT}/amount/breakdown/item_total/value"),
    (with_unit(amount=usd("9.00"), items=[{"name": "Mug", "quantity": "3", "unit_amount": usd("3.00")}]), 422,
     "ITEM_TOTAL_REQUIRED", f"{UNIT}/amount/breakdown/item_total"),
    (with_unit(amount={"currency_code": "USD", "value": "10.00", "breakdown": {"item_total": {
        "currency_code": "EUR", "value": "10.00"}}}), 422, "CURRENCY_MISMATCH",
     f"{UNIT}/amount/breakdown/item_total/currency_code"),
    (with_unit(payee={"merchant_id": "lowercase123"}), 400, "INVALID_PARAMETER_SYNTAX", f"{UNIT}/payee/merchant_id"),
    (with_unit(payee={"email_address": "not-an-email"}), 400, "INVALID_PARAMETER_SYNTAX",
     f"{UNIT}/payee/email_address"),
    (order_body(purchase_units=[{"amount": usd("1.00")}, {"amount": usd("2.00")}]), 422, "REFERENCE_ID_REQUIRED",
     "/purchase_units/0/reference_id"),
    (order_body(purchase_units=[{"reference_id": "a", "amount": usd("1.00")},
                                {"reference_id": "a", "amount": usd("2.00")}]), 422, "DUPLICATE_REFERENCE_ID",
     "/purchase_units/1/reference_id"),
    (order_body(payment_source={"paypal": {"experience_context": {"return_url": "not a url"}}}), 400,
     "INVALID_PARAMETER_SYNTAX", "/payment_source/paypal/experience_context/return_url"),
])
async def test_create_order_rejects_what_paypal_rejects(env, body, status, issue, field):
    r = await env.http.post("/v2/checkout/orders", json=body, headers=env.auth)
    name = "INVALID_REQUEST" if status == 400 else "UNPROCESSABLE_ENTITY"
    assert_error(r, status, name, issue, field)
    assert env.standin.counts["orders_created"] == 0


async def test_discounts_subtract_and_items_add_up(env):
    body = with_unit(amount=amount("12.00", item_total="10.00", shipping="1.50", shipping_discount="0.50",
                                   discount="1.00", handling="2.00"),
                     items=[{"name": "Mug", "quantity": "2", "unit_amount": usd("5.00")}])
    order = await env.create(body, prefer="return=representation")
    assert order["purchase_units"][0]["items"][0]["quantity"] == "2"


async def test_malformed_json_is_an_invalid_request(env):
    r = await env.http.post("/v2/checkout/orders", content=b"{not json", headers={**env.auth,
                                                                                  "Content-Type": "application/json"})
    assert_error(r, 400, "INVALID_REQUEST", "MALFORMED_REQUEST_JSON")


async def test_an_order_without_payment_source_is_created_with_an_approve_link(env):
    body = order_body(application_context={"return_url": "http://shop.test/legacy-return"})
    del body["payment_source"]
    order = await env.create(body)
    assert set(order) == {"id", "status", "links"}  # Prefer: return=minimal is the default
    assert order["status"] == "CREATED" and re.fullmatch(r"[A-Z0-9]{17}", order["id"])
    links = {link["rel"]: link for link in order["links"]}
    assert set(links) == {"self", "approve", "update", "capture"}
    assert links["approve"] == {"href": f"{BASE}/checkoutnow?token={order['id']}", "rel": "approve", "method": "GET"}
    assert links["capture"]["method"] == "POST" and links["update"]["method"] == "PATCH"
    back = await env.approve(order["id"])  # the legacy application_context return_url
    assert back.headers["location"].startswith("http://shop.test/legacy-return?token=")


async def test_an_order_with_a_paypal_payment_source_waits_for_payer_action(env):
    order = await env.create(prefer="return=representation")
    assert order["status"] == "PAYER_ACTION_REQUIRED"
    assert order["payment_source"] == {"paypal": {}}
    assert [link["rel"] for link in order["links"]] == ["self", "payer-action"]
    assert order["links"][1]["href"] == f"{BASE}/checkoutnow?token={order['id']}"
    assert order["intent"] == "CAPTURE" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", order["create_time"])
    [unit] = order["purchase_units"]
    assert unit["reference_id"] == "default" and unit["amount"]["value"] == "12.50"
    assert unit["payee"]["email_address"] == "supplier@example.com"
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{13}", unit["payee"]["merchant_id"])
    assert (unit["custom_id"], unit["invoice_id"], unit["description"]) == ("pay-1", "pay-1", "3 orders")
    assert "payments" not in unit and "payer" not in order


async def test_a_long_description_is_truncated_as_paypal_does(env):
    order = await env.create(with_unit(description="x" * 200), prefer="return=representation")
    assert order["purchase_units"][0]["description"] == "x" * 127


async def test_the_same_request_id_answers_the_same_order_in_its_latest_state(env):
    first = await env.create(request_id="payment-1-create")
    again = await env.create(request_id="payment-1-create", expect=200)
    assert again["id"] == first["id"] and env.standin.counts["orders_created"] == 1
    await env.approve(first["id"])
    latest = await env.create(request_id="payment-1-create", prefer="return=representation", expect=200)
    assert latest["id"] == first["id"] and latest["status"] == "APPROVED" and latest["payer"]["payer_id"]
    other = await env.create(request_id="payment-2-create")
    assert other["id"] != first["id"] and env.standin.counts["orders_created"] == 2


async def test_get_order_shows_it_and_an_unknown_order_is_not_found(env):
    order = await env.create()
    r = await env.http.get(f"/v2/checkout/orders/{order['id']}", headers=env.auth)
    assert r.status_code == 200 and r.json()["purchase_units"][0]["amount"]["value"] == "12.50"
    missing = await env.http.get("/v2/checkout/orders/NOSUCHORDER", headers=env.auth)
    detail = assert_error(missing, 404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
    assert detail["location"] == "path" and detail["value"] == "NOSUCHORDER"


# -- the approval page ------------------------------------------------------------------------------

async def test_the_approval_page_is_an_accessible_form(env):
    order = await env.create()
    page = await env.http.get(f"/checkoutnow?token={order['id']}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="en">' in html and "<title>" in html and '<main aria-labelledby="page-title">' in html
    assert '<h1 id="page-title">' in html and "12.50 USD" in html and "supplier@example.com" in html
    assert '<label for="payer-email">' in html and 'id="payer-email"' in html
    assert '<button type="submit" class="primary" name="action" value="approve">Approve payment</button>' in html
    assert ('<button type="submit" class="secondary" name="action" value="cancel" formnovalidate>Cancel and return'
            '</button>') in html
    assert "<script" not in html


async def test_approving_redirects_to_the_return_url_with_token_and_payer_id(env):
    order = await env.create()
    r = await env.http.post("/checkoutnow", data={"token": order["id"], "action": "approve",
                                                  "payer_email": "retailer@example.com"})
    assert r.status_code == 303
    location = urlsplit(r.headers["location"])
    query = parse_qs(location.query)
    assert (location.netloc, location.path, query["x"], query["token"]) == (
        "shop.test", "/return", ["1"], [order["id"]])
    shown = (await env.http.get(f"/v2/checkout/orders/{order['id']}", headers=env.auth)).json()
    assert shown["status"] == "APPROVED" and shown["payer"]["payer_id"] == query["PayerID"][0]
    assert shown["payer"]["email_address"] == "retailer@example.com"
    assert shown["payment_source"]["paypal"]["account_id"] == query["PayerID"][0]
    assert [link["rel"] for link in shown["links"]] == ["self", "update", "capture"]
    again = await env.http.get(f"/checkoutnow?token={order['id']}")
    assert "already approved" in again.text


async def test_cancelling_redirects_to_the_cancel_url_and_leaves_the_order(env):
    order = await env.create()
    r = await env.http.post("/checkoutnow", data={"token": order["id"], "action": "cancel"})
    assert r.status_code == 303 and r.headers["location"] == f"http://shop.test/cancel?token={order['id']}"
    shown = (await env.http.get(f"/v2/checkout/orders/{order['id']}", headers=env.auth)).json()
    assert shown["status"] == "PAYER_ACTION_REQUIRED"


async def test_an_unknown_token_is_a_dead_link(env):
    assert (await env.http.get("/checkoutnow?token=NOPE")).status_code == 404
    assert (await env.http.post("/checkoutnow", data={"token": "NOPE", "action": "approve"})).status_code == 404


# -- capture ----------------------------------------------------------------------------------------

async def test_capture_needs_an_approved_order(env):
    order = await env.create()
    r = await env.capture(order["id"])
    assert_error(r, 422, "UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVED")
    assert env.standin.counts["captures_made"] == 0


async def test_capture_completes_the_order_with_a_completed_capture(env):
    order = await env.create()
    await env.approve(order["id"])
    r = await env.capture(order["id"], request_id="payment-1-capture")
    assert r.status_code == 201
    done = r.json()
    assert done["id"] == order["id"] and done["status"] == "COMPLETED" and done["payer"]["payer_id"]
    assert done["payment_source"]["paypal"]["email_address"]
    [capture] = done["purchase_units"][0]["payments"]["captures"]
    assert re.fullmatch(r"[A-Z0-9]{17}", capture["id"]) and capture["status"] == "COMPLETED"
    assert capture["amount"] == usd("12.50") and capture["final_capture"] is True
    srb = capture["seller_receivable_breakdown"]
    assert srb["gross_amount"] == usd("12.50")
    assert float(srb["net_amount"]["value"]) + float(srb["paypal_fee"]["value"]) == pytest.approx(12.50)
    links = {link["rel"]: link for link in capture["links"]}
    assert links["self"]["href"] == f"{BASE}/v2/payments/captures/{capture['id']}"
    assert links["refund"] == {"href": f"{BASE}/v2/payments/captures/{capture['id']}/refund", "rel": "refund",
                               "method": "POST"}
    assert links["up"]["href"] == f"{BASE}/v2/checkout/orders/{order['id']}"
    assert (capture["invoice_id"], capture["custom_id"]) == ("pay-1", "pay-1")

    replay = await env.capture(order["id"], request_id="payment-1-capture")
    assert replay.status_code == 200
    assert replay.json()["purchase_units"][0]["payments"]["captures"][0]["id"] == capture["id"]
    other = await env.capture(order["id"], request_id="payment-1-capture-again")
    assert_error(other, 422, "UNPROCESSABLE_ENTITY", "ORDER_ALREADY_CAPTURED")
    assert env.standin.counts["captures_made"] == 1

    full = await env.capture(order["id"], request_id="payment-1-capture", prefer="return=representation")
    assert full.json()["intent"] == "CAPTURE" and full.json()["purchase_units"][0]["amount"]["value"] == "12.50"


async def test_an_instrument_declined_at_capture_until_the_buyer_approves_again(env):
    await env.http.post("/_control/decline-next", json={"mode": "INSTRUMENT_DECLINED"})
    order = await env.create()
    await env.approve(order["id"])
    for _ in range(2):
        assert_error(await env.capture(order["id"], request_id="k"), 422, "UNPROCESSABLE_ENTITY",
                     "INSTRUMENT_DECLINED")
    shown = (await env.http.get(f"/v2/checkout/orders/{order['id']}", headers=env.auth)).json()
    assert shown["status"] == "APPROVED" and env.standin.counts["captures_made"] == 0
    page = await env.http.get(f"/checkoutnow?token={order['id']}")
    assert "Approve payment" in page.text  # the buyer may choose another way to pay
    await env.approve(order["id"])
    r = await env.capture(order["id"], request_id="k")  # errors are not stored under the request id
    assert r.status_code == 201 and r.json()["status"] == "COMPLETED"


async def test_a_declined_capture_still_completes_the_order(env):
    await env.http.post("/_control/decline-next", json={"mode": "CAPTURE_DECLINED"})
    order = await env.create()
    await env.approve(order["id"])
    r = await env.capture(order["id"])
    assert r.status_code == 201 and r.json()["status"] == "COMPLETED"
    [capture] = r.json()["purchase_units"][0]["payments"]["captures"]
    assert capture["status"] == "DECLINED" and capture["status_details"]["reason"]
    assert "refund" not in {link["rel"] for link in capture["links"]}
    refused = await env.refund(capture["id"])
    assert refused.status_code == 422
    assert env.standin.counts["captures_completed"] == 0


async def test_a_pending_capture_is_resolved_by_the_control_api(env):
    await env.http.post("/_control/decline-next", json={"mode": "CAPTURE_PENDING"})
    order = await env.create()
    await env.approve(order["id"])
    capture = (await env.capture(order["id"])).json()["purchase_units"][0]["payments"]["captures"][0]
    assert capture["status"] == "PENDING" and capture["status_details"] == {"reason": "PENDING_REVIEW"}
    r = await env.http.post(f"/_control/captures/{capture['id']}/resolve", json={"status": "DECLINED"})
    assert r.json()["status"] == "DECLINED"
    types = [json.loads(d.body)["event_type"] for d in await env.deliveries()]
    assert types == ["CHECKOUT.ORDER.APPROVED", "PAYMENT.CAPTURE.PENDING", "PAYMENT.CAPTURE.DENIED"]


async def test_a_second_capture_with_the_same_invoice_id_is_a_duplicate(env):
    await env.captured()
    order = await env.create()
    await env.approve(order["id"])
    r = await env.capture(order["id"])
    assert_error(r, 422, "UNPROCESSABLE_ENTITY", "DUPLICATE_INVOICE_ID")


async def test_an_expired_order_is_voided(env):
    order = await env.create()
    r = await env.http.post(f"/_control/orders/{order['id']}/expire")
    assert r.json()["order"]["status"] == "VOIDED"
    assert (await env.http.get(f"/checkoutnow?token={order['id']}")).status_code == 410
    assert (await env.http.post("/checkoutnow", data={"token": order["id"], "action": "approve"})).status_code == 410
    assert_error(await env.capture(order["id"]), 422, "UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVED")

    approved = await env.create()
    await env.approve(approved["id"])
    await env.http.post(f"/_control/orders/{approved['id']}/expire")
    reversed_ = json.loads((await env.deliveries())[-1].body)
    assert reversed_["event_type"] == "CHECKOUT.PAYMENT-APPROVAL.REVERSED"
    assert reversed_["resource"]["order_id"] == approved["id"]


# -- refunds ----------------------------------------------------------------------------------------

async def test_refunds_partial_then_the_rest_then_nothing_left(env):
    order, capture = await env.captured()
    partial = await env.refund(capture["id"], {"amount": usd("5.00"), "note_to_payer": "sorry"}, request_id="r-1")
    assert partial.status_code == 201
    refund = partial.json()
    assert refund["status"] == "COMPLETED" and refund["amount"] == usd("5.00") and refund["note_to_payer"] == "sorry"
    assert refund["seller_payable_breakdown"]["total_refunded_amount"] == usd("5.00")
    assert {link["rel"]: link["href"] for link in refund["links"]} == {
        "self": f"{BASE}/v2/payments/refunds/{refund['id']}", "up": f"{BASE}/v2/payments/captures/{capture['id']}"}
    shown = (await env.http.get(f"/v2/payments/captures/{capture['id']}", headers=env.auth)).json()
    assert shown["status"] == "PARTIALLY_REFUNDED"
    assert shown["supplementary_data"]["related_ids"]["order_id"] == order["id"]

    too_much = await env.refund(capture["id"], {"amount": usd("7.51")})
    assert_error(too_much, 422, "UNPROCESSABLE_ENTITY", "REFUND_AMOUNT_EXCEEDED", "/amount/value")
    assert "payments/v2" in too_much.json()["links"][0]["href"]
    euros = await env.refund(capture["id"], {"amount": {"currency_code": "EUR", "value": "1.00"}})
    assert_error(euros, 422, "UNPROCESSABLE_ENTITY", "REFUND_CAPTURE_CURRENCY_MISMATCH")

    rest = await env.refund(capture["id"], prefer=None)  # no amount: what is left; Prefer default minimal
    assert rest.status_code == 201 and set(rest.json()) == {"id", "status", "links"}
    shown_rest = (await env.http.get(f"/v2/payments/refunds/{rest.json()['id']}", headers=env.auth)).json()
    assert shown_rest["amount"] == usd("7.50")
    assert (await env.http.get(f"/v2/payments/captures/{capture['id']}", headers=env.auth)).json()["status"] == \
        "REFUNDED"
    assert_error(await env.refund(capture["id"]), 422, "UNPROCESSABLE_ENTITY", "CAPTURE_FULLY_REFUNDED")
    assert env.standin.counts["refunds_made"] == 2

    order_now = (await env.http.get(f"/v2/checkout/orders/{order['id']}", headers=env.auth)).json()
    assert order_now["status"] == "COMPLETED"
    assert len(order_now["purchase_units"][0]["payments"]["refunds"]) == 2


async def test_a_refund_request_id_is_answered_once(env):
    _, capture = await env.captured()
    first = await env.refund(capture["id"], {"amount": usd("2.00")}, request_id="refund-abc")
    again = await env.refund(capture["id"], {"amount": usd("2.00")}, request_id="refund-abc")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and env.standin.counts["refunds_made"] == 1


async def test_refunding_an_unknown_capture_is_not_found(env):
    r = await env.refund("NOSUCHCAPTURE", {"amount": usd("1.00")})
    assert_error(r, 404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")


# -- webhooks ---------------------------------------------------------------------------------------

def documented_verify(cert_pem: bytes, headers: httpx.Headers, body: bytes, webhook_id: str) -> bool:
    """payments.md §3.4 offline check, written out independently of the stand-in."""
    message = "|".join([headers["paypal-transmission-id"], headers["paypal-transmission-time"], webhook_id,
                        str(zlib.crc32(body))]).encode()
    certificate = x509.load_pem_x509_certificate(cert_pem)
    try:
        certificate.public_key().verify(base64.b64decode(headers["paypal-transmission-sig"]), message,
                                        padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


async def test_webhooks_are_the_documented_events_signed_with_the_served_certificate(env):
    order, capture = await env.captured()
    await env.refund(capture["id"], {"amount": usd("1.00")})
    received = await env.deliveries()
    events = [json.loads(d.body) for d in received]
    assert [e["event_type"] for e in events] == ["CHECKOUT.ORDER.APPROVED", "PAYMENT.CAPTURE.COMPLETED",
                                                 "PAYMENT.CAPTURE.REFUNDED"]
    assert [e["resource_type"] for e in events] == ["checkout-order", "capture", "refund"]
    for delivery, event in zip(received, events, strict=True):
        assert delivery.method == "POST" and delivery.path == "/webhooks/paypal"
        assert delivery.headers["content-type"] == "application/json"
        assert delivery.headers["paypal-auth-algo"] == "SHA256withRSA"
        assert re.fullmatch(r"WH-[A-Z0-9]{17}-[A-Z0-9]{17}", event["id"])
        assert event["event_version"] == "1.0" and event["resource_version"] == "2.0" and event["summary"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event["create_time"])
        assert [link["rel"] for link in event["links"]] == ["self", "resend"]
        cert_url = delivery.headers["paypal-cert-url"]
        cert = await env.http.get(urlsplit(cert_url).path)
        assert cert.status_code == 200 and cert.content.startswith(b"-----BEGIN CERTIFICATE-----")
        assert documented_verify(cert.content, delivery.headers, delivery.body, DEFAULT_WEBHOOK_ID)
        assert not documented_verify(cert.content, delivery.headers, delivery.body, "ANOTHERWEBHOOK")
    assert events[0]["resource"]["id"] == order["id"] and events[0]["resource"]["status"] == "APPROVED"
    assert events[1]["resource"]["id"] == capture["id"]
    assert events[1]["resource"]["supplementary_data"]["related_ids"]["order_id"] == order["id"]
    assert events[1]["summary"] == "Payment completed for USD 12.50 USD"
    assert events[2]["resource"]["amount"] == usd("1.00")
    assert {link["rel"]: link["href"] for link in events[2]["resource"]["links"]}["up"].endswith(capture["id"])


async def verify_body(env: Env, delivery, **changes) -> httpx.Response:
    headers = delivery.headers
    body = {"auth_algo": headers["paypal-auth-algo"], "cert_url": headers["paypal-cert-url"],
            "transmission_id": headers["paypal-transmission-id"],
            "transmission_sig": headers["paypal-transmission-sig"],
            "transmission_time": headers["paypal-transmission-time"], "webhook_id": DEFAULT_WEBHOOK_ID,
            "webhook_event": json.loads(delivery.body)}
    body.update(changes)
    return await env.http.post("/v1/notifications/verify-webhook-signature", json=body, headers=env.auth)


async def test_verify_webhook_signature(env):
    order = await env.create()
    await env.approve(order["id"])
    [delivery] = await env.deliveries()
    ok = await verify_body(env, delivery)
    assert ok.status_code == 200 and ok.json() == {"verification_status": "SUCCESS"}
    event = json.loads(delivery.body)
    event["resource"]["purchase_units"][0]["amount"]["value"] = "1.25"
    for changes in ({"webhook_event": event}, {"webhook_id": "ANOTHERWEBHOOK"},
                    {"cert_url": "https://evil.example/v1/notifications/certs/CERT-x"},
                    {"transmission_time": "2020-01-01T00:00:00Z"}, {"transmission_sig": "bm90IGEgc2lnbmF0dXJl"},
                    {"auth_algo": "SHA1withRSA"}):
        r = await verify_body(env, delivery, **changes)
        assert r.json() == {"verification_status": "FAILURE"}, changes
    missing = await verify_body(env, delivery, webhook_id=None)
    assert missing.status_code == 400 and missing.json()["name"] == "VALIDATION_ERROR"
    assert missing.json()["details"][0]["field"] == "webhook_id"
    unauthorized = await env.http.post("/v1/notifications/verify-webhook-signature", json={})
    assert unauthorized.status_code == 401


async def test_failed_deliveries_are_retried_with_the_same_transmission(env):
    env.receiver.statuses.extend([500, 503])
    order = await env.create()
    await env.approve(order["id"])
    received = await env.deliveries()
    assert len(received) == 3
    assert len({r.headers["paypal-transmission-id"] for r in received}) == 1 and len({r.body for r in received}) == 1
    [event] = (await env.http.get("/_control/webhooks")).json()["events"]
    [transmission] = event["transmissions"]
    assert transmission["status"] == "delivered"
    assert [a["status_code"] for a in transmission["attempts"]] == [500, 503, 200]


async def test_a_delivery_that_always_fails_gives_up(env):
    env.receiver.default_status = 500
    order = await env.create()
    await env.approve(order["id"])
    assert len(await env.deliveries()) == 4  # max_attempts
    [event] = (await env.http.get("/_control/webhooks")).json()["events"]
    assert event["transmissions"][0]["status"] == "failed"


async def test_held_deliveries_go_out_when_released(env):
    await env.http.put("/_control/webhooks", json={"hold": True})
    order = await env.create()
    await env.approve(order["id"])
    assert await env.deliveries() == []
    [event] = (await env.http.get("/_control/webhooks")).json()["events"]
    assert event["transmissions"][0]["status"] == "queued"
    assert (await env.http.post("/_control/webhooks/release")).json() == {"released": 1}
    assert len(await env.deliveries()) == 1


async def test_duplicates_and_redeliveries(env):
    await env.http.post("/_control/webhooks/duplicate-next", json={"count": 1})
    order = await env.create()
    await env.approve(order["id"])
    twice = await env.deliveries()
    assert len(twice) == 2 and twice[0].body == twice[1].body
    assert twice[0].headers["paypal-transmission-id"] == twice[1].headers["paypal-transmission-id"]
    event_id = json.loads(twice[0].body)["id"]
    r = await env.http.post(f"/_control/webhooks/events/{event_id}/redeliver", json={})
    assert r.status_code == 200
    resent = (await env.deliveries())[-1]
    assert resent.body == twice[0].body
    assert resent.headers["paypal-transmission-id"] == r.json()["transmission_id"] != twice[0].headers[
        "paypal-transmission-id"]
    assert (await verify_body(env, resent)).json() == {"verification_status": "SUCCESS"}
    same = await env.http.post(f"/_control/webhooks/events/{event_id}/redeliver", json={"same_transmission": True})
    assert same.json()["transmission_id"] == twice[0].headers["paypal-transmission-id"]
    assert (await env.deliveries())[-1].headers["paypal-transmission-sig"] == twice[0].headers[
        "paypal-transmission-sig"]


async def test_only_subscribed_event_types_are_sent(env):
    await env.http.put("/_control/webhooks", json={"event_types": ["PAYMENT.CAPTURE.COMPLETED"]})
    await env.captured()
    assert [json.loads(d.body)["event_type"] for d in await env.deliveries()] == ["PAYMENT.CAPTURE.COMPLETED"]


async def test_no_listener_no_events(env):
    await env.http.put("/_control/webhooks", json={"url": None})
    await env.captured()
    assert await env.deliveries() == [] and (await env.http.get("/_control/webhooks")).json()["events"] == []


# -- control API ------------------------------------------------------------------------------------

async def test_forced_failures_before_and_after(env):
    await env.http.post("/_control/fail-next", json={"status": 503, "path": "/v2/checkout/orders"})
    r = await env.http.post("/v2/checkout/orders", json=order_body(), headers=env.auth)
    assert r.status_code == 503 and r.json()["name"] == "SERVICE_UNAVAILABLE"
    assert env.standin.counts["orders_created"] == 0

    await env.http.post("/_control/fail-next", json={"status": 500, "apply": "after"})
    lost = await env.http.post("/v2/checkout/orders", json=order_body(), headers={**env.auth,
                                                                                  "PayPal-Request-Id": "k-1"})
    assert lost.status_code == 500 and lost.json()["name"] == "INTERNAL_SERVER_ERROR"
    assert env.standin.counts["orders_created"] == 1  # it happened; the answer was lost
    found = await env.create(request_id="k-1", expect=200)
    assert found["id"] in env.standin.orders

    await env.http.post("/_control/fail-next", json={"status": 429})
    limited = await env.http.get(f"/v2/checkout/orders/{found['id']}", headers=env.auth)
    assert limited.status_code == 429 and limited.json()["name"] == "RATE_LIMIT_REACHED"
    bad = await env.http.post("/_control/fail-next", json={"status": 404})
    assert bad.status_code == 422


async def test_a_held_capture_takes_effect_and_its_webhook_goes_out_before_the_answer(env):
    order = await env.create()
    await env.approve(order["id"])
    await env.deliveries()
    r = await env.http.post("/_control/hold-next", json={"path": "/capture$", "seconds": 30})
    assert r.status_code == 200 and r.json()["holds"] == [{"seconds": 30, "count": 1, "path": "/capture$",
                                                           "method": None}]
    capture = asyncio.create_task(env.capture(order["id"], request_id="cap-1"))
    while env.standin.held_now != 1:
        await asyncio.sleep(0.01)
    assert not capture.done()
    assert env.standin.counts["captures_made"] == 1 and env.standin.orders[order["id"]].status == "COMPLETED"
    events = [json.loads(d.body)["event_type"] for d in await env.deliveries()]
    assert events == ["CHECKOUT.ORDER.APPROVED", "PAYMENT.CAPTURE.COMPLETED"]  # the webhook comes first
    state = (await env.http.get("/_control/state")).json()
    assert state["held_now"] == 1 and state["holds"] == []
    # Other calls are answered meanwhile; the replay of the held capture (same PayPal-Request-Id) too.
    assert (await env.http.get(f"/v2/checkout/orders/{order['id']}", headers=env.auth)).json()["status"] == "COMPLETED"
    assert (await env.capture(order["id"], request_id="cap-1")).status_code == 200
    assert (await env.http.delete("/_control/hold-next")).status_code == 200  # lets the held answer go now
    answer = await asyncio.wait_for(capture, 5)
    assert answer.status_code == 201 and answer.json()["status"] == "COMPLETED"
    assert env.standin.counts["captures_made"] == 1
    held = [r for r in env.standin.requests if r["held_seconds"]]
    assert [(r["path"].rsplit("/", 1)[-1], r["status_code"]) for r in held] == [("capture", 201)]


async def test_holds_wait_their_seconds_match_method_and_count_and_are_refused_when_malformed(env):
    await env.http.post("/_control/hold-next", json={"path": "^/v2/checkout/orders/[^/]+$", "method": "GET",
                                                     "seconds": 0.3, "count": 2})
    order = await env.create()  # a POST: not held
    started = time.monotonic()
    await asyncio.gather(*(env.http.get(f"/v2/checkout/orders/{order['id']}", headers=env.auth) for _ in range(2)))
    assert time.monotonic() - started >= 0.3 and env.standin.holds == []
    assert (await env.http.post("/_control/hold-next", json={"path": "(", "seconds": 1})).status_code == 422
    assert (await env.http.post("/_control/hold-next", json={"seconds": 0})).status_code == 422
    await env.http.post("/_control/hold-next", json={"seconds": 30})
    assert (await env.http.post("/_control/reset")).json()["holds"] == []


async def test_the_request_log_and_counts(env):
    await env.captured()
    log = (await env.http.get("/_control/requests")).json()["requests"]
    assert [(r["method"], r["path"].split("/")[-1]) for r in log][:1] == [("POST", "token")]
    capture = next(r for r in log if r["path"].endswith("/capture"))
    assert capture["paypal_request_id"] == "cap-1" and capture["status_code"] == 201
    assert capture["authorization"] == "Bearer"
    counts = (await env.http.get("/_control/counts")).json()
    assert counts == {"orders_created": 1, "orders_approved": 1, "captures_made": 1, "captures_completed": 1,
                      "refunds_made": 0, "tokens_issued": 1}


async def test_reset_forgets_everything_but_tokens(env):
    order = await env.create(request_id="k")
    await env.http.post("/_control/decline-next", json={"mode": "CAPTURE_DECLINED"})
    await env.http.put("/_control/webhooks", json={"hold": True})
    state = (await env.http.post("/_control/reset")).json()
    assert state["counts"]["orders_created"] == 0 and state["decline_next"] == []
    assert state["webhooks"]["hold"] is False and state["webhooks"]["url"] == WEBHOOK_URL
    assert (await env.http.get(f"/v2/checkout/orders/{order['id']}", headers=env.auth)).status_code == 404
    assert (await env.create(request_id="k"))["id"] != order["id"]


async def test_the_control_api_approves_and_says_why_it_cannot(env):
    order = await env.create()
    r = await env.http.post(f"/_control/orders/{order['id']}/approve", json={"payer_email": "r@example.com"})
    assert r.status_code == 200 and r.json()["order"]["status"] == "APPROVED"
    again = await env.http.post(f"/_control/orders/{order['id']}/approve")
    assert again.status_code == 409 and "APPROVED" in again.json()["error"]


def test_it_runs_as_a_process():
    with run_module("dropline_testsupport.paypal_standin", "--webhook-id", "PROCESSHOOK") as base:
        token = httpx.post(f"{base}/v1/oauth2/token", data={"grant_type": "client_credentials"}, headers=basic())
        assert token.status_code == 200
        auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
        order = httpx.post(f"{base}/v2/checkout/orders", json=order_body(), headers=auth)
        assert order.status_code == 201
        assert order.json()["links"][1]["href"] == f"{base}/checkoutnow?token={order.json()['id']}"
        assert httpx.get(f"{base}/_control/state").json()["webhooks"]["webhook_id"] == "PROCESSHOOK"
