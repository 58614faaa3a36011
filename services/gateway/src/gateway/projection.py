"""The orders read model: each order event moves an order's row and adds a timeline entry.

Events of one order come from several topics, so they can arrive out of order; the status only
moves forward along the life cycle (a rank), and any event can create the row. The one step back
is checkout's: a payment that failed returns its orders from payment_pending to unpaid — only if
that same payment is the one holding them (a late OrderPaymentStarted of a payment that already
ended is recorded in the timeline but moves nothing).

A store change after arrival (checkout's OrderAmended): applied, the order's address/customer are the
store's now (cancelled: the order is cancelled, by the store or by the retailer as the notice says); not
applied, the order stays as paid and `problem` tells the retailer what to do. OrderReceived never takes back an address an amendment or the paid
order set (it may arrive after them, or be replayed).

A store's fulfilment request (Shopify "Request fulfillment", tracking-sync's FulfilmentRequestAccepted)
moves no status: accepted, the timeline says so (with the merchant's message); not accepted, `problem`
says why (the merchant waits for an answer in the store).

A supplier's rejection (OrderForwardingFailed with rejected_by_supplier, from forwarder or from the
supplier API) fails the order and says a refund follows; checkout's OrderRefunded then records the
refund on the order (one per refund id) and moves it to refunded, the one status past failed: the
order is done, nothing is left for the retailer to do.

tracking-sync's OrderAlert sets and clears the order's flags late_since / not_synced_since (see
`alerted`); a refunded or cancelled order carries neither."""

from __future__ import annotations

import json
from datetime import datetime

from dropline_schemas.events import (
    AlertKind,
    AlertState,
    DroplineOrder,
    FulfilmentRequestAcceptedV1,
    OrderAlertV1,
    OrderAmendedV1,
    OrderForwardedV1,
    OrderForwardingFailedV1,
    OrderPaidV1,
    OrderPaymentFailedV1,
    OrderPaymentStartedV1,
    OrderPricedV1,
    OrderReceivedV1,
    OrderRefundedV1,
    OrderSyncedV1,
    OrderSyncFailedV1,
    TrackingAddedV1,
    TrackingCorrectedV1,
)

from . import shipments

RANK = {"unmatched": 0, "unpaid": 0, "non_auto_order": 0, "payment_pending": 1, "paid": 2, "forwarded": 3,
        "partially_shipped": 4, "shipped": 5, "synced": 6, "failed": 7, "cancelled": 7, "refunded": 8}


def apply_order_snapshot(row, order: DroplineOrder) -> None:
    row.retailer_id = order.retailer_id
    row.store_id = order.store_id
    row.supplier_id = order.supplier.supplier_id if order.supplier else None
    row.supplier_name = order.supplier.name if order.supplier else None
    row.order_number = order.order_number
    row.platform = order.platform.value
    row.platform_order_number = order.platform_order_number
    row.customer_name = (order.shipping_address.name if order.shipping_address else None) or \
        (order.customer.name if order.customer else None)
    row.order_json = order.model_dump_json()
    row.item_count = sum(line.quantity for line in order.lines)
    row.unmatched_line_count = sum(1 for line in order.lines if not line.matched)
    skus = {x.lower() for line in order.lines for x in (line.sku, line.supplier_sku) if x}
    row.search_text = " ".join(sorted(skus))


def advance(row, status: str) -> bool:
    """Move to `status` if it is further along than the current one."""
    if RANK[status] > RANK.get(row.status, 0) or (RANK[status] == 0 and RANK.get(row.status, 0) == 0):
        row.status = status
        row.status_rank = RANK[status]
        return True
    return False


def advance_shipments(row) -> None:
    status = shipments.shipment_status(row)
    if status:
        advance(row, status)


def _money(currency: str | None, amounts) -> str:
    return json.dumps({"currency": currency, **amounts.model_dump(mode="json")})


def _closed(row) -> list[str]:
    return json.loads(row.closed_payment_ids or "[]")


