"""Which orders may be paid together, and with what."""

from decimal import Decimal

import pytest

from checkout.domain import (
    CheckoutError,
    OrderState,
    build_quote,
    check_method,
    check_order_ids,
    check_orders,
)
from dropline_schemas.events import FxRecord, OrderStatus

EUR = FxRecord(from_currency="EUR", rate=Decimal("1.0956"), rate_date="2024-01-02", source="t")


def state(o, status=None, payment_id=None):
    return OrderState(order_id=o.order_id, order_number=o.order_number, status=OrderStatus(status or o.status).value,
                      supplier_id=o.supplier.supplier_id if o.supplier else None, payment_id=payment_id, order=o)


def refused(fn, *args, **kwargs) -> CheckoutError:
    with pytest.raises(CheckoutError) as e:
        fn(*args, **kwargs)
    return e.value


def test_empty_and_duplicate_ids_are_refused():
    assert refused(check_order_ids, [], 10).code == "empty_order_ids"
    err = refused(check_order_ids, ["a", "b", "a"], 10)
    assert err.code == "duplicate_order_ids" and err.details["order_ids"] == ["a"]
    assert refused(check_order_ids, ["a", "b", "c"], 2).code == "too_many_orders"
    check_order_ids(["a", "b"], 10)


def test_unknown_ids_are_not_found(make_order):
    o = make_order()
    err = refused(check_orders, [o.order_id, "nope"], {o.order_id: state(o)})
    assert err.code == "orders_not_found" and err.details["order_ids"] == ["nope"]


def test_orders_of_two_suppliers_are_refused(make_order, make_terms):
    a, b = make_order(supplier=make_terms("sup-a")), make_order(supplier=make_terms("sup-b"))
    err = refused(check_orders, [a.order_id, b.order_id], {a.order_id: state(a), b.order_id: state(b)})
    assert err.code == "mixed_suppliers"
    assert err.details["suppliers"] == {"sup-a": [a.order_id], "sup-b": [b.order_id]}


def test_orders_not_unpaid_are_listed_each_with_its_status_and_reason(make_order):
    ok = make_order()
    paid, pending, non_auto = make_order(), make_order(), make_order(status=OrderStatus.NON_AUTO_ORDER)
    unmatched = make_order(status=OrderStatus.UNMATCHED)
    found = {ok.order_id: state(ok), paid.order_id: state(paid, OrderStatus.PAID),
             pending.order_id: state(pending, OrderStatus.PAYMENT_PENDING, payment_id="pay-1"),
             non_auto.order_id: state(non_auto), unmatched.order_id: state(unmatched)}
    ids = [ok.order_id, paid.order_id, pending.order_id, non_auto.order_id, unmatched.order_id]
    err = refused(check_orders, ids, found)
    assert err.code == "not_payable"
    listed = {o["order_id"]: o for o in err.details["orders"]}
    assert set(listed) == {paid.order_id, pending.order_id, non_auto.order_id, unmatched.order_id}
    assert listed[paid.order_id]["status"] == "paid" and listed[paid.order_id]["reason"] == "already paid"
    assert listed[pending.order_id]["status"] == "payment_pending"
    assert "another checkout" in listed[pending.order_id]["reason"]
    assert listed[pending.order_id]["payment_id"] == "pay-1"
    assert listed[non_auto.order_id]["status"] == "non_auto_order"
    assert "supplier's website" in listed[non_auto.order_id]["reason"]
    assert listed[unmatched.order_id]["status"] == "unmatched"
    assert listed[paid.order_id]["order_number"] == paid.order_number


def test_a_supplier_currency_change_between_orders_is_refused(make_order, make_terms):
    a, b = make_order(supplier=make_terms("s")), make_order(supplier=make_terms("s", currency="GBP"))
    err = refused(check_orders, [a.order_id, b.order_id], {a.order_id: state(a), b.order_id: state(b)})
    assert err.code == "mixed_currencies"


def test_payable_orders_come_back_in_request_order(make_order):
    a, b = make_order(), make_order()
    got = check_orders([b.order_id, a.order_id], {a.order_id: state(a), b.order_id: state(b)})
    assert [s.order_id for s in got] == [b.order_id, a.order_id]


def test_payment_methods(make_order, make_terms):
    card_only = build_quote([make_order(supplier=make_terms(methods=("card",)))], EUR)
    paypal_only = build_quote([make_order(supplier=make_terms(methods=("paypal",)))], EUR)
    both = build_quote([make_order(supplier=make_terms(methods=("card", "paypal")))], EUR)
    assert check_method(card_only, "card", "pm_card_visa").value == "card"
    assert refused(check_method, paypal_only, "card", "pm_card_visa").code == "method_not_accepted"
    assert refused(check_method, card_only, "paypal", None).code == "method_not_accepted"
    assert check_method(both, "paypal", None).value == "paypal"
    assert refused(check_method, both, "paypal", "pm_card_visa").code == "payment_method_not_allowed"
    assert refused(check_method, both, "bitcoin", None).code == "method_not_accepted"
    assert refused(check_method, both, "card", None).code == "payment_method_required"
