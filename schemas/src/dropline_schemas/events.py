"""Event contracts (version 1). Additive, optional changes only within a version (a new enum value is
not one: old consumers reject it); anything else is a new class (…V2) on a new topic.
`tests/test_compatibility.py` compares these against the committed JSON Schema snapshots in
`snapshots/`, both ways: new consumers read old events, old consumers read new ones (ADR 29)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from . import topics as T
from .envelope import Contract, EventEnvelope


class Platform(StrEnum):
    SHOPIFY = "shopify"
    ECWID = "ecwid"
    BIGCOMMERCE = "bigcommerce"
    WIX = "wix"


class DeliveryKind(StrEnum):
    """What a store webhook delivery means, whatever the platform calls it."""

    ORDER_CREATED = "order_created"
    ORDER_UPDATED = "order_updated"  # includes payment-status changes (BigCommerce statusUpdated, Wix paid)
    ORDER_CANCELLED = "order_cancelled"
    FULFILMENT_REQUESTED = "fulfilment_requested"  # Shopify "Request fulfillment"
    OTHER = "other"  # verified and stored, not acted on


class PaymentMethod(StrEnum):
    CARD = "card"
    PAYPAL = "paypal"


class OrderStatus(StrEnum):
    """The Dropline status a retailer filters on (see product.md, "Order life cycle")."""

    UNMATCHED = "unmatched"  # lines that match no listing: kept, shown, not payable
    UNPAID = "unpaid"
    PAYMENT_PENDING = "payment_pending"
    PAID = "paid"
    FORWARDED = "forwarded"
    PARTIALLY_SHIPPED = "partially_shipped"  # tracking for some lines; others not shipped yet
    SHIPPED = "shipped"
    SYNCED = "synced"
    NON_AUTO_ORDER = "non_auto_order"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    FAILED = "failed"


# --------------------------------------------------------------------------- value objects


class Address(Contract):
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province: str | None = None
    province_code: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = None
    phone: str | None = None


class Customer(Contract):
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class SupplierTerms(Contract):
    """The supplier's terms as they were when the order arrived (the order is priced with them)."""

    supplier_id: str
    name: str
    currency: str = Field(min_length=3, max_length=3)
    auto_order: bool
    website_url: str | None = None
    payment_methods: list[PaymentMethod] = Field(default_factory=list)
    vat_rate: Decimal = Field(default=Decimal("0"), ge=0, le=1, description="e.g. 0.21 for 21 %")
    shipping_first_item: Decimal = Field(default=Decimal("0"), ge=0)
    shipping_additional_item: Decimal = Field(default=Decimal("0"), ge=0)
    handling_days: int | None = None
    paypal_email: str | None = Field(default=None, max_length=127, description=(
        "The supplier's PayPal account (PayPal Orders v2 payee.email_address): PayPal payments go to it."))
    paypal_merchant_id: str | None = Field(default=None, max_length=64, description=(
        "The supplier's PayPal merchant id (payee.merchant_id; preferred over the email when both are set)."))


class OrderLine(Contract):
    line_id: str = Field(description="Dropline line id, stable across events.")
    platform_line_id: str = Field(description="The store's line item id (used to fulfil it).")
    sku: str | None = None
    variant_id: str | None = None
    title: str
    quantity: int = Field(ge=1)
    unit_price: Decimal = Field(description="Retail price in the store currency.")
    matched: bool = True
    supplier_sku: str | None = None
    unit_cost: Decimal | None = Field(default=None, description="Supplier's unit cost, supplier currency.")


class StoreTotals(Contract):
    currency: str
    subtotal: Decimal | None = None
    shipping: Decimal | None = None
    tax: Decimal | None = None
    total: Decimal | None = None
    taxes_included: bool | None = None


class DroplineOrder(Contract):
    """The lines of ONE store order that belong to ONE supplier (or the unmatched lines)."""

    order_id: str
    order_number: str = Field(description="Dropline order number shown to the retailer.")
    retailer_id: str
    store_id: str
    platform: Platform
    platform_order_id: str
    platform_order_number: str | None = None
    placed_at: datetime | None = None
    status: OrderStatus = Field(description="Initial status: unpaid, non_auto_order or unmatched.")
    supplier: SupplierTerms | None = None
    lines: list[OrderLine]
    shipping_address: Address | None = None
    customer: Customer | None = None
    shipping_method: str | None = None
    store_totals: StoreTotals


