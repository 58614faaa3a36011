"""The buyer's action on a payment and the payment providers' webhooks, through the gateway:

* POST /api/v1/payments for PayPal tells checkout where PayPal sends the browser back (the web
  app's /checkout/paypal/approved and /cancelled, at GATEWAY_PUBLIC_URL or the address the request
  came to), and the answer passes checkout's next_action through (redirect, authenticate_card);
* POST /api/v1/payments/{id}/complete and /cancel (API key, or session + CSRF) go to checkout
  with the caller's retailer id; another retailer's payment is 404;
* POST /webhooks/payments/{provider} (no sign-in: the provider signs) hands checkout the exact
  body bytes and the headers, answers what checkout answers, and 503 when checkout is down.

In-process on SQLite; checkout is a fake (and, for the forwarding itself, HttpCheckout against an
httpx MockTransport)."""

from __future__ import annotations

import httpx
import pytest

from dropline_infra.migrations import upgrade
from gateway.adapters.checkout import HttpCheckout
from gateway.app import MIGRATIONS, build
from gateway.errors import GatewayError
from gateway.settings import Settings

ADMIN = {"Authorization": "Bearer dev-admin-token"}
PASSWORD = "correct horse battery"
STRIPE_BODY = b'{"id": "evt_1", "type": "payment_intent.succeeded",  "data": {"object": {"id": "pi_1"}}}'


def payment_body(payment_id="pay-1", status="succeeded", method="card", **extra) -> dict:
    amounts = {"product_cost": "20.00", "shipping": "4.90", "vat": "4.73", "total": "29.63"}
    usd = {"product_cost": "22.00", "shipping": "5.39", "vat": "5.20", "total": "32.59"}
    return {
        "payment_id": payment_id, "retailer_id": "ignored", "request_id": "k-1", "status": status, "method": method,
        "order_ids": ["o-1"], "supplier": {"supplier_id": "sup", "name": "Acme", "currency": "EUR"},
        "orders": [{"order_id": "o-1", "order_number": "D100001", "supplier_currency": {**amounts, "currency": "EUR"},
                    "usd": {**usd, "currency": "USD"}}],
        "total": {"supplier_currency": {**amounts, "currency": "EUR"}, "usd": {**usd, "currency": "USD"}},
        "charge": {"currency": "USD", "amount": "32.59", "amount_minor": 3259},
        "fx": {"from_currency": "EUR", "to_currency": "USD", "rate": "1.1", "rate_date": "2026-12-01",
               "source": "ECB reference rate"},
        "provider": "paypal" if method == "paypal" else "stripe", "provider_reference": "REF-1",
        "next_action": None, "refunds": [], "failure_reason": None,
        "created_at": "2026-12-02T09:00:00Z", "completed_at": None, **extra}


class FakeCheckout:
    """checkout's internal API: `answers[(method, path)]` is (status, body) or a GatewayError;
    `webhook` is what the provider-webhook route answers (status, body) or an exception."""

    def __init__(self):
        self.calls: list[tuple[str, str, dict | None]] = []
        self.forwarded: list[tuple[str, bytes, dict[str, str]]] = []
        self.answers: dict[tuple[str, str], object] = {}
        self.webhook: object = (200, {"received": True, "duplicate": False, "outcome": "payment succeeded"})

    async def call(self, method, path, *, json=None, params=None):
        self.calls.append((method, path, json if json is not None else params))
        answer = self.answers.get((method, path))
        if isinstance(answer, GatewayError):
            raise answer
        if answer is None:
            raise GatewayError(404, "payment_not_found", "no such payment")
        return answer

    async def forward(self, path, body, headers):
        self.forwarded.append((path, body, {k.lower(): v for k, v in headers.items()}))
        if isinstance(self.webhook, Exception):
            raise self.webhook
        return self.webhook


async def _client(tmp_path, **settings_kw):
    settings = Settings(data_dir=tmp_path, environment="test", **settings_kw)
    upgrade("gateway", settings.database_url, MIGRATIONS)
    checkout = FakeCheckout()
    svc = build(settings, checkout=checkout)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.app), base_url="https://app.dropline.test")
    retailer = (await client.post("/admin/v1/retailers", json={"name": "R"}, headers=ADMIN)).json()
    r = await client.post(f"/admin/v1/retailers/{retailer['retailer_id']}/users", headers=ADMIN,
                          json={"email": "ann@example.com", "password": PASSWORD})
    assert r.status_code == 201, r.text
    client.svc, client.checkout, client.retailer = svc, checkout, retailer
    client.key = {"Authorization": f"Bearer {retailer['api_key']}"}
    return client


