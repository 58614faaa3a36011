"""Pure checkout logic: which orders may be paid together, what they cost, and the events a
payment outcome produces. No I/O here (the FX rate comes in as an `FxRecord`).

Money is `Decimal`, built from strings (or from the Decimals pydantic parsed from strings), never
from floats: every calculation runs in a decimal context that traps float operations.
"""

from __future__ import annotations

import decimal
import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict

from dropline_schemas.events import (
    DroplineOrder,
    FxRecord,
    Money,
    OrderAmendedData,
    OrderAmendedV1,
    OrderPaidData,
    OrderPaidV1,
    OrderPaymentFailedData,
    OrderPaymentFailedV1,
    OrderPaymentStartedData,
    OrderPaymentStartedV1,
    OrderPricedData,
    OrderPricedV1,
    OrderReceivedV1,
    OrderRefundedData,
    OrderRefundedV1,
    OrderStatus,
    PaymentMethod,
    StoreOrderChangedData,
)

PRODUCER = "checkout"
USD = "USD"

# Stripe: a USD charge must be at least $0.50 and at most 8 digits in cents ($999,999.99).
MIN_CHARGE_CENTS = 50
MAX_CHARGE_CENTS = 99_999_999

# ISO 4217 minor units for the currencies that are not two-decimal. Supplier-currency amounts are
# only shown (the charge is always USD, two decimals), so ISO is the right table here rather than
# a provider's (Stripe treats ISK as two-decimal in its API, for instance).
_ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX",
                           "VND", "VUV", "XAF", "XOF", "XPF"})
_THREE_DECIMAL = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})


# --------------------------------------------------------------------------- errors


class CheckoutError(Exception):
    """A request checkout refuses, with a machine-readable code and a reason for people.
    The HTTP layer maps `code` to a status (see api.py); `details` goes into the response."""

    def __init__(self, code: str, message: str, **details: Any):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


# --------------------------------------------------------------------------- money


def _money_context() -> decimal.Context:
    ctx = decimal.Context(prec=28, rounding=ROUND_HALF_UP)
    ctx.traps[decimal.FloatOperation] = True  # Decimal(0.1) or 0.1 < Decimal(...) is a bug here
    return ctx


def exact_money(fn):
    """Run `fn` in the money context (float operations raise)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with decimal.localcontext(_money_context()):
            return fn(*args, **kwargs)

    return wrapper


def minor_unit_exponent(currency: str) -> int:
    currency = currency.upper()
    if currency in _ZERO_DECIMAL:
        return 0
    if currency in _THREE_DECIMAL:
        return 3
    return 2


def round_money(amount: Decimal, currency: str) -> Decimal:
    """ROUND_HALF_UP ("commercial rounding") to the currency's minor unit: 0.125 EUR → 0.13."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be a Decimal, got {type(amount).__name__}")
    return amount.quantize(Decimal(1).scaleb(-minor_unit_exponent(currency)), rounding=ROUND_HALF_UP)