class Money(Contract):
    product_cost: Decimal
    shipping: Decimal
    vat: Decimal
    total: Decimal


class FxRecord(Contract):
    from_currency: str
    to_currency: Literal["USD"] = "USD"
    rate: Decimal = Field(description="Units of to_currency per one from_currency.")
    rate_date: str = Field(description="ISO date of the reference rate used.")
    source: str = Field(description="e.g. 'ECB euro foreign exchange reference rates'.")


# --------------------------------------------------------------------------- order events


class StoreWebhookReceivedData(Contract):
    delivery_id: str = Field(description="Dropline's id for this accepted delivery.")
    platform: Platform
    store_id: str
    shop: str = Field(description="Store identifier on the platform, e.g. the myshopify domain.")
    topic: str = Field(description="Platform topic, e.g. orders/create.")
    platform_delivery_id: str = Field(description="Platform's delivery id (dedupe key).")
    platform_event_id: str | None = None
    triggered_at: str | None = None
    payload: dict[str, Any] = Field(description="The full order when carries_order, else the delivery as sent.")
    kind: DeliveryKind | None = Field(default=None, description="Platform-neutral meaning (absent: order_created).")
    platform_order_id: str | None = Field(default=None, description="The store order the delivery is about.")
    carries_order: bool = Field(default=True, description="False for thin webhooks: the order must be fetched.")


class StoreWebhookReceivedV1(EventEnvelope[StoreWebhookReceivedData]):
    event_type_name = "StoreWebhookReceived"


class OrderReceivedV1(EventEnvelope[DroplineOrder]):
    event_type_name = "OrderReceived"


class OrderPaidData(Contract):
    order_id: str
    payment_id: str
    method: PaymentMethod
    provider: str
    provider_reference: str
    supplier_currency_amounts: Money
    usd_amounts: Money
    fx: FxRecord
    paid_at: datetime
    order: DroplineOrder = Field(description="The order as paid (frozen from now on).")


class OrderPaidV1(EventEnvelope[OrderPaidData]):
    event_type_name = "OrderPaid"


class OrderPaymentFailedData(Contract):
    order_id: str
    payment_id: str
    reason: str
    provider_reference: str | None = None


class OrderPaymentFailedV1(EventEnvelope[OrderPaymentFailedData]):
    event_type_name = "OrderPaymentFailed"


class OrderPricedData(Contract):
    """What the supplier charges for a newly received order, in the supplier's currency, priced by
    checkout with the supplier terms the order arrived with. `amounts` is null (with `reason`)
    when the order cannot be priced, e.g. lines without a supplier unit cost."""

    order_id: str
    supplier_id: str
    currency: str = Field(min_length=3, max_length=3)
    amounts: Money | None = Field(description="Product cost, shipping, VAT and total; null = cannot be priced.")
    reason: str | None = Field(default=None, description="Why the order cannot be priced (amounts is null).")
    priced_at: datetime


class OrderPricedV1(EventEnvelope[OrderPricedData]):
    event_type_name = "OrderPriced"


class OrderPaymentStartedData(Contract):
    """A checkout claimed the order (unpaid → payment_pending): the amounts it is being charged."""

    order_id: str
    payment_id: str
    method: PaymentMethod
    supplier_currency_amounts: Money
    usd_amounts: Money
    fx: FxRecord
    started_at: datetime


class OrderPaymentStartedV1(EventEnvelope[OrderPaymentStartedData]):
    event_type_name = "OrderPaymentStarted"


class OrderForwardedData(Contract):
    order_id: str
    supplier_id: str
    supplier_order_id: str
    forwarded_at: datetime
    attempts: int = 1


class OrderForwardedV1(EventEnvelope[OrderForwardedData]):
    event_type_name = "OrderForwarded"


