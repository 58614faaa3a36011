"""The card payment provider behind a Protocol: Stripe PaymentIntents through the official SDK
(async, httpx), or a fake in unit tests.

Stripe's errors are translated into outcomes the checkout logic decides on:
- `Declined`: the card was declined (CardError). The charge failed; the PaymentIntent went back to
  requires_payment_method and nobody gives it another card, so no money moves.
- `Rejected`: this request was refused (400-style InvalidRequestError, e.g. an unknown payment
  method at create, or "unexpected state" at confirm because another confirm got there first). It
  says nothing about the PaymentIntent's state: after a confirm, look at the PaymentIntent.
- `NotFoundAtProvider`: 404.
- `ProviderUnavailable`: we do not know what happened (network error, timeout, 5xx, rate limit,
  refused credentials). Never release orders on this alone: look again later.

Only these PaymentIntent parameters are sent: amount, currency, payment_method,
payment_method_types, metadata (what both Stripe and localstripe accept).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import stripe

from .observability import log

PROVIDER_STRIPE = "stripe"


@dataclass(frozen=True)
class Intent:
    """What checkout needs to know about a PaymentIntent."""

    id: str
    status: str  # requires_payment_method | requires_confirmation | requires_action | processing |
    #               requires_capture | canceled | succeeded
    amount: int
    failure: str | None = None


class Declined(Exception):
    def __init__(self, reason: str, intent_id: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.intent_id = intent_id


class Rejected(Exception):
    """The provider refused this request (4xx other than a card decline)."""


class ProviderUnavailable(Exception):
    """The outcome is unknown: the request may or may not have taken effect."""


class NotFoundAtProvider(Exception):
    """The provider says the object does not exist."""


class PaymentProvider(Protocol):
    name: str

    async def create_intent(self, *, payment_id: str, amount_cents: int, payment_method: str,
                            metadata: dict[str, str]) -> Intent: ...

    async def confirm_intent(self, *, payment_id: str, intent_id: str) -> Intent: ...

    async def retrieve_intent(self, intent_id: str) -> Intent: ...

    async def cancel_intent(self, *, payment_id: str, intent_id: str) -> Intent: ...

    async def aclose(self) -> None: ...


def _intent(pi) -> Intent:
    err = getattr(pi, "last_payment_error", None)
    failure = None
    if err:
        failure = getattr(err, "message", None) or getattr(err, "code", None) or "payment failed"
    return Intent(id=pi.id, status=pi.status, amount=int(pi.amount), failure=failure)


def _card_reason(exc: stripe.CardError) -> str:
    parts = [exc.user_message or "card declined"]
    code = getattr(exc, "code", None)
    decline = getattr(getattr(exc, "error", None), "decline_code", None)
    detail = ", ".join(x for x in (code, decline) if x)
    return f"{parts[0]} ({detail})" if detail else parts[0]


class StripeProvider:
    """Stripe PaymentIntents. One client (and one httpx connection pool) per process."""

    name = PROVIDER_STRIPE

    def __init__(self, api_key: str, api_base: str | None = None, *, timeout: float = 20.0,
                 max_network_retries: int = 2):
        self._http = stripe.HTTPXClient(timeout=timeout)
        self.client = stripe.StripeClient(api_key, base_addresses={"api": api_base} if api_base else None,
                                          http_client=self._http, max_network_retries=max_network_retries)

    async def create_intent(self, *, payment_id: str, amount_cents: int, payment_method: str,
                            metadata: dict[str, str]) -> Intent:
        # No confirm here: the PaymentIntent id is saved first, so a crash after this call leaves a
        # payment we can find again, and an unconfirmed PaymentIntent never moves money.
        params = {"amount": amount_cents, "currency": "usd", "payment_method": payment_method,
                  "payment_method_types": ["card"], "metadata": metadata}
        return await self._call(self.client.v1.payment_intents.create_async(
            params=params, options={"idempotency_key": f"payment-{payment_id}-create"}))

    async def confirm_intent(self, *, payment_id: str, intent_id: str) -> Intent:
        # payment_method was set at create: localstripe answers 500 "Not implemented" to a confirm with one.
        return await self._call(self.client.v1.payment_intents.confirm_async(
            intent_id, options={"idempotency_key": f"payment-{payment_id}-confirm"}), intent_id)

    async def retrieve_intent(self, intent_id: str) -> Intent:
        return await self._call(self.client.v1.payment_intents.retrieve_async(intent_id), intent_id)

    async def cancel_intent(self, *, payment_id: str, intent_id: str) -> Intent:
        return await self._call(self.client.v1.payment_intents.cancel_async(
            intent_id, options={"idempotency_key": f"payment-{payment_id}-cancel"}), intent_id)

    async def _call(self, coro, intent_id: str | None = None) -> Intent:
        try:
            return _intent(await coro)
        except stripe.CardError as exc:
            raise Declined(_card_reason(exc), intent_id) from exc
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise ProviderUnavailable(f"{type(exc).__name__}: {exc.user_message or exc}") from exc
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                raise NotFoundAtProvider(f"{exc.user_message or exc}") from exc
            raise Rejected(f"payment provider refused the request: {exc.user_message or exc}") from exc
        except (stripe.AuthenticationError, stripe.PermissionError) as exc:
            log.error("stripe refused our credentials", error=str(exc))
            raise ProviderUnavailable(f"payment provider refused our credentials: {exc.user_message or exc}") from exc
        except stripe.StripeError as exc:  # APIError (5xx), IdempotencyError, …: outcome unknown
            raise ProviderUnavailable(f"{type(exc).__name__}: {exc.user_message or exc}") from exc

    async def aclose(self) -> None:
        await self._http.close_async()