def apply(row, event) -> tuple[str | None, str]:
    """Mutate the row for `event`; returns (status for the timeline, summary)."""
    if isinstance(event, OrderReceivedV1):
        o = event.data
        if row.order_json is not None:  # an amendment or the paid order came first: their address stands
            known = DroplineOrder.read(row.order_json)
            o = o.model_copy(update={"shipping_address": known.shipping_address, "customer": known.customer})
        apply_order_snapshot(row, o)
        advance(row, o.status.value)
        advance_shipments(row)  # tracking may have come first: now the lines are known
        unmatched_lines = [line for line in o.lines if not line.matched]
        unmatched = len(unmatched_lines)
        if unmatched:
            skus = ", ".join(line.sku or line.title for line in unmatched_lines)
            row.problem = (f"{unmatched} line(s) match no listing ({skus}): add a listing for "
                           + ("it" if unmatched == 1 else "them") + " to choose the supplier")
        who = o.supplier.name if o.supplier else "no supplier (unmatched lines)"
        return o.status.value, (f"Received from {o.platform.value} order {o.platform_order_number or o.platform_order_id}: "
                                f"{len(o.lines)} line(s) for {who}" + (f", {unmatched} unmatched" if unmatched else ""))
    if isinstance(event, OrderPaidV1):
        d = event.data
        if row.order_json is None:
            apply_order_snapshot(row, d.order)
            advance_shipments(row)
        row.payment_json = json.dumps({
            "payment_id": d.payment_id, "method": d.method.value, "provider": d.provider,
            "provider_reference": d.provider_reference, "paid_at": d.paid_at.isoformat(),
            "supplier_currency": d.order.supplier.currency if d.order.supplier else None,
            "supplier_currency_amounts": d.supplier_currency_amounts.model_dump(mode="json"),
            "usd_amounts": d.usd_amounts.model_dump(mode="json"), "fx": d.fx.model_dump(mode="json")})
        row.closed_payment_ids = json.dumps(sorted({*_closed(row), d.payment_id}))
        row.pending_payment_id = None
        row.cost_json = _money(d.fx.from_currency, d.supplier_currency_amounts)
        row.usd_total = str(d.usd_amounts.total)
        advance(row, "paid")
        return "paid", f"Paid {d.usd_amounts.total} USD by {d.method.value} ({d.provider} {d.provider_reference})"
    if isinstance(event, OrderPricedV1):
        d = event.data
        if d.amounts is None:
            row.cost_json = None
            return None, f"Could not be priced: {d.reason}"
        if row.usd_total is None:  # a checkout's or payment's own figures win over the list price
            row.cost_json = _money(d.currency, d.amounts)
        return None, f"Priced by checkout: {d.amounts.total} {d.currency}"
    if isinstance(event, OrderPaymentStartedV1):
        d = event.data
        # The timeline tells what happened at the event's time; the row only moves when this
        # payment still can (it did not end already, the order is not paid yet).
        if d.payment_id not in _closed(row) and RANK.get(row.status, 0) <= RANK["payment_pending"]:
            row.pending_payment_id = d.payment_id
            row.cost_json = _money(d.fx.from_currency, d.supplier_currency_amounts)
            row.usd_total = str(d.usd_amounts.total)
            advance(row, "payment_pending")
        return "payment_pending", (f"Checkout started: {d.usd_amounts.total} USD by {d.method.value} "
                                   f"(1 {d.fx.from_currency} = {d.fx.rate} USD, {d.fx.rate_date})")
    if isinstance(event, OrderPaymentFailedV1):
        d = event.data
        row.closed_payment_ids = json.dumps(sorted({*_closed(row), d.payment_id}))
        if row.status == "payment_pending" and row.pending_payment_id == d.payment_id:
            row.status, row.status_rank = "unpaid", RANK["unpaid"]
            row.pending_payment_id = None
            row.usd_total = None
        # Checkout released the order at that moment, even when a newer checkout has it by now.
        return "unpaid", f"Payment failed, the order was unpaid again: {d.reason}"
    if isinstance(event, OrderForwardedV1):
        row.supplier_order_id = event.data.supplier_order_id
        advance(row, "forwarded")
        return "forwarded", f"Forwarded to supplier, supplier order {event.data.supplier_order_id}"
    if isinstance(event, OrderForwardingFailedV1):
        return forwarding_failed(row, event)
    if isinstance(event, OrderRefundedV1):
        return refunded(row, event)
    if isinstance(event, TrackingAddedV1):  # partial shipments: see shipments.py
        d = event.data
        shipments.tracking_added(row, event)
        status = shipments.shipment_status(row) or "shipped"
        advance(row, status)
        what = ", ".join(f"{x.quantity} × {x.line_id}" for x in d.lines) if d.lines else None
        # Its store write may have been applied first (another topic): the order is synced then, but this
        # step is the shipment, and the store write has its own step.
        return ("shipped" if status == "synced" else status), (f"Tracking {d.tracking_number} ({d.carrier or 'carrier unknown'}) from the {d.source}"
                        + (f" for {what}" if what else ""))
    if isinstance(event, TrackingCorrectedV1):
        return tracking_corrected(row, event)
    if isinstance(event, OrderSyncedV1):
        words = shipments.order_synced(row, event)
        status = shipments.shipment_status(row)
        if status:
            advance(row, status)
        return status or "synced", words
    if isinstance(event, OrderSyncFailedV1):
        row.problem = f"store update failed: {event.data.reason}"
        return None, f"Could not update the store: {event.data.reason}"
    if isinstance(event, OrderAmendedV1):
        return amended(row, event)
    if isinstance(event, FulfilmentRequestAcceptedV1):
        return fulfilment_requested(row, event)
    if isinstance(event, OrderAlertV1):
        return alerted(row, event)
    raise ValueError(f"projection has no rule for {type(event).__name__}")


