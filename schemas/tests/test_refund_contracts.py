"""The refund contracts: OrderRefunded on its own topic, and the supplier's rejection made explicit on
OrderForwardingFailed (an additive field: events written before it still parse, as "not rejected")."""

from decimal import Decimal

import pytest
from pydantic import ValidationError

from dropline_schemas import parse_event, topics
from dropline_schemas.events import (
    ALL_EVENTS,
    FxRecord,
    Money,
    OrderForwardingFailedData,
    OrderForwardingFailedV1,
    OrderRefundedData,
    OrderRefundedV1,
    PaymentMethod,
)

KW = {"producer": "checkout", "tenant_id": "r1", "correlation_id": "shopify:450789469"}


def refunded(**overrides) -> OrderRefundedV1:
    usd = Money(product_cost=Decimal("11.00"), shipping=Decimal("2.20"), vat=Decimal("2.51"), total=Decimal("15.71"))
    eur = Money(product_cost=Decimal("10.00"), shipping=Decimal("2.00"), vat=Decimal("2.28"), total=Decimal("14.28"))
    data = {"order_id": "o1", "payment_id": "pay-1", "refund_id": "ref-1", "method": PaymentMethod.CARD,
            "provider": "stripe", "provider_reference": "re_123", "reason": "Out of stock",
            "usd_amounts": usd, "supplier_currency_amounts": eur,
            "fx": FxRecord(from_currency="EUR", rate=Decimal("1.1"), rate_date="2026-11-25", source="ECB"),
            "refunded_at": "2026-11-26T10:00:00Z"} | overrides
    return OrderRefundedV1.create(data=OrderRefundedData(**data), **KW)


def test_order_refunded_round_trips_with_its_amounts_in_both_currencies():
    ev = refunded()
    back = parse_event(ev.model_dump_json())
    assert back == ev and back.event_type == "OrderRefunded" and back.schema_version == 1
    assert back.data.usd_amounts.total == Decimal("15.71")
    assert back.data.supplier_currency_amounts.total == Decimal("14.28")
    assert back.data.fx.from_currency == "EUR" and back.data.provider_reference == "re_123"


def test_order_refunded_has_its_own_topic_listed_with_every_topic():
    assert topics.ORDER_REFUNDED.name == "dropline.order-refunded.v1"
    assert topics.ORDER_REFUNDED in topics.ALL_TOPICS
    assert OrderRefundedV1 in ALL_EVENTS
    assert len({t.name for t in topics.ALL_TOPICS}) == len(topics.ALL_TOPICS)


@pytest.mark.parametrize("missing", ["refund_id", "provider_reference", "usd_amounts", "fx", "reason"])
def test_order_refunded_without_a_required_field_is_refused(missing):
    data = refunded().data.model_dump(mode="json")
    del data[missing]
    with pytest.raises(ValidationError):
        OrderRefundedData.model_validate(data)


def test_a_forwarding_failure_written_before_the_flag_existed_reads_as_not_rejected():
    old = {"event_id": "6f1c7a5e-3b0e-4a3b-9a43-0d8b9b0c2f11", "event_type": "OrderForwardingFailed",
           "schema_version": 1, "occurred_at": "2026-11-26T10:00:00Z", "producer": "forwarder",
           "tenant_id": "r1", "correlation_id": "c",
           "data": {"order_id": "o1", "supplier_id": "s1", "reason": "gave up after 12 attempts", "status_code": 503}}
    ev = parse_event(old)
    assert isinstance(ev, OrderForwardingFailedV1) and ev.data.rejected_by_supplier is False


def test_a_supplier_rejection_says_so():
    ev = OrderForwardingFailedV1.create(
        data=OrderForwardingFailedData(order_id="o1", supplier_id="s1", reason="Out of stock", status_code=422,
                                       rejected_by_supplier=True), producer="forwarder", tenant_id="r1",
        correlation_id="c")
    assert parse_event(ev.model_dump_json()).data.rejected_by_supplier is True
