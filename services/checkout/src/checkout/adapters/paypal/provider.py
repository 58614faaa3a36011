"""PayPal Orders v2 behind the payment port: the buyer approves on PayPal, then checkout captures.

How PayPal's states read in checkout's words:
- ``open`` creates an order (intent CAPTURE, one purchase unit in USD with the breakdown, the supplier as
  payee, custom_id = invoice_id = Dropline's payment id, the return/cancel URLs in
  ``payment_source.paypal.experience_context``) → ACTION_REQUIRED with the approval link (rel ``payer-action``,
  or ``approve`` for orders made without a payment source). No money can move before the buyer approves and
  checkout captures.
- order CREATED / PAYER_ACTION_REQUIRED → ACTION_REQUIRED; APPROVED → READY; VOIDED → CANCELLED;
  COMPLETED → what its capture says (payments.md §3.1: a COMPLETED order can hold a declined capture):
  COMPLETED / PARTIALLY_REFUNDED / REFUNDED → SUCCEEDED (capture_reference = the capture id),
  PENDING → PENDING, DECLINED / FAILED → DECLINED.
- ``charge`` captures with ``PayPal-Request-Id: payment-{payment_id}-capture`` (a replay answers the same
  capture). 422 INSTRUMENT_DECLINED (and the other payer-side refusals) → :class:`Declined`;
  ORDER_NOT_APPROVED and ORDER_ALREADY_CAPTURED → where the order stands (``look_up``).
- ``abandon``: PayPal has no cancel for an uncaptured order. It is looked up: a COMPLETED order is answered
  as it is (too late, the money moved or the capture is final); anything else is answered CANCELLED — checkout
  never captures it, and PayPal voids it when the approval window (3 h by default) passes.
- ``refund`` refunds the captured payment with ``PayPal-Request-Id: refund-{refund_id}`` and the amount.

Errors: network errors, timeouts, 429 and 5xx → ProviderUnavailable; PayPal refusing our client credentials
(401 from ``/v1/oauth2/token``) or a token (401/403 from a call) → ProviderUnavailable and an error in the log;
404 → NotFoundAtProvider; other 4xx → Rejected (Declined for the payer-side refusals listed below).

Where the official SDK (paypal-server-sdk 2.4.0, synchronous, requests) does not serve:
- It is synchronous: every call runs in ``asyncio.to_thread``; one SDK client (one requests session) per provider.
- It has no option for a base URL (it maps Environment to PayPal's two hosts in a class-level dict). This
  provider hands the client a ``Configuration`` subclass whose ``get_base_uri`` answers ``api_base``: the
  override lives in this client's configuration only, nothing global is patched.
- Its token handling swallows a refused token request (the call then fails with "OAuthToken is undefined or
  expired"). The documented ``o_auth_token_provider`` hook is used instead, so a 401 from ``/v1/oauth2/token`` is
  logged and reported as such (the SDK still caches and applies the token).
- It has no webhook API: ``POST /v1/notifications/verify-webhook-signature`` is called over httpx (with the
  SDK's token). The event sent for verification is the one parsed from the raw body.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
import requests
from apimatic_core.exceptions.auth_validation_exception import AuthValidationException
from paypalserversdk.configuration import Configuration, Environment, Server
from paypalserversdk.exceptions.api_exception import ApiException
from paypalserversdk.exceptions.o_auth_provider_exception import OAuthProviderException
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
from paypalserversdk.models.amount_breakdown import AmountBreakdown
from paypalserversdk.models.amount_with_breakdown import AmountWithBreakdown
from paypalserversdk.models.checkout_payment_intent import CheckoutPaymentIntent
from paypalserversdk.models.money import Money
from paypalserversdk.models.order_request import OrderRequest
from paypalserversdk.models.payee_base import PayeeBase
from paypalserversdk.models.payment_source import PaymentSource
from paypalserversdk.models.paypal_wallet import PaypalWallet
from paypalserversdk.models.paypal_wallet_experience_context import PaypalWalletExperienceContext
from paypalserversdk.models.purchase_unit_request import PurchaseUnitRequest
from paypalserversdk.models.refund_request import RefundRequest as PayPalRefundRequest
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

from dropline_schemas.events import PaymentMethod

from ...observability import log
from ..port import (
    BuyerAction,
    ChargeRequest,
    Declined,
    EventKind,
    NotFoundAtProvider,
    Outcome,
    ProviderEvent,
    ProviderPayment,
    ProviderRefund,
    ProviderUnavailable,
    RefundRequest,
    Rejected,
    WebhookRejected,
)
from .settings import PAYPAL_BASE_URLS, PayPalSettings

PROVIDER_PAYPAL = "paypal"
CURRENCY = "USD"
BREAKDOWN_KEYS = frozenset({"item_total", "shipping", "handling", "tax_total", "insurance", "shipping_discount",
                            "discount"})
# 422 issues that are the payer's funding being refused (capture): the payment itself was declined.
DECLINE_ISSUES = frozenset({
    "INSTRUMENT_DECLINED", "PAYER_CANNOT_PAY", "PAYER_ACCOUNT_RESTRICTED", "PAYER_ACCOUNT_LOCKED_OR_CLOSED",
    "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING", "TRANSACTION_REFUSED", "TRANSACTION_LIMIT_EXCEEDED",
    "TRANSACTION_RECEIVING_LIMIT_EXCEEDED", "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED", "CARD_EXPIRED",
    "COMPLIANCE_VIOLATION", "PAYEE_BLOCKED_TRANSACTION", "TRANSACTION_BLOCKED_BY_PAYEE",
})
SUCCEEDED_CAPTURES = frozenset({"COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"})
DECLINED_CAPTURES = frozenset({"DECLINED", "FAILED"})
_EVENT_KINDS = {
    "CHECKOUT.ORDER.APPROVED": EventKind.APPROVED,
    "PAYMENT.CAPTURE.COMPLETED": EventKind.SUCCEEDED,
    "PAYMENT.CAPTURE.DENIED": EventKind.FAILED,
    "PAYMENT.CAPTURE.DECLINED": EventKind.FAILED,
    "CHECKOUT.PAYMENT-APPROVAL.REVERSED": EventKind.FAILED,  # approved, never captured in time: order voided
    "PAYMENT.CAPTURE.REFUNDED": EventKind.REFUNDED,
}
_WEBHOOK_HEADERS = {"transmission_id": "paypal-transmission-id", "transmission_time": "paypal-transmission-time",
                    "transmission_sig": "paypal-transmission-sig", "cert_url": "paypal-cert-url",
                    "auth_algo": "paypal-auth-algo"}


class _CredentialsRefused(Exception):
    """PayPal's token endpoint refused our client id and secret."""