class OrderForwardingFailedData(Contract):
    """The order will not reach (or stay with) its supplier. Two different facts share this event:
    `rejected_by_supplier` the supplier refused the order itself (forwarder: its order API answered a
    4xx about the order, e.g. 422 out of stock or unknown SKU; gateway: the supplier reported through
    Dropline's supplier API that it cannot fulfil an order forwarded to it) and checkout refunds the
    order's share of the payment; otherwise Dropline could not forward it (no order API, a wrong key
    or URL, outages past the retry budget) and an operator must look — the money stays captured."""

    order_id: str
    supplier_id: str
    reason: str
    status_code: int | None = None
    rejected_by_supplier: bool = Field(default=False, description=(
        "True: the supplier refused the order (a 4xx about the order from its order API, or a rejection it "
        "reported through the supplier API); checkout refunds it. False: Dropline could not forward it."))


class OrderForwardingFailedV1(EventEnvelope[OrderForwardingFailedData]):
    event_type_name = "OrderForwardingFailed"


class OrderRefundedData(Contract):
    """checkout gave an order's share of a payment back through the provider it was paid with (after
    the supplier rejected the order). One per order and refund: a bulk payment is refunded per order,
    partially, so several OrderRefunded may name the same payment_id."""

    order_id: str
    payment_id: str = Field(description="The payment the refunded money was captured by.")
    refund_id: str = Field(description="Dropline's refund id (the provider idempotency key); consumers dedupe on it.")
    method: PaymentMethod
    provider: str = Field(description="e.g. stripe, paypal.")
    provider_reference: str = Field(description="The provider's id of the refund (Stripe re_..., PayPal refund id).")
    reason: str = Field(description="Why the order was refunded, in words for the retailer.")
    usd_amounts: Money = Field(description="The order's share of the payment refunded, in USD.")
    supplier_currency_amounts: Money = Field(description="The same amounts in the supplier's currency (fx.from_currency).")
    fx: FxRecord = Field(description="The payment's rate (the refund converts at the rate the order was paid at).")
    refunded_at: datetime


class OrderRefundedV1(EventEnvelope[OrderRefundedData]):
    event_type_name = "OrderRefunded"


class ShippedLine(Contract):
    """How much of one Dropline order line a shipment (one tracking number) carries."""

    line_id: str
    quantity: int = Field(ge=1)


class TrackingAddedData(Contract):
    """One shipment: a tracking number for some lines and quantities of the order. An order may get
    several (partial shipments); each is written to the store as its own fulfilment where the platform
    allows it."""

    order_id: str
    tracking_id: str = Field(description="Id of this tracking record (an order may have several).")
    tracking_number: str
    carrier: str | None = None
    tracking_url: str | None = None
    source: Literal["supplier", "retailer"]
    supplier_order_id: str | None = None
    line_ids: list[str] | None = Field(default=None, description="Lines shipped; null = all lines. Superseded "
                                       "by `lines` (which carries quantities); kept for older consumers.")
    lines: list[ShippedLine] | None = Field(
        default=None, description="Lines and quantities this shipment carries; null = as line_ids says "
        "(events before partial shipments).")


class TrackingAddedV1(EventEnvelope[TrackingAddedData]):
    event_type_name = "TrackingAdded"


class TrackingCorrectedData(Contract):
    """A wrong tracking number replaced by an explicit correction (the retailer in the web app or API, or
    the supplier through the supplier API). The corrected shipment is kept, marked superseded; the new
    record carries the same lines. tracking-sync changes the number on the store's existing fulfilment
    (never a second fulfilment). Keyed by order id; published after the corrected TrackingAdded."""

    order_id: str
    tracking_id: str = Field(description="Id of the new tracking record (the correction).")
    corrects_tracking_id: str = Field(description="The tracking record this one replaces (now superseded).")
    previous_tracking_number: str
    tracking_number: str
    carrier: str | None = None
    tracking_url: str | None = None
    lines: list[ShippedLine] | None = Field(
        default=None, description="The corrected shipment's lines and quantities (null = every line).")
    source: Literal["supplier", "retailer"] = Field(description="Who corrected it: the retailer or the supplier.")
    changed_by: str = Field(description="Who exactly: 'retailer:<user or API key>' or 'supplier:<supplier id>'.")
    reason: str = Field(description="Why, in the words of whoever corrected it.")


