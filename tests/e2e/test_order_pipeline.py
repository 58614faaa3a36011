"""One store order through every service to 'synced', and the ways deliveries go wrong."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from dropline_testsupport.ecb_standin.app import newest_business_day
from dropline_testsupport.ecb_standin.app import rates_for as ecb_rates_for
from dropline_testsupport.shopify_standin import sign_webhook

from .helpers import (
    by_supplier,
    create_store_order,
    dropline_orders,
    pay,
    wait_orders,
    wait_payable,
    wait_status,
)

pytestmark = pytest.mark.e2e


def shopify_order(stack, order_id: int) -> dict:
    return httpx.get(f"{stack.url('shopify')}/_control/shops/{stack.demo['shop']}/orders/{order_id}").json()


def fulfillments(stack, order_id: int) -> list[dict]:
    return shopify_order(stack, order_id)["fulfillments"]


def test_a_store_order_travels_every_service_and_is_synced_back(stack, api):
    created = create_store_order(stack)
    assert created["delivery"]["status_code"] == 200
    so = created["order"]
    rows = wait_orders(api, so["name"], 2)
    auto, manual = by_supplier(rows, stack, "auto"), by_supplier(rows, stack, "manual")
    assert (auto["status"], manual["status"]) == ("unpaid", "non_auto_order")

    # The retailer sees the checkout breakdown in EUR and USD, then pays by card.
    wait_payable(api, [auto["order_id"]])
    quote = api.post("/api/v1/checkout/quote", json={"order_ids": [auto["order_id"]]})
    assert quote.status_code == 200, quote.text
    # At today's ECB rate, as fetched from the ECB stand-in (the packaged data would be stale).
    fx = quote.json()["fx"]
    assert fx["source"] == "ECB euro foreign exchange reference rates, fetched " + stack.url("ecb") + \
        "/stats/eurofxref/eurofxref-hist-90d.xml"
    # The stand-in's newest business day as of today, or as of yesterday when the stack fetched its
    # rates before midnight UTC and this quote comes after it.
    today = datetime.now(UTC).date()
    days = {newest_business_day(d).isoformat(): newest_business_day(d) for d in (today, today - timedelta(days=1))}
    assert fx["rate_date"] in days, fx
    assert Decimal(fx["rate"]) == Decimal(ecb_rates_for(days[fx["rate_date"]])["USD"])
    paid = pay(api, [auto["order_id"]])
    assert paid.status_code == 201, paid.text
    assert paid.json()["status"] == "succeeded"

    forwarded = wait_status(api, auto["order_id"], "forwarded")
    supplier_orders = httpx.get(f"{stack.url('supplier')}/_control/orders").json()["orders"]
    mine = [o for o in supplier_orders if o["external_id"] == auto["order_id"]]
    assert len(mine) == 1 and forwarded["supplier_order_id"] == mine[0]["id"]
    assert sorted(line["sku"] for line in mine[0]["lines"]) == ["BG-LAMP-7", "BG-MUG-01"]

    # The supplier ships and reports tracking to Dropline's supplier API.
    shipped = httpx.post(f"{stack.url('supplier')}/_control/orders/{mine[0]['id']}/ship", json={}, timeout=30)
    assert shipped.status_code < 300, shipped.text
    synced = wait_status(api, auto["order_id"], "synced")
    number = synced["tracking"][0]["tracking_number"]

    # The non-auto-order part: the retailer types the tracking number in.
    t = api.post(f"/api/v1/orders/{manual['order_id']}/tracking", json={"tracking_number": "9400111899223344556677"})
    assert t.status_code == 201, t.text
    assert t.json()["carrier"] == "USPS"
    wait_status(api, manual["order_id"], "synced")

    # The store got one fulfilment per Dropline order, each with only that supplier's lines.
    fs = fulfillments(stack, so["id"])
    numbers = sorted(tr["number"] for f in fs for tr in f["trackingInfo"])
    assert numbers == sorted([number, "9400111899223344556677"])

    timeline = [e["status"] for e in api.get(f"/api/v1/orders/{auto['order_id']}").json()["timeline"] if e["status"]]
    # TrackingAdded and OrderSynced travel on two topics: when the read model applies the sync first,
    # the order goes from forwarded straight to synced (shipments.py), never backwards.
    assert timeline[:4] == ["unpaid", "payment_pending", "paid", "forwarded"], timeline
    assert timeline[4:] in (["shipped", "synced"], ["synced"], ["synced", "synced"]), timeline


def test_the_same_webhook_three_times_makes_one_dropline_order_per_supplier(stack, api):
    created = create_store_order(stack, lines=[{"sku": "MUG-BLUE", "title": "Blue mug", "quantity": 1, "price": "9.99"}])
    so = created["order"]
    for _ in range(2):
        r = httpx.post(f"{stack.url('shopify')}/_control/shops/{stack.demo['shop']}/orders/{so['id']}/redeliver", timeout=30)
        assert r.status_code == 200 and r.json()["status_code"] == 200, r.text
    # And the same order under another delivery id (e.g. a second subscription): still one order.
    body = json.dumps(so).encode()
    r = httpx.post(stack.url("gateway") + "/webhooks/shopify", content=body, headers={
        "X-Shopify-Hmac-Sha256": sign_webhook(body, stack.demo["webhook_secret"]), "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": stack.demo["shop"], "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-API-Version": "2025-10", "Content-Type": "application/json"})
    assert r.json()["status"] == "accepted"
    wait_orders(api, so["name"], 1)
    import time

    time.sleep(2)  # give any duplicate time to show up
    assert len(dropline_orders(api, so["name"])) == 1


def test_tampered_unsigned_malformed_and_unknown_shop_deliveries_are_refused(stack, api):
    created = create_store_order(stack, deliver=False)
    so = created["order"]
    body = json.dumps(so).encode()
    good = {"X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": stack.demo["shop"],
            "X-Shopify-Webhook-Id": str(uuid.uuid4()), "X-Shopify-API-Version": "2025-10"}
    url = stack.url("gateway") + "/webhooks/shopify"
    sig = sign_webhook(body, stack.demo["webhook_secret"])
    tampered = body.replace(b'"quantity": 2', b'"quantity": 20')
    assert tampered != body

    def last_webhook():
        stores = api.get("/api/v1/stores").json()["stores"]
        [store] = [s for s in stores if s["store_id"] == stack.demo["store"]["store_id"]]
        return store["health"]["last_webhook_at"]

    before = last_webhook()
    assert httpx.post(url, content=tampered, headers={**good, "X-Shopify-Hmac-Sha256": sig}).status_code == 401
    assert httpx.post(url, content=body, headers=good).status_code == 401
    bad_json = b"{not json"
    r = httpx.post(url, content=bad_json, headers={**good, "X-Shopify-Hmac-Sha256": sign_webhook(bad_json, stack.demo["webhook_secret"])})
    assert r.status_code == 400 and r.json()["error"] == "malformed_json"
    r = httpx.post(url, content=body, headers={**good, "X-Shopify-Shop-Domain": "other.myshopify.com",
                                               "X-Shopify-Hmac-Sha256": sig})
    assert r.status_code == 404 and r.json()["error"] == "unknown_shop"
    assert last_webhook() == before  # none of them was stored (the order itself still arrives by reconciliation)


def test_two_concurrent_bulk_payments_sharing_an_order_charge_it_once(stack, api):
    import concurrent.futures

    names = []
    for _ in range(3):
        names.append(create_store_order(stack, lines=[{"sku": "LAMP-01", "title": "Lamp", "quantity": 1, "price": "39.00"}])["order"]["name"])
    ids = [wait_orders(api, n, 1)[0]["order_id"] for n in names]
    wait_payable(api, ids)
    stripe = httpx.Client(base_url=stack.url("localstripe"), auth=("sk_test_dropline_local", ""))
    before = len(stripe.get("/v1/payment_intents", params={"limit": 100}).json()["data"])
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        a, b = pool.map(lambda o: api.post("/api/v1/payments", headers={"Idempotency-Key": str(uuid.uuid4())},
                                           json={"order_ids": o, "method": "card", "payment_method": "pm_card_visa"}),
                        [[ids[0], ids[1]], [ids[1], ids[2]]])
    codes = sorted([a.status_code, b.status_code])
    assert codes == [201, 409], (a.text, b.text)
    after = stripe.get("/v1/payment_intents", params={"limit": 100}).json()["data"]
    assert len(after) == before + 1
    winner = a if a.status_code == 201 else b
    assert ids[1] in winner.json()["order_ids"]
    wait_status(api, ids[1], "forwarded")
