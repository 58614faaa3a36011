"""The Shopify adapter on its own: request building, classification and the client-side rate-limit budget."""

from __future__ import annotations

import math

import httpx
import pytest
from tracking_sync_testkit import (
    PLATFORM_ORDER_ID,
    SHOP,
    SHOP_URL,
    TOKEN,
    UPS_NUMBER,
    FakeShopify,
    fo_line,
    fulfillment_order,
)

from dropline_infra.jobs import Deferred, Permanent, Retryable
from dropline_integrations.port import FulfilmentRequest, StoreAccess, Tracking, same_tracking_number
from dropline_integrations.shopify.fulfil import (
    FULFILMENT_STATE_QUERY,
    ShopBudgets,
    ShopifyFulfilments,
    existing_fulfillment,
    fulfillment_create_variables,
    plan_fulfilment,
    throttle_retry_after,
)
from tracking_sync.domain import LineToFulfil, UnknownLines, lines_to_fulfil

OURS = (LineToFulfil("l-1", "466157049", "IPOD-GREEN", 2), LineToFulfil("l-2", "466157050", "CASE", 1))
STORE = StoreAccess(store_id="store-1", shop=SHOP, api_base_url=SHOP_URL, credentials={"access_token": TOKEN})


def request(lines=OURS) -> FulfilmentRequest:
    return FulfilmentRequest(platform_order_id=PLATFORM_ORDER_ID, lines=tuple(lines),
                             tracking=Tracking(number=UPS_NUMBER, company="UPS"))


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def adapter(shopify: FakeShopify, **kwargs) -> tuple[ShopifyFulfilments, list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    http = httpx.AsyncClient(transport=httpx.MockTransport(shopify))
    return ShopifyFulfilments(http, sleep=sleep, **kwargs), slept


def test_plan_takes_only_our_lines_and_caps_by_remaining():
    order = {"fulfillmentOrders": {"pageInfo": {"hasNextPage": False}, "nodes": [
        fulfillment_order(1, [fo_line(11, "466157049", "IPOD-GREEN", 1, 2), fo_line(13, "518995019", "X", 1)]),
        fulfillment_order(2, [fo_line(21, "466157049", "IPOD-GREEN", 1)], status="ON_HOLD"),
        fulfillment_order(3, [fo_line(31, "466157050", "CASE", 1)], location=9),
    ]}}
    plan = plan_fulfilment(order, OURS)
    assert plan.calls == [
        [{"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1",
          "fulfillmentOrderLineItems": [{"id": "gid://shopify/FulfillmentOrderLineItem/11", "quantity": 1}]}],
        [{"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/3",
          "fulfillmentOrderLineItems": [{"id": "gid://shopify/FulfillmentOrderLineItem/31", "quantity": 1}]}],
    ]
    assert plan.unmet == {"gid://shopify/LineItem/466157049": 1}  # the other one is on hold
    assert not plan.truncated


def test_mutation_variables_leave_out_missing_tracking_fields():
    variables = fulfillment_create_variables([{"fulfillmentOrderId": "fo"}], Tracking(number="123"))
    assert variables == {"fulfillment": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": "fo"}],
                                         "notifyCustomer": True, "trackingInfo": {"number": "123"}}}


def test_existing_fulfillment_ignores_cancelled_and_other_numbers():
    order = {"fulfillments": [
        {"id": "f1", "status": "CANCELLED", "trackingInfo": [{"number": UPS_NUMBER}]},
        {"id": "f2", "status": "SUCCESS", "trackingInfo": [{"number": "OTHER"}, {"number": None}]},
    ]}
    assert existing_fulfillment(order, UPS_NUMBER) is None
    order["fulfillments"].append({"id": "f3", "status": "SUCCESS", "trackingInfo": [{"number": UPS_NUMBER.lower()}]})
    assert existing_fulfillment(order, UPS_NUMBER) == "f3"


def test_throttle_retry_after_is_needed_points_over_restore_rate():
    cost = {"requestedQueryCost": 500, "throttleStatus": {"currentlyAvailable": 100, "restoreRate": 50.0,
                                                          "maximumAvailable": 1000.0}}
    assert throttle_retry_after(cost) == 8.0
    assert throttle_retry_after({"requestedQueryCost": 5, "throttleStatus": {"currentlyAvailable": 100,
                                                                             "restoreRate": 50.0}}) == 0.0
    assert throttle_retry_after(None) is None