class TrackingCorrectedV1(EventEnvelope[TrackingCorrectedData]):
    event_type_name = "TrackingCorrected"


class OrderSyncedData(Contract):
    order_id: str
    tracking_id: str
    platform: Platform
    platform_fulfillment_id: str
    tracking_number: str
    already_present: bool = Field(default=False, description="True when the store already had it (retry after a crash).")
    kept_number: str | None = Field(
        default=None, description="Set when the store keeps one tracking number per order (Ecwid) and it holds "
        "this earlier number: this shipment's number was recorded by Dropline, not written to the store.")


class OrderSyncedV1(EventEnvelope[OrderSyncedData]):
    event_type_name = "OrderSynced"


class OrderSyncFailedData(Contract):
    order_id: str
    tracking_id: str
    reason: str


class OrderSyncFailedV1(EventEnvelope[OrderSyncFailedData]):
    event_type_name = "OrderSyncFailed"


class AlertKind(StrEnum):
    LATE = "late"  # paid (or forwarded) and no tracking after the supplier's handling days (business days)
    NOT_SYNCED = "not_synced"  # a write-back to the store has been failing for longer than the threshold


class AlertState(StrEnum):
    RAISED = "raised"
    CLEARED = "cleared"


class OrderAlertData(Contract):
    """tracking-sync's late-shipment alerts: an order is flagged `late` when it was paid (or forwarded)
    and no tracking arrived within the supplier's handling days (business days: Saturdays and Sundays do
    not count), and `not_synced` when writing its tracking back to the store has failed for longer than
    a threshold. One event per change of one flag: raised, then cleared when the situation resolved
    (tracking arrived, the write-back succeeded, the order was refunded). Keyed by order id."""

    order_id: str
    kind: AlertKind
    state: AlertState
    since: datetime = Field(description=(
        "When the condition began: late — when the handling time ran out (due_at); not_synced — since when the "
        "write-back has been waiting and failing."))
    reason: str = Field(description="What the flag means for this order (raised) or what resolved it (cleared).")
    due_at: datetime | None = Field(default=None, description="late: when tracking was due.")
    handling_days: int | None = Field(default=None, description="late: the business days the rule used.")
    tracking_id: str | None = Field(default=None, description="not_synced: a tracking record not in the store yet.")
    at: datetime = Field(description="When tracking-sync decided it.")


class OrderAlertV1(EventEnvelope[OrderAlertData]):
    event_type_name = "OrderAlert"


class StoreOrderChangedData(Contract):
    """A store order Dropline already ingested changed in the store (shipping address, customer
    contact, or cancelled), as last seen by order-ingest. One event per Dropline order of that store
    order; it carries the store order's state now, not a difference, so applying it twice is harmless.
    checkout decides whether the change can still be applied (OrderAmended)."""

    order_id: str = Field(description="The Dropline order (one store order may have several).")
    store_id: str
    platform_order_id: str
    shipping_address: Address | None = None
    customer: Customer | None = None
    cancelled: bool = Field(default=False, description="The store order is cancelled (or voided/refunded).")
    changed_at: datetime = Field(description="The store's updated-at of the order, else when Dropline saw it.")


class StoreOrderChangedV1(EventEnvelope[StoreOrderChangedData]):
    event_type_name = "StoreOrderChanged"


class OrderAmendedData(Contract):
    """checkout's answer to a store order change. applied: the order is not claimed for payment yet,
    the new shipping address / customer are the order's now (what a later payment forwards), and
    cancelled orders can never be paid. Not applied: a payment holds the order or it is paid, so
    nothing changed; `notice` tells the retailer what to do (Dropline never refunds or cancels with
    the supplier by itself)."""

    order_id: str
    applied: bool
    cancelled: bool = Field(default=False, description="The store cancelled the order.")
    shipping_address: Address | None = Field(default=None, description="The store's address (applied or not).")
    customer: Customer | None = Field(default=None, description="The store's customer (applied or not).")
    notice: str = Field(description="What happened, for the retailer (why not applied, when not applied).")
    amended_at: datetime
    status: OrderStatus | None = Field(default=None, description="The order's checkout status after this.")
    order: DroplineOrder | None = Field(default=None, description="The order as it stands in checkout now.")