@pytest.fixture
async def gw(tmp_path):
    client = await _client(tmp_path)
    yield client
    await client.aclose()
    await client.svc.db.dispose()


# --------------------------------------------------------------------------- starting a payment


async def test_a_paypal_payment_is_told_where_paypal_sends_the_browser_back_and_answers_the_redirect(gw):
    approve = "https://www.sandbox.paypal.com/checkoutnow?token=5O190127TN364715T"
    gw.checkout.answers[("POST", "/internal/v1/payments")] = (201, payment_body(
        method="paypal", status="requires_action", provider_reference="5O190127TN364715T",
        next_action={"type": "redirect", "url": approve, "client_secret": None}))
    r = await gw.post("/api/v1/payments", headers={**gw.key, "Idempotency-Key": "attempt-1"},
                      json={"order_ids": ["o-1"], "method": "paypal"})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "requires_action"
    assert r.json()["next_action"] == {"type": "redirect", "url": approve, "client_secret": None}
    ((_, _, sent),) = gw.checkout.calls
    assert sent["method"] == "paypal" and sent["payment_method"] is None and sent["request_id"] == "attempt-1"
    # The address this request came to: the web app's PayPal return page there.
    assert sent["return_url"] == "https://app.dropline.test/checkout/paypal/approved"
    assert sent["cancel_url"] == "https://app.dropline.test/checkout/paypal/cancelled"


async def test_the_public_url_setting_wins_over_the_requests_address(tmp_path):
    gw = await _client(tmp_path, public_url="https://orders.example.com/")
    try:
        gw.checkout.answers[("POST", "/internal/v1/payments")] = (201, payment_body(method="paypal"))
        r = await gw.post("/api/v1/payments", headers=gw.key, json={"order_ids": ["o-1"], "method": "paypal"})
        assert r.status_code == 201, r.text
        sent = gw.checkout.calls[0][2]
        assert sent["return_url"] == "https://orders.example.com/checkout/paypal/approved"
        assert sent["cancel_url"] == "https://orders.example.com/checkout/paypal/cancelled"
    finally:
        await gw.aclose()
        await gw.svc.db.dispose()


def test_a_public_url_that_is_not_an_http_address_is_refused(tmp_path):
    for bad in ("orders.example.com", "javascript:alert(1)", "https://orders.example.com/?next=x"):
        with pytest.raises(ValueError, match="public_url"):
            Settings(data_dir=tmp_path, environment="test", public_url=bad)


async def test_a_card_payment_gets_no_return_urls_and_passes_the_3ds_action_through(gw):
    gw.checkout.answers[("POST", "/internal/v1/payments")] = (201, payment_body(
        status="requires_action", next_action={"type": "authenticate_card", "client_secret": "pi_1_secret_x"}))
    r = await gw.post("/api/v1/payments", headers=gw.key,
                      json={"order_ids": ["o-1"], "method": "card", "payment_method": "card_3ds"})
    assert r.status_code == 201, r.text
    assert r.json()["next_action"] == {"type": "authenticate_card", "url": None, "client_secret": "pi_1_secret_x"}
    sent = gw.checkout.calls[0][2]
    assert "return_url" not in sent and "cancel_url" not in sent


async def test_a_payment_without_an_action_has_next_action_null(gw):
    gw.checkout.answers[("GET", "/internal/v1/payments/pay-1")] = (200, payment_body())
    r = await gw.get("/api/v1/payments/pay-1", headers=gw.key)
    assert r.status_code == 200 and r.json()["next_action"] is None and r.json()["status"] == "succeeded"


# --------------------------------------------------------------------------- complete / cancel