class _BaseUrlConfiguration(Configuration):
    """The SDK's Configuration, answering one base URL (the stand-in, or a proxy) for this client only."""

    def __init__(self, base_url: str, **kwargs: Any):
        self._base_url = base_url.rstrip("/")
        super().__init__(**kwargs)

    def get_base_uri(self, server: Server = Server.DEFAULT) -> str:
        return self._base_url


def _value(cents: int) -> str:
    if cents < 0:
        raise Rejected(f"a PayPal amount cannot be negative ({cents} cents)")
    return f"{cents // 100}.{cents % 100:02d}"


def _cents(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int((Decimal(value) * 100).to_integral_value())
    except (InvalidOperation, TypeError, ValueError):
        return None


def _get(obj: Any, *names: str) -> Any:
    """``obj.a.b.c`` where any step may be missing (the SDK's models leave absent fields unset)."""
    for name in names:
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
    return obj


def _link(obj: Any, *rels: str) -> str | None:
    for link in _get(obj, "links") or []:
        if _get(link, "rel") in rels:
            return _get(link, "href")
    return None


def _issues(exc: ApiException) -> list[dict[str, str]]:
    details = getattr(exc, "details", None)
    if details:
        return [{"issue": _get(d, "issue") or "", "description": _get(d, "description") or ""} for d in details]
    try:
        body = json.loads(exc.response.text or "{}")
    except (ValueError, AttributeError):
        return []
    return [{"issue": d.get("issue", ""), "description": d.get("description", "")}
            for d in (body.get("details") or []) if isinstance(d, dict)] if isinstance(body, dict) else []


def _describe(exc: ApiException) -> str:
    name = getattr(exc, "name", None) or f"HTTP {exc.response_code}"
    parts = [f"{d['issue']}: {d['description']}".rstrip(": ") for d in _issues(exc)]
    message = getattr(exc, "message", None)
    debug = getattr(exc, "debug_id", None)
    text = f"{name} ({'; '.join(parts)})" if parts else f"{name}{': ' + message if message else ''}"
    return f"{text} [debug_id {debug}]" if debug else text


def _capture(order: Any) -> Any:
    """The (last) capture of the order's purchase unit, or None."""
    captures = []
    for unit in _get(order, "purchase_units") or []:
        captures += list(_get(unit, "payments", "captures") or [])
    return captures[-1] if captures else None


def _payment(order: Any) -> ProviderPayment:
    reference = _get(order, "id")
    status = _get(order, "status")
    units = _get(order, "purchase_units") or []
    amount = _cents(_get(units[0], "amount", "value")) if units else None
    if status in ("CREATED", "PAYER_ACTION_REQUIRED"):
        return ProviderPayment(reference=reference, outcome=Outcome.ACTION_REQUIRED, amount_minor=amount,
                               action=BuyerAction(type="redirect", url=_link(order, "payer-action", "approve")))
    if status == "APPROVED":
        return ProviderPayment(reference=reference, outcome=Outcome.READY, amount_minor=amount)
    if status == "VOIDED":
        return ProviderPayment(reference=reference, outcome=Outcome.CANCELLED, amount_minor=amount,
                               reason="the PayPal order was voided (not captured in time); nothing was charged")
    if status == "COMPLETED":
        capture = _capture(order)
        if capture is None:
            return ProviderPayment(reference=reference, outcome=Outcome.PENDING, amount_minor=amount)
        capture_status = _get(capture, "status")
        captured = _cents(_get(capture, "amount", "value"))
        common = {"reference": reference, "amount_minor": captured if captured is not None else amount,
                  "capture_reference": _get(capture, "id")}
        if capture_status in SUCCEEDED_CAPTURES:
            return ProviderPayment(outcome=Outcome.SUCCEEDED, **common)
        if capture_status in DECLINED_CAPTURES:
            detail = _get(capture, "status_details", "reason")
            return ProviderPayment(outcome=Outcome.DECLINED, **common,
                                   reason="PayPal declined the payment" + (f" ({detail})" if detail else ""))
        return ProviderPayment(outcome=Outcome.PENDING, **common)
    return ProviderPayment(reference=reference, outcome=Outcome.PENDING, amount_minor=amount)


def _order_id_from(href: str | None, marker: str) -> str | None:
    if not href or marker not in href:
        return None
    return href.split(marker, 1)[1].split("/", 1)[0].split("?", 1)[0] or None


class PayPalProvider:
    """PayPal Orders v2 through the official SDK (plus httpx for webhook verification)."""

    name = PROVIDER_PAYPAL
    method = PaymentMethod.PAYPAL

    def __init__(self, client_id: str, client_secret: str, *, environment: str = "sandbox",
                 api_base: str | None = None, webhook_id: str | None = None, timeout: float = 20.0):
        self.base_url = (api_base or PAYPAL_BASE_URLS[environment]).rstrip("/")
        self._webhook_id = webhook_id
        self._token: Any = None
        self._token_lock = threading.Lock()
        credentials = ClientCredentialsAuthCredentials(
            o_auth_client_id=client_id, o_auth_client_secret=client_secret,
            o_auth_token_provider=self._provide_token, o_auth_clock_skew=60)
        config = _BaseUrlConfiguration(
            self.base_url, timeout=timeout, max_retries=0,
            environment=Environment.PRODUCTION if environment == "live" else Environment.SANDBOX,
            client_credentials_auth_credentials=credentials)
        self.client = PaypalServersdkClient(config=config)
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout)

    @classmethod
    def from_settings(cls, s: PayPalSettings) -> PayPalProvider:
        return cls(s.paypal_client_id, s.paypal_client_secret.get_secret_value(), environment=s.paypal_environment,
                   api_base=s.paypal_api_base, webhook_id=s.paypal_webhook_id, timeout=s.paypal_timeout_seconds)

    # -- the port -------------------------------------------------------------------------------------

    async def open(self, req: ChargeRequest) -> ProviderPayment:
        unknown = set(req.breakdown) - BREAKDOWN_KEYS
        if unknown:
            raise Rejected(f"PayPal has no amount breakdown entry {', '.join(sorted(unknown))}")
        amount: dict[str, Any] = {"currency_code": CURRENCY, "value": _value(req.amount_minor)}
        if req.breakdown:
            amount["breakdown"] = AmountBreakdown(**{k: Money(currency_code=CURRENCY, value=_value(v))
                                                     for k, v in req.breakdown.items()})
        unit: dict[str, Any] = {"amount": AmountWithBreakdown(**amount), "custom_id": req.payment_id,
                                "invoice_id": req.payment_id}
        if req.payee.merchant_id:
            unit["payee"] = PayeeBase(merchant_id=req.payee.merchant_id)
        elif req.payee.email:
            unit["payee"] = PayeeBase(email_address=req.payee.email)
        if req.description:
            unit["description"] = req.description[:127]  # PayPal's limit (it would truncate)
        order: dict[str, Any] = {"intent": CheckoutPaymentIntent.CAPTURE, "purchase_units": [PurchaseUnitRequest(**unit)]}
        if req.return_url or req.cancel_url:
            context: dict[str, Any] = {"shipping_preference": "NO_SHIPPING", "user_action": "PAY_NOW"}
            if req.return_url:
                context["return_url"] = req.return_url
            if req.cancel_url:
                context["cancel_url"] = req.cancel_url
            order["payment_source"] = PaymentSource(
                paypal=PaypalWallet(experience_context=PaypalWalletExperienceContext(**context)))
        created = await self._call(self.client.orders.create_order, {
            "body": OrderRequest(**order), "paypal_request_id": f"payment-{req.payment_id}-create",
            "prefer": "return=representation"})
        return _payment(created)

    async def charge(self, *, payment_id: str, reference: str) -> ProviderPayment:
        options = {"id": reference, "paypal_request_id": f"payment-{payment_id}-capture",
                   "prefer": "return=representation"}
        try:
            order = await self._run(self.client.orders.capture_order, options)
        except ApiException as exc:
            issues = {d["issue"] for d in _issues(exc)}
            if exc.response_code == 422 and issues & {"ORDER_NOT_APPROVED", "ORDER_ALREADY_CAPTURED"}:
                return await self.look_up(reference)  # not approved (yet, or any more) / captured already
            raise self._translate(exc, reference) from exc
        except (AuthValidationException, requests.RequestException, _CredentialsRefused) as exc:
            raise self._translate(exc, reference) from exc
        return _payment(order)

    async def look_up(self, reference: str) -> ProviderPayment:
        return _payment(await self._call(self.client.orders.get_order, {"id": reference}, reference))

    async def abandon(self, *, payment_id: str, reference: str) -> ProviderPayment:
        try:
            payment = await self.look_up(reference)
        except NotFoundAtProvider:
            return ProviderPayment(reference=reference, outcome=Outcome.CANCELLED,
                                   reason="PayPal no longer knows the order; nothing was charged")
        if payment.outcome in (Outcome.SUCCEEDED, Outcome.PENDING, Outcome.DECLINED, Outcome.CANCELLED):
            return payment  # captured (or a final capture decision), or voided already: say where it is
        # CREATED / PAYER_ACTION_REQUIRED / APPROVED: PayPal has no cancel; it is never captured and expires.
        return ProviderPayment(reference=reference, outcome=Outcome.CANCELLED, amount_minor=payment.amount_minor,
                               reason="the PayPal payment was abandoned before it was captured; nothing was charged")

    async def refund(self, req: RefundRequest) -> ProviderRefund:
        capture_id = req.capture_reference
        if not capture_id:
            capture_id = (await self.look_up(req.reference)).capture_reference
            if not capture_id:
                raise Rejected(f"PayPal order {req.reference} has no capture to refund")
        body: dict[str, Any] = {"amount": Money(currency_code=CURRENCY, value=_value(req.amount_minor)),
                                "custom_id": req.refund_id[:127]}
        if req.reason:
            body["note_to_payer"] = req.reason[:255]
        refund = await self._call(self.client.payments.refund_captured_payment, {
            "capture_id": capture_id, "paypal_request_id": f"refund-{req.refund_id}",
            "prefer": "return=representation", "body": PayPalRefundRequest(**body)}, capture_id, declines=False)
        status = {"COMPLETED": "succeeded", "PENDING": "pending"}.get(_get(refund, "status"), "failed")
        amount = _cents(_get(refund, "amount", "value"))
        reason = _get(refund, "status_details", "reason")
        return ProviderRefund(reference=_get(refund, "id"), status=status,
                              amount_minor=amount if amount is not None else req.amount_minor,
                              reason=reason if status != "succeeded" else None)

    async def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> ProviderEvent:
        lowered = {k.lower(): v for k, v in headers.items()}
        values = {field: lowered.get(header) for field, header in _WEBHOOK_HEADERS.items()}
        missing = [_WEBHOOK_HEADERS[f] for f, v in values.items() if not v]
        if missing:
            raise WebhookRejected(f"not a PayPal webhook delivery: missing {', '.join(h.upper() for h in missing)}")
        if not self._webhook_id:
            raise WebhookRejected("no PayPal webhook id is configured")
        try:
            event = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise WebhookRejected(f"the PayPal webhook body is not JSON: {exc}") from exc
        if not isinstance(event, dict) or not event.get("id") or not event.get("event_type"):
            raise WebhookRejected("not a PayPal webhook event (no id or event_type)")
        status = await self._verify_signature(values, event)
        if status != "SUCCESS":
            raise WebhookRejected(f"PayPal did not verify the webhook signature (verification_status {status})")
        event_type = event["event_type"]
        kind = _EVENT_KINDS.get(event_type, EventKind.IGNORED)
        return ProviderEvent(event_id=event["id"], type=event_type, kind=kind,
                             reference=await self._event_reference(event, kind), payload=event)

    async def aclose(self) -> None:
        await self._http.aclose()
        session = getattr(self.client.config.http_client, "session", None)
        if session is not None:
            session.close()

    # -- webhooks -------------------------------------------------------------------------------------

    async def _verify_signature(self, values: dict[str, str | None], event: dict[str, Any]) -> str:
        try:
            token = await asyncio.to_thread(self._bearer)
        except (ApiException, AuthValidationException, requests.RequestException, _CredentialsRefused) as exc:
            raise self._translate(exc, None) from exc
        payload = {**values, "webhook_id": self._webhook_id, "webhook_event": event}
        try:
            response = await self._http.post("/v1/notifications/verify-webhook-signature", json=payload,
                                             headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"PayPal webhook verification: {type(exc).__name__}: {exc}") from exc
        if response.status_code in (401, 403):
            log.error("paypal refused our token for webhook verification", status=response.status_code,
                      body=response.text[:500])
            if response.status_code == 401:
                self._forget_token()
            raise ProviderUnavailable(f"PayPal refused our token ({response.status_code}) for webhook verification")
        if response.status_code == 429 or response.status_code >= 500:
            raise ProviderUnavailable(f"PayPal webhook verification answered {response.status_code}")
        if response.status_code >= 400:
            raise WebhookRejected(f"PayPal refused to verify the delivery ({response.status_code}: "
                                  f"{response.text[:300]})")
        try:
            return str(response.json().get("verification_status"))
        except (ValueError, AttributeError) as exc:
            raise ProviderUnavailable(f"PayPal webhook verification answered no JSON: {response.text[:200]}") from exc

    async def _event_reference(self, event: dict[str, Any], kind: EventKind) -> str | None:
        """The PayPal order id the event is about."""
        resource = event.get("resource") or {}
        if not isinstance(resource, dict):
            return None
        event_type = event["event_type"]
        if event_type.startswith("CHECKOUT.ORDER."):
            return resource.get("id")
        if event_type == "CHECKOUT.PAYMENT-APPROVAL.REVERSED":
            return resource.get("order_id")
        order_id = _get(resource, "supplementary_data", "related_ids", "order_id")
        if order_id or not event_type.startswith("PAYMENT.CAPTURE."):
            return order_id
        if event.get("resource_type") == "capture":
            return _order_id_from(_link(resource, "up"), "/v2/checkout/orders/")
        # A refund (PAYMENT.CAPTURE.REFUNDED / REVERSED): its "up" link is the capture, which knows the order.
        capture_id = _order_id_from(_link(resource, "up"), "/v2/payments/captures/")
        if not capture_id or kind is EventKind.IGNORED:
            return None
        try:
            capture = await self._call(self.client.payments.get_captured_payment, {"capture_id": capture_id})
        except NotFoundAtProvider:
            return None
        return _get(capture, "supplementary_data", "related_ids", "order_id") or _order_id_from(
            _link(capture, "up"), "/v2/checkout/orders/")

    # -- the SDK --------------------------------------------------------------------------------------

    def _provide_token(self, _last_token: Any, auth_manager: Any) -> Any:
        """The SDK's ``o_auth_token_provider``: our cached token while valid, else a new one (worker threads)."""
        with self._token_lock:
            token = self._token
            if token is not None and not auth_manager.is_token_expired(token):
                return token
            try:
                token = auth_manager.fetch_token()
            except OAuthProviderException as exc:
                log.error("paypal refused our client credentials", status=exc.response_code,
                          error=getattr(exc, "error", None), description=getattr(exc, "error_description", None),
                          base_url=self.base_url)
                raise _CredentialsRefused(f"PayPal refused our client credentials ({exc.response_code})") from exc
            self._token = token
            return token

    def _bearer(self) -> str:
        return self._provide_token(None, self.client.oauth_2).access_token

    @staticmethod
    async def _run(call: Callable[[dict[str, Any]], Any], options: dict[str, Any]) -> Any:
        response = await asyncio.to_thread(call, options)
        return response.body

    async def _call(self, call: Callable[[dict[str, Any]], Any], options: dict[str, Any],
                    reference: str | None = None, *, declines: bool = True) -> Any:
        try:
            return await self._run(call, options)
        except (ApiException, AuthValidationException, requests.RequestException, _CredentialsRefused) as exc:
            raise self._translate(exc, reference, declines=declines) from exc

    def _forget_token(self) -> None:
        """PayPal refused the token before its expiry (revoked): make the next call fetch a new one. The SDK
        holds the same token object, so expiring it (its public ``expiry``) is enough."""
        with self._token_lock:
            if self._token is not None:
                self._token.expiry = 0

    def _translate(self, exc: Exception, reference: str | None, *, declines: bool = True) -> Exception:
        if isinstance(exc, _CredentialsRefused):
            return ProviderUnavailable(str(exc))
        if isinstance(exc, AuthValidationException):
            log.error("paypal sdk has no token", error=str(exc))
            return ProviderUnavailable(f"no PayPal access token: {exc}")
        if isinstance(exc, requests.RequestException):
            return ProviderUnavailable(f"PayPal unreachable: {type(exc).__name__}: {exc}")
        assert isinstance(exc, ApiException)
        status = exc.response_code
        text = _describe(exc)
        if status in (401, 403):
            log.error("paypal refused our token", status=status, error=text)
            if status == 401:
                self._forget_token()
            return ProviderUnavailable(f"PayPal refused our credentials: {text}")
        if status == 404:
            return NotFoundAtProvider(f"PayPal: {text}")
        if status in (408, 429) or status >= 500:
            return ProviderUnavailable(f"PayPal answered {status}: {text}")
        issues = _issues(exc)
        declined = [d for d in issues if d["issue"] in DECLINE_ISSUES]
        if declines and declined:
            return Declined(f"PayPal declined the payment: {declined[0]['issue']}"
                            + (f" ({declined[0]['description']})" if declined[0]["description"] else ""), reference)
        return Rejected(f"PayPal refused the request: {text}")