class OrderAmendedV1(EventEnvelope[OrderAmendedData]):
    event_type_name = "OrderAmended"


class FulfilmentRequestAcceptedData(Contract):
    """A store asked Dropline, as the fulfilment service of its order, to fulfil it (Shopify "Request
    fulfillment") and tracking-sync answered the store: accepted (the store shows the order In progress),
    or not, with the reason. One event per Dropline order of that store order. Accepting pays, forwards
    and fulfils nothing: the order goes on as any other (payment, forwarding, tracking written back)."""

    order_id: str = Field(description="The Dropline order (one store order may have several).")
    store_id: str
    platform: Platform
    platform_order_id: str
    platform_fulfillment_order_id: str = Field(description="The store's fulfillment order that was requested.")
    accepted: bool = Field(default=True, description="False: the request could not be accepted (see reason).")
    message: str | None = Field(default=None, description="The merchant's message with the request.")
    accepted_at: datetime | None = Field(default=None, description="When Dropline accepted it (accepted only).")
    already_accepted: bool = Field(default=False, description="The store had it accepted already (a rerun).")
    reason: str | None = Field(default=None, description="Why it was not accepted (accepted=False only).")


class FulfilmentRequestAcceptedV1(EventEnvelope[FulfilmentRequestAcceptedData]):
    event_type_name = "FulfilmentRequestAccepted"


# --------------------------------------------------------------------------- store health


class StoreReconciledData(Contract):
    store_id: str
    started_at: datetime
    finished_at: datetime
    examined: int = Field(ge=0, description="Orders the platform listed since the watermark.")
    ingested: int = Field(ge=0, description="Of those, orders no webhook had brought (now ingested).")
    watermark: datetime | None = Field(default=None, description="Updated-at the next run lists from.")
    error: str | None = Field(default=None, description="Why the run failed (it is tried again next interval).")


class StoreReconciledV1(EventEnvelope[StoreReconciledData]):
    event_type_name = "StoreReconciled"


class StoreIntakeFailedData(Contract):
    store_id: str
    platform_order_id: str | None = None
    delivery_id: str | None = None
    reason: str
    at: datetime


class StoreIntakeFailedV1(EventEnvelope[StoreIntakeFailedData]):
    event_type_name = "StoreIntakeFailed"


# --------------------------------------------------------------------------- catalog events


class StoreConnectedData(Contract):
    store_id: str
    retailer_id: str
    platform: Platform
    shop: str
    api_base_url: str
    credentials_encrypted: str = Field(description="Fernet token of the store's API credentials (JSON).")


class StoreConnectedV1(EventEnvelope[StoreConnectedData]):
    event_type_name = "StoreConnected"


class SupplierRegisteredData(Contract):
    terms: SupplierTerms
    order_api_url: str | None = None
    order_api_key_encrypted: str | None = Field(default=None, description="Fernet token of the order API key.")


class SupplierRegisteredV1(EventEnvelope[SupplierRegisteredData]):
    event_type_name = "SupplierRegistered"


class ListingUpsertedData(Contract):
    listing_id: str
    retailer_id: str
    store_id: str
    sku: str
    variant_id: str | None = None
    supplier_id: str
    supplier_sku: str
    unit_cost: Decimal = Field(ge=0)
    active: bool = True


class ListingUpsertedV1(EventEnvelope[ListingUpsertedData]):
    event_type_name = "ListingUpserted"


class MessageDeadLetteredData(Contract):
    """A message a consumer gave up on: where it was, why, and the message itself (as text)."""

    consumer: str = Field(description="The consumer (service.handler) that gave up.")
    topic: str = Field(description="Topic the message was read from.")
    partition: int | None = Field(default=None, description="Its partition, when read from the broker.")
    offset: int | None = Field(default=None, description="Its offset in that partition.")
    key: str | None = Field(default=None, description="Its record key.")
    reason: str = Field(description="Why: the validation error, the handler's permanent error, or 'gave up after N attempts: …'.")
    dead_lettered_event_id: uuid.UUID | None = Field(
        default=None, description="The message's event id, when it was a readable Dropline event.")
    dead_lettered_event_type: str | None = Field(default=None, description="Its event_type, when readable.")
    payload: str = Field(description="The message's value as text (invalid UTF-8 replaced), at most 100,000 characters.")
    payload_truncated: bool = Field(default=False, description="The value was longer and is cut here.")


