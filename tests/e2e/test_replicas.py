"""Two replicas of every service, as two pods of each Deployment would run: they share each
service's database and consumer groups, and the partitions between them. Orders flow through both
(webhooks to both gateways), and one replica of each consumer service is SIGKILLed while its share
of the work is in flight. Every order still arrives once, is paid once, reaches its supplier once
and its store once; no timeline step is projected twice."""

from __future__ import annotations

import json
import uuid
from collections import Counter

import httpx
import pytest

from dropline_testsupport.devstack import SERVICES
from dropline_testsupport.shopify_standin import sign_webhook

from .conftest import wait_for
from .helpers import create_store_order, dropline_orders, pay

pytestmark = pytest.mark.e2e

N = 30
# Both lines are the one auto-order supplier's: one Dropline order per store order.
LINES = [{"sku": "MUG-BLUE", "title": "Blue mug", "quantity": 1, "price": "14.99"},
         {"sku": "LAMP-01", "title": "Desk lamp", "quantity": 1, "price": "39.00"}]


def deliver(stack, gateway: str, order: dict) -> None:
    body = json.dumps(order).encode()
    r = httpx.post(stack.url(gateway) + "/webhooks/shopify", content=body, timeout=30, headers={
        "X-Shopify-Hmac-Sha256": sign_webhook(body, stack.demo["webhook_secret"]),
        "X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": stack.demo["shop"],
        "X-Shopify-Webhook-Id": str(uuid.uuid4()), "X-Shopify-API-Version": "2025-10",
        "Content-Type": "application/json"})
    assert r.status_code == 200, r.text


def supplier_orders(stack) -> list[dict]:
    return httpx.get(f"{stack.url('supplier')}/_control/orders", timeout=30).json()["orders"]


def fulfilments(stack, store_order_id) -> list[dict]:
    view = httpx.get(f"{stack.url('shopify')}/_control/shops/{stack.demo['shop']}/orders/{store_order_id}",
                     timeout=30).json()
    return view["order"]["fulfillments"]


def statuses(api, order_ids: list[str]) -> Counter:
    return Counter(api.get(f"/api/v1/orders/{oid}").json()["status"] for oid in order_ids)


@pytest.fixture
def replicas(stack):
    keys = [stack.start_replica(name, "b") for name in SERVICES]
    try:
        for key in keys:
            stack.wait_ready(key)
        yield keys
    finally:
        for key in keys:
            stack.procs[key].stop()


def test_two_replicas_of_every_service_share_the_work_and_a_killed_replica_repeats_nothing(stack, api, replicas):
    store_orders = [create_store_order(stack, lines=LINES, deliver=False)["order"] for _ in range(N)]
    for i, order in enumerate(store_orders):
        deliver(stack, ("gateway", "gateway-b")[i % 2], order)
        if i == N // 2:
            stack.kill("order-ingest-b")  # with its share of the deliveries in flight
    found = wait_for(f"{N} Dropline orders", lambda: (
        rows := [r for o in store_orders for r in dropline_orders(api, o["name"])]) and len(rows) >= N and rows,
        timeout=90)
    assert sorted(r["platform_order_number"] for r in found) == sorted(o["name"] for o in store_orders)
    order_ids = [r["order_id"] for r in found]

    assert pay(api, order_ids).status_code == 201
    stack.kill("checkout-b")
    wait_for("some orders forwarded", lambda: statuses(api, order_ids)["forwarded"] > 0, timeout=60)
    stack.kill("forwarder-b")
    wait_for("every order forwarded", lambda: statuses(api, order_ids)["forwarded"] == N, timeout=90)

    mine = {o["external_id"]: o for o in supplier_orders(stack) if o["external_id"] in set(order_ids)}
    for supplier_order in mine.values():
        httpx.post(f"{stack.url('supplier')}/_control/orders/{supplier_order['id']}/ship", json={},
                   timeout=30).raise_for_status()
    wait_for("some orders synced", lambda: statuses(api, order_ids)["synced"] > 0, timeout=60)
    stack.kill("tracking-sync-b")
    wait_for("every order synced", lambda: statuses(api, order_ids)["synced"] == N, timeout=120)

    # Once at the supplier, once in the store, once in each order's story.
    at_supplier = Counter(o["external_id"] for o in supplier_orders(stack))
    assert {oid: at_supplier[oid] for oid in order_ids} == dict.fromkeys(order_ids, 1)
    assert {o["name"]: len(fulfilments(stack, o["id"])) for o in store_orders} == \
        dict.fromkeys((o["name"] for o in store_orders), 1)
    for oid in order_ids:
        timeline = api.get(f"/api/v1/orders/{oid}").json()["timeline"]
        steps = Counter(e["status"] for e in timeline if e["status"])
        assert {s: steps[s] for s in ("unpaid", "paid", "forwarded", "synced")} == \
            {"unpaid": 1, "paid": 1, "forwarded": 1, "synced": 1}, (oid, timeline)
