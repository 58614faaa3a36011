from decimal import Decimal

import pytest

from dropline_integrations.port import InvalidStoreOrder
from dropline_integrations.shopify.normalise import normalise as normalise_shopify
from dropline_schemas.events import OrderStatus, SupplierTerms
from order_ingest.domain import Intake, Listing, intake, listing_window, split_by_supplier

SHOPIFY_ORDER = {  # composed from platforms.md §1.2 (Shopify REST Order fixture)
    "id": 450789469, "admin_graphql_api_id": "gid://shopify/Order/450789469", "name": "#1001", "order_number": 1001,
    "email": "bob.norman@example.com", "created_at": "2008-01-10T11:00:00-05:00", "currency": "USD",
    "financial_status": "paid", "fulfillment_status": None, "subtotal_price": "398.00", "total_tax": "11.94",
    "taxes_included": False, "total_price": "409.94",
    "tax_lines": [{"title": "State Tax", "rate": 0.06, "price": "11.94"}],
    "line_items": [
        {"id": 466157049, "variant_id": 39072856, "product_id": 632910392, "sku": "IPOD2008GREEN",
         "title": "IPod Nano - 8gb", "variant_title": "green", "quantity": 1, "price": "199.00"},
        {"id": 518995019, "variant_id": 49148385, "sku": "IPOD2008RED", "title": "IPod Nano - 8gb",
         "quantity": 2, "price": "99.50"},
        {"id": 703073504, "variant_id": 457924702, "sku": "", "title": "Gift wrap", "quantity": 1, "price": "0.00"},
    ],
    "shipping_lines": [{"code": "Free Shipping", "title": "Free Shipping", "price": "0.00", "source": "shopify"}],
    "shipping_address": {"first_name": "Bob", "last_name": "Norman", "address1": "Chestnut Street 92", "address2": "",
                         "city": "Louisville", "province": "Kentucky", "province_code": "KY", "zip": "40202",
                         "country": "United States", "country_code": "US", "phone": "555-625-1199"},
}

TERMS = {
    "s-eu": SupplierTerms(supplier_id="s-eu", name="EU", currency="EUR", auto_order=True, payment_methods=["card"]),
    "s-manual": SupplierTerms(supplier_id="s-manual", name="Manual", currency="USD", auto_order=False),
}
LISTINGS = {("sku", "IPOD2008GREEN"): Listing("s-eu", "EU-GREEN", Decimal("120.50")),
            ("variant", "49148385"): Listing("s-manual", "M-RED", Decimal("60"))}


def test_shopify_order_is_normalised_with_every_field():
    o = normalise_shopify(SHOPIFY_ORDER)
    assert (o.platform_order_id, o.platform_order_number, o.currency) == ("450789469", "#1001", "USD")
    assert [ln.quantity for ln in o.lines] == [1, 2, 1] and o.lines[0].unit_price == Decimal("199.00")
    assert o.shipping_address.name == "Bob Norman" and o.shipping_address.province_code == "KY"
    assert o.customer.email == "bob.norman@example.com"
    assert o.totals.total == Decimal("409.94") and o.totals.tax == Decimal("11.94")
    assert o.shipping_method == "Free Shipping"


def test_a_store_order_is_split_per_supplier_and_unmatched_lines_are_kept():
    orders = split_by_supplier(normalise_shopify(SHOPIFY_ORDER), retailer_id="r", store_id="st",
                               listings=LISTINGS, suppliers=TERMS)
    by_status = {o.status: o for o in orders}
    assert set(by_status) == {OrderStatus.UNPAID, OrderStatus.NON_AUTO_ORDER, OrderStatus.UNMATCHED}
    assert [ln.supplier_sku for ln in by_status[OrderStatus.UNPAID].lines] == ["EU-GREEN"]
    assert by_status[OrderStatus.NON_AUTO_ORDER].lines[0].unit_cost == Decimal("60")  # matched by variant id
    unmatched = by_status[OrderStatus.UNMATCHED]
    assert unmatched.supplier is None and [ln.title for ln in unmatched.lines] == ["Gift wrap"]
    assert not unmatched.lines[0].matched
    assert sum(len(o.lines) for o in orders) == 3  # nothing dropped


def test_the_same_store_order_always_gives_the_same_dropline_ids():
    a = split_by_supplier(normalise_shopify(SHOPIFY_ORDER), retailer_id="r", store_id="st", listings=LISTINGS, suppliers=TERMS)
    b = split_by_supplier(normalise_shopify(SHOPIFY_ORDER), retailer_id="r", store_id="st", listings=LISTINGS, suppliers=TERMS)
    assert [o.order_id for o in a] == [o.order_id for o in b]
    assert [ln.line_id for o in a for ln in o.lines] == [ln.line_id for o in b for ln in o.lines]


@pytest.mark.parametrize("mutate, reason", [
    (lambda o: o.pop("id"), "'id'"),
    (lambda o: o.update(currency=None), "currency"),
    (lambda o: o.update(line_items=[]), "line_items"),
    (lambda o: o["line_items"][0].update(quantity=0), "quantity"),
    (lambda o: o["line_items"][0].update(price="abc"), "price"),
])
def test_unreadable_orders_are_refused_with_the_field_named(mutate, reason):
    import copy

    payload = copy.deepcopy(SHOPIFY_ORDER)
    mutate(payload)
    with pytest.raises(InvalidStoreOrder, match=reason):
        normalise_shopify(payload)


def test_only_paid_store_orders_count_and_each_only_once():
    paid = normalise_shopify(SHOPIFY_ORDER)
    pending = normalise_shopify(dict(SHOPIFY_ORDER, financial_status="pending"))
    cancelled = normalise_shopify(dict(SHOPIFY_ORDER, cancelled_at="2008-01-10T12:00:00-05:00"))
    assert intake(paid, already_ingested=False) is Intake.INGEST
    assert intake(paid, already_ingested=True) is Intake.ALREADY_INGESTED
    assert intake(pending, already_ingested=False) is Intake.NOT_PAID_YET
    assert intake(cancelled, already_ingested=False) is Intake.CANCELLED_BEFORE_INGEST


def test_a_listing_starts_before_the_watermark_or_reaches_back_on_the_first_run():
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert listing_window(None, now, overlap_seconds=60, lookback_hours=24) == now - timedelta(hours=24)
    mark = now - timedelta(minutes=5)
    assert listing_window(mark, now, overlap_seconds=60, lookback_hours=24) == mark - timedelta(seconds=60)
