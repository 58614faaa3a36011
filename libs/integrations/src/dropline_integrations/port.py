"""The store-platform port: what Dropline needs from a store platform, in Dropline's terms.

One package per platform (``shopify/``, ``ecwid/``, ``bigcommerce/``, ``wix/``) implements
`StorePlatform`; `registry.py` maps `Platform` to it. Nothing outside a platform's package knows
that platform's field names, signatures, endpoints or limits.

Errors: webhook problems raise `WebhookRejected` (the gateway answers with its status, nothing
stored); an order payload we cannot read raises `InvalidStoreOrder` (dead-lettered with the
reason); outbound calls raise `dropline_infra.jobs.Retryable` / `Permanent` / `Deferred` so the
durable job that made the call is retried, failed or moved on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from dropline_schemas.events import Address, Customer, DeliveryKind, Platform, StoreTotals


class OrderState(StrEnum):
    """Where the store order stands for Dropline: only PAID orders are ingested."""

    PAID = "paid"  # the customer paid (Wix APPROVED, BigCommerce status 9/11…, Ecwid PAID, Shopify paid)
    AWAITING_PAYMENT = "awaiting_payment"  # incomplete, pending, not yet approved: maybe later
    CANCELLED = "cancelled"


class WebhookRejected(Exception):
    """A delivery the platform did not sign, or cannot be read: answered with `status`, nothing stored."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class InvalidStoreOrder(ValueError):
    """The payload is not an order we can read; the reason names the field."""


@dataclass(frozen=True)
class WebhookSecrets:
    """What a store connection holds to verify its deliveries (decrypted for one check only)."""

    signing_key: str = field(repr=False)  # Shopify/Ecwid/BigCommerce: app client secret; Wix: app public key (PEM)
    header_secret: str | None = field(default=None, repr=False)  # BigCommerce: the custom header Dropline set


@dataclass(frozen=True)
class Delivery:
    """A verified webhook delivery."""

    kind: DeliveryKind
    topic: str  # the platform's own event name, e.g. "orders/create", "store/order/statusUpdated"
    delivery_id: str  # the platform's delivery/event id: the dedupe key
    store_key: str  # which store: Shopify domain, BigCommerce store hash, Ecwid store id, Wix instance id
    platform_order_id: str | None
    order: dict[str, Any] | None  # the full order when the delivery carries it (Shopify, Wix)
    body: dict[str, Any]  # the decoded delivery, as the platform sent it
    occurred_at: datetime | None = None
    event_id: str | None = None  # a second id of the underlying event where the platform has one


@dataclass(frozen=True)
class StoreLine:
    platform_line_id: str
    sku: str | None
    variant_id: str | None
    title: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class StoreOrder:
    """One store order in Dropline's platform-independent shape."""

    platform: Platform
    platform_order_id: str
    platform_order_number: str | None
    placed_at: datetime | None
    currency: str
    lines: list[StoreLine]
    shipping_address: Address | None
    customer: Customer
    shipping_method: str | None
    totals: StoreTotals
    state: OrderState = OrderState.PAID
    updated_at: datetime | None = None


@dataclass(frozen=True)
class StoreAccess:
    """One connected store, as an adapter needs it for a call."""

    store_id: str
    shop: str  # the store key (see Delivery.store_key)
    api_base_url: str
    credentials: Mapping[str, Any] = field(repr=False)  # decrypted for this call only; never logged


@dataclass(frozen=True)
class Tracking:
    number: str
    company: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class FulfilmentLine:
    line_id: str  # Dropline's line id
    platform_line_id: str  # the store's line item id
    sku: str | None
    quantity: int


@dataclass(frozen=True)
class FulfilmentRequest:
    platform_order_id: str
    lines: tuple[FulfilmentLine, ...]  # only this Dropline order's lines (a store order may span suppliers)
    tracking: Tracking
    notify_customer: bool = True


