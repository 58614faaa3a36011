"""The price guardrail's rules (pure): customer paid vs supplier cost in USD, break-even, taxes and
shipping, a store currency that differs from the supplier's or cannot be converted, the retailer's
maximum buy price per unit, and the refusal to pay flagged orders without confirmation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from checkout import guardrail
from checkout.domain import CheckoutError, build_quote, price_order
from checkout.guardrail import LOSS, OVER_MAX_BUY_PRICE, UNCONVERTED_CURRENCY, assess, customer_paid
from dropline_schemas.events import (
    DroplineOrder,
    FxRecord,
    OrderLine,
    OrderStatus,
    PaymentMethod,
    Platform,
    StoreTotals,
    SupplierTerms,
)

D = Decimal
EUR_RATE = FxRecord(from_currency="EUR", rate=D("1.1"), rate_date="2024-01-02", source="test rates")
GBP_RATE = FxRecord(from_currency="GBP", rate=D("1.25"), rate_date="2024-01-02", source="test rates")
USD_RATE = FxRecord(from_currency="USD", rate=D("1"), rate_date="2024-01-02", source="no conversion")


def supplier(currency="USD", vat="0", first="0", additional="0") -> SupplierTerms:
    return SupplierTerms(supplier_id=f"sup-{currency.lower()}", name=f"Supplier {currency}", currency=currency,
                         auto_order=True, payment_methods=[PaymentMethod.CARD], vat_rate=D(vat),
                         shipping_first_item=D(first), shipping_additional_item=D(additional))


def order(*lines: tuple[str, str, int], store_currency="USD", terms: SupplierTerms | None = None,
          order_id="o-1", **totals) -> DroplineOrder:
    """Lines are (unit_price in the store currency, unit_cost in the supplier currency, quantity)."""
    return DroplineOrder(
        order_id=order_id, order_number=f"D{order_id[-1]}0000{order_id[-1]}", retailer_id="ret-1", store_id="st-1",
        platform=Platform.SHOPIFY, platform_order_id="1001", status=OrderStatus.UNPAID,
        supplier=terms or supplier(),
        lines=[OrderLine(line_id=f"l{i}", platform_line_id=str(i), sku=f"SKU-{i}", title=f"Item {i}", quantity=q,
                         unit_price=D(price), unit_cost=D(cost), supplier_sku=f"S{i}")
               for i, (price, cost, q) in enumerate(lines)],
        store_totals=StoreTotals(currency=store_currency, **totals))


def check(o: DroplineOrder, supplier_rate=USD_RATE, store_rate=USD_RATE, max_buy=None):
    return assess(o, price_order(o), supplier_rate, store_rate, D(max_buy) if max_buy else None)


# --------------------------------------------------------------------------- loss, profit, break-even


def test_a_profitable_order_is_not_flagged():
    g = check(order(("10.00", "8.00", 1)))
    assert (g.revenue_usd, g.cost_usd, g.margin_usd) == (D("10.00"), D("8.00"), D("2.00"))
    assert g.flags == [] and g.reasons == [] and g.flagged is False


def test_an_order_costing_more_than_the_customer_paid_loses_money():
    g = check(order(("10.00", "10.01", 1)))
    assert g.margin_usd == D("-0.01")
    assert g.flags == [LOSS] and g.flagged
    assert g.reasons == ["Loses money: the customer paid $10.00 for these items, the supplier costs $10.01 "
                         "(margin −$0.01)."]


def test_exactly_break_even_is_not_a_loss():
    g = check(order(("10.00", "10.00", 1)))
    assert g.margin_usd == D("0.00") and g.flags == []


def test_cost_includes_the_suppliers_shipping_fee_and_vat():
    # 2 × 8.00 = 16.00 product, 3.00 + 1.00 shipping, 10 % VAT on 20.00: cost 22.00 > 2 × 10.50 paid
    g = check(order(("10.50", "8.00", 2), terms=supplier(vat="0.10", first="3.00", additional="1.00")))
    assert (g.revenue_usd, g.cost_usd, g.margin_usd) == (D("21.00"), D("22.00"), D("-1.00"))
    assert g.flags == [LOSS]


def test_the_stores_shipping_charge_is_not_counted_as_revenue():
    # The customer paid 15.00 shipping on the store order; it is not this supplier's share to count.
    g = check(order(("10.00", "11.00", 1), shipping=D("15.00"), subtotal=D("10.00"), total=D("25.00")))
    assert g.revenue == D("10.00") and g.flags == [LOSS]


def test_tax_included_in_store_prices_is_not_revenue():
    # Prices include 20 % VAT: 12.00 paid, of which 2.00 is tax. Cost 10.50: a loss, not a profit.
    taxed = order(("12.00", "10.50", 1), taxes_included=True, tax=D("2.00"), subtotal=D("12.00"))
    assert customer_paid(taxed) == D("10.00")
    assert check(taxed).flags == [LOSS]
    # Tax added on top of net prices was never in the line prices: nothing to take off.
    net = order(("12.00", "10.50", 1), taxes_included=False, tax=D("2.40"), subtotal=D("12.00"))
    assert customer_paid(net) == D("12.00") and check(net).flags == []


def test_a_split_store_orders_tax_is_shared_by_its_lines():
    # This supplier's lines are 30.00 of a 120.00 (tax-inclusive) store order with 20.00 tax: 5.00 is theirs.
    o = order(("15.00", "1.00", 2), taxes_included=True, tax=D("20.00"), subtotal=D("120.00"))
    assert customer_paid(o) == D("25.00")
    # Subtotal unknown: all of the tax is taken off (conservative), never more than the lines.
    assert customer_paid(order(("15.00", "1.00", 2), taxes_included=True, tax=D("20.00"))) == D("10.00")
    assert customer_paid(order(("5.00", "1.00", 1), taxes_included=True, tax=D("20.00"))) == D("0.00")


def test_unmatched_lines_do_not_count():
    o = order(("10.00", "9.00", 1), ("50.00", "1.00", 1))
    o = o.model_copy(update={"lines": [o.lines[0], o.lines[1].model_copy(update={"matched": False})]})
    assert customer_paid(o) == D("10.00")


# --------------------------------------------------------------------------- currencies


def test_store_and_supplier_currencies_differ():
    # Customer paid 20.00 GBP = 25.00 USD; supplier costs 20.00 EUR = 22.00 USD.
    o = order(("20.00", "20.00", 1), store_currency="GBP", terms=supplier("EUR"))
    g = check(o, supplier_rate=EUR_RATE, store_rate=GBP_RATE)
    assert (g.store_currency, g.revenue, g.revenue_usd, g.cost_usd) == ("GBP", D("20.00"), D("25.00"), D("22.00"))
    assert g.margin_usd == D("3.00") and g.flags == [] and g.revenue_fx == GBP_RATE
    # The same order in a EUR store loses money: 20.00 EUR paid = 22.00 USD, but shipping makes it 23.10.
    loser = order(("20.00", "20.00", 1), store_currency="EUR", terms=supplier("EUR", first="1.00"))
    assert check(loser, supplier_rate=EUR_RATE, store_rate=EUR_RATE).flags == [LOSS]


def test_a_store_currency_without_a_rate_is_flagged_not_crashed_on():
    o = order(("20.00", "1.00", 1), store_currency="XYZ")
    rates = guardrail.usd_rates(["XYZ", "USD"], date(2024, 1, 2), [], max_age_days=5)
    assert isinstance(rates["USD"], FxRecord) and isinstance(rates["XYZ"], str)
    g = check(o, store_rate=rates["XYZ"])
    assert g.revenue == D("20.00") and g.revenue_usd is None and g.margin_usd is None and g.cost_usd == D("1.00")
    assert g.flags == [UNCONVERTED_CURRENCY] and g.flagged
    assert g.reasons[0].startswith("Margin unknown: what the customer paid (XYZ) cannot be converted to USD: ")
    assert "XYZ" in g.reasons[0] and "ECB" in g.reasons[0]


def test_a_stale_rate_is_a_reason_too():
    # The packaged ECB data has a EUR rate; on a day far after it, it is too old to use.
    rates = guardrail.usd_rates(["eur"], date(2099, 1, 1), [], max_age_days=5)
    assert isinstance(rates["EUR"], str) and "older than 5 days" in rates["EUR"]
    assert guardrail.usd_rates(["EUR"], date(2024, 1, 2), [], max_age_days=5)["EUR"].rate == D("1.0956")


def test_a_supplier_currency_without_a_rate_leaves_the_cost_unknown():
    o = order(("20.00", "1.00", 1), terms=supplier("EUR"))
    g = assess(o, price_order(o), "no current ECB rate for EUR", USD_RATE, D("5.00"))
    assert g.cost_usd is None and g.margin_usd is None and g.flags == [UNCONVERTED_CURRENCY]
    assert "the supplier cost (EUR) cannot be converted" in g.reasons[0]


# --------------------------------------------------------------------------- maximum buy price


def test_max_buy_price_is_per_unit_in_usd():
    o = order(("100.00", "30.00", 1), terms=supplier("EUR"), store_currency="EUR")  # 30 EUR = 33.00 USD a unit
    at = check(o, supplier_rate=EUR_RATE, store_rate=EUR_RATE, max_buy="33.00")
    assert at.flags == [] and at.max_buy_price_usd == D("33.00")
    over = check(o, supplier_rate=EUR_RATE, store_rate=EUR_RATE, max_buy="32.99")
    assert over.flags == [OVER_MAX_BUY_PRICE]
    assert over.reasons == ["Above your max buy price of $32.99: SKU-0 costs $33.00 per unit."]


def test_many_cheap_units_do_not_trip_the_max_buy_price_but_one_dear_unit_does():
    cheap = order(("9.00", "5.00", 10))  # order cost 50.00, each unit 5.00
    assert check(cheap, max_buy="20.00").flags == []
    mixed = order(("9.00", "5.00", 10), ("60.00", "25.00", 1))
    assert check(mixed, max_buy="20.00").flags == [OVER_MAX_BUY_PRICE]


def test_no_max_buy_price_means_no_such_check():
    assert check(order(("1000.00", "999.00", 1)), max_buy=None).flags == []


def test_an_order_can_lose_money_and_be_over_the_max_buy_price():
    g = check(order(("10.00", "50.00", 1)), max_buy="40.00")
    assert g.flags == [LOSS, OVER_MAX_BUY_PRICE] and len(g.reasons) == 2


# --------------------------------------------------------------------------- a quote, the unpaid list, paying


def test_for_quote_uses_the_quotes_own_usd_cost_and_rate():
    a = order(("20.00", "10.00", 1), order_id="o-1", terms=supplier("EUR", vat="0.21", first="5.00"),
              store_currency="EUR")
    b = order(("5.00", "10.00", 1), order_id="o-2", terms=supplier("EUR", vat="0.21", first="5.00"),
              store_currency="GBP")
    quote = build_quote([a, b], EUR_RATE)
    checked = guardrail.for_quote(quote, [b, a], {"GBP": GBP_RATE}, None)
    ga, gb = checked.orders
    assert [g.order_id for g in checked.orders] == ["o-1", "o-2"]
    assert ga.cost_usd == quote.for_order("o-1").usd.total and ga.revenue_fx == EUR_RATE
    # a: 20.00 EUR paid = 22.00 USD; cost 18.15 EUR = 11.00 + 5.50 + 3.47 USD = 19.97: a 2.03 profit.
    assert (ga.revenue_usd, ga.cost_usd, ga.margin_usd, ga.flags) == (D("22.00"), D("19.97"), D("2.03"), [])
    # b: 5.00 GBP paid = 6.25 USD at the GBP rate, for the same cost.
    assert (gb.revenue_usd, gb.margin_usd, gb.flags, gb.revenue_fx) == (D("6.25"), D("-13.72"), [LOSS], GBP_RATE)
    assert checked.flagged_order_ids == ["o-2"] and checked.requires_confirmation


def test_for_orders_flags_an_order_that_cannot_be_priced():
    good = order(("20.00", "1.00", 1), order_id="o-1")
    bad = order(("20.00", "1.00", 1), order_id="o-2")
    bad = bad.model_copy(update={"lines": [bad.lines[0].model_copy(update={"unit_cost": None})]})
    checked = guardrail.for_orders([good, bad], {"USD": USD_RATE}, None)
    assert [g.flags for g in checked.orders] == [[], [UNCONVERTED_CURRENCY]]
    assert "cannot be priced" in checked.orders[1].reasons[0]
    assert checked.flagged_order_ids == ["o-2"]


def test_paying_flagged_orders_needs_confirmation():
    loser, fine = order(("10.00", "12.00", 1), order_id="o-1"), order(("10.00", "2.00", 1), order_id="o-2")
    checked = guardrail.for_orders([loser, fine], {"USD": USD_RATE}, None)
    with pytest.raises(CheckoutError) as refused:
        guardrail.check_guardrail(checked, confirmed=False)
    err = refused.value
    assert err.code == "price_check_failed"
    assert "D100001: Loses money" in err.message and "Nothing was charged" in err.message
    assert "D200002" not in err.message
    assert err.details["orders"] == [{"order_id": "o-1", "order_number": "D100001", "flags": [LOSS],
                                      "reasons": checked.orders[0].reasons, "revenue_usd": "10.00",
                                      "cost_usd": "12.00", "margin_usd": "-2.00"}]
    guardrail.check_guardrail(checked, confirmed=True)  # confirmed: no refusal
    guardrail.check_guardrail(guardrail.for_orders([fine], {"USD": USD_RATE}, None), confirmed=False)
