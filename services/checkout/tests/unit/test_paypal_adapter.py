"""The PayPal adapter against the PayPal stand-in, served by a real uvicorn server (the SDK is synchronous and
speaks HTTP through requests). The buyer's approval is driven through the stand-in's HTML page, as a browser
would; webhooks arrive at a recording receiver and are verified through the stand-in's
verify-webhook-signature endpoint."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from checkout.adapters.paypal import PROVIDER_PAYPAL, PayPalProvider, PayPalSettings
from checkout.adapters.paypal.settings import (
    DEVELOPMENT_PAYPAL_CLIENT_ID,
    DEVELOPMENT_PAYPAL_CLIENT_SECRET,
    DEVELOPMENT_PAYPAL_WEBHOOK_ID,
)
from checkout.adapters.port import (
    ChargeRequest,
    Declined,
    EventKind,
    NotFoundAtProvider,
    Outcome,
    Payee,
    PaymentProvider,
    ProviderUnavailable,
    RefundRequest,
    Rejected,
    WebhookRejected,
)
from dropline_schemas.events import PaymentMethod
from dropline_testsupport._server import free_port
from dropline_testsupport.harness import Receiver, serve_in_loop
from dropline_testsupport.paypal_standin import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_WEBHOOK_ID,
    PayPalStandin,
    create_app,
)

RETURN_URL = "http://shop.test/paypal/return?checkout=1"
CANCEL_URL = "http://shop.test/paypal/cancel"
WEBHOOK_URL = "http://checkout.test/webhooks/paypal"


@dataclass
class Stand:
    base: str
    state: PayPalStandin
    receiver: Receiver


@pytest.fixture(scope="module")
async def stand():
    receiver = Receiver()
    app = create_app(webhook_url=WEBHOOK_URL, webhook_transport=receiver.transport, webhook_retry_delay_seconds=0)
    async with serve_in_loop(app) as base:
        yield Stand(base=base, state=app.state.standin, receiver=receiver)


@pytest.fixture
async def paypal(stand: Stand):
    await stand.state.reset()
    stand.receiver.received.clear()
    stand.receiver.statuses.clear()
    async with httpx.AsyncClient(base_url=stand.base, timeout=10) as http:
        yield http


@pytest.fixture
async def provider(stand: Stand, paypal):
    p = PayPalProvider.from_settings(PayPalSettings(paypal_api_base=stand.base, paypal_timeout_seconds=5))
    yield p
    await p.aclose()


def charge_request(payment_id: str | None = None, *, amount: int = 1250, breakdown=None, **changes) -> ChargeRequest:
    fields = dict(payment_id=payment_id or f"pay-{uuid.uuid4().hex[:12]}", amount_minor=amount,
                  payee=Payee(supplier_id="sup-1", name="Supplier One", email="supplier-one@example.com"),
                  description="3 orders for Supplier One", return_url=RETURN_URL, cancel_url=CANCEL_URL,
                  breakdown={"item_total": 1000, "shipping": 150, "tax_total": 100} if breakdown is None else breakdown)
    fields.update(changes)
    return ChargeRequest(**fields)


async def buyer(http: httpx.AsyncClient, approval_url: str, *, action: str = "approve") -> str:
    """Open the approval page like a browser, press a button, return where PayPal sends the buyer."""
    page = await http.get(approval_url)
    assert page.status_code == 200, page.text
    assert 'lang="en"' in page.text and "<label for=\"payer-email\">" in page.text
    assert ">Approve payment</button>" in page.text and ">Cancel and return</button>" in page.text
    form_action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    answer = await http.post(urljoin(approval_url, form_action),
                             data={"token": token, "action": action, "payer_email": "retailer@example.com"})
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


async def approved(provider: PayPalProvider, http: httpx.AsyncClient, req: ChargeRequest | None = None):
    opened = await provider.open(req or charge_request())
    await buyer(http, opened.action.url)
    return opened


def requests_to(stand: Stand, fragment: str) -> list[dict]:
    return [r for r in stand.state.requests if fragment in r["path"]]


# -- shape ------------------------------------------------------------------------------------------

def test_the_provider_fits_the_port(provider):
    fits: PaymentProvider = provider  # the port is a Protocol (not runtime-checkable): a type checker checks this
    assert fits is provider
    assert provider.name == PROVIDER_PAYPAL == "paypal"
    assert provider.method is PaymentMethod.PAYPAL
    for name in ("open", "charge", "look_up", "abandon", "refund", "verify_webhook", "aclose"):
        assert callable(getattr(provider, name))


def test_the_development_defaults_are_the_stand_ins():
    assert (DEVELOPMENT_PAYPAL_CLIENT_ID, DEVELOPMENT_PAYPAL_CLIENT_SECRET, DEVELOPMENT_PAYPAL_WEBHOOK_ID) == (
        DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_WEBHOOK_ID)


# -- open, approve, charge --------------------------------------------------------------------------

async def test_open_creates_an_order_the_buyer_must_approve(provider, stand, paypal):
    req = charge_request()
    opened = await provider.open(req)
    assert opened.outcome is Outcome.ACTION_REQUIRED
    assert opened.amount_minor == 1250 and opened.capture_reference is None
    assert opened.action.type == "redirect"
    assert opened.action.url == f"{stand.base}/checkoutnow?token={opened.reference}"

    [create] = [r for r in requests_to(stand, "/v2/checkout/orders") if r["method"] == "POST"]
    assert create["paypal_request_id"] == f"payment-{req.payment_id}-create"
    sent = json.loads(create["body"])
    assert sent["intent"] == "CAPTURE"
    [unit] = sent["purchase_units"]
    assert unit["amount"] == {"currency_code": "USD", "value": "12.50", "breakdown": {
        "item_total": {"currency_code": "USD", "value": "10.00"},
        "shipping": {"currency_code": "USD", "value": "1.50"},
        "tax_total": {"currency_code": "USD", "value": "1.00"}}}
    assert unit["payee"] == {"email_address": "supplier-one@example.com"}
    assert unit["custom_id"] == unit["invoice_id"] == req.payment_id
    assert unit["description"] == "3 orders for Supplier One"
    context = sent["payment_source"]["paypal"]["experience_context"]
    assert (context["return_url"], context["cancel_url"]) == (RETURN_URL, CANCEL_URL)

    again = await provider.open(req)  # a retried open: PayPal-Request-Id gives the same order
    assert again.reference == opened.reference
    assert stand.state.counts["orders_created"] == 1


async def test_the_supplier_merchant_id_is_preferred_over_the_email(provider, stand, paypal):
    req = charge_request(payee=Payee(supplier_id="s", name="S", email="s@example.com", merchant_id="7KQ3W2ZLMNP8X"))
    opened = await provider.open(req)
    unit = stand.state.orders[opened.reference].request.purchase_units[0]
    assert unit["payee"] == {"merchant_id": "7KQ3W2ZLMNP8X"}


async def test_approve_then_charge_takes_the_money(provider, stand, paypal):
    req = charge_request()
    opened = await provider.open(req)
    back = await buyer(paypal, opened.action.url)
    assert back.startswith("http://shop.test/paypal/return?checkout=1&")
    query = parse_qs(urlsplit(back).query)
    assert query["token"] == [opened.reference] and query["PayerID"][0]

    ready = await provider.look_up(opened.reference)
    assert ready.outcome is Outcome.READY

    charged = await provider.charge(payment_id=req.payment_id, reference=opened.reference)
    assert charged.outcome is Outcome.SUCCEEDED
    assert charged.reference == opened.reference and charged.amount_minor == 1250
    assert charged.capture_reference in stand.state.captures
    [capture] = requests_to(stand, "/capture")
    assert capture["paypal_request_id"] == f"payment-{req.payment_id}-capture"
    assert stand.state.counts["captures_made"] == 1
    assert (await provider.look_up(opened.reference)).outcome is Outcome.SUCCEEDED


async def test_a_replayed_charge_captures_once(provider, stand, paypal):
    req = charge_request()
    opened = await approved(provider, paypal, req)
    first = await provider.charge(payment_id=req.payment_id, reference=opened.reference)
    second = await provider.charge(payment_id=req.payment_id, reference=opened.reference)
    assert first.outcome is second.outcome is Outcome.SUCCEEDED
    assert first.capture_reference == second.capture_reference
    assert stand.state.counts["captures_made"] == 1


async def test_a_lost_capture_answer_is_unknown_then_the_retry_finds_the_one_capture(provider, stand, paypal):
    req = charge_request()
    opened = await approved(provider, paypal, req)
    await paypal.post("/_control/fail-next", json={"status": 502, "path": "/capture", "apply": "after"})
    with pytest.raises(ProviderUnavailable):
        await provider.charge(payment_id=req.payment_id, reference=opened.reference)
    retried = await provider.charge(payment_id=req.payment_id, reference=opened.reference)
    assert retried.outcome is Outcome.SUCCEEDED
    assert stand.state.counts["captures_made"] == 1


async def test_a_charge_from_another_request_id_after_capture_looks_the_payment_up(provider, stand, paypal):
    req = charge_request()
    opened = await approved(provider, paypal, req)
    first = await provider.charge(payment_id=req.payment_id, reference=opened.reference)
    other = await provider.charge(payment_id="another-payment", reference=opened.reference)  # ORDER_ALREADY_CAPTURED
    assert other.outcome is Outcome.SUCCEEDED and other.capture_reference == first.capture_reference
    assert stand.state.counts["captures_made"] == 1


async def test_charging_before_the_buyer_approved_asks_for_the_buyer_again(provider, stand, paypal):
    req = charge_request()
    opened = await provider.open(req)
    answer = await provider.charge(payment_id=req.payment_id, reference=opened.reference)  # ORDER_NOT_APPROVED
    assert answer.outcome is Outcome.ACTION_REQUIRED and answer.action.url == opened.action.url
    assert stand.state.counts["captures_made"] == 0


async def test_a_declined_instrument_raises_declined(provider, stand, paypal):
    await paypal.post("/_control/decline-next", json={"mode": "INSTRUMENT_DECLINED"})
    req = charge_request()
    opened = await approved(provider, paypal, req)
    with pytest.raises(Declined) as declined:
        await provider.charge(payment_id=req.payment_id, reference=opened.reference)
    assert "INSTRUMENT_DECLINED" in declined.value.reason and declined.value.reference == opened.reference
    assert stand.state.counts["captures_made"] == 0


async def test_a_declined_capture_is_a_declined_payment(provider, stand, paypal):
    await paypal.post("/_control/decline-next", json={"mode": "CAPTURE_DECLINED"})
    req = charge_request()
    opened = await approved(provider, paypal, req)
    answer = await provider.charge(payment_id=req.payment_id, reference=opened.reference)
    assert answer.outcome is Outcome.DECLINED and answer.reason and answer.capture_reference
    assert (await provider.look_up(opened.reference)).outcome is Outcome.DECLINED


async def test_a_pending_capture_is_pending_until_paypal_completes_it(provider, stand, paypal):
    await paypal.post("/_control/decline-next", json={"mode": "CAPTURE_PENDING"})
    req = charge_request()
    opened = await approved(provider, paypal, req)
    answer = await provider.charge(payment_id=req.payment_id, reference=opened.reference)
    assert answer.outcome is Outcome.PENDING and answer.capture_reference
    await paypal.post(f"/_control/captures/{answer.capture_reference}/resolve", json={"status": "COMPLETED"})
    assert (await provider.look_up(opened.reference)).outcome is Outcome.SUCCEEDED


# -- cancel, abandon, expiry ------------------------------------------------------------------------

async def test_the_buyer_cancels_and_checkout_abandons(provider, stand, paypal):
    req = charge_request()
    opened = await provider.open(req)
    back = await buyer(paypal, opened.action.url, action="cancel")
    assert back == f"{CANCEL_URL}?token={opened.reference}"
    assert (await provider.look_up(opened.reference)).outcome is Outcome.ACTION_REQUIRED  # PayPal keeps it open
    abandoned = await provider.abandon(payment_id=req.payment_id, reference=opened.reference)
    assert abandoned.outcome is Outcome.CANCELLED and abandoned.reason
    assert stand.state.counts["captures_made"] == 0


async def test_abandoning_an_approved_payment_cancels_it_without_capturing(provider, stand, paypal):
    req = charge_request()
    opened = await approved(provider, paypal, req)
    abandoned = await provider.abandon(payment_id=req.payment_id, reference=opened.reference)
    assert abandoned.outcome is Outcome.CANCELLED
    assert stand.state.counts["captures_made"] == 0


async def test_abandoning_after_the_capture_is_too_late(provider, stand, paypal):
    req = charge_request()
    opened = await approved(provider, paypal, req)
    await provider.charge(payment_id=req.payment_id, reference=opened.reference)
    answer = await provider.abandon(payment_id=req.payment_id, reference=opened.reference)
    assert answer.outcome is Outcome.SUCCEEDED and answer.capture_reference


async def test_an_expired_order_is_cancelled(provider, stand, paypal):
    req = charge_request()
    opened = await provider.open(req)
    await paypal.post(f"/_control/orders/{opened.reference}/expire")
    assert (await provider.look_up(opened.reference)).outcome is Outcome.CANCELLED
    assert (await provider.charge(payment_id=req.payment_id, reference=opened.reference)).outcome is Outcome.CANCELLED
    assert (await paypal.get(opened.action.url)).status_code == 410


# -- refunds ----------------------------------------------------------------------------------------

async def captured(provider, paypal, req: ChargeRequest | None = None):
    req = req or charge_request()
    opened = await approved(provider, paypal, req)
    return req, await provider.charge(payment_id=req.payment_id, reference=opened.reference)


def refund_request(payment, req, amount: int, refund_id: str | None = None, **changes) -> RefundRequest:
    fields = dict(refund_id=refund_id or f"ref-{uuid.uuid4().hex[:12]}", payment_id=req.payment_id,
                  reference=payment.reference, capture_reference=payment.capture_reference, amount_minor=amount,
                  reason="order cancelled by the supplier")
    fields.update(changes)
    return RefundRequest(**fields)


async def test_a_partial_then_the_full_refund(provider, stand, paypal):
    req, payment = await captured(provider, paypal)
    first_request = refund_request(payment, req, 500)
    first = await provider.refund(first_request)
    assert (first.status, first.amount_minor) == ("succeeded", 500)
    assert stand.state.captures[payment.capture_reference].status == "PARTIALLY_REFUNDED"
    [call] = requests_to(stand, "/refund")
    assert call["paypal_request_id"] == f"refund-{first_request.refund_id}"
    assert json.loads(call["body"])["amount"] == {"currency_code": "USD", "value": "5.00"}

    with pytest.raises(Rejected, match="REFUND_AMOUNT_EXCEEDED"):
        await provider.refund(refund_request(payment, req, 751))
    rest = await provider.refund(refund_request(payment, req, 750))
    assert (rest.status, rest.amount_minor) == ("succeeded", 750)
    assert stand.state.captures[payment.capture_reference].status == "REFUNDED"
    assert (await provider.look_up(payment.reference)).outcome is Outcome.SUCCEEDED  # the money was taken
    with pytest.raises(Rejected, match="CAPTURE_FULLY_REFUNDED"):
        await provider.refund(refund_request(payment, req, 1))
    assert stand.state.counts["refunds_made"] == 2


async def test_a_refund_is_idempotent_per_refund_id(provider, stand, paypal):
    req, payment = await captured(provider, paypal)
    again = refund_request(payment, req, 300, refund_id="ref-fixed-1")
    first = await provider.refund(again)
    second = await provider.refund(again)
    assert first.reference == second.reference
    assert stand.state.counts["refunds_made"] == 1


async def test_a_refund_without_the_capture_reference_finds_the_capture(provider, stand, paypal):
    req, payment = await captured(provider, paypal)
    refund = await provider.refund(refund_request(payment, req, 1250, capture_reference=None))
    assert refund.status == "succeeded"
    assert stand.state.refunds[refund.reference].capture_id == payment.capture_reference


async def test_refunding_an_unknown_capture_is_not_found(provider, stand, paypal):
    req, payment = await captured(provider, paypal)
    with pytest.raises(NotFoundAtProvider):
        await provider.refund(refund_request(payment, req, 100, capture_reference="NOSUCHCAPTURE0000"))


# -- webhooks ---------------------------------------------------------------------------------------

async def deliveries(stand: Stand) -> list:
    await stand.state.webhooks.drain()
    return list(stand.receiver.received)


async def test_webhooks_verify_and_say_what_happened_to_which_order(provider, stand, paypal):
    req, payment = await captured(provider, paypal)
    await provider.refund(refund_request(payment, req, 200))
    received = await deliveries(stand)
    events = [await provider.verify_webhook(dict(r.headers), r.body) for r in received]
    assert [(e.type, e.kind) for e in events] == [
        ("CHECKOUT.ORDER.APPROVED", EventKind.APPROVED),
        ("PAYMENT.CAPTURE.COMPLETED", EventKind.SUCCEEDED),
        ("PAYMENT.CAPTURE.REFUNDED", EventKind.REFUNDED),
    ]
    assert {e.reference for e in events} == {payment.reference}
    assert all(e.event_id.startswith("WH-") and e.payload["id"] == e.event_id for e in events)
    assert len(requests_to(stand, "/v1/notifications/verify-webhook-signature")) == 3


async def test_a_declined_capture_webhook_is_a_failure(provider, stand, paypal):
    await paypal.post("/_control/decline-next", json={"mode": "CAPTURE_DECLINED"})
    req = charge_request()
    opened = await approved(provider, paypal, req)
    await provider.charge(payment_id=req.payment_id, reference=opened.reference)
    last = (await deliveries(stand))[-1]
    event = await provider.verify_webhook(dict(last.headers), last.body)
    assert (event.type, event.kind, event.reference) == ("PAYMENT.CAPTURE.DECLINED", EventKind.FAILED, opened.reference)


async def test_a_tampered_webhook_is_rejected(provider, stand, paypal):
    await approved(provider, paypal)
    [delivery] = await deliveries(stand)
    tampered = delivery.body.replace(b'"value":"12.50"', b'"value":"1.25"')
    assert tampered != delivery.body
    with pytest.raises(WebhookRejected, match="FAILURE"):
        await provider.verify_webhook(dict(delivery.headers), tampered)
    headers = dict(delivery.headers)
    headers.pop("paypal-transmission-sig")
    with pytest.raises(WebhookRejected, match="PAYPAL-TRANSMISSION-SIG"):
        await provider.verify_webhook(headers, delivery.body)
    with pytest.raises(WebhookRejected):
        await provider.verify_webhook(dict(delivery.headers), b"not json")


async def test_a_webhook_for_another_webhook_id_is_rejected(stand, paypal):
    await stand.state.reset()
    other = PayPalProvider(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, api_base=stand.base, webhook_id="SOMEOTHERHOOK")
    try:
        opened = await other.open(charge_request())
        await buyer(paypal, opened.action.url)
        [delivery] = await deliveries(stand)
        with pytest.raises(WebhookRejected):
            await other.verify_webhook(dict(delivery.headers), delivery.body)
    finally:
        await other.aclose()


# -- errors -----------------------------------------------------------------------------------------

async def test_5xx_and_429_are_provider_unavailable(provider, stand, paypal):
    opened = await provider.open(charge_request())
    await paypal.post("/_control/fail-next", json={"status": 503, "path": "/v2/checkout/orders/", "method": "GET"})
    with pytest.raises(ProviderUnavailable, match="503"):
        await provider.look_up(opened.reference)
    await paypal.post("/_control/fail-next", json={"status": 429, "path": "/v2/checkout/orders"})
    with pytest.raises(ProviderUnavailable, match="429"):
        await provider.open(charge_request())
    await paypal.post("/_control/fail-next", json={"status": 500, "path": "/verify-webhook-signature"})
    await buyer(paypal, opened.action.url)
    [delivery] = await deliveries(stand)
    with pytest.raises(ProviderUnavailable):
        await provider.verify_webhook(dict(delivery.headers), delivery.body)
    assert (await provider.look_up(opened.reference)).outcome is Outcome.READY  # and then it works again


async def test_an_unknown_order_is_not_found(provider, paypal):
    with pytest.raises(NotFoundAtProvider):
        await provider.look_up("NOSUCHORDER000000")


async def test_a_request_paypal_refuses_is_rejected(provider, paypal):
    with pytest.raises(Rejected, match="AMOUNT_MISMATCH"):
        await provider.open(charge_request(amount=1300))  # the breakdown adds up to 12.50
    with pytest.raises(Rejected, match="coupon"):
        await provider.open(charge_request(breakdown={"coupon": 100}))


async def test_refused_credentials_are_unavailable_and_logged(stand, paypal, caplog):
    wrong = PayPalProvider(DEFAULT_CLIENT_ID, "not-the-secret", api_base=stand.base, webhook_id=DEFAULT_WEBHOOK_ID)
    issued = stand.state.tokens_issued
    try:
        with pytest.raises(ProviderUnavailable, match="credentials"):
            await wrong.look_up("ANYORDER000000000")
        assert any(r.levelname == "ERROR" and "credentials" in r.getMessage() for r in caplog.records)
        assert stand.state.tokens_issued == issued
        [token_call] = requests_to(stand, "/v1/oauth2/token")
        assert token_call["status_code"] == 401
    finally:
        await wrong.aclose()


async def test_a_revoked_token_is_unavailable_once_then_a_new_token_is_fetched(provider, stand, paypal, caplog):
    opened = await provider.open(charge_request())
    await paypal.post("/_control/revoke-tokens")
    issued = stand.state.tokens_issued
    with pytest.raises(ProviderUnavailable):
        await provider.look_up(opened.reference)
    assert any(r.levelname == "ERROR" for r in caplog.records)
    assert (await provider.look_up(opened.reference)).outcome is Outcome.ACTION_REQUIRED
    assert stand.state.tokens_issued == issued + 1


async def test_an_unreachable_paypal_is_unavailable():
    down = PayPalProvider(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, api_base=f"http://127.0.0.1:{free_port()}",
                          webhook_id=DEFAULT_WEBHOOK_ID, timeout=2)
    try:
        with pytest.raises(ProviderUnavailable, match="unreachable"):
            await down.look_up("ANYORDER000000000")
    finally:
        await down.aclose()


# -- settings ---------------------------------------------------------------------------------------

def test_settings_read_checkout_paypal_environment_variables(monkeypatch):
    monkeypatch.setenv("CHECKOUT_PAYPAL_CLIENT_ID", "live-client")
    monkeypatch.setenv("CHECKOUT_PAYPAL_CLIENT_SECRET", "live-secret")
    monkeypatch.setenv("CHECKOUT_PAYPAL_ENVIRONMENT", "live")
    monkeypatch.setenv("CHECKOUT_PAYPAL_WEBHOOK_ID", "8PT597110X687430LKGECATA")
    monkeypatch.setenv("CHECKOUT_PAYPAL_TIMEOUT_SECONDS", "7.5")
    s = PayPalSettings()
    assert (s.paypal_client_id, s.paypal_client_secret.get_secret_value()) == ("live-client", "live-secret")
    assert s.paypal_base_url == "https://api-m.paypal.com" and s.paypal_timeout_seconds == 7.5
    assert PayPalSettings(paypal_environment="sandbox").paypal_base_url == "https://api-m.sandbox.paypal.com"
    assert PayPalSettings(paypal_api_base="http://127.0.0.1:8109/").paypal_base_url == "http://127.0.0.1:8109"
    provider = PayPalProvider.from_settings(s)
    assert provider.base_url == "https://api-m.paypal.com"
    assert provider.client.config.get_base_uri() == "https://api-m.paypal.com"
    provider.client.config.http_client.session.close()


def test_production_refuses_the_development_values():
    from dropline_infra.settings import ServiceSettings

    class Checkout(ServiceSettings, PayPalSettings):
        pass

    Checkout(environment="development")  # fine on a laptop
    real = dict(paypal_client_id="live-client", paypal_client_secret="live-secret", paypal_webhook_id="WH1")
    Checkout(environment="production", **real)
    for name, dev in (("paypal_client_id", DEVELOPMENT_PAYPAL_CLIENT_ID),
                      ("paypal_client_secret", DEVELOPMENT_PAYPAL_CLIENT_SECRET),
                      ("paypal_webhook_id", DEVELOPMENT_PAYPAL_WEBHOOK_ID)):
        with pytest.raises(ValueError, match=name):
            Checkout(environment="production", **{**real, name: dev})
