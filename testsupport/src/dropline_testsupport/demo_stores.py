"""One demo store per platform, each in its own stand-in: how it is created on the platform side,
connected to Dropline through the operator API (as an operator would, with the secrets the platform
uses), how an order is placed in it (in that platform's own JSON, after which the stand-in sends the
webhook the platform would send), and how to read back what Dropline wrote to it.

Used by the demo (`make run` connects one store of each platform) and by the e2e tests."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

Line = tuple[str, str, int, str]  # store SKU, title, quantity, unit price


def _ok(resp: httpx.Response) -> dict:
    if resp.status_code >= 400:
        raise RuntimeError(f"{resp.request.method} {resp.request.url} -> {resp.status_code}: {resp.text}")
    return resp.json() if resp.content else {}


@dataclass
class Customer:
    first: str
    last: str
    city: str
    country: str  # ISO alpha-2
    street: str = "10 Market Street"
    zip: str = "10115"

    @property
    def email(self) -> str:
        return f"{self.first.lower()}.{self.last.lower()}@example.com"


@dataclass
class PlacedOrder:
    platform_order_id: str
    number: str  # what the retailer sees as the store order number
    raw: dict[str, Any] = field(repr=False)


class DemoStore:
    platform: str
    currency: str
    standin: str  # the Stack's name of the stand-in process

    def __init__(self, standin_url: str, gateway_url: str):
        self.url = standin_url.rstrip("/")
        self.gateway_url = gateway_url.rstrip("/")
        self.store: dict[str, Any] = {}  # Dropline's answer to the store connection

    @property
    def webhook_url(self) -> str:
        return f"{self.gateway_url}/webhooks/{self.platform}"

    @property
    def store_id(self) -> str:
        return self.store["store_id"]

    def connect(self, gw: httpx.Client, retailer_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def place(self, customer: Customer, lines: list[Line], *, deliver: bool = True) -> PlacedOrder:
        raise NotImplementedError

    def tracking_numbers(self, order: PlacedOrder) -> list[str]:
        """The tracking numbers the store shows for the order (what Dropline wrote back)."""
        raise NotImplementedError

    def drop_next_webhooks(self, count: int = 1) -> None:
        raise NotImplementedError

    def order_webhook(self, order: PlacedOrder) -> dict[str, Any]:
        """The webhook the stand-in sent for the new order, as sent: {"id", "url", "headers", "body"}."""
        raise NotImplementedError

    def redeliver(self, order: PlacedOrder) -> int | None:
        """Send the order's webhook again, byte for byte; the HTTP status Dropline answered."""
        raise NotImplementedError

    def fail_for(self, status: int, seconds: float) -> None:
        """Every API call of this store answers `status` for `seconds` (429 with Retry-After)."""
        raise NotImplementedError

    def described(self) -> dict[str, Any]:
        return {"platform": self.platform, "standin": self.url, "store": self.store}


# --------------------------------------------------------------------------- Shopify


class ShopifyDemoStore(DemoStore):
    platform, currency, standin = "shopify", "EUR", "shopify"
    shop = "demo-store.myshopify.com"

    def connect(self, gw: httpx.Client, retailer_id: str) -> dict[str, Any]:
        self.webhook_secret = "whsec_" + secrets.token_urlsafe(24)
        self.access_token = "shpat_" + secrets.token_hex(16)
        _ok(httpx.post(f"{self.url}/_control/shops", json={
            "shop_domain": self.shop, "access_token": self.access_token, "webhook_secret": self.webhook_secret,
            "webhook_url": self.webhook_url}))
        self.store = _ok(gw.post(f"/admin/v1/retailers/{retailer_id}/stores", json={
            "platform": "shopify", "shop": self.shop, "api_base_url": f"{self.url}/shops/{self.shop}",
            "webhook_secret": self.webhook_secret, "access_token": self.access_token}))
        return self.store

    def place(self, customer: Customer, lines: list[Line], *, deliver: bool = True) -> PlacedOrder:
        created = _ok(httpx.post(f"{self.url}/_control/shops/{self.shop}/orders", timeout=30, json={
            "currency": self.currency, "email": customer.email,
            "line_items": [{"sku": sku, "title": title, "quantity": qty, "price": price}
                           for sku, title, qty, price in lines],
            "shipping_address": {"first_name": customer.first, "last_name": customer.last,
                                 "address1": customer.street, "city": customer.city, "zip": customer.zip,
                                 "country_code": customer.country},
            "deliver_webhook": deliver}))
        order = created["order"]
        return PlacedOrder(platform_order_id=str(order["id"]), number=order["name"], raw=created)

    def tracking_numbers(self, order: PlacedOrder) -> list[str]:
        view = _ok(httpx.get(f"{self.url}/_control/shops/{self.shop}/orders/{order.platform_order_id}"))
        return [t["number"] for f in view["fulfillments"] for t in f["trackingInfo"]]

    def drop_next_webhooks(self, count: int = 1) -> None:
        _ok(httpx.post(f"{self.url}/_control/shops/{self.shop}/drop-webhooks", json={"count": count}))

    def order_webhook(self, order: PlacedOrder) -> dict[str, Any]:
        d = order.raw["delivery"]
        return {"id": d["webhook_id"], "url": self.webhook_url, "headers": d.get("headers", {}), "body": d.get("body")}

    def redeliver(self, order: PlacedOrder) -> int | None:
        r = _ok(httpx.post(f"{self.url}/_control/shops/{self.shop}/orders/{order.platform_order_id}/redeliver",
                           timeout=30))
        return r["status_code"]

    def fail_for(self, status: int, seconds: float) -> None:
        raise NotImplementedError("the Shopify stand-in throttles through its cost bucket instead")


