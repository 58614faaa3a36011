"""Demo data and the demo order.

`load_demo_data(stack)` registers, through the same operator API anyone would use: a retailer with a
web sign-in, one store of each platform (Shopify, Ecwid, BigCommerce, Wix — each in its stand-in,
demo_stores.py), three auto-order suppliers (EUR, GBP, and one EUR supplier that accepts PayPal only,
each served by its own supplier stand-in) and a non-auto-order supplier, and listings; then it places a dozen store orders spread over the four
stores, whose stand-ins send their platforms' signed webhooks, so the Orders page has unpaid orders
of both auto-order suppliers, non-auto-order orders, one order with an unmatched line and one order
sold below its cost (the price check flags it "Loses money"). The stores'
secrets and tokens are generated here, given to the stand-ins (which sign as their platforms sign)
and to Dropline's store connections; everything is saved in <data-dir>/demo.json (the web sign-in
under "web").

`python -m dropline_testsupport.demo` (make demo) sends a signed orders/create webhook for a store
order with lines from both suppliers, pays the auto-order part by card through the retailer API,
adds tracking to the non-auto-order part as the retailer would, and prints each status change
until both Dropline orders are synced back to the store.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from pathlib import Path

import httpx

from .demo_stores import DEMO_STORES, Customer, DemoStore

SHOP = "demo-store.myshopify.com"
DEMO_EMAIL = "demo@dropline.example"
LISTINGS = [  # store SKU, supplier key, supplier SKU, unit cost (supplier currency)
    ("MUG-BLUE", "auto", "BG-MUG-01", "6.40"),
    ("LAMP-01", "auto", "BG-LAMP-7", "18.25"),
    ("TEA-SET", "uk", "LHG-TEA-4", "12.80"),
    ("SCARF-WOOL", "uk", "LHG-SCARF-2", "9.50"),
    ("BASKET-L", "manual", "CC-BASKET-L", "9.00"),
    ("CANDLE-SOY", "manual", "CC-CANDLE-S", "4.25"),
    ("CLOCK-WALL", "auto", "BG-CLOCK-3", "21.50"),  # sold below cost: the price check flags its order
    ("VASE-TILE", "pp", "LA-VASE-7", "11.00"),  # a supplier paid by PayPal only
]
ITEMS = {"MUG-BLUE": ("Blue mug", "14.99"), "LAMP-01": ("Desk lamp", "39.00"), "TEA-SET": ("Tea set", "32.00"),
         "SCARF-WOOL": ("Wool scarf", "24.50"), "BASKET-L": ("Large basket", "24.00"),
         "CANDLE-SOY": ("Soy candle", "11.00"), "POSTER-A2": ("Poster A2 (no listing)", "15.00"),
         "CLOCK-WALL": ("Wall clock (clearance)", "19.90"), "VASE-TILE": ("Tiled vase", "34.00")}
DEMO_ORDERS = [  # customer, city, country code, [(store SKU, quantity)]
    ("Jane Doe", "Berlin", "DE", [("MUG-BLUE", 2), ("LAMP-01", 1), ("BASKET-L", 1)]),
    ("Luca Bianchi", "Milan", "IT", [("MUG-BLUE", 1)]),
    ("Amelie Martin", "Lyon", "FR", [("LAMP-01", 2)]),
    ("Oliver Smith", "Leeds", "GB", [("TEA-SET", 1), ("SCARF-WOOL", 1)]),
    ("Sofia Garcia", "Madrid", "ES", [("MUG-BLUE", 3), ("LAMP-01", 1)]),
    ("Noah Jensen", "Aarhus", "DK", [("SCARF-WOOL", 2)]),
    ("Emma Visser", "Utrecht", "NL", [("CANDLE-SOY", 2)]),
    ("Liam Murphy", "Cork", "IE", [("TEA-SET", 1), ("CANDLE-SOY", 1)]),
    ("Mia Novak", "Brno", "CZ", [("MUG-BLUE", 1), ("POSTER-A2", 1)]),
    ("Ethan Brown", "Austin", "US", [("LAMP-01", 1)]),
    ("Chloe Dubois", "Ghent", "BE", [("BASKET-L", 1)]),
    ("Jonas Weber", "Vienna", "AT", [("MUG-BLUE", 2)]),
    # 19.90 EUR paid for a clock that costs 21.50 + 4.90 shipping + 19 % VAT = 31.42 EUR: "Loses money".
    ("Lena Fischer", "Hamburg", "DE", [("CLOCK-WALL", 1)]),
    ("Inês Costa", "Porto", "PT", [("VASE-TILE", 1)]),
]


def _ok(resp: httpx.Response) -> dict:
    if resp.status_code >= 400:
        raise RuntimeError(f"{resp.request.method} {resp.request.url} -> {resp.status_code}: {resp.text}")
    return resp.json() if resp.content else {}


def load_demo_data(stack, *, auto_ship_after_seconds: float | None = 2.0,
                   supplier_rate_limit: float | None = 10.0, demo_orders: bool = True) -> dict:
    from .devstack import ADMIN_TOKEN

    gw = httpx.Client(base_url=stack.url("gateway"), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30)
    order_api_keys = {who: "sk_supplier_" + secrets.token_hex(12) for who in ("auto", "uk", "pp")}
    password = "demo-" + secrets.token_urlsafe(9)

    retailer = _ok(gw.post("/admin/v1/retailers", json={"name": "Demo Retailer"}))
    _ok(gw.post(f"/admin/v1/retailers/{retailer['retailer_id']}/users",
                json={"email": DEMO_EMAIL, "password": password}))
    # One store of each platform, each in its own stand-in, connected as an operator would.
    stores = {cls.platform: cls(stack.url(cls.standin), stack.url("gateway")) for cls in DEMO_STORES}
    for store in stores.values():
        store.connect(gw, retailer["retailer_id"])
    auto = _ok(gw.post("/admin/v1/suppliers", json={
        "name": "Berlin Gadgets GmbH", "currency": "EUR", "auto_order": True, "payment_methods": ["card", "paypal"],
        "paypal_merchant_id": "BGGMBH7QX4KZ2",
        "website_url": "https://berlin-gadgets.example", "vat_rate": "0.19", "shipping_first_item": "4.90",
        "shipping_additional_item": "1.50", "handling_days": 2, "order_api_url": stack.url("supplier"),
        "order_api_key": order_api_keys["auto"]}))
    uk = _ok(gw.post("/admin/v1/suppliers", json={
        "name": "London Home Goods Ltd", "currency": "GBP", "auto_order": True, "payment_methods": ["card"],
        "website_url": "https://london-home-goods.example", "vat_rate": "0.20", "shipping_first_item": "3.95",
        "shipping_additional_item": "1.00", "handling_days": 3, "order_api_url": stack.url("supplier2"),
        "order_api_key": order_api_keys["uk"]}))
    paypal_only = _ok(gw.post("/admin/v1/suppliers", json={
        "name": "Lisbon Azulejos Lda (PayPal only)", "currency": "EUR", "auto_order": True,
        "payment_methods": ["paypal"], "website_url": "https://lisbon-azulejos.example", "vat_rate": "0.23",
        "shipping_first_item": "6.50", "shipping_additional_item": "2.00", "handling_days": 4,
        "order_api_url": stack.url("supplier3"), "order_api_key": order_api_keys["pp"],
        "paypal_email": "payments@lisbon-azulejos.example"}))
    manual = _ok(gw.post("/admin/v1/suppliers", json={
        "name": "Crafts Co (no auto-order)", "currency": "USD", "auto_order": False,
        "website_url": "https://crafts-co.example/search", "vat_rate": "0", "shipping_first_item": "5.00"}))
    suppliers = {"auto": auto, "uk": uk, "pp": paypal_only, "manual": manual}
    for store in stores.values():  # every store sells the same products
        for sku, who, supplier_sku, cost in LISTINGS:
            _ok(gw.put(f"/admin/v1/retailers/{retailer['retailer_id']}/listings", json={
                "store_id": store.store_id, "sku": sku, "supplier_id": suppliers[who]["supplier_id"],
                "supplier_sku": supplier_sku, "unit_cost": cost}))

    # Each supplier accepts orders with its key and reports tracking to Dropline's supplier API with the
    # key Dropline issued to it.
    for who, standin, carrier in (("auto", "supplier", "UPS"), ("uk", "supplier2", "DHL Express"),
                                  ("pp", "supplier3", "DHL Express")):
        _ok(httpx.post(f"{stack.url(standin)}/_control/configure", json={
            "api_key": order_api_keys[who], "catalog": [s for _, w, s, _ in LISTINGS if w == who],
            "dropline_tracking_url": stack.url("gateway") + "/supplier/v1/orders/{external_id}/tracking",
            "dropline_api_key": suppliers[who]["api_key"], "auto_ship_after_seconds": auto_ship_after_seconds,
            "carrier": carrier, "rate_limit_per_second": supplier_rate_limit}))

    shopify = stores["shopify"]
    demo = {"gateway": stack.url("gateway"), "shopify": stack.url("shopify"), "supplier": stack.url("supplier"),
            "shop": shopify.shop, "webhook_secret": shopify.webhook_secret, "retailer": retailer,
            "store": shopify.store, "stores": {p: s.described() for p, s in stores.items()},
            "web": {"url": stack.url("gateway") + "/", "email": DEMO_EMAIL, "password": password},
            "suppliers": {who: {k: s[k] for k in ("supplier_id", "api_key")} for who, s in suppliers.items()},
            # The keys the supplier stand-ins accept on their order APIs (tests register more suppliers there).
            "order_api_keys": order_api_keys}
    (stack.data_dir / "demo.json").write_text(json.dumps(demo, indent=2))
    wait_for_catalog(stack.url("order-ingest"), stores=len(stores), suppliers=len(suppliers),
                     listings=len(LISTINGS) * len(stores))
    stack.demo_stores = stores
    if demo_orders:
        place_demo_orders(demo, stores)
    return demo


def place_demo_orders(demo: dict, stores: dict[str, DemoStore], timeout: float = 120.0) -> int:
    """The demo store orders, spread over the four stores (each stand-in sends its platform's signed
    webhook); returns once the retailer's Orders list shows every Dropline order they split into."""
    expected = 0
    platforms = list(stores)
    for n, (customer, city, country, lines) in enumerate(DEMO_ORDERS):
        first, last = customer.split(" ", 1)
        store = stores[platforms[n % len(platforms)]]
        store.place(Customer(first, last, city, country, street=f"{10 + n} Market Street", zip=f"{1000 + 37 * n}"),
                    [(sku, ITEMS[sku][0], qty, ITEMS[sku][1]) for sku, qty in lines])
        owners = {next((w for s, w, _, _ in LISTINGS if s == sku), "unmatched") for sku, _ in lines}
        expected += len(owners)
    api = httpx.Client(base_url=demo["gateway"], timeout=30,
                       headers={"Authorization": f"Bearer {demo['retailer']['api_key']}"})
    deadline = time.monotonic() + timeout
    total = 0
    while time.monotonic() < deadline:
        total = _ok(api.get("/api/v1/orders", params={"limit": 1}))["total"]
        if total >= expected:
            return total
        time.sleep(0.3)
    raise TimeoutError(f"only {total} of the {expected} demo Dropline orders arrived")


