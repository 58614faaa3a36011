"""The payment-provider port: what checkout asks of a payment provider, in checkout's own words.

Stripe (cards) and PayPal are adapters behind it (`adapters/stripe/`, `adapters/paypal/`); adding a
provider is one folder plus a line in `adapters/registry.py`. Nothing here is shaped by one vendor:

- `open` prepares a payment and moves no money (Stripe: an unconfirmed PaymentIntent; PayPal: an
  order the buyer still has to approve). Its reference is saved before anything can charge.
- `charge` asks the provider to take the money (Stripe: confirm; PayPal: capture an approved order).
- `look_up` says where the payment stands; `abandon` makes sure it can never charge from now on
  (answers SUCCEEDED when it is too late: the money has moved and must be honoured).
- `refund` gives back part or all of a captured payment, idempotently per refund id.
- `verify_webhook` checks a delivery's signature and says what it means.

Every call answers a `ProviderPayment` with an `Outcome`, or raises one of the errors below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol

from dropline_schemas.events import PaymentMethod


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"  # the money was taken
    DECLINED = "declined"  # refused for good (card declined, approval denied, capture denied): no money moved
    ACTION_REQUIRED = "action_required"  # the buyer must act first (see `action`)
    READY = "ready"  # nothing moved yet and nothing stops it: `charge` it (Stripe unconfirmed, PayPal approved)
    PENDING = "pending"  # in flight at the provider: look again later
    CANCELLED = "cancelled"  # closed (or expired) without money moving


@dataclass(frozen=True)
class BuyerAction:
    """Where the buyer must go before the payment can finish."""

    type: Literal["redirect", "authenticate_card"]
    url: str | None = None  # redirect: the provider's approval page
    client_secret: str | None = None  # authenticate_card: what stripe.js confirms (3-D Secure)


@dataclass(frozen=True)
class ProviderPayment:
    reference: str  # the provider's id of this payment (PaymentIntent id, PayPal order id)
    outcome: Outcome
    amount_minor: int | None = None  # what the provider holds, USD cents
    reason: str | None = None  # why DECLINED / CANCELLED, in words for the retailer
    action: BuyerAction | None = None  # ACTION_REQUIRED: what the buyer must do
    capture_reference: str | None = None  # what a refund refers to (PayPal capture id; Stripe: None)


@dataclass(frozen=True)
class Payee:
    supplier_id: str
    name: str
    email: str | None = None  # PayPal: the supplier's PayPal account (payee.email_address)
    merchant_id: str | None = None  # PayPal: payee.merchant_id (preferred over email)


@dataclass(frozen=True)
class ChargeRequest:
    payment_id: str  # Dropline's payment id: the base of every idempotency key
    amount_minor: int  # USD cents
    payee: Payee
    description: str
    payment_method: str | None = None  # cards: the provider's payment method id
    return_url: str | None = None  # redirect flows: where the buyer comes back after approving
    cancel_url: str | None = None  # … and after cancelling
    breakdown: Mapping[str, int] = field(default_factory=dict)  # item_total / shipping / tax_total, USD cents
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundRequest:
    refund_id: str  # Dropline's refund id: the idempotency key
    payment_id: str
    reference: str  # ProviderPayment.reference
    capture_reference: str | None
    amount_minor: int  # USD cents, at most what is left of the payment
    reason: str


@dataclass(frozen=True)
class ProviderRefund:
    reference: str  # the provider's refund id
    status: Literal["succeeded", "pending", "failed"]
    amount_minor: int
    reason: str | None = None


class EventKind(StrEnum):
    APPROVED = "approved"  # the buyer approved: charge it (PayPal CHECKOUT.ORDER.APPROVED)
    SUCCEEDED = "succeeded"  # money taken (payment_intent.succeeded, PAYMENT.CAPTURE.COMPLETED)
    FAILED = "failed"  # charge failed (payment_intent.payment_failed, PAYMENT.CAPTURE.DENIED/DECLINED)
    REFUNDED = "refunded"  # money given back (charge.refunded, PAYMENT.CAPTURE.REFUNDED)
    IGNORED = "ignored"  # verified, but nothing checkout acts on


@dataclass(frozen=True)
class ProviderEvent:
    event_id: str  # the provider's event id: the inbox's dedupe key
    type: str  # the provider's own name, e.g. payment_intent.succeeded
    kind: EventKind
    reference: str | None  # ProviderPayment.reference it is about (PaymentIntent id, PayPal order id)
    payload: Mapping[str, Any]  # the event as delivered (stored in the inbox)


class PaymentError(Exception):
    """Base of the provider errors."""


class Declined(PaymentError):
    """The provider refused the payment itself (card declined, …): no money moved."""

    def __init__(self, reason: str, reference: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.reference = reference


class Rejected(PaymentError):
    """The provider refused this request (4xx other than a decline). Says nothing about the
    payment's state: after a charge, look the payment up."""


class NotFoundAtProvider(PaymentError):
    """The provider says the object does not exist."""


class ProviderUnavailable(PaymentError):
    """The outcome is unknown (network error, timeout, 5xx, rate limit, refused credentials): the
    request may or may not have taken effect. Never release orders on this alone."""


class WebhookRejected(PaymentError):
    """A webhook delivery that is not genuine (bad or old signature) or cannot be read."""


class PaymentProvider(Protocol):
    name: str  # "stripe", "paypal": stored with each payment
    method: PaymentMethod

    async def open(self, req: ChargeRequest) -> ProviderPayment: ...

    async def charge(self, *, payment_id: str, reference: str) -> ProviderPayment: ...

    async def look_up(self, reference: str) -> ProviderPayment: ...

    async def abandon(self, *, payment_id: str, reference: str) -> ProviderPayment: ...

    async def refund(self, req: RefundRequest) -> ProviderRefund: ...

    async def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> ProviderEvent: ...

    async def aclose(self) -> None: ...
