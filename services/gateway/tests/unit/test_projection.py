from datetime import UTC, datetime
from decimal import Decimal

from dropline_schemas.events import (
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