def wait_for_catalog(order_ingest_url: str, *, stores: int, suppliers: int, listings: int, timeout: float = 60) -> None:
    """Orders only split correctly once order-ingest has the listings: wait for the catalog events."""
    deadline = time.monotonic() + timeout
    counts = {}
    while time.monotonic() < deadline:
        counts = httpx.get(order_ingest_url + "/internal/v1/catalog", timeout=5).json()
        if counts.get("stores", 0) >= stores and counts.get("suppliers", 0) >= suppliers \
                and counts.get("listings", 0) >= listings:
            return
        time.sleep(0.2)
    raise TimeoutError(f"order-ingest has not seen the demo catalog: {counts}")


def print_banner(stack, demo: dict | None) -> None:
    lines = ["", "Dropline is running."]
    if demo:
        lines += [
            "",
            f"  Open the web app   {demo['web']['url']}",
            f"  and sign in with   {demo['web']['email']}  /  {demo['web']['password']}",
        ]
    lines += [
        "",
        f"  Gateway (API + webhooks)  {stack.url('gateway')}   OpenAPI docs: {stack.url('gateway')}/docs",
        f"  order-ingest {stack.url('order-ingest')}  checkout {stack.url('checkout')}  "
        f"forwarder {stack.url('forwarder')}  tracking-sync {stack.url('tracking-sync')}",
        f"  Kafka-compatible broker   {stack.bootstrap}",
        f"  localstripe               {stack.url('localstripe')}    ECB rates stand-in {stack.url('ecb')}",
        f"  Store stand-ins           Shopify {stack.url('shopify')}  Ecwid {stack.url('ecwid')}  "
        f"BigCommerce {stack.url('bigcommerce')}  Wix {stack.url('wix')}",
        f"  Supplier stand-ins        {stack.url('supplier')}, {stack.url('supplier2')}, {stack.url('supplier3')}"
        f"    PayPal stand-in {stack.url('paypal')}",
        f"  Logs and SQLite files     {stack.data_dir}",
    ]
    if demo:
        lines += [
            "", "Demo data (saved in " + str(stack.data_dir / "demo.json") + "):",
            f"  retailer API key   {demo['retailer']['api_key']}",
            "  Demo stores        " + ", ".join(f"{p} {d['store']['shop']}" for p, d in demo["stores"].items())
            + " (secrets generated at start, in demo.json)",
            "  Test cards         4242 4242 4242 4242 pays; 4000 0000 0000 0341 is declined; 4000 0025 0000 3155 asks "
            "for 3-D Secure (any future date, any CVC)",
            "  PayPal             Lisbon Azulejos accepts PayPal only: Pay goes to the PayPal stand-in's approval page",
            "", "Send a signed demo order and follow it to 'synced':   make demo",
            f"List orders:   curl -H 'Authorization: Bearer {demo['retailer']['api_key']}' {stack.url('gateway')}/api/v1/orders",
        ]
    lines += ["", "Press Ctrl-C to stop everything.", ""]
    print("\n".join(lines), flush=True)