@dataclass(frozen=True)
class FulfilmentResult:
    platform_fulfillment_id: str
    already_present: bool = False  # the store had it already (a rerun after a crash past the write)
    # The store keeps one tracking number per order (Ecwid) and holds this other, earlier number: the
    # shipment's number was not written (writing it would replace the earlier one).
    kept_number: str | None = None


@dataclass(frozen=True)
class TrackingCorrection:
    """Replace a wrong tracking number on a fulfilment Dropline wrote earlier (`fulfil` returned its id).
    The fulfilment keeps its lines; only its tracking changes."""

    platform_order_id: str
    platform_fulfillment_id: str
    previous: Tracking  # the number being corrected, as it was written
    tracking: Tracking  # the right one
    lines: tuple[FulfilmentLine, ...] = ()  # the shipment's lines (for platforms that need them)
    notify_customer: bool = True


@dataclass(frozen=True)
class CorrectionResult:
    platform_fulfillment_id: str
    already_present: bool = False  # the store shows the new number already (a rerun after a crash)
    # The store keeps one tracking number per order (Ecwid) and shows another number than the one
    # corrected: nothing was written (writing would replace that other shipment's number).
    kept_number: str | None = None


@dataclass(frozen=True)
class OrderListing:
    """One page of a reconciliation listing: full orders (as `fetch_order` returns them)."""

    orders: Sequence[Mapping[str, Any]]
    newest_update: datetime | None  # the newest update time seen: the next watermark
    complete: bool = True  # False: more pages remain; call again from newest_update


@dataclass(frozen=True)
class ConnectionSpec:
    """What connecting a store of this platform takes (checked by the operator API)."""

    store_key_label: str  # what the store key is called on this platform, e.g. "store hash"
    store_key_pattern: str  # a full-match regular expression for the store key
    default_api_base_url: str  # "{key}" is replaced by the store key
    credential_keys: tuple[str, ...]  # required keys of the credentials object
    signing_key_label: str  # what WebhookSecrets.signing_key is on this platform
    header_secret: str | None = None  # name of a header Dropline's own secret travels in (Dropline generates it)
    credential_alternatives: tuple[tuple[str, ...], ...] = ()  # other complete sets of keys that also work

    def base_url(self, store_key: str) -> str:
        return self.default_api_base_url.replace("{key}", store_key)

    def missing_credentials(self, credentials: Mapping[str, Any]) -> list[str]:
        """The keys still needed (of the primary set), or [] when some accepted set is complete."""
        for keys in (self.credential_keys, *self.credential_alternatives):
            if all(credentials.get(k) for k in keys):
                return []
        return [k for k in self.credential_keys if not credentials.get(k)]


class StorePlatform(Protocol):
    """Everything Dropline does with one store platform."""

    platform: Platform
    thin_webhooks: bool  # True: deliveries carry ids only; a durable job fetches the order
    connection: ConnectionSpec

    def webhook_store_key(self, raw: bytes, headers: Mapping[str, str]) -> str:
        """Which store sent this (not yet verified), to look up its secrets. WebhookRejected(400) if unreadable."""
        ...

    def verify_delivery(self, raw: bytes, headers: Mapping[str, str], secrets: WebhookSecrets,
                        now: datetime) -> Delivery:
        """Check the signature exactly as the platform signs (and the timestamp where it has one);
        WebhookRejected(401) when it does not hold, (400) when the delivery cannot be read."""
        ...

    def normalise(self, order: Mapping[str, Any]) -> StoreOrder:
        """A full order, as the platform's API returns it, in Dropline's shape. InvalidStoreOrder otherwise."""
        ...

    async def fetch_order(self, store: StoreAccess, platform_order_id: str) -> dict[str, Any]:
        """The full order (for thin webhooks and listings), in the shape `normalise` reads."""
        ...

    async def list_orders(self, store: StoreAccess, updated_since: datetime) -> OrderListing:
        """Orders created or updated since the watermark (oldest first), for reconciliation."""
        ...

    async def fulfil(self, store: StoreAccess, request: FulfilmentRequest) -> FulfilmentResult:
        """Make the store show these lines fulfilled with this tracking. Looks at the store's current
        state first, so a retry after a lost answer never makes a second fulfilment."""
        ...

    async def correct_tracking(self, store: StoreAccess, correction: TrackingCorrection) -> CorrectionResult:
        """Change the tracking of an existing fulfilment to the right number, never making a second
        fulfilment. Looks first: a fulfilment that shows the new number already is `already_present`.
        Permanent when the fulfilment is gone from the store."""
        ...


