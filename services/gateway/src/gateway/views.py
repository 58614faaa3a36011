"""Bodies of the gateway's public HTTP API (they make its OpenAPI schema and the web app's typed
client). Amounts are decimal strings ("12.30"), timestamps ISO 8601 with their UTC offset."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dropline_schemas.events import Address, Customer, PaymentMethod, Platform


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorBody(_Out):
    """The one error shape of the whole public API."""

    error: str = Field(description="Machine-readable code, e.g. not_found, csrf_failed, not_payable.")
    message: str = Field(description="What went wrong, in words a person can act on.")
    details: dict[str, Any] = Field(default_factory=dict)


# --------------------------------------------------------------------------- orders


class StoreRef(_Out):
    store_id: str
    platform: Platform
    shop: str


class SupplierRef(_Out):
    supplier_id: str
    name: str
    currency: str | None = None
    auto_order: bool
    website_url: str | None = None


class Money(_Out):
    currency: str
    product_cost: Decimal
    shipping: Decimal
    vat: Decimal
    total: Decimal


class ShipmentLineOut(_Out):
    line_id: str
    sku: str | None = None
    title: str | None = None
    quantity: int | None = Field(default=None, description="Units of the line in this shipment.")


class TrackingOut(_Out):
    """One shipment (tracking number) of the order."""

    tracking_id: str
    tracking_number: str
    carrier: str | None = None
    tracking_url: str | None = None
    source: str
    synced: bool = False
    lines: list[ShipmentLineOut] | None = Field(
        default=None, description="Lines and quantities this shipment carries; null: every line (older reports).")
    synced_at: datetime | None = Field(default=None, description="When it reached the store (OrderSynced).")
    store_kept_number: str | None = Field(
        default=None, description="The store keeps one tracking number per order (Ecwid) and shows this one; "
        "this shipment's number is recorded in Dropline only.")
    store_note: str | None = Field(default=None, description="What the retailer should know about the store's copy.")
    superseded_at: datetime | None = Field(
        default=None, description="This number was corrected (a wrong number) then: the shipment is "
        "corrected_by_tracking_id now; a superseded shipment counts for nothing.")
    corrected_by_tracking_id: str | None = Field(default=None, description="The shipment that replaced this one.")
    changed_by: str | None = Field(
        default=None, description="Who corrected this number: 'retailer:<email>', 'retailer:api key' or "
        "'supplier:<supplier id>'.")
    change_reason: str | None = Field(default=None, description="Why it was corrected, in their words.")
    corrects_tracking_id: str | None = Field(default=None, description="This shipment corrects that one.")
    previous_tracking_number: str | None = Field(default=None, description="The wrong number this one replaced.")


class OrderSummary(_Out):
    order_id: str
    order_number: str | None
    status: str
    store: StoreRef | None
    platform: Platform | None
    platform_order_number: str | None
    supplier: SupplierRef | None
    customer_name: str | None
    item_count: int
    unmatched_line_count: int
    cost: Money | None = Field(description="What the supplier charges, in its currency (priced by checkout).")
    usd_total: Decimal | None = Field(description="USD charged or being charged, once a checkout started.")
    problem: str | None
    supplier_order_id: str | None
    tracking: list[TrackingOut]
    late_since: datetime | None = Field(
        default=None, description="Flagged late (no tracking within the supplier's handling days) since then; "
                                  "null: not late.")
    not_synced_since: datetime | None = Field(
        default=None, description="Flagged not synced (writing tracking back to the store keeps failing) since "
                                  "then; null: not flagged.")
    created_at: datetime
    updated_at: datetime


class Overview(_Out):
    """The signed-in retailer's counts for the top of the Orders page."""

    late: int = Field(description="Orders flagged late.")
    not_synced: int = Field(description="Orders flagged not synced.")
    unpaid: int = Field(description="Orders waiting for payment (status unpaid).")


class OrderPage(_Out):
    total: int
    limit: int
    offset: int
    orders: list[OrderSummary]


class LineOut(_Out):
    line_id: str
    sku: str | None = None
    title: str
    quantity: int
    supplier_sku: str | None = None
    unit_cost: Decimal | None = None
    matched: bool = True