# --------------------------------------------------------------------------- the demo order

def send_demo_order(demo: dict, *, out=print, timeout: float = 90.0) -> dict[str, str]:
    api = httpx.Client(base_url=demo["gateway"], timeout=60,
                       headers={"Authorization": f"Bearer {demo['retailer']['api_key']}"})
    created = _ok(httpx.post(f"{demo['shopify']}/_control/shops/{demo['shop']}/orders", timeout=30, json={
        "currency": "EUR", "email": "jane.doe@example.com",
        "line_items": [{"sku": "MUG-BLUE", "title": "Blue mug", "quantity": 2, "price": "14.99"},
                       {"sku": "LAMP-01", "title": "Desk lamp", "quantity": 1, "price": "39.00"},
                       {"sku": "BASKET-L", "title": "Large basket", "quantity": 1, "price": "24.00"}],
        "shipping_address": {"first_name": "Jane", "last_name": "Doe", "address1": "Hauptstrasse 5",
                             "city": "Berlin", "zip": "10115", "country": "Germany", "country_code": "DE",
                             "phone": "+49 30 1234567"},
        "deliver_webhook": True}))
    order = created["order"]
    out(f"Shopify order {order['name']} (id {order['id']}) created; webhook answered "
        f"{created['delivery']['status_code']}")
    # Wait for the Dropline orders of this store order to appear.
    deadline = time.monotonic() + timeout
    mine: list[dict] = []
    while time.monotonic() < deadline and len(mine) < 2:
        rows = _ok(api.get("/api/v1/orders", params={"limit": 200}))["orders"]
        mine = [r for r in rows if r["platform_order_number"] == order["name"]]
        time.sleep(0.2)
    if len(mine) < 2:
        raise TimeoutError(f"Dropline orders for {order['name']} did not appear")
    last: dict[str, str] = {}

    def show():
        for r in mine:
            row = _ok(api.get(f"/api/v1/orders/{r['order_id']}"))
            if last.get(r["order_id"]) != row["status"]:
                last[r["order_id"]] = row["status"]
                out(f"  {row['order_number']:>9}  {row['supplier']['name'] if row['supplier'] else '-':<28} {row['status']}")
    show()
    for r in mine:
        if last[r["order_id"]] == "unpaid":
            wait_payable(api, [r["order_id"]], timeout=timeout)
            quote = _ok(api.post("/api/v1/checkout/quote", json={"order_ids": [r["order_id"]]}))
            t = quote["total"]
            out(f"  checkout: {t['supplier_currency']['currency']} product {t['supplier_currency']['product_cost']} + "
                f"shipping {t['supplier_currency']['shipping']} + VAT {t['supplier_currency']['vat']} = "
                f"{t['supplier_currency']['total']}  ->  USD {t['usd']['total']} "
                f"(ECB rate {quote['fx']['rate']} of {quote['fx']['rate_date']})")
            pay = _ok(api.post("/api/v1/payments", headers={"Idempotency-Key": f"demo-{r['order_id']}"},
                               json={"order_ids": [r["order_id"]], "method": "card", "payment_method": "pm_card_visa"}))
            out(f"  paid: payment {pay.get('payment_id')} status {pay.get('status')}")
        elif last[r["order_id"]] == "non_auto_order":
            t = _ok(api.post(f"/api/v1/orders/{r['order_id']}/tracking",
                             json={"tracking_number": "9400111899223344556677", "carrier": "USPS"}))
            out(f"  retailer added tracking {t.get('tracking_id')} to the non-auto-order order")
    while time.monotonic() < deadline:
        show()
        if all(v == "synced" for v in last.values()):
            out("Both Dropline orders are synced back to the Shopify store.")
            return last
        if any(v == "failed" for v in last.values()):
            break
        time.sleep(0.3)
    raise RuntimeError(f"demo did not reach synced: {last}")


def wait_payable(api: httpx.Client, order_ids: list[str], timeout: float = 60.0) -> None:
    """checkout learns of an order from its own consumer, a moment after the order list shows it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        groups = _ok(api.get("/api/v1/unpaid"))["suppliers"]
        if set(order_ids) <= {oid for g in groups for oid in g["order_ids"]}:
            return
        time.sleep(0.2)
    raise TimeoutError(f"checkout does not list {order_ids} as unpaid")


def main() -> None:
    parser = argparse.ArgumentParser(description="Send a signed demo order and follow it to synced (make demo).")
    parser.add_argument("--data-dir", default="var")
    args = parser.parse_args()
    path = Path(args.data_dir) / "demo.json"
    if not path.exists():
        sys.exit(f"{path} not found: start the system first with `make run` (in another terminal)")
    send_demo_order(json.loads(path.read_text()))


if __name__ == "__main__":
    main()