@dataclass(frozen=True)
class FulfilmentRequestRef:
    """A store asked Dropline, as its fulfilment service, to fulfil one fulfillment order (Shopify
    "Request fulfillment"), as read from the delivery by the platform's package."""

    platform_fulfillment_order_id: str  # the fulfillment order that was submitted to Dropline
    message: str | None = None  # the merchant's message with the request ("Fragile"), if any
    platform_request_id: str | None = None  # the platform's id of the request itself, if any
    platform_order_id: str | None = None  # only when the delivery names the order (Shopify's does not)


@dataclass(frozen=True)
class FulfilmentRequestState:
    """Where a fulfillment order and its request stand in the store now."""

    platform_fulfillment_order_id: str
    platform_order_id: str  # the store order the fulfillment order belongs to
    request_status: str  # the platform's word, e.g. Shopify SUBMITTED / ACCEPTED / REJECTED / CLOSED
    status: str  # the fulfillment order's status, e.g. Shopify OPEN / IN_PROGRESS
    # The store order's line items the fulfillment order holds (ids as Dropline's order lines keep them, the
    # lines' platform_line_id): what Dropline takes on by accepting. Empty when the platform does not say.
    platform_line_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class AcceptedRequest:
    platform_fulfillment_order_id: str
    platform_order_id: str
    request_status: str  # after the call (Shopify: ACCEPTED)
    status: str  # after the call (Shopify: IN_PROGRESS)
    already_accepted: bool = False  # the store had it accepted already (a rerun): nothing was written


class AcceptsFulfilmentRequests(Protocol):
    """Optional capability: a platform where Dropline is the fulfilment service of a store's orders and
    takes fulfilment requests (Shopify). Accepting only tells the store Dropline will fulfil the order;
    it pays, forwards and fulfils nothing (fulfilment with tracking stays `StorePlatform.fulfil`)."""

    def fulfilment_request_of(self, body: Mapping[str, Any]) -> FulfilmentRequestRef:
        """The request a FULFILMENT_REQUESTED delivery carries; InvalidStoreOrder when unreadable."""
        ...

    async def fulfilment_request(self, store: StoreAccess, platform_fulfillment_order_id: str) -> FulfilmentRequestState:
        """The fulfillment order's request as it stands; Permanent when the store has no such fulfillment order."""
        ...

    async def accept_fulfilment_request(self, store: StoreAccess, request: FulfilmentRequestRef) -> AcceptedRequest:
        """Accept the request. Looks first: an already accepted request is reported (already_accepted),
        not accepted twice; a request that is not (or no longer) submitted is refused with Permanent."""
        ...


def accepts_fulfilment_requests(platform: object) -> bool:
    return all(callable(getattr(platform, name, None))
               for name in ("fulfilment_request_of", "fulfilment_request", "accept_fulfilment_request"))


def same_tracking_number(a: str | None, b: str | None) -> bool:
    """Carriers and stores print numbers with spaces and mixed case; the number is the same."""
    if not a or not b:
        return False
    return _canonical(a) == _canonical(b)


def _canonical(number: str) -> str:
    return re.sub(r"[\s-]+", "", number).upper()


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup over any mapping (Starlette's headers or a plain dict)."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value
