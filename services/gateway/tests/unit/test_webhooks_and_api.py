"""Gateway HTTP behaviour in-process on a SQLite file (no broker: outbox rows are inspected directly)."""

import base64
import hashlib
import hmac
import json

import httpx
import pytest
from sqlmodel import select

from dropline_infra.migrations import upgrade
from dropline_infra.models import OutboxMessage
from gateway.app import MIGRATIONS, build
from gateway.models import WebhookDelivery
from gateway.settings import Settings

SECRET = "whsec_test_secret_value"
SHOP = "unit-shop.myshopify.com"
ADMIN = {"Authorization": "Bearer dev-admin-token"}


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
async def gw(tmp_path):
    settings = Settings(data_dir=tmp_path, environment="test")
    upgrade("gateway", settings.database_url, MIGRATIONS)
    svc = build(settings)
    transport = httpx.ASGITransport(app=svc.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        retailer = (await client.post("/admin/v1/retailers", json={"name": "R"}, headers=ADMIN)).json()
        store = await client.post(f"/admin/v1/retailers/{retailer['retailer_id']}/stores", headers=ADMIN, json={
            "platform": "shopify", "shop": SHOP, "webhook_secret": SECRET, "access_token": "shpat_0123456789"})
        assert store.status_code == 201, store.text
        client.svc = svc
        client.retailer = retailer
        yield client
    await svc.db.dispose()


def order_body(order_id=1001) -> bytes:
    return json.dumps({"id": order_id, "name": f"#{order_id}", "currency": "EUR",
                       "line_items": [{"id": 1, "sku": "A", "title": "A", "quantity": 1, "price": "1.00"}]}).encode()


def headers(body: bytes, webhook_id="wh-1", signature=None, shop=SHOP):
    return {"X-Shopify-Hmac-Sha256": signature if signature is not None else sign(body),
            "X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": shop,
            "X-Shopify-Webhook-Id": webhook_id, "X-Shopify-API-Version": "2025-10",
            "Content-Type": "application/json"}


async def stored(gw):
    async with gw.svc.db.uow() as uow:
        deliveries = (await uow.session.exec(select(WebhookDelivery))).all()
        events = (await uow.session.exec(select(OutboxMessage).where(
            OutboxMessage.topic == "dropline.store-webhook-received.v1"))).all()
    return len(deliveries), len(events)


async def test_a_signed_webhook_is_stored_with_one_event_before_200(gw):
    body = order_body()
    r = await gw.post("/webhooks/shopify", content=body, headers=headers(body))
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert await stored(gw) == (1, 1)


async def test_deliveries_are_keyed_by_store_order_so_one_store_spreads_over_partitions(gw):
    for webhook_id, order_id, topic in [("wh-a", 1001, "orders/create"), ("wh-b", 1002, "orders/create"),
                                        ("wh-c", 1001, "orders/updated")]:
        body = order_body(order_id)
        r = await gw.post("/webhooks/shopify", content=body, headers={**headers(body, webhook_id),
                                                                      "X-Shopify-Topic": topic})
        assert r.json()["status"] == "accepted", r.text
    async with gw.svc.db.uow() as uow:
        rows = (await uow.session.exec(select(OutboxMessage).where(
            OutboxMessage.topic == "dropline.store-webhook-received.v1").order_by(OutboxMessage.id))).all()
        store_id = (await uow.session.exec(select(WebhookDelivery))).first().store_id
    assert [r.key for r in rows] == [f"{store_id}:1001", f"{store_id}:1002", f"{store_id}:1001"]


async def test_the_same_delivery_three_times_is_stored_once(gw):
    body = order_body()
    statuses = [(await gw.post("/webhooks/shopify", content=body, headers=headers(body))).json()["status"]
                for _ in range(3)]
    assert statuses == ["accepted", "duplicate", "duplicate"]
    assert await stored(gw) == (1, 1)


@pytest.mark.parametrize("case", ["tampered_body", "wrong_secret", "missing_signature", "empty_signature"])
async def test_bad_or_missing_signature_is_401_and_nothing_is_stored(gw, case):
    body = order_body()
    h = headers(body)
    if case == "tampered_body":
        body = body.replace(b'"1.00"', b'"0.01"')
    elif case == "wrong_secret":
        h["X-Shopify-Hmac-Sha256"] = sign(body, "another-secret")
    elif case == "missing_signature":
        del h["X-Shopify-Hmac-Sha256"]
    else:
        h["X-Shopify-Hmac-Sha256"] = ""
    r = await gw.post("/webhooks/shopify", content=body, headers=h)
    assert r.status_code == 401, r.text
    assert r.json()["error"] in {"invalid_signature", "missing_signature"}
    assert await stored(gw) == (0, 0)


async def test_malformed_json_unknown_shop_and_missing_headers_are_4xx_with_a_reason(gw):
    bad = b'{"id": 1, "line_items": ['
    r = await gw.post("/webhooks/shopify", content=bad, headers=headers(bad))
    assert r.status_code == 400 and r.json()["error"] == "malformed_json"
    utf16 = '{"id": 1}'.encode("utf-16")
    r = await gw.post("/webhooks/shopify", content=utf16, headers=headers(utf16))
    assert r.status_code == 400 and r.json()["error"] == "malformed_json"
    not_object = b"[1, 2]"
    r = await gw.post("/webhooks/shopify", content=not_object, headers=headers(not_object))
    assert r.status_code == 400
    body = order_body()
    r = await gw.post("/webhooks/shopify", content=body, headers=headers(body, shop="nobody.myshopify.com"))
    assert r.status_code == 404 and r.json()["error"] == "unknown_shop"
    h = headers(body)
    del h["X-Shopify-Webhook-Id"]
    r = await gw.post("/webhooks/shopify", content=body, headers=h)
    assert r.status_code == 400 and "X-Shopify-Webhook-Id" in r.json()["message"]
    assert await stored(gw) == (0, 0)


async def test_apis_need_their_own_keys(gw):
    assert (await gw.get("/api/v1/orders")).status_code == 401
    assert (await gw.get("/api/v1/orders", headers={"Authorization": "Bearer nope"})).status_code == 401
    ok = await gw.get("/api/v1/orders", headers={"Authorization": f"Bearer {gw.retailer['api_key']}"})
    assert ok.status_code == 200 and ok.json()["total"] == 0
    assert (await gw.post("/admin/v1/retailers", json={"name": "x"})).status_code == 401
    r = await gw.post("/supplier/v1/orders/x/tracking", json={"tracking_number": "1Z999AA10123456784"})
    assert r.status_code == 401


async def test_store_secrets_are_encrypted_at_rest_and_never_returned(gw):
    from gateway.models import Store

    async with gw.svc.db.uow() as uow:
        store = (await uow.session.exec(select(Store))).one()
    assert SECRET not in store.webhook_secret_encrypted and "shpat_0123456789" not in store.credentials_encrypted
    async with gw.svc.db.uow() as uow:
        event = (await uow.session.exec(select(OutboxMessage).where(OutboxMessage.topic == "dropline.catalog.v1"))).first()
    assert "shpat_0123456789" not in event.payload and SECRET not in event.payload


async def _connect(gw, **body):
    return await gw.post(f"/admin/v1/retailers/{gw.retailer['retailer_id']}/stores", headers=ADMIN, json=body)


async def test_each_platform_is_connected_with_its_own_store_key_and_credentials(gw):
    ecwid = await _connect(gw, platform="ecwid", shop="1003", webhook_secret="ecwid_client_secret_1",
                           access_token="secret_abcdefgh")
    assert ecwid.status_code == 201, ecwid.text
    assert ecwid.json()["api_base_url"] == "https://app.ecwid.com/api/v3/1003"
    assert ecwid.json()["webhook_url"] == "http://gw/webhooks/ecwid" and ecwid.json()["webhook_header"] is None

    bc = await _connect(gw, platform="bigcommerce", shop="abc123", webhook_secret="bc_client_secret_1",
                        access_token="bc_token_12345")
    assert bc.status_code == 201, bc.text
    header = bc.json()["webhook_header"]
    assert header["name"] == "X-Dropline-Webhook-Secret" and len(header["value"]) > 30  # shown once, to set on the hook
    assert bc.json()["api_base_url"] == "https://api.bigcommerce.com/stores/abc123"

    wix = await _connect(gw, platform="wix", shop="6c4e4a8e-0a3e-4a5b-9f2a-7a1a0d1e2b3c",
                         webhook_secret="-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
                         credentials={"app_id": "app-1", "app_secret": "s3cret-value"})
    assert wix.status_code == 201, wix.text
    assert wix.json()["webhook_url"] == "http://gw/webhooks/wix"
    stores = (await gw.get("/api/v1/stores", headers={"Authorization": f"Bearer {gw.retailer['api_key']}"})).json()
    assert [s["platform"] for s in stores["stores"]] == ["shopify", "ecwid", "bigcommerce", "wix"]
    assert all(s["health"]["writes_waiting"] == 0 and s["health"]["last_failure"] is None for s in stores["stores"])
    assert "s3cret-value" not in json.dumps(stores) and header["value"] not in json.dumps(stores)


@pytest.mark.parametrize("body, error", [
    ({"platform": "ecwid", "shop": "my-store", "access_token": "secret_abcdefgh"}, "invalid_shop"),
    ({"platform": "bigcommerce", "shop": "abc123"}, "missing_credentials"),
    ({"platform": "wix", "shop": "6c4e4a8e-0a3e-4a5b-9f2a-7a1a0d1e2b3c", "credentials": {"app_id": "a"}},
     "missing_credentials"),
    ({"platform": "shopify", "shop": "not-a-shop.example.com", "access_token": "shpat_0123456789"}, "invalid_shop"),
])
async def test_a_store_key_or_credentials_the_platform_would_not_know_are_refused(gw, body, error):
    r = await _connect(gw, webhook_secret="client_secret_1", **body)
    assert (r.status_code, r.json()["error"]) == (422, error), r.text


async def test_the_delivery_event_is_platform_neutral(gw):
    body = order_body(2002)
    assert (await gw.post("/webhooks/shopify", content=body, headers=headers(body, "wh-neutral"))).status_code == 200
    async with gw.svc.db.uow() as uow:
        [event] = (await uow.session.exec(select(OutboxMessage).where(
            OutboxMessage.topic == "dropline.store-webhook-received.v1"))).all()
    data = json.loads(event.payload)["data"]
    assert (data["kind"], data["platform_order_id"], data["carries_order"]) == ("order_created", "2002", True)


async def test_an_unknown_platform_is_422_and_a_topic_we_do_not_handle_is_acknowledged(gw):
    body = order_body(2003)
    assert (await gw.post("/webhooks/magento", content=body, headers=headers(body))).status_code == 422
    h = headers(body, "wh-other") | {"X-Shopify-Topic": "products/update"}
    r = await gw.post("/webhooks/shopify", content=body, headers=h)
    assert (r.status_code, r.json()["status"]) == (200, "ignored")


async def test_a_rotated_webhook_secret_is_honoured_at_once_and_an_old_one_only_while_kept(gw):
    """The gateway keeps a store's secrets in memory for a few seconds (one database read per store, not per
    delivery). A delivery signed with a secret it does not keep is checked against the stored one."""
    from gateway.models import Store

    first = order_body(2001)
    assert (await gw.post("/webhooks/shopify", content=first, headers=headers(first, "wh-r1"))).json()["status"] \
        == "accepted"  # the store and its old secret are now kept
    async with gw.svc.db.uow() as uow:
        store = (await uow.session.exec(select(Store).where(Store.shop == SHOP))).one()
        store.webhook_secret_encrypted = gw.svc.secret_box.seal("whsec_rotated_secret")
        uow.session.add(store)
        await uow.commit()
    rotated = order_body(2002)
    resp = await gw.post("/webhooks/shopify", content=rotated,
                         headers=headers(rotated, "wh-r2", signature=sign(rotated, "whsec_rotated_secret")))
    assert resp.status_code == 200 and resp.json()["status"] == "accepted", resp.text
    # That re-read replaced what was kept: the old secret is refused from now on.
    old = order_body(2003)
    resp = await gw.post("/webhooks/shopify", content=old, headers=headers(old, "wh-r3"))
    assert resp.status_code == 401, resp.text
    assert await stored(gw) == (2, 2)
