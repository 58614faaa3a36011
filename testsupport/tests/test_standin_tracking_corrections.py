"""The stand-in endpoints a tracking correction uses, checked against the platforms' documented shapes:
Shopify ``fulfillment(id:)`` + ``fulfillmentTrackingInfoUpdate``; BigCommerce ``GET|PUT
/v2/orders/{id}/shipments/{shipment_id}``; Wix Update Fulfillment ``PATCH
/ecom/v1/fulfillments/{fulfillmentId}/orders/{orderId}``; Ecwid's order PUT with its tracking history.
Auth, 404 for an unknown fulfilment/shipment, validation errors, and what the control API shows."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from dropline_testsupport.bigcommerce_standin import create_app as bigcommerce_app
from dropline_testsupport.bigcommerce_standin.samples import CLIENT_SECRET, STORE_HASH, TOKEN, sample
from dropline_testsupport.ecwid_standin import create_app as ecwid_app
from dropline_testsupport.harness import Receiver
from dropline_testsupport.shopify_standin import create_app as shopify_app
from dropline_testsupport.wix_standin import create_app as wix_app

# --------------------------------------------------------------------------- Shopify

SHOP = "fix-store.myshopify.com"
SHOP_TOKEN = "shpat_fix"
GRAPHQL = f"/shops/{SHOP}/admin/api/2025-10/graphql.json"
READ = "query($id: ID!) { fulfillment(id: $id) { id status order { id } trackingInfo(first: 5) { company number url } } }"
UPDATE = """mutation($id: ID!, $t: FulfillmentTrackingInput!, $n: Boolean) {
  fulfillmentTrackingInfoUpdate(fulfillmentId: $id, trackingInfoInput: $t, notifyCustomer: $n) {
    fulfillment { id trackingInfo(first: 5) { company number url } } userErrors { field message } } }"""


@pytest.fixture
async def shopify() -> AsyncIterator[httpx.AsyncClient]:
    app = shopify_app(shops=[{"shop_domain": SHOP, "access_token": SHOP_TOKEN, "webhook_secret": "s"}])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shopify.test") as client:
        yield client
    await app.state.standin.aclose()


async def gql(client: httpx.AsyncClient, query: str, variables: dict[str, Any],
              token: str = SHOP_TOKEN) -> httpx.Response:
    return await client.post(GRAPHQL, json={"query": query, "variables": variables},
                             headers={"X-Shopify-Access-Token": token})


async def shopify_fulfillment(client: httpx.AsyncClient) -> tuple[int, str]:
    created = (await client.post(f"/_control/shops/{SHOP}/orders", json={
        "deliver_webhook": False, "line_items": [{"sku": "MUG", "title": "Mug", "quantity": 1, "price": "5.00"}]})).json()
    fo = created["fulfillment_orders"][0]["id"]
    answer = await gql(client, """mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) {
        fulfillment { id } userErrors { field message } } }""",
                       {"f": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo}],
                              "trackingInfo": {"company": "UPS", "number": "1ZWRONG"}}})
    return created["order"]["id"], answer.json()["data"]["fulfillmentCreate"]["fulfillment"]["id"]


async def test_shopify_tracking_update_and_history(shopify: httpx.AsyncClient) -> None:
    order_id, fid = await shopify_fulfillment(shopify)
    read = (await gql(shopify, READ, {"id": fid})).json()
    assert read["data"]["fulfillment"]["trackingInfo"] == [
        {"company": "UPS", "number": "1ZWRONG", "url": "https://www.ups.com/track?tracknum=1ZWRONG"}]
    assert read["data"]["fulfillment"]["order"]["id"] == f"gid://shopify/Order/{order_id}"
    assert read["extensions"]["cost"]["requestedQueryCost"] > 0

    updated = (await gql(shopify, UPDATE, {"id": fid, "t": {"company": "UPS", "number": "1ZRIGHT"},
                                           "n": True})).json()["data"]["fulfillmentTrackingInfoUpdate"]
    assert updated["userErrors"] == []
    assert updated["fulfillment"]["trackingInfo"][0]["number"] == "1ZRIGHT"
    [fulfillment] = (await shopify.get(f"/_control/shops/{SHOP}/orders/{order_id}")).json()["fulfillments"]
    assert fulfillment["trackingNumber"] == "1ZRIGHT" and fulfillment["notifyCustomer"] is True
    [change] = fulfillment["trackingHistory"]
    assert [t["number"] for t in change["previous"]] == ["1ZWRONG"]
    assert [t["number"] for t in change["tracking"]] == ["1ZRIGHT"] and change["notifyCustomer"] is True


async def test_shopify_unknown_fulfillment_auth_and_input_rules(shopify: httpx.AsyncClient) -> None:
    _, fid = await shopify_fulfillment(shopify)
    assert (await gql(shopify, READ, {"id": "gid://shopify/Fulfillment/999999"})).json()["data"] == {"fulfillment": None}
    missing = (await gql(shopify, UPDATE, {"id": "gid://shopify/Fulfillment/999999", "t": {"number": "X"}})).json()
    assert missing["data"]["fulfillmentTrackingInfoUpdate"] == {
        "fulfillment": None, "userErrors": [{"field": ["fulfillmentId"], "message": "Fulfillment does not exist."}]}
    both = (await gql(shopify, UPDATE, {"id": fid, "t": {"number": "A", "numbers": ["B"]}})).json()
    assert both["data"]["fulfillmentTrackingInfoUpdate"]["userErrors"][0]["field"] == ["trackingInfoInput"]
    assert (await gql(shopify, READ, {"id": fid}, token="shpat_wrong")).status_code == 401


# --------------------------------------------------------------------------- BigCommerce

BC_AUTH = {"X-Auth-Token": TOKEN, "Accept": "application/json"}
V2 = f"/stores/{STORE_HASH}/v2"


@pytest.fixture
async def bc() -> AsyncIterator[tuple[httpx.AsyncClient, Receiver]]:
    receiver = Receiver()
    app = bigcommerce_app(webhook_transport=receiver.transport, stores=[{
        "store_hash": STORE_HASH, "store_id": "1025646", "access_token": TOKEN, "client_secret": CLIENT_SECRET}])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bc.test") as client:
        yield client, receiver
        await app.state.standin.aclose()


async def bc_shipment(client: httpx.AsyncClient) -> int:
    payload = sample()
    payload["order"]["id"] = 247
    assert (await client.post(f"/_control/stores/{STORE_HASH}/orders", json=payload)).status_code == 201
    resp = await client.post(f"{V2}/orders/247/shipments", headers=BC_AUTH, json={
        "order_address_id": 51, "tracking_number": "1ZWRONG", "shipping_provider": "ups",
        "items": [{"order_product_id": 65, "quantity": 1}]})
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


async def test_bigcommerce_put_shipment_as_ordershipment_put(bc: tuple[httpx.AsyncClient, Receiver]) -> None:
    client, receiver = bc
    hook = await client.post(f"/stores/{STORE_HASH}/v3/hooks", headers=BC_AUTH, json={
        "scope": "store/shipment/updated", "destination": "https://dropline.test/hooks", "is_active": True})
    assert hook.status_code == 200, hook.text
    shipment_id = await bc_shipment(client)
    resp = await client.put(f"{V2}/orders/247/shipments/{shipment_id}", headers=BC_AUTH, json={
        "tracking_number": "9400111899223856920000", "shipping_provider": "usps", "tracking_carrier": ""})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["id"], body["tracking_number"], body["shipping_provider"]) == (
        shipment_id, "9400111899223856920000", "usps")
    assert body["items"] == [{"order_product_id": 65, "product_id": 77, "quantity": 1}]  # untouched
    assert body["generated_tracking_link"].endswith("9400111899223856920000")
    assert "X-Rate-Limit-Requests-Left" in resp.headers
    got = await client.get(f"{V2}/orders/247/shipments/{shipment_id}", headers=BC_AUTH)
    assert got.json()["tracking_number"] == "9400111899223856920000"

    view = (await client.get(f"/_control/stores/{STORE_HASH}/orders/247")).json()
    assert view["tracking_numbers"] == {str(shipment_id): "9400111899223856920000"}
    [change] = view["tracking_changes"]
    assert (change["shipment_id"], change["previous"], change["tracking_number"]) == (
        shipment_id, "1ZWRONG", "9400111899223856920000")
    deliveries = (await client.get(f"/_control/stores/{STORE_HASH}/webhooks")).json()
    assert any(d.get("scope") == "store/shipment/updated" for d in deliveries["webhooks"]), deliveries


async def test_bigcommerce_put_shipment_refusals(bc: tuple[httpx.AsyncClient, Receiver]) -> None:
    client, _ = bc
    shipment_id = await bc_shipment(client)
    path = f"{V2}/orders/247/shipments/{shipment_id}"
    unknown = await client.put(f"{V2}/orders/247/shipments/999", headers=BC_AUTH, json={"tracking_number": "X"})
    assert unknown.status_code == 404 and unknown.json() == [{"status": 404,
                                                              "message": "The requested resource was not found."}]
    assert (await client.put(f"{V2}/orders/999/shipments/{shipment_id}", headers=BC_AUTH,
                             json={"tracking_number": "X"})).status_code == 404
    assert (await client.put(path, headers={**BC_AUTH, "X-Auth-Token": "nope"},
                             json={"tracking_number": "X"})).status_code == 401
    items = await client.put(path, headers=BC_AUTH, json={"items": [{"order_product_id": 65, "quantity": 1}]})
    assert items.status_code == 400 and "'items' cannot be written" in items.json()[0]["message"]
    for body in ({"tracking_number": "X" * 51}, {"shipping_provider": "dhl-express"}, {"order_address_id": 9}):
        refused = await client.put(path, headers=BC_AUTH, json=body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()[0]["status"] == 422
    assert (await client.get(path, headers=BC_AUTH)).json()["tracking_number"] == "1ZWRONG"


# --------------------------------------------------------------------------- Wix

INSTANCE = "inst-fix"
APP_ID, APP_SECRET = "app-fix", "secret-fix"
ORDER = {"status": "APPROVED", "paymentStatus": "PAID", "currency": "USD",
         "lineItems": [{"id": "00000000-0000-0000-0000-000000000001", "productName": {"original": "T-shirt"},
                        "quantity": 2, "price": {"amount": "20.00"}}]}


@pytest.fixture
async def wix() -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    app = wix_app(sites=[{"instance_id": INSTANCE, "app_id": APP_ID, "app_secret": APP_SECRET}])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wix.test") as http:
        token = (await http.post("/oauth2/token", json={"grant_type": "client_credentials", "client_id": APP_ID,
                                                        "client_secret": APP_SECRET, "instance_id": INSTANCE})).json()
        yield http, {"Authorization": token["access_token"]}


async def wix_fulfillment(http: httpx.AsyncClient, auth: dict[str, str]) -> tuple[str, str]:
    order = (await http.post(f"/_control/sites/{INSTANCE}/orders", json=ORDER)).json()["order"]
    created = await http.post(f"/ecom/v1/fulfillments/orders/{order['id']}/create-fulfillment", headers=auth, json={
        "fulfillment": {"lineItems": [{"id": ORDER["lineItems"][0]["id"], "quantity": 2}],
                        "trackingInfo": {"trackingNumber": "12345", "shippingProvider": "fedex"}}})
    assert created.status_code == 200, created.text
    return order["id"], created.json()["fulfillmentId"]


async def test_wix_update_fulfillment_as_documented(wix: tuple[httpx.AsyncClient, dict[str, str]]) -> None:
    http, auth = wix
    order_id, fid = await wix_fulfillment(http, auth)
    # Wix's own example: trackingNumber + trackingLink sent, shippingProvider kept
    resp = await http.patch(f"/ecom/v1/fulfillments/{fid}/orders/{order_id}", headers=auth, json={
        "fulfillment": {"trackingInfo": {
            "trackingNumber": "45782",
            "trackingLink": "https://www.fedex.com/apps/fedextrack/?action=track&trackingnumber=45782"}}})
    assert resp.status_code == 200, resp.text
    [f] = resp.json()["orderWithFulfillments"]["fulfillments"]
    assert resp.json()["orderWithFulfillments"]["orderId"] == order_id
    assert f["id"] == fid and f["lineItems"] == [{"id": ORDER["lineItems"][0]["id"], "quantity": 2}]
    assert f["trackingInfo"] == {"trackingNumber": "45782", "shippingProvider": "fedex",
                                 "trackingLink": "https://www.fedex.com/apps/fedextrack/?action=track&trackingnumber=45782"}
    # null removes a field; a fieldMask limits what applies
    masked = await http.patch(f"/ecom/v1/fulfillments/{fid}/orders/{order_id}", headers=auth, json={
        "fulfillment": {"trackingInfo": {"trackingNumber": "99999", "shippingProvider": "PostNL",
                                         "trackingLink": None}},
        "fieldMask": {"paths": ["trackingInfo.trackingNumber"]}})
    assert masked.json()["orderWithFulfillments"]["fulfillments"][0]["trackingInfo"]["shippingProvider"] == "fedex"
    view = (await http.get(f"/_control/sites/{INSTANCE}/orders/{order_id}")).json()
    assert view["trackingNumbers"] == {fid: "99999"}
    assert [(h["previous"]["trackingNumber"], h["trackingInfo"]["trackingNumber"])
            for h in view["trackingHistory"][fid]] == [("12345", "45782"), ("45782", "99999")]


async def test_wix_update_fulfillment_refusals(wix: tuple[httpx.AsyncClient, dict[str, str]]) -> None:
    http, auth = wix
    order_id, fid = await wix_fulfillment(http, auth)
    body = {"fulfillment": {"trackingInfo": {"trackingNumber": "1"}}}
    unknown = await http.patch(f"/ecom/v1/fulfillments/nope/orders/{order_id}", headers=auth, json=body)
    assert unknown.status_code == 404 and unknown.json()["details"]["applicationError"]["code"] == "NOT_FOUND"
    assert (await http.patch(f"/ecom/v1/fulfillments/{fid}/orders/nope", headers=auth, json=body)).status_code == 404
    assert (await http.patch(f"/ecom/v1/fulfillments/{fid}/orders/{order_id}", json=body)).status_code == 401
    lines = await http.patch(f"/ecom/v1/fulfillments/{fid}/orders/{order_id}", headers=auth, json={
        "fulfillment": {"lineItems": [{"id": ORDER["lineItems"][0]["id"], "quantity": 1}]}})
    assert lines.status_code == 400
    violation = lines.json()["details"]["validationError"]["fieldViolations"][0]
    assert violation["field"] == "fulfillment.lineItems"
    wrong_type = await http.patch(f"/ecom/v1/fulfillments/{fid}/orders/{order_id}", headers=auth, json={
        "fulfillment": {"trackingInfo": {"trackingNumber": 123}}})
    assert wrong_type.status_code == 400
    await http.post(f"/_control/sites/{INSTANCE}/failures", json={"status": 429, "seconds": 30})
    assert (await http.patch(f"/ecom/v1/fulfillments/{fid}/orders/{order_id}", headers=auth,
                             json=body)).status_code == 429


# --------------------------------------------------------------------------- Ecwid

ECWID_STORE, ECWID_TOKEN = "1003", "secret_fix"


async def test_ecwid_order_put_keeps_a_tracking_history() -> None:
    app = ecwid_app(stores=[{"store_id": ECWID_STORE, "secret_token": ECWID_TOKEN, "client_secret": "cs"}])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ecwid.test") as client:
        order = {"id": "FIX01", "items": [{"id": 1, "quantity": 1, "price": 1.0}], "trackingNumber": None}
        assert (await client.post(f"/_control/stores/{ECWID_STORE}/orders", json=order,
                                  params={"webhook": "false"})).status_code == 201
        auth = {"Authorization": f"Bearer {ECWID_TOKEN}"}
        path = f"/api/v3/{ECWID_STORE}/orders/FIX01"
        for number in ("1ZWRONG", "1ZRIGHT"):
            resp = await client.put(path, headers=auth, json={"trackingNumber": number, "trackingUrl": ""})
            assert resp.json() == {"updateCount": 1}
        await client.put(path, headers=auth, json={"privateAdminNotes": "note"})  # not a tracking change
        view = (await client.get(f"/_control/stores/{ECWID_STORE}/orders/FIX01")).json()
        assert view["tracking_number"] == "1ZRIGHT"
        assert [(h["previous"], h["trackingNumber"]) for h in view["tracking_history"]] == [
            (None, "1ZWRONG"), ("1ZWRONG", "1ZRIGHT")]
        assert (await client.put(f"/api/v3/{ECWID_STORE}/orders/NOPE", headers=auth,
                                 json={"trackingNumber": "X"})).status_code == 404
        assert (await client.put(path, json={"trackingNumber": "X"})).status_code == 403
        assert json.loads((await client.get(path, headers=auth)).content)["trackingNumber"] == "1ZRIGHT"