class AddressOut(Address):  # the normalised shipping address, as order-ingest received it
    model_config = ConfigDict(frozen=True, extra="ignore", from_attributes=True)


class CustomerOut(Customer):
    model_config = ConfigDict(frozen=True, extra="ignore", from_attributes=True)


class FxOut(_Out):
    from_currency: str
    to_currency: Literal["USD"] = "USD"
    rate: Decimal
    rate_date: str
    source: str


class Amounts(_Out):
    product_cost: Decimal
    shipping: Decimal
    vat: Decimal
    total: Decimal


class OrderPayment(_Out):
    payment_id: str
    method: PaymentMethod
    provider: str
    provider_reference: str
    paid_at: datetime
    supplier_currency: str | None
    supplier_currency_amounts: Amounts
    usd_amounts: Amounts
    fx: FxOut


class TimelineOut(_Out):
    at: datetime
    event: str
    status: str | None
    summary: str


class SearchHint(_Out):
    sku: str | None
    title: str | None
    quantity: int | None


class OrderRefundOut(_Out):
    """Money checkout gave back for this order (its share of the payment), e.g. after the supplier
    rejected it."""

    refund_id: str
    payment_id: str
    method: PaymentMethod
    provider: str
    provider_reference: str = Field(description="The provider's refund id.")
    reason: str
    currency: str = Field(description="The supplier's currency (supplier_currency_amounts).")
    supplier_currency_amounts: Amounts
    usd_amounts: Amounts
    refunded_at: datetime


class OrderDetail(OrderSummary):
    lines: list[LineOut]
    shipping_address: AddressOut | None
    customer: CustomerOut | None
    shipping_method: str | None
    payment: OrderPayment | None
    timeline: list[TimelineOut]
    supplier_website_url: str | None
    search_hints: list[SearchHint] = Field(description="What to search for on the supplier's website.")
    can_add_tracking: bool
    frozen: bool = Field(description="Paid: the order can no longer be changed; changes go through the supplier.")
    refunds: list[OrderRefundOut] = Field(default_factory=list, description="Refunds of this order, oldest first.")


class RejectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500,
                        description="Why the supplier cannot fulfil the order, in words the retailer reads.")
    supplier_order_id: str | None = Field(default=None, min_length=1, max_length=255,
                                          description="The supplier's own reference of the order.")

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("reason must say why the order cannot be fulfilled")
        return value


class RejectionAccepted(_Out):
    rejection_id: str
    order_id: str
    status: Literal["accepted", "duplicate"] = Field(
        description="duplicate: the order was reported already; this is the first report, nothing new happened.")
    reason: str
    supplier_order_id: str | None = None
    reported_at: datetime


class ShippedLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_id: str = Field(min_length=1, max_length=64, description="A Dropline line id of the order.")
    quantity: int = Field(ge=1, le=100000, description="Units of that line in this shipment.")


class ShippedLineOut(_Out):
    line_id: str
    quantity: int


class TrackingAccepted(_Out):
    tracking_id: str
    status: Literal["accepted", "duplicate"]
    carrier: str | None = None
    tracking_url: str | None = None
    lines: list[ShippedLineOut] | None = Field(default=None, description="What this shipment carries.")


class TrackingCorrectionAccepted(_Out):
    """A wrong tracking number replaced: the new record (tracking_id) carries the lines of the one it
    corrects, which is kept and marked superseded."""

    status: Literal["accepted", "duplicate"] = Field(
        description="duplicate: this record was corrected to this number already; nothing new happened.")
    tracking_id: str = Field(description="The new tracking record.")
    corrects_tracking_id: str = Field(description="The record corrected (now superseded).")
    previous_tracking_number: str
    tracking_number: str
    carrier: str | None = None
    tracking_url: str | None = None
    lines: list[ShippedLineOut] | None = Field(default=None, description="What the shipment carries (null: every "
                                                                          "line).")
    changed_by: str = Field(description="'retailer:<email>', 'retailer:api key' or 'supplier:<supplier id>'.")
    reason: str


class CarrierGuess(_Out):
    carrier: str | None
    tracking_url: str | None