# --------------------------------------------------------------------------- Ecwid


class EcwidDemoStore(DemoStore):
    platform, currency, standin = "ecwid", "USD", "ecwid"
    store_key = "1003"

    def connect(self, gw: httpx.Client, retailer_id: str) -> dict[str, Any]:
        self.client_secret = "ecwid_client_" + secrets.token_urlsafe(18)
        self.token = "secret_" + secrets.token_urlsafe(24)
        _ok(httpx.post(f"{self.url}/_control/stores", json={
            "store_id": self.store_key, "secret_token": self.token, "client_secret": self.client_secret,
            "currency": self.currency, "webhook_url": self.webhook_url, "store_name": "Demo Ecwid store"}))
        self.store = _ok(gw.post(f"/admin/v1/retailers/{retailer_id}/stores", json={
            "platform": "ecwid", "shop": self.store_key, "api_base_url": f"{self.url}/api/v3/{self.store_key}",
            "webhook_secret": self.client_secret, "access_token": self.token}))
        return self.store

    def place(self, customer: Customer, lines: list[Line], *, deliver: bool = True) -> PlacedOrder:
        subtotal = sum(Decimal(price) * qty for _, _, qty, price in lines)
        order = {
            "email": customer.email, "paymentStatus": "PAID", "fulfillmentStatus": "AWAITING_PROCESSING",
            "subtotal": float(subtotal), "total": float(subtotal + 5), "tax": 0, "pricesIncludeTax": False,
            "items": [{"id": 1_000_000 + i, "productId": 600_000 + i, "sku": sku, "name": title, "quantity": qty,
                       "price": float(Decimal(price)), "isShippingRequired": True}
                      for i, (sku, title, qty, price) in enumerate(lines)],
            "shippingPerson": {"name": f"{customer.first} {customer.last}", "firstName": customer.first,
                               "lastName": customer.last, "street": customer.street, "city": customer.city,
                               "countryCode": customer.country, "postalCode": customer.zip, "phone": ""},
            "shippingOption": {"shippingCarrierName": "USPS", "shippingMethodName": "USPS Priority Mail",
                               "shippingRate": 5.0, "isPickup": False},
        }
        created = _ok(httpx.post(f"{self.url}/_control/stores/{self.store_key}/orders",
                                 params={} if deliver else {"webhook": "false"}, json=order, timeout=30))
        o = created["order"]
        return PlacedOrder(platform_order_id=str(o["id"]), number=str(o["id"]), raw=created)

    def tracking_numbers(self, order: PlacedOrder) -> list[str]:
        view = _ok(httpx.get(f"{self.url}/_control/stores/{self.store_key}/orders/{order.platform_order_id}"))
        numbers = [w["body"].get("trackingNumber") for w in view["writes"] if w["body"].get("trackingNumber")]
        return list(dict.fromkeys(numbers))

    def drop_next_webhooks(self, count: int = 1) -> None:
        _ok(httpx.post(f"{self.url}/_control/webhooks/drop", json={"count": count}))

    def order_webhook(self, order: PlacedOrder) -> dict[str, Any]:
        return order.raw["webhook"]

    def redeliver(self, order: PlacedOrder) -> int | None:
        r = _ok(httpx.post(f"{self.url}/_control/webhooks/{order.raw['webhook']['id']}/redeliver", timeout=30))
        return r["attempts"][-1]["status_code"]

    def fail_for(self, status: int, seconds: float) -> None:
        _ok(httpx.post(f"{self.url}/_control/stores/{self.store_key}/failures",
                       json={"status": status, "seconds": seconds, "retry_after": 1}))