@pytest.mark.parametrize("action,answer", [
    ("complete", payment_body(status="succeeded", completed_at="2026-12-02T09:01:00Z")),
    ("cancel", payment_body(method="paypal", status="failed",
                            failure_reason="you cancelled the payment; nothing was charged")),
])
async def test_complete_and_cancel_go_to_checkout_with_the_callers_retailer(gw, action, answer):
    gw.checkout.answers[("POST", f"/internal/v1/payments/pay-1/{action}")] = (200, answer)
    r = await gw.post(f"/api/v1/payments/pay-1/{action}", headers=gw.key)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == answer["status"]
    assert r.json()["failure_reason"] == answer["failure_reason"]
    assert gw.checkout.calls == [("POST", f"/internal/v1/payments/pay-1/{action}",
                                  {"retailer_id": gw.retailer["retailer_id"]})]


async def test_a_3ds_payment_that_failed_authentication_answers_failed_with_the_reason(gw):
    reason = "the card's 3-D Secure authentication failed; nothing was charged"
    gw.checkout.answers[("POST", "/internal/v1/payments/pay-1/complete")] = (
        200, payment_body(status="failed", failure_reason=reason))
    r = await gw.post("/api/v1/payments/pay-1/complete", headers=gw.key)
    assert r.status_code == 200 and r.json()["status"] == "failed" and r.json()["failure_reason"] == reason


@pytest.mark.parametrize("action", ["complete", "cancel"])
async def test_another_retailers_or_an_unknown_payment_is_404(gw, action):
    r = await gw.post(f"/api/v1/payments/pay-404/{action}", headers=gw.key)
    assert r.status_code == 404 and r.json()["error"] == "not_found"


async def test_checkout_down_is_503_with_retry_after(gw):
    gw.checkout.answers[("POST", "/internal/v1/payments/pay-1/complete")] = GatewayError(
        503, "checkout_unavailable", "checkout did not answer", headers={"Retry-After": "2"})
    r = await gw.post("/api/v1/payments/pay-1/complete", headers=gw.key)
    assert r.status_code == 503 and r.headers["retry-after"] == "2"


async def test_a_payment_id_that_cannot_exist_is_refused_before_checkout(gw):
    r = await gw.post("/api/v1/payments/pay%21%3Bdrop/complete", headers=gw.key)
    assert r.status_code == 422 and r.json()["error"] == "invalid_request"
    assert gw.checkout.calls == []


