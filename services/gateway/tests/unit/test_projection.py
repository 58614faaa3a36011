import json
from datetime import UTC, datetime
from decimal import Decimal

from dropline_schemas.events import (
    Address,
    Customer,
    DroplineOrder,
    FxRecord,
    Money,
    OrderAmendedData,
    OrderAmendedV1,
    OrderForwardedData,
    OrderForwardedV1,
    OrderLine,
    OrderPaidData,
    OrderPaidV1,
    OrderPaymentFailedData,
    OrderPaymentFailedV1,
    OrderPaymentStartedData,
    OrderPaymentStartedV1,
    OrderPricedData,
    OrderPricedV1,
    OrderReceivedV1,
    OrderStatus,
    OrderSyncedData,
    OrderSyncedV1,
    PaymentMethod,
    StoreTotals,
    SupplierTerms,
    TrackingAddedData,
    TrackingAddedV1,
)
from gateway import projection
from gateway.models import OrderView

NOW = datetime(2026, 11, 26, tzinfo=UTC)
ORDER = DroplineOrder(
    order_id="o1", order_number="D100001", retailer_id="r1", store_id="s1", platform="shopify",
    platform_order_id="1", platform_order_number="#1001", status="unpaid",
    supplier=SupplierTerms(supplier_id="sup", name="Sup", currency="EUR", auto_order=True),
    lines=[OrderLine(line_id="l1", platform_line_id="1", sku="A", title="A", quantity=1, unit_price=Decimal("5"))],
    store_totals=StoreTotals(currency="EUR"))
KW = {"producer": "t", "tenant_id": "r1", "correlation_id": "c"}


def events():
    money = Money(product_cost=Decimal("1"), shipping=Decimal("0"), vat=Decimal("0"), total=Decimal("1"))
    return [
        OrderReceivedV1.create(data=ORDER, **KW),
        OrderPaidV1.create(data=OrderPaidData(order_id="o1", payment_id="p", method=PaymentMethod.CARD, provider="stripe",
                                              provider_reference="pi_1", supplier_currency_amounts=money,
                                              usd_amounts=money, paid_at=NOW, order=ORDER,
                                              fx=FxRecord(from_currency="EUR", rate=Decimal("1.1"),
                                                          rate_date="2026-10-30", source="ECB")), **KW),
        OrderForwardedV1.create(data=OrderForwardedData(order_id="o1", supplier_id="sup", supplier_order_id="SUP-1",
                                                        forwarded_at=NOW), **KW),
        TrackingAddedV1.create(data=TrackingAddedData(order_id="o1", tracking_id="t1", tracking_number="1Z",
                                                      source="supplier"), **KW),
        OrderSyncedV1.create(data=OrderSyncedData(order_id="o1", tracking_id="t1", platform="shopify",
                                                  platform_fulfillment_id="f1", tracking_number="1Z"), **KW),
    ]


def run(order):
    row = OrderView(order_id="o1", retailer_id="r1", status="unpaid", created_at=NOW, updated_at=NOW)
    for ev in order:
        projection.apply(row, ev)
    return row


def test_in_order_the_status_walks_the_life_cycle_to_synced():
    row = run(events())
    assert row.status == "synced" and row.supplier_order_id == "SUP-1" and row.order_number == "D100001"


def test_out_of_order_delivery_never_moves_the_status_backwards():
    evs = events()
    row = run([evs[4], evs[2], evs[0], evs[3], evs[1]])
    assert row.status == "synced"
    assert row.order_number == "D100001"  # the snapshot still arrived


def test_a_store_write_applied_before_its_tracking_leaves_one_synced_step_in_the_timeline():
    evs = events()
    row = run(evs[:3])
    assert projection.apply(row, evs[4])[0] == "synced"  # OrderSynced first (two topics)
    assert projection.apply(row, evs[3])[0] == "shipped"  # the shipment's own step, not a second "synced"
    assert row.status == "synced"


# --------------------------------------------------------------------------- checkout's steps


def started(payment_id: str):
    money = Money(product_cost=Decimal("10.00"), shipping=Decimal("2.00"), vat=Decimal("2.28"), total=Decimal("14.28"))
    usd = Money(product_cost=Decimal("11.00"), shipping=Decimal("2.20"), vat=Decimal("2.51"), total=Decimal("15.71"))
    return OrderPaymentStartedV1.create(data=OrderPaymentStartedData(
        order_id="o1", payment_id=payment_id, method=PaymentMethod.CARD, supplier_currency_amounts=money,
        usd_amounts=usd, fx=FxRecord(from_currency="EUR", rate=Decimal("1.1"), rate_date="2026-10-30", source="ECB"),
        started_at=NOW), **KW)


def failed(payment_id: str):
    return OrderPaymentFailedV1.create(data=OrderPaymentFailedData(order_id="o1", payment_id=payment_id,
                                                                   reason="Your card was declined."), **KW)


def priced(total: str | None):
    amounts = None if total is None else Money(product_cost=Decimal(total), shipping=Decimal("0"),
                                               vat=Decimal("0"), total=Decimal(total))
    return OrderPricedV1.create(data=OrderPricedData(order_id="o1", supplier_id="sup", currency="EUR", amounts=amounts,
                                                     reason=None if total else "lines without a unit cost",
                                                     priced_at=NOW), **KW)


def test_a_declined_checkout_goes_to_payment_pending_and_back_to_unpaid_in_the_timeline():
    row = run([events()[0]])
    assert projection.apply(row, started("p1"))[0] == "payment_pending"
    assert row.status == "payment_pending" and row.usd_total == "15.71"
    status, summary = projection.apply(row, failed("p1"))
    assert (status, row.status, row.usd_total) == ("unpaid", "unpaid", None)
    assert "declined" in summary