def tracking_corrected(row, event: TrackingCorrectedV1) -> tuple[str | None, str]:
    """A wrong number replaced (see shipments.py). The status only moves forward: the new number is
    not in the store yet, but a synced order stays synced (tracking-sync corrects the store's copy)."""
    d = event.data
    shipments.tracking_corrected(row, event)
    status = shipments.shipment_status(row)
    moved = bool(status) and advance(row, status)
    return (status if moved else None), (f"Tracking {d.previous_tracking_number} corrected to {d.tracking_number} "
                                         f"by {changed_by_words(row, d.changed_by)}: {d.reason}")


def changed_by_words(row, changed_by: str) -> str:
    """'retailer:jane@example.com' → jane@example.com; 'retailer:api key' → the retailer's API key;
    'supplier:<id>' → the supplier Acme (its name when it is this order's supplier)."""
    who, _, what = changed_by.partition(":")
    if who == "supplier":
        return f"the supplier {row.supplier_name}" if row.supplier_name and what == row.supplier_id else \
            "the supplier"
    if who == "retailer":
        return "the retailer's API key" if what == "api key" else (what or "the retailer")
    return changed_by


def forwarding_failed(row, event: OrderForwardingFailedV1) -> tuple[str | None, str]:
    d = event.data
    if d.rejected_by_supplier:
        if row.status != "refunded":  # the refund may come first (another topic): then nothing is left to do
            row.problem = (f"The supplier rejected this order: {d.reason}. Dropline refunds the order's share "
                           "of the payment.")
        advance(row, "failed")
        return "failed", f"Rejected by the supplier: {d.reason}"
    row.problem = f"forwarding failed: {d.reason}"
    advance(row, "failed")
    return "failed", f"Could not be forwarded to the supplier: {d.reason}"


METHOD_NAMES = {"card": "card", "paypal": "PayPal"}


def refunded(row, event: OrderRefundedV1) -> tuple[str | None, str]:
    """checkout refunded the order's share of its payment; a redelivered refund is recorded once."""
    d = event.data
    currency = d.fx.from_currency
    refunds = json.loads(row.refunds_json or "[]")
    if not any(r["refund_id"] == d.refund_id for r in refunds):
        refunds.append({
            "refund_id": d.refund_id, "payment_id": d.payment_id, "method": d.method.value, "provider": d.provider,
            "provider_reference": d.provider_reference, "reason": d.reason, "currency": currency,
            "supplier_currency_amounts": d.supplier_currency_amounts.model_dump(mode="json"),
            "usd_amounts": d.usd_amounts.model_dump(mode="json"), "refunded_at": d.refunded_at.isoformat()})
        refunds.sort(key=lambda r: r["refunded_at"])
    row.refunds_json = json.dumps(refunds)
    advance(row, "refunded")
    row.problem = None  # the rejection's problem is settled: the money is back
    clear_flags(row)
    method = METHOD_NAMES.get(d.method.value, d.method.value)
    return "refunded", (f"Refunded {d.usd_amounts.total} USD ({d.supplier_currency_amounts.total} {currency}) "
                        f"by {method} ({d.provider} {d.provider_reference}): {d.reason}")