class SupplierOut(_Out):
    supplier_id: str
    name: str
    currency: str
    auto_order: bool
    website_url: str | None
    payment_methods: list[PaymentMethod]


class SupplierList(_Out):
    suppliers: list[SupplierOut]


class Reconciliation(_Out):
    at: datetime
    examined: int = Field(description="Orders the store listed as created or updated since the last run.")
    found: int = Field(description="Of those, orders no webhook had brought; now ingested.")
    error: str | None = None


class Failure(_Out):
    at: datetime
    reason: str


class StoreHealthOut(_Out):
    last_webhook_at: datetime | None = None
    last_reconciliation: Reconciliation | None = None
    last_write_back_at: datetime | None = Field(default=None, description="Last tracking written to the store.")
    writes_waiting: int = Field(default=0, description="Orders shipped whose tracking is not in the store yet.")
    last_failure: Failure | None = Field(default=None, description="Last intake or write-back failure.")


class StoreOut(StoreRef):
    health: StoreHealthOut


class StoreList(_Out):
    stores: list[StoreOut]


# --------------------------------------------------------------------------- checkout (from checkout's API)


class CurrencyAmounts(Amounts):
    currency: str


class SupplierInfo(_Out):
    supplier_id: str
    name: str
    currency: str


class OrderQuote(_Out):
    order_id: str
    order_number: str
    supplier_currency: CurrencyAmounts
    usd: CurrencyAmounts


class Totals(_Out):
    supplier_currency: CurrencyAmounts
    usd: CurrencyAmounts


class Charge(_Out):
    currency: Literal["USD"] = "USD"
    amount: Decimal
    amount_minor: int


class GuardrailOut(_Out):
    """One order's price check (checkout's rules): what the customer paid for these lines vs what the
    supplier is paid, in USD, and the retailer's maximum buy price per unit."""

    order_id: str
    order_number: str
    store_currency: str
    revenue: Decimal = Field(description="What the customer paid for these lines, store currency (no shipping, "
                                         "no included tax).")
    revenue_usd: Decimal | None = Field(description="The same in USD; null when the store currency has no rate.")
    cost_usd: Decimal | None = Field(description="What the supplier is paid, USD (product cost + shipping + VAT).")
    margin_usd: Decimal | None = Field(description="revenue_usd − cost_usd; null when either is unknown.")
    revenue_fx: FxOut | None = None
    max_buy_price_usd: Decimal | None = None
    flags: list[str] = Field(description="loss | over_max_buy_price | unconverted_currency; empty: fine.")
    reasons: list[str] = Field(description="One sentence per flag.")
    flagged: bool = Field(description="Paying this order needs confirm_flagged=true.")


class PriceCheckOut(_Out):
    max_buy_price_usd: Decimal | None = Field(description="The retailer's maximum buy price per unit (Settings).")
    basis: str = Field(description="What is compared, in words.")
    orders: list[GuardrailOut]
    flagged_order_ids: list[str]
    requires_confirmation: bool = Field(description="Some order is flagged: pay with confirm_flagged=true.")


class QuoteOut(_Out):
    supplier: SupplierInfo
    payment_methods: list[PaymentMethod]
    orders: list[OrderQuote]
    total: Totals
    charge: Charge
    fx: FxOut
    price_check: PriceCheckOut = Field(description="Each order's price guardrail: orders that lose money or are "
                                                   "above the max buy price are flagged.")


class PaymentRefundOut(_Out):
    """Money given back from a payment (checkout's refund, passed through): one order's share (a bulk
    payment is refunded per order, partially), or the whole payment (order_id null)."""

    refund_id: str = Field(description="Dropline's refund id.")
    order_id: str | None = Field(default=None, description="The order refunded; null: the whole payment.")
    status: Literal["pending", "succeeded", "failed"] = Field(
        description="pending: asked of the provider, not confirmed yet; succeeded: the money is on its way back; "
                    "failed: the provider refused (failure_reason), nothing was given back.")
    amount_usd: Decimal
    amount_supplier_currency: Decimal
    currency: str = Field(description="The supplier's currency (amount_supplier_currency).")
    reason: str
    provider_reference: str | None = Field(default=None, description="The provider's refund id.")
    failure_reason: str | None = None
    created_at: datetime
    completed_at: datetime | None = None