class MessageDeadLetteredV1(EventEnvelope[MessageDeadLetteredData]):
    """An operator notice on dropline.dead-letter.v1, keyed by consumer. Its tenant and correlation id
    are the dead-lettered event's when it could be read (so an order's story shows its dead letters);
    else tenant "unknown" and correlation id "dead-letter:{consumer}"."""

    event_type_name = "MessageDeadLettered"


ALL_EVENTS: tuple[type[EventEnvelope], ...] = (
    StoreWebhookReceivedV1, OrderReceivedV1, OrderPaidV1, OrderPaymentFailedV1, OrderForwardedV1,
    OrderForwardingFailedV1, TrackingAddedV1, TrackingCorrectedV1, OrderSyncedV1, OrderSyncFailedV1,
    StoreConnectedV1, SupplierRegisteredV1, ListingUpsertedV1, OrderPricedV1, OrderPaymentStartedV1,
    StoreReconciledV1, StoreIntakeFailedV1, StoreOrderChangedV1, OrderAmendedV1, FulfilmentRequestAcceptedV1,
    OrderRefundedV1, OrderAlertV1, MessageDeadLetteredV1,
)

EVENTS_BY_TYPE: dict[str, type[EventEnvelope]] = {e.event_type_name: e for e in ALL_EVENTS}

# What each topic carries: publishing anything else on it is refused (`UnitOfWork.publish`), and the topic
# table and the AsyncAPI documents are generated from it (`make specs`).
TOPIC_EVENTS: dict[T.Topic, tuple[type[EventEnvelope], ...]] = {
    T.STORE_WEBHOOK_RECEIVED: (StoreWebhookReceivedV1,),
    T.ORDER_RECEIVED: (OrderReceivedV1,),
    T.ORDER_PRICED: (OrderPricedV1,),
    T.ORDER_PAYMENT_STARTED: (OrderPaymentStartedV1,),
    T.ORDER_PAID: (OrderPaidV1,),
    T.ORDER_PAYMENT_FAILED: (OrderPaymentFailedV1,),
    T.ORDER_FORWARDED: (OrderForwardedV1,),
    T.ORDER_FORWARDING_FAILED: (OrderForwardingFailedV1,),
    T.TRACKING_ADDED: (TrackingAddedV1,),
    T.TRACKING_CORRECTED: (TrackingCorrectedV1,),
    T.ORDER_SYNCED: (OrderSyncedV1,),
    T.ORDER_SYNC_FAILED: (OrderSyncFailedV1,),
    T.STORE_ORDER_CHANGED: (StoreOrderChangedV1,),
    T.ORDER_AMENDED: (OrderAmendedV1,),
    T.FULFILMENT_REQUEST: (FulfilmentRequestAcceptedV1,),
    T.ORDER_REFUNDED: (OrderRefundedV1,),
    T.ORDER_ALERT: (OrderAlertV1,),
    T.STORE_HEALTH: (StoreReconciledV1, StoreIntakeFailedV1),
    T.CATALOG: (StoreConnectedV1, SupplierRegisteredV1, ListingUpsertedV1),
    T.DEAD_LETTER: (MessageDeadLetteredV1,),
}


def parse_event(raw: bytes | str | dict) -> EventEnvelope:
    """Read any Dropline event by its `event_type` (used by catalog and projection consumers), tolerantly:
    fields this version does not know are ignored (`Contract.read`)."""
    import json

    obj = json.loads(raw) if isinstance(raw, (bytes, str)) else raw
    try:
        cls = EVENTS_BY_TYPE[obj["event_type"]]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a Dropline event or unknown event_type: {obj.get('event_type') if isinstance(obj, dict) else obj!r}") from exc
    return cls.read(obj)