# --------------------------------------------------------------------------- BigCommerce


class BigCommerceDemoStore(DemoStore):
    platform, currency, standin = "bigcommerce", "GBP", "bigcommerce"
    store_key = "dl7demo"
    _next_id = 100

    def connect(self, gw: httpx.Client, retailer_id: str) -> dict[str, Any]:
        self.client_secret = "bc_client_" + secrets.token_urlsafe(18)
        self.token = "bc_" + secrets.token_hex(16)
        self.store = _ok(gw.post(f"/admin/v1/retailers/{retailer_id}/stores", json={
            "platform": "bigcommerce", "shop": self.store_key, "api_base_url": f"{self.url}/stores/{self.store_key}",
            "webhook_secret": self.client_secret, "access_token": self.token}))
        header = self.store["webhook_header"]
        _ok(httpx.post(f"{self.url}/_control/stores", json={
            "store_hash": self.store_key, "access_token": self.token, "client_secret": self.client_secret,
            "webhook_url": self.store["webhook_url"], "header_name": header["name"], "header_secret": header["value"]}))
        return self.store

    def place(self, customer: Customer, lines: list[Line], *, deliver: bool = True,
              status_id: int = 11) -> PlacedOrder:
        BigCommerceDemoStore._next_id += 1
        oid, address_id = BigCommerceDemoStore._next_id, 5000 + BigCommerceDemoStore._next_id
        subtotal = sum(Decimal(price) * qty for _, _, qty, price in lines)
        order = {"id": oid, "status_id": status_id, "currency_code": self.currency,
                 "default_currency_code": self.currency, "subtotal_ex_tax": str(subtotal),
                 "shipping_cost_inc_tax": "4.0000", "total_tax": "0.0000", "total_inc_tax": str(subtotal + 4),
                 "billing_address": {"first_name": customer.first, "last_name": customer.last,
                                     "email": customer.email}}
        products = [{"id": oid * 100 + i, "order_id": oid, "product_id": 70 + i, "variant_id": 900 + i,
                     "order_address_id": address_id, "sku": sku, "name": title, "quantity": qty,
                     "price_inc_tax": price, "total_inc_tax": str(Decimal(price) * qty), "quantity_shipped": 0}
                    for i, (sku, title, qty, price) in enumerate(lines)]
        addresses = [{"id": address_id, "order_id": oid, "first_name": customer.first, "last_name": customer.last,
                      "street_1": customer.street, "street_2": "", "city": customer.city, "state": "",
                      "zip": customer.zip, "country": customer.country, "country_iso2": customer.country,
                      "email": customer.email, "phone": "", "shipping_method": "Flat Rate", "cost_inc_tax": "4.0000"}]
        created = _ok(httpx.post(f"{self.url}/_control/stores/{self.store_key}/orders", timeout=30, json={
            "order": order, "products": products, "shipping_addresses": addresses, "deliver_webhook": deliver}))
        return PlacedOrder(platform_order_id=str(oid), number=str(oid), raw=created)

    def set_status(self, order: PlacedOrder, status_id: int) -> dict[str, Any]:
        return _ok(httpx.post(f"{self.url}/_control/stores/{self.store_key}/orders/{order.platform_order_id}/status",
                              json={"status_id": status_id}, timeout=30))

    def tracking_numbers(self, order: PlacedOrder) -> list[str]:
        view = _ok(httpx.get(f"{self.url}/_control/stores/{self.store_key}/orders/{order.platform_order_id}"))
        return [s["tracking_number"] for s in view["shipments"]]

    def drop_next_webhooks(self, count: int = 1) -> None:
        _ok(httpx.post(f"{self.url}/_control/stores/{self.store_key}/webhooks/drop", json={"count": count}))

    def order_webhook(self, order: PlacedOrder) -> dict[str, Any]:
        return order.raw["webhooks"][0]

    def redeliver(self, order: PlacedOrder) -> int | None:
        wid = order.raw["webhooks"][0]["id"]
        r = _ok(httpx.post(f"{self.url}/_control/stores/{self.store_key}/webhooks/{wid}/redeliver", json={},
                           timeout=30))
        return r["attempts"][-1]["status_code"]

    def fail_for(self, status: int, seconds: float) -> None:
        _ok(httpx.post(f"{self.url}/_control/stores/{self.store_key}/failures",
                       json={"status": status, "seconds": seconds}))


