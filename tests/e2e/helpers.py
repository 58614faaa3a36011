from __future__ import annotations

import uuid

import httpx

from .conftest import wait_for

DEFAULT_LINES = [{"sku": "MUG-BLUE", "title": "Blue mug", "quantity": 2, "price": "14.99"},
                 {"sku": "LAMP-01", "title": "Desk lamp", "quantity": 1, "price": "39.00"},
                 {"sku": "BASKET-L", "title": "Large basket", "quantity": 1, "price": "24.00"}]


def create_store_order(stack, lines=None, deliver=True) -> dict:
    r = httpx.post(f"{stack.url('shopify')}/_control/shops/{stack.demo['shop']}/orders", timeout=30, json={
        "currency": "EUR", "email": f"buyer-{uuid.uuid4().hex[:6]}@example.com", "line_items": lines or DEFAULT_LINES,
        "shipping_address": {"first_name": "Jane", "last_name": "Doe", "address1": "Hauptstrasse 5",
                             "city": "Berlin", "zip": "10115", "country": "Germany", "country_code": "DE"},
        "deliver_webhook": deliver})
    r.raise_for_status()
    return r.json()


def dropline_orders(api, store_order_name: str) -> list[dict]:
    rows = api.get("/api/v1/orders", params={"q": store_order_name, "limit": 200}).json()["orders"]
    return [r for r in rows if r["platform_order_number"] == store_order_name]


def wait_orders(api, name: str, count: int) -> list[dict]:
    return wait_for(f"{count} Dropline orders for {name}",
                    lambda: (rows := dropline_orders(api, name)) and len(rows) == count and rows)


def wait_status(api, order_id: str, status: str, timeout: float = 45.0) -> dict:
    return wait_for(f"order {order_id} to be {status}",
                    lambda: (o := api.get(f"/api/v1/orders/{order_id}").json())["status"] == status and o,
                    timeout=timeout)


def by_supplier(rows: list[dict], stack, who: str) -> dict:
    sid = stack.demo["suppliers"][who]["supplier_id"]
    return next(r for r in rows if r["supplier"] and r["supplier"]["supplier_id"] == sid)


def pay(api, order_ids: list[str], key: str | None = None, card: str = "pm_card_visa",
        confirm_flagged: bool = True) -> httpx.Response:
    """Pay by card as the retailer does. Several tests sell a mug for 9.99 EUR that costs the supplier
    13.45 EUR: the price check flags it, and the retailer confirms (confirm_flagged) as the checkout
    page lets them; tests/browser/test_price_guardrail.py covers the refusal without it."""
    wait_payable(api, order_ids)
    return api.post("/api/v1/payments", headers={"Idempotency-Key": key or str(uuid.uuid4())},
                    json={"order_ids": order_ids, "method": "card", "payment_method": card,
                          "confirm_flagged": confirm_flagged})


def wait_payable(api, order_ids: list[str]) -> None:
    """checkout receives OrderReceived on its own consumer; wait until it lists the orders as unpaid."""
    def ready():
        groups = api.get("/api/v1/unpaid").json()["suppliers"]
        listed = {oid for g in groups for oid in g["order_ids"]}
        return set(order_ids) <= listed
    wait_for(f"checkout to list {order_ids} as unpaid", ready)


def tracking_number() -> str:
    """A fresh UPS-shaped number (the stand-ins take any; UPS's format only names the carrier)."""
    return f"1Z999AA1{uuid.uuid4().int % 10**10:010d}"


def store_shipments(store, platform: str, placed) -> dict[str, dict[str, int]]:
    """What the stand-in holds: tracking number -> {store SKU: quantity} per fulfilment/shipment."""
    if platform == "shopify":
        view = httpx.get(f"{store.url}/_control/shops/{store.shop}/orders/{placed.platform_order_id}").json()
        return {f["tracking_number"]: {li["sku"]: li["quantity"] for li in f["line_items"]}
                for f in view["order"]["fulfillments"]}
    if platform == "bigcommerce":
        view = httpx.get(f"{store.url}/_control/stores/{store.store_key}/orders/{placed.platform_order_id}").json()
        sku = {p["id"]: p["sku"] for p in view["products"]}
        return {s["tracking_number"]: {sku[i["order_product_id"]]: i["quantity"] for i in s["items"]}
                for s in view["shipments"]}
    view = httpx.get(f"{store.url}/_control/sites/{store.instance_id}/orders/{placed.platform_order_id}").json()
    sku = {li["id"]: li["physicalProperties"]["sku"] for li in view["order"]["lineItems"]}
    return {f["trackingInfo"]["trackingNumber"]: {sku[li["id"]]: li["quantity"] for li in f["lineItems"]}
            for f in view["orderWithFulfillments"]["fulfillments"]}