async def test_complete_and_cancel_need_a_retailer_and_a_browser_needs_the_csrf_token(gw):
    gw.checkout.answers[("POST", "/internal/v1/payments/pay-1/complete")] = (200, payment_body())
    assert (await gw.post("/api/v1/payments/pay-1/complete")).status_code == 401
    csrf = (await gw.post("/api/v1/session", json={"email": "ann@example.com", "password": PASSWORD})
            ).json()["csrf_token"]
    r = await gw.post("/api/v1/payments/pay-1/cancel")
    assert r.status_code == 403 and r.json()["error"] == "csrf_failed"
    assert gw.checkout.calls == []
    r = await gw.post("/api/v1/payments/pay-1/complete", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["status"] == "succeeded"


# --------------------------------------------------------------------------- provider webhooks


async def test_a_provider_webhook_reaches_checkout_byte_for_byte_with_its_headers(gw):
    sig = "t=1733130000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd"
    r = await gw.post("/webhooks/payments/stripe", content=STRIPE_BODY,
                      headers={"Stripe-Signature": sig, "Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 200, r.text
    assert r.json() == {"received": True, "duplicate": False, "outcome": "payment succeeded"}
    ((path, body, headers),) = gw.checkout.forwarded
    assert path == "/internal/v1/provider-webhooks/stripe"
    assert body == STRIPE_BODY  # not re-serialised: the signature is over these bytes
    assert headers["stripe-signature"] == sig and headers["content-type"] == "application/json; charset=utf-8"


async def test_a_duplicate_delivery_is_answered_200_as_checkout_says(gw):
    gw.checkout.webhook = (200, {"received": True, "duplicate": True, "outcome": "duplicate"})
    r = await gw.post("/webhooks/payments/paypal", content=b"{}")
    assert r.status_code == 200 and r.json()["duplicate"] is True


@pytest.mark.parametrize("status,code", [(400, "webhook_rejected"), (404, "unknown_provider")])
async def test_checkouts_refusal_is_the_answer(gw, status, code):
    gw.checkout.webhook = (status, {"error": {"code": code, "message": "no"}})
    r = await gw.post("/webhooks/payments/stripe", content=STRIPE_BODY)
    assert r.status_code == status and r.json()["error"] == code


@pytest.mark.parametrize("answer", [
    (500, {"error": {"code": "internal", "message": "boom"}}),
    (502, None),
    (401, {"error": {"code": "unauthorized", "message": "missing or wrong X-Internal-Token"}}),
    (200, None),
])
async def test_checkout_failing_is_503_so_the_provider_delivers_again(gw, answer):
    gw.checkout.webhook = answer
    r = await gw.post("/webhooks/payments/stripe", content=STRIPE_BODY)
    assert r.status_code == 503 and r.json()["error"] == "checkout_unavailable" and r.headers["retry-after"]


async def test_checkout_unreachable_is_503(gw):
    gw.checkout.webhook = GatewayError(503, "checkout_unavailable", "checkout did not answer",
                                       headers={"Retry-After": "30"})
    r = await gw.post("/webhooks/payments/stripe", content=STRIPE_BODY)
    assert r.status_code == 503 and r.headers["retry-after"] == "30"


async def test_a_body_over_the_limit_is_413_and_never_forwarded(tmp_path):
    gw = await _client(tmp_path, max_webhook_bytes=64)
    try:
        r = await gw.post("/webhooks/payments/stripe", content=b"x" * 65)
        assert r.status_code == 413 and r.json()["error"] == "too_large"
        assert gw.checkout.forwarded == []
    finally:
        await gw.aclose()
        await gw.svc.db.dispose()


async def test_a_provider_name_that_cannot_exist_is_refused_before_checkout(gw):
    for bad in ("str%20ipe", "x" * 33, "STRIPE", "stripe%3Bx"):
        r = await gw.post(f"/webhooks/payments/{bad}", content=b"{}")
        assert r.status_code == 422 and r.json()["error"] == "invalid_request", (bad, r.status_code)
    assert gw.checkout.forwarded == []


async def test_store_webhooks_are_not_shadowed(gw):
    r = await gw.post("/webhooks/shopify", content=b"{}", headers={"X-Shopify-Shop-Domain": "nope.myshopify.com"})
    assert r.status_code == 404 and r.json()["error"] == "unknown_shop" and gw.checkout.forwarded == []


# --------------------------------------------------------------------------- HttpCheckout.forward


async def test_http_checkout_forwards_raw_bytes_and_headers_with_its_own_internal_token():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"received": True, "duplicate": False, "outcome": "ignored"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        checkout = HttpCheckout(http, "http://checkout:8002/", "internal-secret")
        status, body = await checkout.forward("/internal/v1/provider-webhooks/paypal", b'{"a":  1}', {
            "Host": "gateway.example", "Content-Length": "999", "Connection": "keep-alive",
            "X-Internal-Token": "forged-by-the-caller", "PAYPAL-TRANSMISSION-ID": "tx-1",
            "PAYPAL-TRANSMISSION-SIG": "c2ln", "Content-Type": "application/json"})
    assert (status, body) == (200, {"received": True, "duplicate": False, "outcome": "ignored"})
    (req,) = seen
    assert str(req.url) == "http://checkout:8002/internal/v1/provider-webhooks/paypal"
    assert req.content == b'{"a":  1}'
    assert req.headers["paypal-transmission-id"] == "tx-1" and req.headers["paypal-transmission-sig"] == "c2ln"
    assert req.headers.get_list("x-internal-token") == ["internal-secret"]
    assert req.headers["host"] == "checkout:8002"
    assert req.headers["content-length"] == "9"  # the length of what was sent, not the caller's


async def test_http_checkout_forward_answers_any_status_and_503_when_unreachable():
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": {"code": "webhook_rejected", "message": "bad signature"}})

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        status, body = await HttpCheckout(http, "http://checkout:8002", None).forward("/x", b"{}", {})
    assert status == 400 and body["error"]["code"] == "webhook_rejected"

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(down)) as http:
        with pytest.raises(GatewayError) as err:
            await HttpCheckout(http, "http://checkout:8002", None).forward("/x", b"{}", {})
    assert err.value.status == 503 and err.value.headers["Retry-After"]
