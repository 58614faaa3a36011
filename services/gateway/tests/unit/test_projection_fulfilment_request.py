"""The orders read model for a store's fulfilment request (FulfilmentRequestAccepted from tracking-sync):
a timeline entry, the status kept as it is, a problem only when the request could not be accepted."""

from datetime import UTC, datetime
from decimal import Decimal

from dropline_schemas.events import (
    DroplineOrder,
    FulfilmentRequestAcceptedData,
    FulfilmentRequestAcceptedV1,
    OrderLine,
    OrderReceivedV1,
    StoreTotals,
    SupplierTerms,
)
from gateway import projection
from gateway.models import OrderView

NOW = datetime(2026, 11, 26, tzinfo=UTC)
ORDER = DroplineOrder(
    order_id="o1", order_number="D100001", retailer_id="r1", store_id="s1", platform="shopify",
    platform_order_id="450789469", platform_order_number="#1001", status="unpaid",
    supplier=SupplierTerms(supplier_id="sup", name="Sup", currency="EUR", auto_order=True),
    lines=[OrderLine(line_id="l1", platform_line_id="1", sku="A", title="A", quantity=1, unit_price=Decimal("5"))],
    store_totals=StoreTotals(currency="EUR"))
KW = {"producer": "tracking-sync", "tenant_id": "r1", "correlation_id": "c"}


def request(**data) -> FulfilmentRequestAcceptedV1:
    values = {"order_id": "o1", "store_id": "s1", "platform": "shopify", "platform_order_id": "450789469",
              "platform_fulfillment_order_id": "gid://shopify/FulfillmentOrder/1", "message": "Fragile",
              "accepted_at": NOW, **data}
    return FulfilmentRequestAcceptedV1.create(data=FulfilmentRequestAcceptedData(**values), **KW)


def received_row() -> OrderView:
    row = OrderView(order_id="o1", retailer_id="r1", status="unpaid", created_at=NOW, updated_at=NOW)
    projection.apply(row, OrderReceivedV1.create(data=ORDER, **KW))
    return row


def test_accepted_request_is_a_timeline_entry_and_keeps_the_status():
    row = received_row()
    status, summary = projection.apply(row, request())
    assert status is None and row.status == "unpaid" and row.problem is None
    assert summary.startswith("Shopify requested fulfilment; Dropline accepted it (the store shows In progress).")
    assert 'Merchant\'s message: "Fragile".' in summary
    assert projection.event_order_id(request()) == "o1"


def test_paid_order_stays_paid_and_a_rerun_says_it_was_accepted_already():
    row = received_row()
    projection.advance(row, "paid")
    status, summary = projection.apply(row, request(already_accepted=True, message=None))
    assert status is None and row.status == "paid"
    assert "accepted it (it was accepted already)" in summary and "Merchant" not in summary


def test_a_request_that_could_not_be_accepted_is_a_problem_until_one_is_accepted():
    row = received_row()
    reason = "fulfillment order gid://shopify/FulfillmentOrder/1 has no submitted request to accept"
    status, summary = projection.apply(row, request(accepted=False, accepted_at=None, reason=reason))
    assert status is None and row.status == "unpaid"
    assert summary.startswith("Shopify requested fulfilment; Dropline could not accept it: " + reason)
    assert row.problem.startswith("Shopify requested fulfilment, but Dropline could not accept the request: ")
    projection.apply(row, request())
    assert row.problem is None


def test_an_earlier_problem_of_another_kind_stays():
    row = received_row()
    row.problem = "forwarding failed: out of stock"
    projection.apply(row, request())
    assert row.problem == "forwarding failed: out of stock"