# --------------------------------------------------------------------------- Wix


class WixDemoStore(DemoStore):
    platform, currency, standin = "wix", "USD", "wix"

    def connect(self, gw: httpx.Client, retailer_id: str) -> dict[str, Any]:
        self.instance_id = str(uuid.uuid4())
        self.app_id = "dropline-demo-app"
        self.app_secret = "wix_app_" + secrets.token_urlsafe(18)
        site = _ok(httpx.post(f"{self.url}/_control/sites", json={
            "instance_id": self.instance_id, "app_id": self.app_id, "app_secret": self.app_secret,
            "webhook_url": self.webhook_url, "currency": self.currency}))
        self.store = _ok(gw.post(f"/admin/v1/retailers/{retailer_id}/stores", json={
            "platform": "wix", "shop": self.instance_id, "api_base_url": self.url,
            "webhook_secret": site["public_key_pem"],
            "credentials": {"app_id": self.app_id, "app_secret": self.app_secret, "instance_id": self.instance_id}}))
        return self.store

    def place(self, customer: Customer, lines: list[Line], *, deliver: bool = True) -> PlacedOrder:
        subtotal = sum(Decimal(price) * qty for _, _, qty, price in lines)
        money = lambda v: {"amount": str(v), "formattedAmount": f"${v}"}  # noqa: E731
        order = {
            "status": "APPROVED", "paymentStatus": "PAID", "fulfillmentStatus": "NOT_FULFILLED",
            "currency": self.currency, "buyerInfo": {"email": customer.email},
            "lineItems": [{"id": str(uuid.uuid4()), "productName": {"original": title},
                           "catalogReference": {"catalogItemId": str(uuid.uuid4()), "appId": "wix-stores"},
                           "quantity": qty, "physicalProperties": {"sku": sku, "shippable": True},
                           "price": money(Decimal(price))} for sku, title, qty, price in lines],
            "shippingInfo": {"code": "standard", "title": "Standard", "cost": {"price": money(Decimal("5.00"))},
                             "logistics": {"shippingDestination": {
                                 "address": {"country": customer.country, "city": customer.city,
                                             "postalCode": customer.zip, "addressLine": customer.street},
                                 "contactDetails": {"firstName": customer.first, "lastName": customer.last}}}},
            "priceSummary": {"subtotal": money(subtotal), "shipping": money(Decimal("5.00")),
                             "tax": money(Decimal("0")), "total": money(subtotal + 5)},
        }
        created = _ok(httpx.post(f"{self.url}/_control/sites/{self.instance_id}/orders",
                                 params={} if deliver else {"deliver": "false"}, json=order, timeout=30))
        o = created["order"]
        return PlacedOrder(platform_order_id=o["id"], number=str(o["number"]), raw=created)

    def tracking_numbers(self, order: PlacedOrder) -> list[str]:
        view = _ok(httpx.get(f"{self.url}/_control/sites/{self.instance_id}/orders/{order.platform_order_id}"))
        return [f["trackingInfo"]["trackingNumber"] for f in view["orderWithFulfillments"]["fulfillments"]
                if f.get("trackingInfo")]

    def drop_next_webhooks(self, count: int = 1) -> None:
        _ok(httpx.post(f"{self.url}/_control/sites/{self.instance_id}/webhooks/drop-next", json={"count": count}))

    def order_webhook(self, order: PlacedOrder) -> dict[str, Any]:
        """The Order Approved webhook (the one that carries the paid order)."""
        approved = next(w for w in order.raw["webhooks"] if w["event_type"].endswith("order_approved"))
        sent = _ok(httpx.get(f"{self.url}/_control/sites/{self.instance_id}/webhooks"))["webhooks"]
        return next(w for w in sent if w["id"] == approved["webhook_id"])

    def redeliver(self, order: PlacedOrder) -> int | None:
        wid = self.order_webhook(order)["id"]
        r = _ok(httpx.post(f"{self.url}/_control/sites/{self.instance_id}/webhooks/{wid}/redeliver", timeout=30))
        return r["status_code"]

    def fail_for(self, status: int, seconds: float) -> None:
        _ok(httpx.post(f"{self.url}/_control/sites/{self.instance_id}/failures",
                       json={"status": status, "seconds": seconds}))


DEMO_STORES: tuple[type[DemoStore], ...] = (ShopifyDemoStore, EcwidDemoStore, BigCommerceDemoStore, WixDemoStore)
