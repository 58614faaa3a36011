"""Pricing: per-order amounts in the supplier's currency, conversion to USD, bulk totals, limits."""

import decimal
from decimal import Decimal

import pytest

from checkout.domain import (
    Amounts,
    CheckoutError,
    build_quote,
    cents,
    check_charge_limits,
    exact_money,
    price_order,
    round_money,
    to_usd,
)
from dropline_schemas.events import FxRecord

EUR_2024_01_02 = FxRecord(from_currency="EUR", rate=Decimal("1.0956"), rate_date="2024-01-02", source="test")


def amounts(currency, p, s, v, t):
    return Amounts(currency=currency, product_cost=Decimal(p), shipping=Decimal(s), vat=Decimal(v), total=Decimal(t))


def test_order_price_is_products_plus_shipping_per_item_plus_vat(make_order):
    # 2 × 12.50 + 1 × 3.333 = 28.333 → 28.33; shipping 5.00 + 1.50 × (3 − 1) = 8.00;
    # VAT (28.33 + 8.00) × 0.21 = 7.6293 → 7.63; total 43.96
    o = make_order(("12.50", 2), ("3.333", 1))
    assert price_order(o) == amounts("EUR", "28.33", "8.00", "7.63", "43.96")


def test_amounts_keep_the_currency_minor_units(make_order):
    a = price_order(make_order(("10", 1)))
    assert str(a.product_cost) == "10.00" and str(a.total) == "18.15"  # 10 + 5 + 3.15


def test_rounding_is_half_up_not_bankers(make_order, make_terms):
    # Exact ties: HALF_EVEN would give 0.12 / 2.34 / 0.12; HALF_UP gives 0.13 / 2.35 / 0.13.
    o = make_order(("0.125", 1), supplier=make_terms(first="0", vat="0"))
    assert price_order(o).product_cost == Decimal("0.13")
    o = make_order(("1", 1), supplier=make_terms(first="2.345", vat="0"))
    assert price_order(o).shipping == Decimal("2.35")
    o = make_order(("0.50", 1), supplier=make_terms(first="0", vat="0.25"))
    assert price_order(o).vat == Decimal("0.13")
    assert round_money(Decimal("-0.125"), "EUR") == Decimal("-0.13")


def test_vat_is_charged_on_the_rounded_product_and_shipping(make_order, make_terms):
    # on the unrounded product VAT would be 0.006 × 0.5 = 0.003 → 0.00; on the shown product 0.01 × 0.5 = 0.005 → 0.01
    o = make_order(("0.006", 1), supplier=make_terms(first="0", vat="0.5"))
    a = price_order(o)
    assert (a.product_cost, a.vat, a.total) == (Decimal("0.01"), Decimal("0.01"), Decimal("0.02"))


def test_zero_decimal_currency(make_order, make_terms):
    o = make_order(("1000.5", 1), supplier=make_terms("sup-jp", currency="JPY", first="500", vat="0.10"))
    a = price_order(o)
    assert a == amounts("JPY", "1001", "500", "150", "1651")
    usd = to_usd(a, FxRecord(from_currency="JPY", rate=Decimal("0.0067"), rate_date="2024-01-02", source="t"))
    # 6.7067 → 6.71; 3.35; 1.005 → 1.01 (tie, up)
    assert usd == amounts("USD", "6.71", "3.35", "1.01", "11.07")


def test_three_decimal_currency_rounds_to_mils():
    assert round_money(Decimal("1.2345"), "KWD") == Decimal("1.235")


def test_only_matched_lines_are_priced(make_order):
    o = make_order(("10.00", 1))
    extra = o.lines[0].model_copy(update={"line_id": "x", "matched": False, "unit_cost": None, "quantity": 4})
    o = o.model_copy(update={"lines": [*o.lines, extra]})
    assert price_order(o).shipping == Decimal("5.00")  # one matched item: no additional-item fee


def test_an_order_without_unit_cost_cannot_be_priced(make_order):
    with pytest.raises(CheckoutError) as e:
        price_order(make_order(("none", 1)))
    assert e.value.code == "cannot_price"


def test_usd_components_are_rounded_each_and_the_total_is_their_sum():
    # Converting the total would give 0.03 × 1.5 = 0.045 → 0.05, but the shown components are
    # 0.02 + 0.02 + 0.02: the USD total is 0.06 so the numbers on the page add up.
    fx = FxRecord(from_currency="EUR", rate=Decimal("1.5"), rate_date="2024-01-02", source="t")
    usd = to_usd(amounts("EUR", "0.01", "0.01", "0.01", "0.03"), fx)
    assert usd == amounts("USD", "0.02", "0.02", "0.02", "0.06")


def test_bulk_of_three_orders(make_order):
    orders = [make_order(("12.50", 2), ("3.333", 1)), make_order(("7.99", 1)), make_order(("100.00", 3))]
    q = build_quote(orders, EUR_2024_01_02)
    assert [o.supplier_currency for o in q.orders] == [
        amounts("EUR", "28.33", "8.00", "7.63", "43.96"),
        amounts("EUR", "7.99", "5.00", "2.73", "15.72"),
        amounts("EUR", "300.00", "8.00", "64.68", "372.68")]
    assert [o.usd for o in q.orders] == [
        amounts("USD", "31.04", "8.76", "8.36", "48.16"),
        amounts("USD", "8.75", "5.48", "2.99", "17.22"),
        amounts("USD", "328.68", "8.76", "70.86", "408.30")]
    assert q.total.supplier_currency == amounts("EUR", "336.32", "21.00", "75.04", "432.36")
    assert q.total.usd == amounts("USD", "368.47", "23.00", "82.21", "473.68")
    assert (q.charge.amount, q.charge.amount_minor, q.charge.currency) == (Decimal("473.68"), 47368, "USD")
    assert q.fx == EUR_2024_01_02
    assert [m.value for m in q.payment_methods] == ["card"]
    assert q.supplier.supplier_id == "sup-eu" and q.supplier.currency == "EUR"


def test_quote_survives_a_json_round_trip_exactly(make_order):
    from checkout.domain import Quote

    q = build_quote([make_order(("12.50", 2))], EUR_2024_01_02)
    again = Quote.model_validate_json(q.model_dump_json())
    assert again == q and str(again.orders[0].supplier_currency.total) == str(q.orders[0].supplier_currency.total)


def test_charge_limits(make_order, make_terms):
    usd = FxRecord(from_currency="USD", rate=Decimal(1), rate_date="2024-01-02", source="t")
    cheap = make_terms("s", currency="USD", first="0", additional="0", vat="0")
    check_charge_limits(build_quote([make_order(("0.50", 1), supplier=cheap)], usd))  # exactly the minimum
    with pytest.raises(CheckoutError) as e:
        check_charge_limits(build_quote([make_order(("0.49", 1), supplier=cheap)], usd))
    assert e.value.code == "amount_too_small"
    check_charge_limits(build_quote([make_order(("999999.99", 1), supplier=cheap)], usd))  # 8 digits
    with pytest.raises(CheckoutError) as e:
        check_charge_limits(build_quote([make_order(("1000000.00", 1), supplier=cheap)], usd))
    assert e.value.code == "amount_too_large"


def test_floats_are_refused():
    with pytest.raises(TypeError):
        round_money(0.1, "EUR")  # type: ignore[arg-type]
    with pytest.raises(decimal.FloatOperation):
        exact_money(lambda: Decimal(0.1))()  # noqa: RUF032  (the float is the point)
    with pytest.raises(ValueError):
        cents(Decimal("1.005"))
    assert cents(Decimal("473.68")) == 47368
