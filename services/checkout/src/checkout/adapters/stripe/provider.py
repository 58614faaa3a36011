"""Cards through Stripe PaymentIntents (official SDK, async over httpx), behind the payment port.

How Stripe's states read in checkout's words:
- requires_confirmation → READY (created unconfirmed by `open`: no money can move until `charge`);
- requires_action → ACTION_REQUIRED with the client_secret stripe.js confirms (3-D Secure);
- requires_payment_method after a confirm → DECLINED (with Stripe's message); processing → PENDING;
- succeeded → SUCCEEDED; canceled → CANCELLED.

Errors: CardError → Declined; 404 → NotFoundAtProvider; other InvalidRequestError → Rejected;
network errors, rate limits, 5xx, refused credentials → ProviderUnavailable (outcome unknown).

Only these PaymentIntent parameters are sent: amount, currency, payment_method,
payment_method_types, metadata (what both Stripe and localstripe accept). localstripe ignores
Idempotency-Key, so refunds look before they write (a refund carries our refund id in metadata).
"""

from __future__ import annotations

from collections.abc import Mapping

import stripe

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
from .settings import StripeSettings

PROVIDER_STRIPE = "stripe"

_OUTCOMES = {
    "requires_confirmation": Outcome.READY,
    "requires_action": Outcome.ACTION_REQUIRED,
    "processing": Outcome.PENDING,
    "requires_capture": Outcome.PENDING,  # never asked for (automatic capture); nobody captures it by mistake
    "succeeded": Outcome.SUCCEEDED,
    "canceled": Outcome.CANCELLED,
}

_EVENT_KINDS = {
    "payment_intent.succeeded": EventKind.SUCCEEDED,
    "payment_intent.payment_failed": EventKind.FAILED,
    "payment_intent.canceled": EventKind.FAILED,
    "charge.refunded": EventKind.REFUNDED,
}


def _payment(pi) -> ProviderPayment:
    status = pi.status
    err = getattr(pi, "last_payment_error", None)
    failure = (getattr(err, "message", None) or getattr(err, "code", None) or "the card was declined") if err else None
    if status == "requires_payment_method":
        # Fresh intents never reach here (open sets the payment method): after a confirm this is a decline,
        # or a failed 3-D Secure authentication.
        return ProviderPayment(reference=pi.id, outcome=Outcome.DECLINED, amount_minor=int(pi.amount),
                               reason=failure or "the card was declined or its authentication failed")
    outcome = _OUTCOMES.get(status, Outcome.PENDING)
    action = None
    if outcome is Outcome.ACTION_REQUIRED:
        action = BuyerAction(type="authenticate_card", client_secret=pi.client_secret)
    return ProviderPayment(reference=pi.id, outcome=outcome, amount_minor=int(pi.amount), action=action,
                           reason="the payment was cancelled; nothing was charged" if outcome is Outcome.CANCELLED
                           else None)


def _card_reason(exc: stripe.CardError) -> str:
    message = exc.user_message or "card declined"
    code = getattr(exc, "code", None)
    decline = getattr(getattr(exc, "error", None), "decline_code", None)
    detail = ", ".join(x for x in (code, decline) if x)
    return f"{message} ({detail})" if detail else message