def test_budget_projects_the_refill():
    clock = Clock()
    budgets = ShopBudgets(clock)
    assert budgets.wait_before("shop", 500) == 0.0  # nothing known yet
    budgets.observe("shop", {"throttleStatus": {"currentlyAvailable": 20, "maximumAvailable": 1000.0,
                                                "restoreRate": 50.0}})
    assert budgets.wait_before("shop", 10, reserve=50) == pytest.approx(0.8)  # (60 - 20) / 50
    clock.now += 0.5
    assert budgets.wait_before("shop", 10, reserve=50) == pytest.approx(0.3)
    clock.now += 10
    assert budgets.wait_before("shop", 10, reserve=50) == 0.0
    budgets.observe("shop", {"throttleStatus": {"currentlyAvailable": 0, "maximumAvailable": 100.0,
                                                "restoreRate": 0.0}})
    assert math.isinf(budgets.wait_before("shop", 10))


def test_lines_to_fulfil_and_tracking_numbers():
    assert lines_to_fulfil(OURS, None) == list(OURS)
    assert lines_to_fulfil(OURS, ["l-2"]) == [OURS[1]]
    with pytest.raises(UnknownLines):
        lines_to_fulfil(OURS, ["l-9"])
    assert same_tracking_number("1Z 999-aa1", "1Z999AA1")
    assert not same_tracking_number(None, "1Z")


def test_state_query_asks_for_what_the_look_and_the_plan_need():
    for fragment in ("fulfillmentOrders(first:", "remainingQuantity", "lineItem { id sku }", "requestStatus",
                     "assignedLocation { location { id } }", "fulfillments(first:", "trackingInfo(first: 5)"):
        assert fragment in FULFILMENT_STATE_QUERY


async def test_low_budget_after_the_query_waits_before_the_mutation(caplog, capsys):
    shopify = FakeShopify(throttle={"maximumAvailable": 1000.0, "currentlyAvailable": 5.0, "restoreRate": 100.0})
    shopify_adapter, slept = adapter(shopify, min_available_points=50)  # waits up to 1 s by default
    result = await shopify_adapter.fulfil(STORE, request())
    assert not result.already_present
    assert slept == [pytest.approx((10 + 50 - 5) / 100, abs=0.05)]
    # Through the stdlib logging when a Service configured structlog, else structlog's default printer.
    assert "rate-limit budget low" in caplog.text + capsys.readouterr().out


async def test_a_wait_longer_than_allowed_defers_instead_of_sleeping():
    shopify = FakeShopify(throttle={"maximumAvailable": 1000.0, "currentlyAvailable": 0.0, "restoreRate": 1.0})
    shopify_adapter, slept = adapter(shopify, min_available_points=50, max_wait_seconds=5)
    with pytest.raises(Deferred) as caught:  # no attempt spent: nothing was tried
        await shopify_adapter.fulfil(STORE, request())
    assert slept == [] and shopify.mutations() == []  # nothing written: safe to retry
    assert caught.value.retry_after == pytest.approx(60, abs=0.1)


async def test_graphql_errors_other_than_throttling_are_permanent():
    shopify = FakeShopify(script=[{"errors": [{"message": "Field 'bogus' doesn't exist on type 'Order'",
                                               "extensions": {"code": "undefinedField"}}]}])
    shopify_adapter, _ = adapter(shopify)
    with pytest.raises(Permanent, match="bogus"):
        await shopify_adapter.fulfil(STORE, request())


async def test_internal_error_in_graphql_is_retryable():
    shopify = FakeShopify(script=[{"errors": [{"message": "Internal error",
                                               "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}])
    shopify_adapter, _ = adapter(shopify)
    with pytest.raises(Retryable):
        await shopify_adapter.fulfil(STORE, request())


async def test_missing_access_token_is_permanent():
    shopify_adapter, _ = adapter(FakeShopify())
    with pytest.raises(Permanent, match="access_token"):
        await shopify_adapter.fulfil(StoreAccess("s", SHOP, SHOP_URL, credentials={}), request())


async def test_our_lines_beyond_the_first_page_are_not_half_fulfilled():
    shopify = FakeShopify(fulfillment_orders=[fulfillment_order(1, [fo_line(11, "466157049", "IPOD-GREEN", 2)])])
    shopify.fulfillment_orders[0]["lineItems"]["pageInfo"]["hasNextPage"] = True
    shopify_adapter, _ = adapter(shopify)
    with pytest.raises(Permanent, match="more fulfillment orders or line items than one page"):
        await shopify_adapter.fulfil(STORE, request())
    assert shopify.mutations() == []


def test_store_access_never_shows_credentials():
    assert TOKEN not in repr(STORE)