def amended(row, event: OrderAmendedV1) -> tuple[str | None, str]:
    """checkout's answer to a store change (see the module docstring)."""
    d = event.data
    if not d.applied:
        row.problem = d.notice  # the order page shows it: the retailer has to act (Dropline does not)
        what = "Cancelled in the store" if d.cancelled else "Changed in the store"
        return None, f"{what}, not applied: {d.notice}"
    before = DroplineOrder.read(row.order_json) if row.order_json else None
    order = d.order or before
    if order is not None:
        apply_order_snapshot(row, order.model_copy(update={"shipping_address": d.shipping_address,
                                                           "customer": d.customer}))
    if d.cancelled:
        advance(row, "cancelled")
        row.problem = None  # nothing is left to do for a cancelled order
        clear_flags(row)
        return "cancelled", cancelled_by(d.notice)
    if before is not None and before.shipping_address == d.shipping_address:
        return None, "Customer contact updated from the store"
    return None, "Shipping address updated from the store"


FLAG_COLUMNS = {AlertKind.LATE: "late_since", AlertKind.NOT_SYNCED: "not_synced_since"}
CLOSED = {"refunded", "cancelled"}  # done: nothing is late or waiting for the store any more


def clear_flags(row) -> None:
    row.late_since = None
    row.not_synced_since = None


def _first_lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def alerted(row, event: OrderAlertV1) -> tuple[str | None, str]:
    """tracking-sync flagged the order (raised: late_since / not_synced_since becomes the alert's `since`,
    when the condition began) or took the flag back (cleared: the column becomes null). The timeline
    always says what tracking-sync decided; the row follows two rules for events that arrive late:

    * A cleared alert carries the `since` of the raise it clears. It removes the flag only when the flag
      is not newer than that (flag <= since): the clear of an older episode, redelivered or arriving after
      a newer raise, leaves the newer raise standing.
    * A refunded or cancelled order is never flagged: a raise that arrives after the refund or the
      cancellation (another topic) sets nothing; tracking-sync clears it on its side as well."""
    d = event.data
    column = FLAG_COLUMNS[d.kind]
    current = getattr(row, column)
    if d.state is AlertState.RAISED:
        words = (f"Flagged late: {_first_lower(d.reason)}" if d.kind is AlertKind.LATE
                 else f"Flagged not synced: {_first_lower(d.reason)}")
        if row.status in CLOSED:
            return None, f"{words} (the order is {row.status}, so it stays unflagged)"
        setattr(row, column, d.since)
        return None, words
    if d.kind is AlertKind.LATE:
        words = "No longer late" if d.reason.rstrip(".") == "No longer late" else \
            f"No longer late: {_first_lower(d.reason)}"
    else:
        words = f"No longer flagged not synced: {_first_lower(d.reason)}"
    if current is not None and current > d.since:
        return None, f"{words} (an earlier flag; the one since {current:%Y-%m-%d %H:%M} UTC stands)"
    setattr(row, column, None)
    return None, words


def cancelled_by(notice: str) -> str:
    """Who cancelled an order, for its timeline: checkout's notice when it names who ("Cancelled by
    the retailer"); a store's cancellation (its notice explains it at length) reads "Cancelled in the store"."""
    return notice if notice.startswith("Cancelled by ") else "Cancelled in the store"


PLATFORM_NAMES = {"shopify": "Shopify", "ecwid": "Ecwid", "bigcommerce": "BigCommerce", "wix": "Wix"}


def fulfilment_requested(row, event: FulfilmentRequestAcceptedV1) -> tuple[str | None, str]:
    """The store asked Dropline to fulfil the order; the status stays as it is (nothing is paid or
    forwarded by this: the order goes on as any other)."""
    d = event.data
    store = PLATFORM_NAMES.get(d.platform.value, d.platform.value)
    said = f' Merchant\'s message: "{d.message}".' if d.message else ""
    if not d.accepted:
        row.problem = (f"{store} requested fulfilment, but Dropline could not accept the request: {d.reason}. "
                       "Accept it in the store's admin, or ask the merchant to request fulfilment again.")
        return None, f"{store} requested fulfilment; Dropline could not accept it: {d.reason}.{said}"
    if row.problem and row.problem.startswith(f"{store} requested fulfilment, but Dropline could not accept"):
        row.problem = None  # a later request was accepted
    again = " (it was accepted already)" if d.already_accepted else ""
    return None, (f"{store} requested fulfilment; Dropline accepted it{again} (the store shows In progress). "
                  "It ships once the order is paid and forwarded to the supplier." + said)


def event_order_id(event) -> str:
    data = event.data
    return getattr(data, "order_id", None) or data.order.order_id


def occurred(event) -> datetime:
    return event.occurred_at
