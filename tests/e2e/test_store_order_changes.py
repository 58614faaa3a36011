"""Changes to a store order after it arrived, through every service: the Shopify stand-in changes the
order and sends orders/updated / orders/cancelled; order-ingest tells checkout (StoreOrderChanged),
checkout applies or refuses (OrderAmended), the gateway shows it."""

from __future__ import annotations

import httpx
import pytest

from .conftest import wait_for
from .helpers import create_store_order, pay, wait_orders, wait_payable, wait_status

pytestmark = pytest.mark.e2e

LAMP = [{"sku": "LAMP-01", "title": "Desk lamp", "quantity": 1, "price": "39.00"}]
NEW_ADDRESS = {"first_name": "Jane", "last_name": "Doe", "address1": "Elbchaussee 12", "city": "Hamburg",
               "zip": "22763", "country_code": "DE"}


def control(stack, order_id: int, action: str, body: dict | None = None) -> dict:
    r = httpx.post(f"{stack.url('shopify')}/_control/shops/{stack.demo['shop']}/orders/{order_id}/{action}",
                   json=body or {}, timeout=30)
    assert r.status_code == 200, r.text
    assert all(d["status_code"] == 200 for d in r.json()["deliveries"]), r.text
    return r.json()


def supplier_order(stack, dropline_order_id: str) -> dict:
    return wait_for(f"the supplier to receive {dropline_order_id}", lambda: next(
        (o for o in httpx.get(f"{stack.url('supplier')}/_control/orders").json()["orders"]
         if o["external_id"] == dropline_order_id), None))


def summaries(api, order_id: str) -> list[str]:
    return [e["summary"] for e in api.get(f"/api/v1/orders/{order_id}").json()["timeline"]]


def test_an_address_changed_in_the_store_before_payment_is_the_one_the_supplier_ships_to(stack, api):
    so = create_store_order(stack, lines=LAMP)["order"]
    [order] = wait_orders(api, so["name"], 1)
    wait_payable(api, [order["order_id"]])

    control(stack, so["id"], "shipping-address", NEW_ADDRESS)
    detail = wait_for("the new address on the order", lambda: (
        d := api.get(f"/api/v1/orders/{order['order_id']}").json())["shipping_address"]["address1"]
        == "Elbchaussee 12" and d)
    assert detail["shipping_address"]["city"] == "Hamburg" and detail["problem"] is None
    assert "Shipping address updated from the store" in summaries(api, order["order_id"])

    paid = pay(api, [order["order_id"]])
    assert paid.status_code == 201, paid.text
    wait_status(api, order["order_id"], "forwarded")
    ship_to = supplier_order(stack, order["order_id"])["ship_to"]
    assert (ship_to["address1"], ship_to["city"], ship_to["zip"]) == ("Elbchaussee 12", "Hamburg", "22763")


def test_an_order_cancelled_in_the_store_before_payment_is_cancelled_and_cannot_be_paid(stack, api):
    so = create_store_order(stack, lines=LAMP)["order"]
    [order] = wait_orders(api, so["name"], 1)
    wait_payable(api, [order["order_id"]])

    control(stack, so["id"], "cancel", {"reason": "customer"})
    wait_status(api, order["order_id"], "cancelled")
    assert "Cancelled in the store" in summaries(api, order["order_id"])
    listed = {oid for g in api.get("/api/v1/unpaid").json()["suppliers"] for oid in g["order_ids"]}
    assert order["order_id"] not in listed
    refused = api.post(
        "/api/v1/payments", headers={"Idempotency-Key": f"cancelled-{so['id']}"},
        json={"order_ids": [order["order_id"]], "method": "card", "payment_method": "pm_card_visa"})
    assert refused.status_code == 409, refused.text


def test_after_payment_an_address_change_is_not_applied_and_a_cancellation_is_flagged(stack, api):
    so = create_store_order(stack, lines=LAMP)["order"]
    [order] = wait_orders(api, so["name"], 1)
    paid = pay(api, [order["order_id"]])
    assert paid.status_code == 201, paid.text
    wait_status(api, order["order_id"], "forwarded")
    shipped_to = supplier_order(stack, order["order_id"])["ship_to"]["address1"]

    control(stack, so["id"], "shipping-address", NEW_ADDRESS)
    detail = wait_for("the retailer to be told", lambda: (
        d := api.get(f"/api/v1/orders/{order['order_id']}").json())["problem"] and d)
    assert detail["problem"] == ("The store changed the shipping address after payment; Dropline kept the "
                                 "address the supplier was paid for.")
    assert detail["shipping_address"]["address1"] == shipped_to == "Hauptstrasse 5"

    control(stack, so["id"], "cancel", {"reason": "customer"})
    detail = wait_for("the cancellation to be flagged", lambda: (
        d := api.get(f"/api/v1/orders/{order['order_id']}").json())["problem"].startswith(
            "The order was cancelled in the store after payment") and d)
    assert "cancel it with the supplier and refund the customer" in detail["problem"]
    assert detail["status"] == "forwarded"  # Dropline cancels nothing and refunds nothing by itself
    assert len([o for o in httpx.get(f"{stack.url('supplier')}/_control/orders").json()["orders"]
                if o["external_id"] == order["order_id"]]) == 1