class StripeProvider:
    """Stripe PaymentIntents. One client (and one httpx connection pool) per process."""

    name = PROVIDER_STRIPE
    method = PaymentMethod.CARD

    def __init__(self, api_key: str, api_base: str | None = None, *, timeout: float = 20.0,
                 max_network_retries: int = 2, webhook_secret: str | None = None, webhook_tolerance: int = 300):
        self._http = stripe.HTTPXClient(timeout=timeout)
        self.client = stripe.StripeClient(api_key, base_addresses={"api": api_base} if api_base else None,
                                          http_client=self._http, max_network_retries=max_network_retries)
        self._webhook_secret = webhook_secret
        self._tolerance = webhook_tolerance

    @classmethod
    def from_settings(cls, s: StripeSettings) -> StripeProvider:
        return cls(s.stripe_api_key.get_secret_value(), s.stripe_api_base, timeout=s.stripe_timeout_seconds,
                   webhook_secret=s.stripe_webhook_secret.get_secret_value(),
                   webhook_tolerance=s.stripe_webhook_tolerance_seconds)

    async def open(self, req: ChargeRequest) -> ProviderPayment:
        # No confirm here: the PaymentIntent id is saved first, so a crash after this call leaves a
        # payment we can find again, and an unconfirmed PaymentIntent never moves money.
        if not req.payment_method:
            raise Rejected("a card payment needs a payment method (the card typed into the card form)")
        params = {"amount": req.amount_minor, "currency": "usd", "payment_method": req.payment_method,
                  "payment_method_types": ["card"], "metadata": dict(req.metadata)}
        return await self._call(self.client.v1.payment_intents.create_async(
            params=params, options={"idempotency_key": f"payment-{req.payment_id}-create"}))

    async def charge(self, *, payment_id: str, reference: str) -> ProviderPayment:
        # payment_method was set at create: localstripe answers 500 "Not implemented" to a confirm with one.
        return await self._call(self.client.v1.payment_intents.confirm_async(
            reference, options={"idempotency_key": f"payment-{payment_id}-confirm"}), reference)

    async def look_up(self, reference: str) -> ProviderPayment:
        return await self._call(self.client.v1.payment_intents.retrieve_async(reference), reference)

    async def abandon(self, *, payment_id: str, reference: str) -> ProviderPayment:
        try:
            return await self._call(self.client.v1.payment_intents.cancel_async(
                reference, options={"idempotency_key": f"payment-{payment_id}-cancel"}), reference)
        except Rejected:
            # Not cancellable any more (it succeeded meanwhile, or is already cancelled): say where it is.
            return await self.look_up(reference)

    async def refund(self, req: RefundRequest) -> ProviderRefund:
        try:
            existing = await self.client.v1.refunds.list_async(params={"payment_intent": req.reference, "limit": 100})
            for r in existing.data:
                if (r.metadata.to_dict() if getattr(r, "metadata", None) else {}).get("refund_id") == req.refund_id:
                    return self._refund(r)
            created = await self.client.v1.refunds.create_async(
                params={"payment_intent": req.reference, "amount": req.amount_minor,
                        "metadata": {"refund_id": req.refund_id, "payment_id": req.payment_id}},
                options={"idempotency_key": f"refund-{req.refund_id}"})
        except stripe.StripeError as exc:
            raise self._translate(exc, req.reference) from exc
        return self._refund(created)

    @staticmethod
    def _refund(r) -> ProviderRefund:
        status = {"succeeded": "succeeded", "pending": "pending", "requires_action": "pending"}.get(r.status, "failed")
        return ProviderRefund(reference=r.id, status=status, amount_minor=int(r.amount),
                              reason=getattr(r, "failure_reason", None))

    async def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> ProviderEvent:
        signature = next((v for k, v in headers.items() if k.lower() == "stripe-signature"), None)
        if not signature:
            raise WebhookRejected("missing Stripe-Signature header")
        if not self._webhook_secret:
            raise WebhookRejected("no Stripe webhook secret is configured")
        try:
            event = stripe.Webhook.construct_event(body, signature, self._webhook_secret, tolerance=self._tolerance)
        except stripe.SignatureVerificationError as exc:
            raise WebhookRejected(f"Stripe-Signature does not verify: {exc.user_message or exc}") from exc
        except ValueError as exc:  # not JSON, or not an event
            raise WebhookRejected(f"not a Stripe event: {exc}") from exc
        payload = event.to_dict()
        obj = payload.get("data", {}).get("object", {}) or {}
        reference = obj.get("id") if event.type.startswith("payment_intent.") else obj.get("payment_intent")
        return ProviderEvent(event_id=event.id, type=event.type, kind=_EVENT_KINDS.get(event.type, EventKind.IGNORED),
                             reference=reference, payload=payload)

    async def _call(self, coro, reference: str | None = None) -> ProviderPayment:
        try:
            return _payment(await coro)
        except stripe.StripeError as exc:
            raise self._translate(exc, reference) from exc

    @staticmethod
    def _translate(exc: stripe.StripeError, reference: str | None) -> Exception:
        if isinstance(exc, stripe.CardError):
            return Declined(_card_reason(exc), reference)
        if isinstance(exc, (stripe.APIConnectionError, stripe.RateLimitError)):
            return ProviderUnavailable(f"{type(exc).__name__}: {exc.user_message or exc}")
        if isinstance(exc, stripe.InvalidRequestError):
            if exc.http_status == 404:
                return NotFoundAtProvider(f"{exc.user_message or exc}")
            return Rejected(f"payment provider refused the request: {exc.user_message or exc}")
        if isinstance(exc, (stripe.AuthenticationError, stripe.PermissionError)):
            log.error("stripe refused our credentials", error=str(exc))
            return ProviderUnavailable(f"payment provider refused our credentials: {exc.user_message or exc}")
        return ProviderUnavailable(f"{type(exc).__name__}: {exc.user_message or exc}")  # APIError (5xx), …

    async def aclose(self) -> None:
        await self._http.close_async()
