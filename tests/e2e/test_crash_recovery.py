"""SIGKILL a service in the middle of its side effect: after a restart the effect happened once."""

from __future__ import annotations

import httpx
import pytest

from .conftest import wait_for
from .helpers import create_store_order, pay, wait_orders, wait_status

pytestmark = pytest.mark.e2e


def supplier_orders(stack) -> list[dict]:
    return httpx.get(f"{stack.url('supplier')}/_control/orders").json()["orders"]


def test_forwarder_killed_before_commit_forwards_exactly_once(stack, api):
    name = create_store_order(stack, lines=[{"sku": "MUG-BLUE", "title": "Mug", "quantity": 1, "price": "9.99"}])["order"]["name"]
    order_id = wait_orders(api, name, 1)[0]["order_id"]
    # The supplier creates the order, then holds its answer: the forwarder has sent the order and
    # has not committed when it is killed.
    httpx.post(f"{stack.url('supplier')}/_control/hold-next", json={"seconds": 20}).raise_for_status()
    assert pay(api, [order_id]).status_code == 201
    wait_for("the supplier to receive the order",
             lambda: any(o["external_id"] == order_id for o in supplier_orders(stack)))
    stack.kill("forwarder")
    stack.start_service("forwarder")
    stack.wait_ready("forwarder")
    wait_status(api, order_id, "forwarded", timeout=60)
    mine = [o for o in supplier_orders(stack) if o["external_id"] == order_id]
    assert len(mine) == 1, mine
    # The restarted forwarder really sent it again (same idempotency key) and got the same order back.
    assert mine[0]["idempotency_key"] == f"dropline-order-{order_id}"
    assert mine[0]["idempotency_key_posts"] >= 2, mine[0]


def test_tracking_sync_killed_after_the_store_write_syncs_exactly_once(stack, api):
    created = create_store_order(stack, lines=[{"sku": "LAMP-01", "title": "Lamp", "quantity": 1, "price": "39.00"}])
    so = created["order"]
    order_id = wait_orders(api, so["name"], 1)[0]["order_id"]
    assert pay(api, [order_id]).status_code == 201
    wait_status(api, order_id, "forwarded")
    supplier_order = next(o for o in supplier_orders(stack) if o["external_id"] == order_id)
    # The store applies fulfillmentCreate and holds its answer; tracking-sync dies waiting for it.
    httpx.post(f"{stack.url('shopify')}/_control/shops/{stack.demo['shop']}/hold-mutations",
               json={"seconds": 20}).raise_for_status()
    httpx.post(f"{stack.url('supplier')}/_control/orders/{supplier_order['id']}/ship", json={}, timeout=30)

    def store_fulfillments():
        return httpx.get(f"{stack.url('shopify')}/_control/shops/{stack.demo['shop']}/orders/{so['id']}").json()["fulfillments"]

    wait_for("the store to record the fulfilment", store_fulfillments)
    stack.kill("tracking-sync")
    stack.start_service("tracking-sync")
    stack.wait_ready("tracking-sync")
    detail = wait_status(api, order_id, "synced", timeout=60)
    assert len(store_fulfillments()) == 1
    assert any("already there" in e["summary"] for e in detail["timeline"])