class NextActionOut(_Out):
    """What the retailer must do before the payment can go on (status requires_action)."""

    type: Literal["redirect", "authenticate_card"] = Field(
        description="redirect: send the browser to `url` (PayPal's approval page; PayPal sends it back to "
                    "/checkout/paypal/approved or /cancelled, then call /complete or /cancel); authenticate_card: "
                    "confirm `client_secret` with Stripe.js confirmCardPayment (3-D Secure), then call /complete.")
    url: str | None = None
    client_secret: str | None = None


class PaymentOut(_Out):
    payment_id: str
    status: Literal["processing", "requires_action", "succeeded", "failed", "refunded"] = Field(
        description="requires_action: the retailer must act (next_action); refunded: the provider took the money "
                    "after the checkout was abandoned and its orders had been paid or cancelled meanwhile, so all "
                    "of it was given back.")
    method: PaymentMethod
    order_ids: list[str]
    supplier: SupplierInfo
    orders: list[OrderQuote]
    total: Totals
    charge: Charge
    fx: FxOut
    provider: str
    provider_reference: str | None = Field(description="The provider's id (Stripe PaymentIntent, PayPal order).")
    next_action: NextActionOut | None = Field(default=None, description="What the retailer must do "
                                                                        "(requires_action).")
    failure_reason: str | None
    created_at: datetime
    completed_at: datetime | None
    refunds: list[PaymentRefundOut] = Field(default_factory=list, description="Refunds of this payment's orders.")


class UnpaidSupplier(_Out):
    supplier_id: str
    name: str
    currency: str
    payment_methods: list[PaymentMethod]
    order_count: int
    order_ids: list[str]
    amounts: CurrencyAmounts
    unpriced: list[dict[str, Any]] = Field(default_factory=list)


class UnpaidOut(_Out):
    suppliers: list[UnpaidSupplier]
    price_check: PriceCheckOut = Field(description="Each unpaid order's price guardrail, at today's rates "
                                                   "(the Orders page flags these orders).")


class RetailerSettings(_Out):
    max_buy_price_usd: Decimal | None = Field(
        description="The most one unit of a product may cost from the supplier, USD (converted, before shipping "
                    "and VAT); orders with a product above it are flagged before paying. null: no maximum.")


class CheckoutConfig(_Out):
    stripe_publishable_key: str
    stripe_js_url: str = Field(description="Load Stripe.js from here (make run: localstripe's stand-in).")


# --------------------------------------------------------------------------- session


class UserOut(_Out):
    user_id: str
    email: str


class RetailerOut(_Out):
    retailer_id: str
    name: str


class SessionOut(_Out):
    user: UserOut
    retailer: RetailerOut
    csrf_token: str = Field(description="Send as X-CSRF-Token on every state-changing request.")


# --------------------------------------------------------------------------- webhooks, operator


class WebhookAck(_Out):
    status: Literal["accepted", "duplicate", "ignored"]
    delivery_id: str | None = None
    reason: str | None = None


class RetailerCreated(_Out):
    retailer_id: str
    name: str
    api_key: str = Field(description="Shown once; stored only as a digest.")


class UserCreated(_Out):
    user_id: str
    retailer_id: str
    email: str


class WebhookHeader(_Out):
    name: str
    value: str = Field(description="Shown once: set it as a custom header of the platform's webhook.")


class StoreConnectedOut(_Out):
    store_id: str
    retailer_id: str
    platform: Platform
    shop: str
    api_base_url: str
    webhook_url: str = Field(description="The address to configure as the platform's webhook destination.")
    webhook_header: WebhookHeader | None = Field(
        default=None, description="BigCommerce: the custom header Dropline checks on every callback.")


class SupplierCreated(_Out):
    supplier_id: str
    api_key: str = Field(description="Supplier-API key, shown once.")
    terms: dict[str, Any]
    order_api_url: str | None


class ListingOut(_Out):
    listing_id: str
    store_id: str
    sku: str
    variant_id: str | None
    supplier_id: str
    supplier_sku: str
    unit_cost: Decimal
    active: bool
