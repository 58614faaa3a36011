"""Shopify webhook verification (platforms.md §1.1): base64 HMAC-SHA256 of the raw body with the app's client
secret, the required headers, and what each topic means to Dropline."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from dropline_integrations.limits import StoreLimiter
from dropline_integrations.port import DeliveryKind, WebhookRejected, WebhookSecrets
from dropline_integrations.shopify import ShopifyPlatform
from dropline_integrations.shopify.webhooks import store_key, verify
from dropline_testsupport.harness import Receiver
from dropline_testsupport.shopify_standin import create_app

SECRET = "shpss_client_secret"
SECRETS = WebhookSecrets(signing_key=SECRET)
SHOP = "Demo-Store.myshopify.com"
ORDER = {"id": 450789469, "name": "#1001", "email": "bob.norman@example.com", "financial_status": "paid"}


def documented_hmac(raw_body: bytes, secret: str) -> str:
    """platforms.md §1.1 "Minimal verification"."""
    return base64.b64encode(hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()).decode()


def delivery(body: Any = ORDER, *, topic: str = "orders/create", secret: str = SECRET, raw: bytes | None = None,
             drop: tuple[str, ...] = (), lower: bool = False) -> tuple[bytes, dict[str, str]]:
    raw = raw if raw is not None else json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        "X-Shopify-Hmac-Sha256": documented_hmac(raw, secret),
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-API-Version": "2025-10",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
        "X-Shopify-Triggered-At": "2026-03-02T15:04:05.123456Z",
    }
    headers = {k: v for k, v in headers.items() if k not in drop}
    if lower:
        headers = {k.lower(): v for k, v in headers.items()}
    return raw, headers


def rejected(raw: bytes, headers: dict[str, str], secrets: WebhookSecrets = SECRETS) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as caught:
        verify(raw, headers, secrets)
    return caught.value


def test_a_valid_delivery() -> None:
    raw, headers = delivery({**ORDER, "note": "Jürgen's order"})
    got = verify(raw, headers, SECRETS)
    assert got.kind is DeliveryKind.ORDER_CREATED
    assert got.topic == "orders/create"
    assert got.delivery_id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert got.event_id == "98880550-7158-44d4-b7cd-2c97c8a091b5"
    assert got.store_key == "demo-store.myshopify.com"  # domains compare lower-case
    assert got.platform_order_id == "450789469"
    assert got.order == got.body == {**ORDER, "note": "Jürgen's order"}
    assert got.occurred_at == datetime(2026, 3, 2, 15, 4, 5, 123456, tzinfo=UTC)


def test_header_names_are_case_insensitive() -> None:
    raw, headers = delivery(lower=True)
    assert verify(raw, headers, SECRETS).platform_order_id == "450789469"
    assert store_key(headers) == "demo-store.myshopify.com"


def test_the_platform_verifies_through_the_same_function() -> None:
    platform = ShopifyPlatform(httpx.AsyncClient(), StoreLimiter())
    raw, headers = delivery()
    assert platform.webhook_store_key(raw, headers) == "demo-store.myshopify.com"
    assert platform.verify_delivery(raw, headers, SECRETS, datetime.now(UTC)) == verify(raw, headers, SECRETS)


def test_a_tampered_body_is_refused() -> None:
    raw, headers = delivery()
    tampered = raw.replace(b"#1001", b"#1002")
    error = rejected(tampered, headers)
    assert (error.status, error.code) == (401, "invalid_signature")
    # the same JSON re-serialised (other bytes) does not verify either: the signature is over raw bytes
    respaced = json.dumps(json.loads(raw)).encode()
    assert respaced != raw and rejected(respaced, headers).status == 401


def test_another_secret_is_refused() -> None:
    raw, headers = delivery(secret="someone-elses-secret")
    assert rejected(raw, headers).code == "invalid_signature"
    raw, headers = delivery()
    assert rejected(raw, headers, WebhookSecrets(signing_key="rotated")).status == 401
    headers["X-Shopify-Hmac-Sha256"] = "not base64 at all"
    assert rejected(raw, headers).status == 401


@pytest.mark.parametrize(("missing", "status", "code"), [
    ("X-Shopify-Hmac-Sha256", 401, "missing_signature"),
    ("X-Shopify-Shop-Domain", 400, "missing_header"),
    ("X-Shopify-Topic", 400, "missing_header"),
    ("X-Shopify-Webhook-Id", 400, "missing_header"),
])
def test_missing_headers(missing: str, status: int, code: str) -> None:
    raw, headers = delivery(drop=(missing,))
    error = rejected(raw, headers)
    assert (error.status, error.code) == (status, code)
    if status == 400:
        assert missing in error.message


def test_optional_headers_may_be_missing_or_odd() -> None:
    raw, headers = delivery(drop=("X-Shopify-Event-Id", "X-Shopify-Triggered-At", "X-Shopify-API-Version"))
    got = verify(raw, headers, SECRETS)
    assert got.event_id is None and got.occurred_at is None
    raw, headers = delivery()
    headers["X-Shopify-Triggered-At"] = "sometime"
    assert verify(raw, headers, SECRETS).occurred_at is None


@pytest.mark.parametrize("raw", [b"not json", b"{\"id\": 1", "\ufeff{}".encode("utf-16"), b""])
def test_a_signed_body_that_is_not_json_is_400(raw: bytes) -> None:
    body, headers = delivery(raw=raw)
    error = rejected(body, headers)
    assert (error.status, error.code) == (400, "malformed_json")


@pytest.mark.parametrize("body", [[ORDER], "order", 42, None])
def test_a_body_that_is_not_an_object_is_400(body: Any) -> None:
    raw, headers = delivery(body)
    assert rejected(raw, headers).code == "malformed_json"


def test_an_order_topic_without_an_order_id_is_400() -> None:
    raw, headers = delivery({"name": "#1001"})
    assert (rejected(raw, headers).status, rejected(raw, headers).code) == (400, "invalid_order")


@pytest.mark.parametrize(("topic", "kind"), [
    ("orders/create", DeliveryKind.ORDER_CREATED),
    ("orders/updated", DeliveryKind.ORDER_UPDATED),
    ("orders/paid", DeliveryKind.ORDER_UPDATED),
    ("orders/cancelled", DeliveryKind.ORDER_CANCELLED),
])
def test_order_topics(topic: str, kind: DeliveryKind) -> None:
    raw, headers = delivery(topic=topic)
    got = verify(raw, headers, SECRETS)
    assert (got.kind, got.topic, got.platform_order_id, got.order) == (kind, topic, "450789469", ORDER)


def test_fulfillment_request_submitted() -> None:
    body = {"original_fulfillment_order": {"id": "gid://shopify/FulfillmentOrder/1046000778",
                                           "order_id": "gid://shopify/Order/450789469",
                                           "status": "open", "request_status": "submitted"},
            "fulfillment_order_merchant_request": {"id": "gid://shopify/FulfillmentOrderMerchantRequest/1",
                                                   "message": "Fragile"}}
    raw, headers = delivery(body, topic="fulfillment_orders/fulfillment_request_submitted")
    got = verify(raw, headers, SECRETS)
    assert got.kind is DeliveryKind.FULFILMENT_REQUESTED
    assert got.platform_order_id == "450789469" and got.order is None and got.body == body
    # without an order id in the payload the delivery is still verified, just not tied to an order
    raw, headers = delivery({"original_fulfillment_order": {"id": "gid://shopify/FulfillmentOrder/1"}},
                            topic="fulfillment_orders/fulfillment_request_submitted")
    assert verify(raw, headers, SECRETS).platform_order_id is None


@pytest.mark.parametrize("topic", ["products/create", "app/uninstalled", "orders/fulfilled", "ORDERS_CREATE"])
def test_other_topics_are_verified_but_other(topic: str) -> None:
    raw, headers = delivery({"id": 7, "title": "x"}, topic=topic)
    got = verify(raw, headers, SECRETS)
    assert (got.kind, got.topic, got.platform_order_id, got.order) == (DeliveryKind.OTHER, topic, None, None)
    # a signature is still required for them
    assert rejected(raw.replace(b"7", b"8"), headers).status == 401


async def test_the_standins_orders_webhooks_verify_with_their_kinds() -> None:
    """The stand-in's deliveries of create / paid / updated / cancelled pass Dropline's verification."""
    receiver = Receiver()
    shop = "kinds-store.myshopify.com"
    app = create_app(webhook_transport=receiver.transport, shops=[{
        "shop_domain": shop, "access_token": "t", "webhook_secret": SECRET, "webhook_url": "http://d.test/wh"}])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s.test") as client:
        created = await client.post(f"/_control/shops/{shop}/orders", json={
            "financial_status": "pending", "line_items": [{"sku": "A", "title": "A", "quantity": 1, "price": "5"}]})
        order_id = created.json()["order"]["id"]
        await client.post(f"/_control/shops/{shop}/orders/{order_id}/mark-paid")
        await client.post(f"/_control/shops/{shop}/orders/{order_id}/cancel", json={"reason": "customer"})
    await app.state.standin.aclose()
    got = [verify(r.body, dict(r.headers), SECRETS) for r in receiver.received]
    assert [(d.topic, d.kind) for d in got] == [
        ("orders/create", DeliveryKind.ORDER_CREATED), ("orders/paid", DeliveryKind.ORDER_UPDATED),
        ("orders/updated", DeliveryKind.ORDER_UPDATED), ("orders/cancelled", DeliveryKind.ORDER_CANCELLED),
        ("orders/updated", DeliveryKind.ORDER_UPDATED)]
    assert {d.platform_order_id for d in got} == {str(order_id)} and {d.store_key for d in got} == {shop}
    assert len({d.delivery_id for d in got}) == 5
    assert [d.order["financial_status"] for d in got if d.order] == ["pending", "paid", "paid", "paid", "paid"]


def test_fulfillment_request_submitted_as_shopify_documents_it() -> None:
    # Shopify's sample payload (shopify.dev webhooks reference): ids and statuses, no order id.
    body = {"original_fulfillment_order": {"id": "gid://shopify/FulfillmentOrder/1", "status": "open",
                                           "request_status": "unsubmitted"},
            "submitted_fulfillment_order": {"id": "gid://shopify/FulfillmentOrder/1", "status": "open",
                                            "request_status": "unsubmitted"},
            "fulfillment_order_merchant_request": {"id": "gid://shopify/FulfillmentOrderMerchantRequest/1",
                                                   "message": "Fragile"}}
    raw, headers = delivery(body, topic="fulfillment_orders/fulfillment_request_submitted")
    got = verify(raw, headers, SECRETS)
    assert (got.kind, got.platform_order_id, got.order, got.body) == (DeliveryKind.FULFILMENT_REQUESTED, None,
                                                                      None, body)
