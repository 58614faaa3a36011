"""Shopify "Request fulfillment" through every service: Dropline is the fulfilment service of the demo
shop's fulfillment orders; the merchant presses Request fulfillment, the Shopify stand-in sends the signed
fulfillment_orders/fulfillment_request_submitted webhook, the gateway publishes it, tracking-sync accepts
the request in the store (the store shows In progress) and says so on each Dropline order; nothing is
paid or forwarded by that. Later payment, forwarding and tracking go as today and the fulfilment is
created with tracking on the same (in progress) fulfillment order."""

from __future__ import annotations

import httpx
import pytest

from .conftest import wait_for
from .helpers import by_supplier, create_store_order, pay, wait_orders, wait_status

pytestmark = pytest.mark.e2e

ACCEPTED = "Shopify requested fulfilment; Dropline accepted it (the store shows In progress)."


def standin(stack) -> str:
    return f"{stack.demo_stores['shopify'].url}/_control/shops/{stack.demo_stores['shopify'].shop}"


def store_view(stack, order_id: int) -> dict:
    return httpx.get(f"{standin(stack)}/orders/{order_id}", timeout=30).json()


def summaries(api, order_id: str) -> list[str]:
    return [e["summary"] for e in api.get(f"/api/v1/orders/{order_id}").json()["timeline"]]


@pytest.fixture
def dropline_is_the_fulfilment_service(stack):
    r = httpx.post(f"{standin(stack)}/fulfillment-service", json={"name": "Dropline"}, timeout=30)
    assert r.status_code == 200, r.text
    yield
    httpx.post(f"{standin(stack)}/fulfillment-service", json={"name": None}, timeout=30)


def test_a_requested_fulfilment_is_accepted_shown_and_later_fulfilled_with_tracking(
        stack, api, dropline_is_the_fulfilment_service):
    so = create_store_order(stack)["order"]
    rows = wait_orders(api, so["name"], 2)
    auto, manual = by_supplier(rows, stack, "auto"), by_supplier(rows, stack, "manual")
    assert (auto["status"], manual["status"]) == ("unpaid", "non_auto_order")

    # The merchant presses Request fulfillment in the Shopify admin.
    r = httpx.post(f"{standin(stack)}/orders/{so['id']}/request-fulfillment",
                   json={"message": "Fragile: please double-box"}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["delivery"]["status_code"] == 200, r.text
    assert r.json()["fulfillment_order"]["requestStatus"] == "SUBMITTED"

    # Dropline accepts: the store shows the order In progress.
    def accepted():
        view = store_view(stack, so["id"])
        fo = view["fulfillment_orders"][0]
        return (fo["requestStatus"], fo["status"]) == ("ACCEPTED", "IN_PROGRESS") and view
    view = wait_for("the fulfilment request to be accepted in the store", accepted)
    assert view["display_fulfillment_status"] == "IN_PROGRESS"
    assert view["fulfillments"] == []  # accepting fulfils nothing
    assert view["fulfillment_orders"][0]["merchantRequests"][0]["responseData"]["message"].startswith(
        "Accepted by Dropline")

    # Each Dropline order of the store order says so; nothing was paid or forwarded by it.
    for order in (auto, manual):
        entries = wait_for(f"the acceptance on {order['order_id']}'s timeline", lambda o=order: (
            s := [x for x in summaries(api, o["order_id"]) if x.startswith(ACCEPTED)]) and s)
        assert len(entries) == 1 and 'Merchant\'s message: "Fragile: please double-box".' in entries[0]
    detail = api.get(f"/api/v1/orders/{auto['order_id']}").json()
    assert detail["status"] == "unpaid" and detail["payment"] is None and detail["supplier_order_id"] is None
    assert detail["problem"] is None
    assert api.get(f"/api/v1/orders/{manual['order_id']}").json()["status"] == "non_auto_order"

    # Later, as today: the retailer pays, Dropline forwards, the supplier ships, tracking goes to the store.
    paid = pay(api, [auto["order_id"]])
    assert paid.status_code == 201, paid.text
    wait_status(api, auto["order_id"], "forwarded")
    supplier_order = next(o for o in httpx.get(f"{stack.url('supplier')}/_control/orders").json()["orders"]
                          if o["external_id"] == auto["order_id"])
    shipped = httpx.post(f"{stack.url('supplier')}/_control/orders/{supplier_order['id']}/ship", json={}, timeout=30)
    assert shipped.status_code < 300, shipped.text
    synced = wait_status(api, auto["order_id"], "synced")
    number = synced["tracking"][0]["tracking_number"]
    t = api.post(f"/api/v1/orders/{manual['order_id']}/tracking", json={"tracking_number": "9400111899223344556677"})
    assert t.status_code == 201, t.text
    wait_status(api, manual["order_id"], "synced")

    view = store_view(stack, so["id"])
    numbers = sorted(tr["number"] for f in view["fulfillments"] for tr in f["trackingInfo"])
    assert numbers == sorted([number, "9400111899223344556677"])
    fo = view["fulfillment_orders"][0]
    assert (fo["status"], fo["requestStatus"]) == ("CLOSED", "ACCEPTED")
    assert view["display_fulfillment_status"] == "FULFILLED"
    timeline = [e["status"] for e in api.get(f"/api/v1/orders/{auto['order_id']}").json()["timeline"] if e["status"]]
    # TrackingAdded and OrderSynced travel on two topics: the sync may be applied first (no "shipped" step).
    assert timeline[:4] == ["unpaid", "payment_pending", "paid", "forwarded"], timeline
    assert timeline[4:] in (["shipped", "synced"], ["synced"], ["synced", "synced"]), timeline