class _Value(BaseModel):
    """Strict to build; tolerant to `read()` back from the database (a newer replica may have written a
    field this one does not know yet, during a rolling deploy), as the event contracts are."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def read(cls, raw: str | bytes) -> Self:
        return cls.model_validate_json(raw, extra="ignore")


class Amounts(_Value):
    """Product cost, shipping fee, VAT and total in one currency (total = the sum of the three)."""

    currency: str
    product_cost: Decimal
    shipping: Decimal
    vat: Decimal
    total: Decimal

    def to_money(self) -> Money:
        return Money(product_cost=self.product_cost, shipping=self.shipping, vat=self.vat, total=self.total)

    def minor_total(self) -> int:
        """The total in cents (USD amounts only)."""
        return cents(self.total)


@exact_money
def sum_amounts(items: Iterable[Amounts], currency: str) -> Amounts:
    zero = round_money(Decimal(0), currency)
    p = s = v = t = zero
    for a in items:
        if a.currency != currency:
            raise ValueError(f"cannot add {a.currency} to {currency}")
        p, s, v, t = p + a.product_cost, s + a.shipping, v + a.vat, t + a.total
    return Amounts(currency=currency, product_cost=p, shipping=s, vat=v, total=t)


@exact_money
def price_order(order: DroplineOrder) -> Amounts:
    """What the supplier charges for one order, in the supplier's currency, with the supplier terms
    the order arrived with.

    Rounding rule (the one place it is decided):
    - product cost = Σ unit_cost × quantity over the matched lines, computed exactly, then rounded
      once ROUND_HALF_UP to the currency's minor unit;
    - shipping = shipping_first_item + shipping_additional_item × (total quantity − 1), rounded the
      same way;
    - VAT = (rounded product cost + rounded shipping) × vat_rate, rounded the same way (VAT is
      charged on the amounts shown, as on an invoice);
    - total = product cost + shipping + VAT (a sum of rounded figures, so the lines add up).
    """
    terms = order.supplier
    if terms is None:
        raise CheckoutError("cannot_price", f"order {order.order_number} has no supplier", order_id=order.order_id)
    currency = terms.currency.upper()
    lines = [line for line in order.lines if line.matched]
    if not lines:
        raise CheckoutError("cannot_price", f"order {order.order_number} has no matched lines",
                            order_id=order.order_id)
    missing = [line.line_id for line in lines if line.unit_cost is None]
    if missing:
        raise CheckoutError("cannot_price", f"order {order.order_number}: lines without a supplier unit cost",
                            order_id=order.order_id, line_ids=missing)
    quantity = sum(line.quantity for line in lines)
    product = round_money(sum((line.unit_cost * line.quantity for line in lines), Decimal(0)), currency)
    shipping = round_money(terms.shipping_first_item + terms.shipping_additional_item * (quantity - 1), currency)
    vat = round_money((product + shipping) * terms.vat_rate, currency)
    return Amounts(currency=currency, product_cost=product, shipping=shipping, vat=vat, total=product + shipping + vat)


@exact_money
def to_usd(amounts: Amounts, fx: FxRecord) -> Amounts:
    """Convert each component with the same rate and round it ROUND_HALF_UP to cents; the USD total
    is the sum of the rounded USD components (not the converted total), so the shown USD figures
    add up to the USD total that is charged."""
    if fx.from_currency.upper() != amounts.currency:
        raise ValueError(f"fx record is for {fx.from_currency}, amounts are in {amounts.currency}")
    p, s, v = (round_money(x * fx.rate, USD) for x in (amounts.product_cost, amounts.shipping, amounts.vat))
    return Amounts(currency=USD, product_cost=p, shipping=s, vat=v, total=p + s + v)


def cents(usd: Decimal) -> int:
    """A USD amount already rounded to cents, as an integer number of cents (Stripe's unit)."""
    if usd != round_money(usd, USD):
        raise ValueError(f"{usd} is not a whole number of cents")
    return int(usd.scaleb(2))


# --------------------------------------------------------------------------- quote


class SupplierInfo(_Value):
    supplier_id: str
    name: str
    currency: str


class OrderQuote(_Value):
    order_id: str
    order_number: str
    supplier_currency: Amounts
    usd: Amounts


class Totals(_Value):
    supplier_currency: Amounts
    usd: Amounts


class Charge(_Value):
    currency: Literal["USD"] = "USD"
    amount: Decimal
    amount_minor: int


class Quote(_Value):
    """Per order and in total: product cost, shipping, VAT and total in the supplier's currency and
    in USD; the USD charge; the FX record; the payment methods the supplier accepts."""

    supplier: SupplierInfo
    payment_methods: list[PaymentMethod]
    orders: list[OrderQuote]
    total: Totals
    charge: Charge
    fx: FxRecord

    def for_order(self, order_id: str) -> OrderQuote:
        return next(q for q in self.orders if q.order_id == order_id)


def accepted_methods(orders: Sequence[DroplineOrder]) -> list[PaymentMethod]:
    """Methods every order's supplier terms accept (the terms travel with each order)."""
    sets = [set(o.supplier.payment_methods) if o.supplier else set() for o in orders]
    common = set.intersection(*sets) if sets else set()
    return [m for m in PaymentMethod if m in common]


@exact_money
def build_quote(orders: Sequence[DroplineOrder], fx: FxRecord) -> Quote:
    """Price orders of ONE supplier (checked before) and convert them to USD with `fx`."""
    first = orders[0].supplier
    assert first is not None
    currency = first.currency.upper()
    lines = []
    for order in orders:
        amounts = price_order(order)
        lines.append(OrderQuote(order_id=order.order_id, order_number=order.order_number,
                                supplier_currency=amounts, usd=to_usd(amounts, fx)))
    supplier_total = sum_amounts((q.supplier_currency for q in lines), currency)
    usd_total = sum_amounts((q.usd for q in lines), USD)
    return Quote(supplier=SupplierInfo(supplier_id=first.supplier_id, name=first.name, currency=currency),
                 payment_methods=accepted_methods(orders), orders=lines,
                 total=Totals(supplier_currency=supplier_total, usd=usd_total),
                 charge=Charge(amount=usd_total.total, amount_minor=cents(usd_total.total)), fx=fx)


def check_charge_limits(quote: Quote) -> None:
    amount = quote.charge.amount_minor
    if amount < MIN_CHARGE_CENTS:
        raise CheckoutError("amount_too_small", f"the charge of ${quote.charge.amount} is below the card "
                            f"minimum of $0.50", amount=str(quote.charge.amount), minimum="0.50")
    if amount > MAX_CHARGE_CENTS:
        raise CheckoutError("amount_too_large", f"the charge of ${quote.charge.amount} is above the card "
                            f"maximum of $999,999.99; pay fewer orders at once", amount=str(quote.charge.amount),
                            maximum="999999.99")


# --------------------------------------------------------------------------- who may pay what


@dataclass(frozen=True)
class OrderState:
    """What checkout knows about one order when deciding whether it can be paid."""

    order_id: str
    order_number: str
    status: str
    supplier_id: str | None
    payment_id: str | None
    order: DroplineOrder


_NOT_PAYABLE_REASONS = {
    OrderStatus.PAID: "already paid",
    OrderStatus.FORWARDED: "already paid",
    OrderStatus.SHIPPED: "already paid",
    OrderStatus.SYNCED: "already paid",
    OrderStatus.PAYMENT_PENDING: "a payment for it is in progress in another checkout",
    OrderStatus.NON_AUTO_ORDER: "the supplier has no auto-order: order it on the supplier's website",
    OrderStatus.UNMATCHED: "its lines match no listing, so there is no supplier to pay",
    OrderStatus.CANCELLED: "it was cancelled (in the store or by the retailer)",
}


def not_payable_reason(status: str) -> str:
    try:
        return _NOT_PAYABLE_REASONS[OrderStatus(status)]
    except (ValueError, KeyError):
        return f"the order is {status}"


def check_order_ids(order_ids: Sequence[str], max_orders: int) -> None:
    if not order_ids:
        raise CheckoutError("empty_order_ids", "order_ids must name at least one order")
    dupes = sorted(i for i, n in Counter(order_ids).items() if n > 1)
    if dupes:
        raise CheckoutError("duplicate_order_ids", "order_ids lists an order more than once", order_ids=dupes)
    if len(order_ids) > max_orders:
        raise CheckoutError("too_many_orders", f"at most {max_orders} orders can be paid at once",
                            maximum=max_orders)


def check_orders(order_ids: Sequence[str], found: dict[str, OrderState], *,
                 require_status: str = OrderStatus.UNPAID) -> list[OrderState]:
    """The checks every quote and payment makes, in this order:
    unknown ids (404: the retailer's own orders only were looked up, so another retailer's order
    looks exactly like a missing one), several suppliers (422), any order not `unpaid` (409,
    each order with its status and why)."""
    missing = [i for i in order_ids if i not in found]
    if missing:
        raise CheckoutError("orders_not_found", "no such orders", order_ids=missing)
    states = [found[i] for i in order_ids]
    suppliers = sorted({s.supplier_id for s in states if s.supplier_id})
    if len(suppliers) > 1:
        raise CheckoutError("mixed_suppliers", "a payment covers the orders of ONE supplier; these orders "
                            "belong to several", suppliers={sid: [s.order_id for s in states if s.supplier_id == sid]
                                                              for sid in suppliers})
    blocked = [s for s in states if s.status != require_status]
    if blocked:
        raise CheckoutError("not_payable", "some orders cannot be paid",
                            orders=[{"order_id": s.order_id, "order_number": s.order_number, "status": s.status,
                                     "reason": not_payable_reason(s.status),
                                     **({"payment_id": s.payment_id} if s.status == OrderStatus.PAYMENT_PENDING
                                        and s.payment_id else {})} for s in blocked])
    currencies = sorted({s.order.supplier.currency.upper() for s in states if s.order.supplier})
    if len(currencies) > 1:
        raise CheckoutError("mixed_currencies", "the supplier changed its currency between these orders; "
                            "pay them separately", currencies=currencies)
    return states


def check_method(quote: Quote, method: PaymentMethod | str, payment_method: str | None) -> PaymentMethod:
    try:
        method = PaymentMethod(method)
    except ValueError as exc:
        raise CheckoutError("method_not_accepted", f"unknown payment method {method!r}",
                            accepted=[m.value for m in quote.payment_methods]) from exc
    if method not in quote.payment_methods:
        raise CheckoutError("method_not_accepted", f"{quote.supplier.name} does not accept {method.value} for "
                            "auto-orders", accepted=[m.value for m in quote.payment_methods])
    if method is PaymentMethod.PAYPAL:
        if payment_method:
            raise CheckoutError("payment_method_not_allowed", "a PayPal payment takes no payment_method: the "
                                "buyer approves it at PayPal")
        return method
    if not payment_method:
        raise CheckoutError("payment_method_required", "a card payment needs payment_method (a Stripe "
                            "PaymentMethod id such as pm_card_visa)")
    return method


# --------------------------------------------------------------------------- events


def order_priced_event(received: OrderReceivedV1, *, priced_at: datetime) -> OrderPricedV1 | None:
    """What a newly received order costs in its supplier's currency (None for an order without a
    supplier: unmatched lines have nobody to pay). An order that cannot be priced still gets the
    event, with amounts null and the reason."""
    order = received.data
    terms = order.supplier
    if terms is None:
        return None
    try:
        amounts: Money | None = price_order(order).to_money()
        reason = None
    except CheckoutError as exc:
        amounts, reason = None, exc.message
    return OrderPricedV1.create(
        data=OrderPricedData(order_id=order.order_id, supplier_id=terms.supplier_id, currency=terms.currency.upper(),
                             amounts=amounts, reason=reason, priced_at=priced_at),
        producer=PRODUCER, tenant_id=order.retailer_id, correlation_id=received.correlation_id,
        causation_id=str(received.event_id))


def order_payment_started_event(*, order_id: str, retailer_id: str, correlation_id: str, payment_id: str,
                                method: PaymentMethod, quote: Quote, started_at: datetime
                                ) -> OrderPaymentStartedV1:
    line = quote.for_order(order_id)
    return OrderPaymentStartedV1.create(
        data=OrderPaymentStartedData(order_id=order_id, payment_id=payment_id, method=method,
                                     supplier_currency_amounts=line.supplier_currency.to_money(),
                                     usd_amounts=line.usd.to_money(), fx=quote.fx, started_at=started_at),
        producer=PRODUCER, tenant_id=retailer_id, correlation_id=correlation_id, causation_id=payment_id)


def order_paid_event(*, order: DroplineOrder, correlation_id: str, payment_id: str, method: PaymentMethod,
                     provider: str, provider_reference: str, quote: Quote, paid_at: datetime) -> OrderPaidV1:
    line = quote.for_order(order.order_id)
    snapshot = order.model_copy(update={"status": OrderStatus.PAID})
    return OrderPaidV1.create(
        data=OrderPaidData(order_id=order.order_id, payment_id=payment_id, method=method, provider=provider,
                           provider_reference=provider_reference,
                           supplier_currency_amounts=line.supplier_currency.to_money(),
                           usd_amounts=line.usd.to_money(), fx=quote.fx, paid_at=paid_at, order=snapshot),
        producer=PRODUCER, tenant_id=order.retailer_id, correlation_id=correlation_id, causation_id=payment_id)


def order_payment_failed_event(*, order_id: str, retailer_id: str, correlation_id: str, payment_id: str,
                               reason: str, provider_reference: str | None) -> OrderPaymentFailedV1:
    return OrderPaymentFailedV1.create(
        data=OrderPaymentFailedData(order_id=order_id, payment_id=payment_id, reason=reason,
                                    provider_reference=provider_reference),
        producer=PRODUCER, tenant_id=retailer_id, correlation_id=correlation_id, causation_id=payment_id)


def order_refunded_event(*, order_id: str, retailer_id: str, correlation_id: str, payment_id: str, refund_id: str,
                         method: PaymentMethod, provider: str, provider_reference: str, reason: str, usd: Amounts,
                         supplier: Amounts, fx: FxRecord, refunded_at: datetime) -> OrderRefundedV1:
    return OrderRefundedV1.create(
        data=OrderRefundedData(order_id=order_id, payment_id=payment_id, refund_id=refund_id, method=method,
                               provider=provider, provider_reference=provider_reference, reason=reason,
                               usd_amounts=usd.to_money(), supplier_currency_amounts=supplier.to_money(), fx=fx,
                               refunded_at=refunded_at),
        producer=PRODUCER, tenant_id=retailer_id, correlation_id=correlation_id, causation_id=refund_id)


# --------------------------------------------------------------------------- store changes


AMENDABLE = frozenset({OrderStatus.UNPAID.value, OrderStatus.NON_AUTO_ORDER.value, OrderStatus.UNMATCHED.value})


class Outcome(StrEnum):
    APPLY = "apply"  # not claimed for payment: the order takes the change
    FROZEN = "frozen"  # a payment holds it or it is paid: nothing changes, the retailer is told
    NOTHING = "nothing"  # the order already says this, or it is cancelled already


@dataclass(frozen=True)
class Amendment:
    outcome: Outcome
    cancel: bool
    notice: str
    order: DroplineOrder  # the order after the change (unchanged unless APPLY)


def amend(status: str, order: DroplineOrder, change: StoreOrderChangedData) -> Amendment:
    """What a store change does to an order in checkout (product rule: a change before payment is
    applied; after a payment claimed the order it is frozen, Dropline never cancels with the supplier or
    refunds by itself, it tells the retailer)."""
    address = change.shipping_address != order.shipping_address
    customer = change.customer != order.customer
    if status == OrderStatus.CANCELLED.value:
        return Amendment(Outcome.NOTHING, False, "the order is cancelled already", order)
    if not (address or customer or change.cancelled):
        return Amendment(Outcome.NOTHING, False, "the order has this address and customer already", order)
    if status in AMENDABLE:
        amended = order.model_copy(update={"shipping_address": change.shipping_address,
                                           "customer": change.customer})
        if change.cancelled:
            notice = "The order was cancelled in the store; Dropline cancelled it (it can no longer be paid)."
        elif address:
            notice = ("The store changed the shipping address; Dropline updated the order (the supplier gets "
                      "the new address when the order is paid).")
        else:
            notice = "The store changed the customer's contact details; Dropline updated the order."
        return Amendment(Outcome.APPLY, change.cancelled, notice, amended)
    pending = status == OrderStatus.PAYMENT_PENDING.value
    if change.cancelled:
        notice = ("The order was cancelled in the store while a payment for it was in progress: if the payment "
                  "goes through, cancel the order with the supplier and refund the customer." if pending else
                  "The order was cancelled in the store after payment: cancel it with the supplier and refund "
                  "the customer.")
    elif address:
        notice = ("The store changed the shipping address while a payment was in progress; Dropline kept the "
                  "address the supplier is being paid for." if pending else
                  "The store changed the shipping address after payment; Dropline kept the address the supplier "
                  "was paid for.")
    else:
        notice = ("The store changed the customer's contact details "
                  + ("while a payment was in progress" if pending else "after payment")
                  + "; Dropline kept the details the supplier " + ("is being" if pending else "was") + " paid for.")
    return Amendment(Outcome.FROZEN, change.cancelled, notice, order)


def order_amended_event(*, amendment: Amendment, change: StoreOrderChangedData, status: str, retailer_id: str,
                        correlation_id: str, causation_id: str, amended_at: datetime,
                        notice: str | None = None) -> OrderAmendedV1:
    applied = amendment.outcome is Outcome.APPLY
    return OrderAmendedV1.create(
        data=OrderAmendedData(order_id=change.order_id, applied=applied, cancelled=change.cancelled,
                              shipping_address=change.shipping_address, customer=change.customer,
                              notice=notice or amendment.notice, amended_at=amended_at, status=OrderStatus(status),
                              order=amendment.order),
        producer=PRODUCER, tenant_id=retailer_id, correlation_id=correlation_id, causation_id=causation_id)


# --------------------------------------------------------------------------- cancelled by the retailer


RETAILER_CANCELLED_NOTICE = "Cancelled by the retailer"
_PAID_OR_LATER = frozenset({OrderStatus.PAID.value, OrderStatus.FORWARDED.value, OrderStatus.SHIPPED.value,
                            OrderStatus.SYNCED.value})


def retailer_may_cancel(status: str, *, order_id: str, payment_id: str | None = None) -> bool:
    """The retailer cancels an order nobody has paid and no payment holds (product rule: Dropline
    never cancels with the supplier or refunds). True: cancel it now; False: it is cancelled already
    (nothing to do). Anything else is refused with the reason and what to do instead."""
    if status == OrderStatus.CANCELLED.value:
        return False
    if status in AMENDABLE:
        return True
    if status == OrderStatus.PAYMENT_PENDING.value:
        raise CheckoutError("payment_in_progress", "a payment for this order is in progress, so it cannot be "
                            "cancelled now; if the payment goes through, cancel the order with the supplier",
                            order_id=order_id, order_status=status, **({"payment_id": payment_id} if payment_id else {}))
    if status in _PAID_OR_LATER:
        raise CheckoutError("already_paid", "this order is paid already, so Dropline cannot cancel it: cancel it "
                            "with the supplier (and refund the customer in the store)", order_id=order_id,
                            order_status=status)
    raise CheckoutError("not_cancellable", f"an order that is {status} cannot be cancelled", order_id=order_id,
                        order_status=status)


def order_cancelled_by_retailer_event(*, order: DroplineOrder, retailer_id: str, correlation_id: str,
                                      causation_id: str, cancelled_at: datetime) -> OrderAmendedV1:
    """The retailer cancelled the order: OrderAmended(applied, cancelled) with the order as it stands
    (its address and customer unchanged), so every consumer of store cancellations handles it too."""
    snapshot = order.model_copy(update={"status": OrderStatus.CANCELLED})
    return OrderAmendedV1.create(
        data=OrderAmendedData(order_id=order.order_id, applied=True, cancelled=True,
                              shipping_address=order.shipping_address, customer=order.customer,
                              notice=RETAILER_CANCELLED_NOTICE, amended_at=cancelled_at,
                              status=OrderStatus.CANCELLED, order=snapshot),
        producer=PRODUCER, tenant_id=retailer_id, correlation_id=correlation_id, causation_id=causation_id)
