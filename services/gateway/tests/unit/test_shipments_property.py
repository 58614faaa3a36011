"""Partial shipments in the read model, property-based: the events of one order (OrderReceived with 2-3
lines, OrderPaid, OrderForwarded, several TrackingAdded for partial quantities and their OrderSynced,
sometimes a TrackingCorrected of one of them with the new number's OrderSynced), in any order and with
duplicates (redeliveries), give the same row through projection.apply: status, shipments, synced flags;
no shipment appears twice, a corrected one is superseded and never holds "synced" back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from dropline_schemas.events import (
    Address,
    DroplineOrder,
    FxRecord,
    Money,
    OrderForwardedData,
    OrderForwardedV1,
    OrderLine,
    OrderPaidData,
    OrderPaidV1,
    OrderReceivedV1,
    OrderSyncedData,
    OrderSyncedV1,
    PaymentMethod,
    ShippedLine,
    StoreTotals,
    SupplierTerms,
    TrackingAddedData,
    TrackingAddedV1,
    TrackingCorrectedData,
    TrackingCorrectedV1,
)
from gateway import projection
from gateway.models import OrderView

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
EUR = Money(product_cost=Decimal("10.00"), shipping=Decimal("2.00"), vat=Decimal("2.28"), total=Decimal("14.28"))
USD = Money(product_cost=Decimal("11.00"), shipping=Decimal("2.20"), vat=Decimal("2.51"), total=Decimal("15.71"))
FX = FxRecord(from_currency="EUR", rate=Decimal("1.1"), rate_date="2026-12-01", source="ECB reference rate")
KW = {"producer": "test", "tenant_id": "r-1", "correlation_id": "shopify:1"}


def an_order(quantities: list[int]) -> DroplineOrder:
    return DroplineOrder(
        order_id="o-1", order_number="D100001", retailer_id="r-1", store_id="s1", platform="ecwid",
        platform_order_id="1", platform_order_number="#1001", status="unpaid",
        supplier=SupplierTerms(supplier_id="sup-1", name="Acme", currency="EUR", auto_order=True),
        lines=[OrderLine(line_id=f"l{i}", platform_line_id=str(i), sku=f"SKU-{i}", title=f"Item {i}", quantity=q,
                         unit_price=Decimal("5"), supplier_sku=f"ACME-{i}", unit_cost=Decimal("10"))
               for i, q in enumerate(quantities, 1)],
        shipping_address=Address(name="Jane Doe", address1="Hauptstrasse 5", city="Berlin", country_code="DE"),
        store_totals=StoreTotals(currency="EUR"))


@st.composite
def an_orders_events(draw):
    """The order's events, each shipment's lines within what is left, some shipments with their
    OrderSynced (some of them kept_number ones), then a shuffle with redeliveries."""
    quantities = draw(st.lists(st.integers(1, 4), min_size=2, max_size=3))
    order = an_order(quantities)
    left = {line.line_id: line.quantity for line in order.lines}
    events = [OrderReceivedV1.create(data=order, **KW),
              OrderPaidV1.create(data=OrderPaidData(
                  order_id="o-1", payment_id="pay-1", method=PaymentMethod.CARD, provider="stripe",
                  provider_reference="pi_1", supplier_currency_amounts=EUR, usd_amounts=USD, fx=FX, paid_at=NOW,
                  order=order), **KW),
              OrderForwardedV1.create(data=OrderForwardedData(order_id="o-1", supplier_id="sup-1",
                                                              supplier_order_id="SUP-1", forwarded_at=NOW), **KW)]
    expected_entries = 0
    shipped: list[tuple[int, list[ShippedLine]]] = []
    for n in range(draw(st.integers(1, 4))):
        open_lines = [i for i, q in left.items() if q > 0]
        if not open_lines:
            break
        chosen = draw(st.lists(st.sampled_from(open_lines), min_size=1, unique=True))
        lines = []
        for line_id in chosen:
            qty = draw(st.integers(1, left[line_id]))
            left[line_id] -= qty
            lines.append(ShippedLine(line_id=line_id, quantity=qty))
        number = f"TRK{n}000"
        events.append(TrackingAddedV1.create(data=TrackingAddedData(
            order_id="o-1", tracking_id=f"t-{n}", tracking_number=number, carrier="DHL", source="supplier",
            lines=lines, line_ids=[x.line_id for x in lines]), **KW))
        expected_entries += 1
        shipped.append((n, lines))
        if draw(st.booleans()):
            kept = "TRK0000" if n and draw(st.booleans()) else None
            synced = OrderSyncedV1.create(data=OrderSyncedData(
                order_id="o-1", tracking_id=f"t-{n}", platform="ecwid", platform_fulfillment_id=f"f-{n}",
                tracking_number=number, kept_number=kept), **KW)
            events.append(synced.model_copy(update={"occurred_at": NOW + timedelta(minutes=n)}))
    corrected = None
    if draw(st.booleans()):  # a wrong number corrected, and the right one written to the store
        n, lines = draw(st.sampled_from(shipped))
        corrected = f"t-{n}"
        events.append(TrackingCorrectedV1.create(data=TrackingCorrectedData(
            order_id="o-1", tracking_id=f"c-{n}", corrects_tracking_id=corrected,
            previous_tracking_number=f"TRK{n}000", tracking_number=f"TRK{n}999", lines=lines, source="retailer",
            changed_by="retailer:api key", reason="typo"), **KW).model_copy(
                update={"occurred_at": NOW + timedelta(hours=1)}))
        events.append(OrderSyncedV1.create(data=OrderSyncedData(
            order_id="o-1", tracking_id=f"c-{n}", platform="ecwid", platform_fulfillment_id=f"f-{n}",
            tracking_number=f"TRK{n}999"), **KW).model_copy(update={"occurred_at": NOW + timedelta(hours=2)}))
        expected_entries += 1
    redelivered = draw(st.lists(st.sampled_from(events), max_size=4))
    shuffled = draw(st.permutations(events + redelivered))
    return events, shuffled, expected_entries, left, corrected


def project(events) -> OrderView:
    row = OrderView(order_id="o-1", retailer_id="r-1", status="unpaid", created_at=NOW, updated_at=NOW)
    for event in events:
        projection.apply(row, event)
    return row


def outcome(row: OrderView):
    entries = sorted(json.loads(row.tracking_json or "[]"), key=lambda t: t["tracking_id"])
    return row.status, entries


@settings(max_examples=150, deadline=None)
@given(an_orders_events())
def test_any_order_of_the_events_with_redeliveries_gives_the_same_row(case):
    events, shuffled, expected_entries, left, corrected = case
    in_order, any_order = project(events), project(shuffled)
    assert outcome(any_order) == outcome(in_order)

    status, entries = outcome(any_order)
    ids = [t["tracking_id"] for t in entries]
    assert len(ids) == len(set(ids)) == expected_entries  # no shipment twice, none lost
    synced_ids = {e.data.tracking_id for e in events if isinstance(e, OrderSyncedV1)}
    assert {t["tracking_id"] for t in entries if t["synced"]} == synced_ids
    assert {t["tracking_id"] for t in entries if t.get("superseded_at")} == ({corrected} if corrected else set())
    current = set(ids) - {corrected}
    fully_covered = not any(left.values())
    if not fully_covered:
        assert status == "partially_shipped"
    elif current <= synced_ids:
        assert status == "synced"
    else:
        assert status == "shipped"


def tracking(n: int, lines: list[ShippedLine] | None) -> TrackingAddedV1:
    return TrackingAddedV1.create(data=TrackingAddedData(
        order_id="o-1", tracking_id=f"t-{n}", tracking_number=f"TRK{n}000", source="retailer", lines=lines,
        line_ids=[x.line_id for x in lines] if lines is not None else None), **KW)


def test_an_older_tracking_event_without_lines_covers_every_line_and_the_status_never_moves_back():
    order = an_order([2, 1])
    row = project([OrderReceivedV1.create(data=order, **KW), tracking(0, [ShippedLine(line_id="l1", quantity=1)])])
    assert row.status == "partially_shipped"
    projection.apply(row, tracking(1, None))  # before partial shipments: null = all lines
    assert row.status == "shipped"
    projection.apply(row, OrderForwardedV1.create(data=OrderForwardedData(
        order_id="o-1", supplier_id="sup-1", supplier_order_id="SUP-1", forwarded_at=NOW), **KW))
    assert row.status == "shipped"  # a late OrderForwarded does not take it back


def test_tracking_before_the_order_is_known_is_partial_until_the_order_says_it_covers_everything():
    order = an_order([1, 1])
    lines = [ShippedLine(line_id="l1", quantity=1), ShippedLine(line_id="l2", quantity=1)]
    row = project([tracking(0, lines)])
    assert row.status == "partially_shipped"  # the lines are not known yet
    projection.apply(row, OrderReceivedV1.create(data=order, **KW))
    assert row.status == "shipped"