def test_a_late_payment_started_of_a_payment_that_already_failed_moves_nothing():
    row = run([events()[0], failed("p1")])
    assert row.status == "unpaid"
    assert projection.apply(row, started("p1"))[0] == "payment_pending"  # what happened then (timeline) …
    assert row.status == "unpaid"  # … but the order stays where it is now


def test_the_failure_of_an_older_checkout_does_not_release_a_newer_one():
    row = run([events()[0], started("p1"), started("p2")])
    projection.apply(row, failed("p1"))
    assert row.status == "payment_pending" and row.pending_payment_id == "p2"


def test_payment_started_after_paid_is_ignored_and_paid_sets_the_usd_total():
    evs = events()
    row = run([evs[0], evs[1]])
    assert row.status == "paid" and row.usd_total == "1"
    projection.apply(row, started("p"))
    assert row.status == "paid"


def test_cost_comes_from_checkout_pricing_and_an_unpriceable_order_says_so():
    row = run([events()[0], priced("12.50")])
    assert json.loads(row.cost_json) == {"currency": "EUR", "product_cost": "12.50", "shipping": "0", "vat": "0",
                                         "total": "12.50"}
    status, summary = projection.apply(row, priced(None))
    assert row.cost_json is None and "unit cost" in summary


def test_unmatched_lines_say_why_and_skus_are_searchable():
    order = ORDER.model_copy(update={"status": OrderStatus.UNMATCHED, "supplier": None, "lines": [
        OrderLine(line_id="l1", platform_line_id="1", sku="POSTER-A2", title="Poster", quantity=2,
                  unit_price=Decimal("5"), matched=False)]})
    row = run([OrderReceivedV1.create(data=order, **KW)])
    assert row.status == "unmatched" and row.unmatched_line_count == 1 and row.item_count == 2
    assert "POSTER-A2" in row.problem and "poster-a2" in row.search_text


# --------------------------------------------------------------------------- store changes (OrderAmended)

OLD_ADDRESS = Address(name="Ann Example", address1="Main St 1", city="Berlin", country_code="DE")
NEW_ADDRESS = Address(name="Ann Example", address1="Elm St 9", city="Hamburg", country_code="DE")


def amendment(*, applied: bool, cancelled: bool = False, address: Address = NEW_ADDRESS, notice: str = "n",
              with_order: bool = True):
    order = ORDER.model_copy(update={"shipping_address": address if applied else OLD_ADDRESS})
    return OrderAmendedV1.create(data=OrderAmendedData(
        order_id="o1", applied=applied, cancelled=cancelled, shipping_address=address,
        customer=Customer(name="Ann Example", email="ann@example.com"), notice=notice, amended_at=NOW,
        status="cancelled" if applied and cancelled else "unpaid" if applied else "paid",
        order=order if with_order else None), **KW)


def received_with(address: Address):
    return OrderReceivedV1.create(data=ORDER.model_copy(update={"shipping_address": address}), **KW)


def shipping(row) -> Address | None:
    return DroplineOrder.model_validate_json(row.order_json).shipping_address


def test_an_applied_address_change_updates_the_order_and_says_so_in_the_timeline():
    row = run([received_with(OLD_ADDRESS)])
    status, summary = projection.apply(row, amendment(applied=True, with_order=False))
    assert (status, summary) == (None, "Shipping address updated from the store")
    assert shipping(row) == NEW_ADDRESS and row.status == "unpaid" and row.problem is None
    assert DroplineOrder.model_validate_json(row.order_json).customer.email == "ann@example.com"
    assert row.order_number == "D100001"  # the rest of the order is kept


def test_an_applied_customer_only_change_says_so():
    row = run([received_with(OLD_ADDRESS)])
    assert projection.apply(row, amendment(applied=True, address=OLD_ADDRESS))[1] == \
        "Customer contact updated from the store"


def test_an_applied_cancellation_cancels_the_order_and_nothing_later_moves_it_back():
    row = run([received_with(OLD_ADDRESS)])
    assert projection.apply(row, amendment(applied=True, cancelled=True, address=OLD_ADDRESS)) == \
        ("cancelled", "Cancelled in the store")
    assert row.status == "cancelled"
    projection.apply(row, started("p1"))  # a late event of a checkout that failed before
    projection.apply(row, failed("p1"))
    assert row.status == "cancelled"


def test_a_change_not_applied_after_payment_is_the_order_problem_and_the_order_stays_as_paid():
    evs = events()
    row = run([received_with(OLD_ADDRESS), evs[1]])
    notice = "The order was cancelled in the store after payment: cancel it with the supplier and refund the customer."
    status, summary = projection.apply(row, amendment(applied=False, cancelled=True, notice=notice))
    assert status is None and summary == f"Cancelled in the store, not applied: {notice}"
    assert row.problem == notice and row.status == "paid"
    assert shipping(row) == OLD_ADDRESS


def test_an_amendment_before_its_order_received_is_not_undone_by_it():
    # Another topic: checkout's OrderAmended may reach the projection before OrderReceived does.
    row = run([amendment(applied=True), received_with(OLD_ADDRESS)])
    assert shipping(row) == NEW_ADDRESS and row.status == "unpaid" and row.order_number == "D100001"
    cancelled = run([amendment(applied=True, cancelled=True), received_with(OLD_ADDRESS)])
    assert cancelled.status == "cancelled"
