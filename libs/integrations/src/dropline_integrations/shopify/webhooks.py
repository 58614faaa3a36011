"""Shopify webhook deliveries (platforms.md §1.1): X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(app client
secret, raw body)); the delivery id is X-Shopify-Webhook-Id; the body is the full REST resource.

Shopify signs no timestamp, and its retries (8 over 4 hours) carry the original payload, so a late
delivery is not refused: dedupe on the webhook id, and again on the order id downstream."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from ..parsing import timestamp
from ..port import Delivery, DeliveryKind, InvalidStoreOrder, WebhookRejected, WebhookSecrets, header

TOPIC_KINDS = {
    "orders/create": DeliveryKind.ORDER_CREATED,
    "orders/updated": DeliveryKind.ORDER_UPDATED,
    "orders/paid": DeliveryKind.ORDER_UPDATED,
    "orders/cancelled": DeliveryKind.ORDER_CANCELLED,
    "fulfillment_orders/fulfillment_request_submitted": DeliveryKind.FULFILMENT_REQUESTED,
}
ORDER_TOPICS = {"orders/create", "orders/updated", "orders/paid", "orders/cancelled"}


def signature(raw_body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()).decode()


def signature_ok(raw_body: bytes, header_value: str | None, secret: str) -> bool:
    """Constant-time comparison over the raw bytes exactly as received (never re-serialised JSON)."""
    if not header_value:
        return False
    return hmac.compare_digest(signature(raw_body, secret).encode(), header_value.strip().encode())


def store_key(headers: Mapping[str, str]) -> str:
    shop = header(headers, "X-Shopify-Shop-Domain")
    if not shop:
        raise WebhookRejected(400, "missing_header", "required header missing: X-Shopify-Shop-Domain")
    return shop.strip().lower()


def verify(raw: bytes, headers: Mapping[str, str], secrets: WebhookSecrets) -> Delivery:
    sig = header(headers, "X-Shopify-Hmac-Sha256")
    if not sig:
        raise WebhookRejected(401, "missing_signature", "X-Shopify-Hmac-Sha256 header is required")
    shop = store_key(headers)
    topic, webhook_id = header(headers, "X-Shopify-Topic"), header(headers, "X-Shopify-Webhook-Id")
    missing = [n for n, v in (("X-Shopify-Topic", topic), ("X-Shopify-Webhook-Id", webhook_id)) if not v]
    if missing:
        raise WebhookRejected(400, "missing_header", f"required header(s) missing: {', '.join(missing)}")
    if not signature_ok(raw, sig, secrets.signing_key):
        raise WebhookRejected(401, "invalid_signature", "X-Shopify-Hmac-Sha256 does not match the body")
    body = _json_object(raw)
    kind = TOPIC_KINDS.get(topic, DeliveryKind.OTHER)
    order: dict[str, Any] | None = None
    order_id: str | None = None
    if topic in ORDER_TOPICS:
        if "id" not in body:
            raise WebhookRejected(400, "invalid_order", "order payload has no 'id'")
        order, order_id = body, str(body["id"])
    elif kind is DeliveryKind.FULFILMENT_REQUESTED:
        # Shopify's documented payload names fulfillment orders (ids and statuses) and the merchant's
        # request, not the order: platform_order_id is None then, and the order is read from the
        # fulfillment order when the request is accepted (requests.py). An order_id is used if present.
        fo = body.get("submitted_fulfillment_order") or body.get("original_fulfillment_order") or {}
        order_id = _order_id_of(fo.get("order_id")) if isinstance(fo, dict) else None
    try:
        occurred = timestamp(header(headers, "X-Shopify-Triggered-At"), "X-Shopify-Triggered-At")
    except InvalidStoreOrder:
        occurred = None
    return Delivery(kind=kind, topic=topic, delivery_id=webhook_id, store_key=shop, platform_order_id=order_id,
                    order=order, body=body, occurred_at=occurred, event_id=header(headers, "X-Shopify-Event-Id"))


def _order_id_of(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text.rsplit("/", 1)[-1] if text.startswith("gid://") else text


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookRejected(400, "malformed_json", f"body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise WebhookRejected(400, "malformed_json", "body must be a JSON object")
    return body
