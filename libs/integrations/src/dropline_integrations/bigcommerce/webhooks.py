"""BigCommerce webhook deliveries (platforms.md §2.1).

The callback body is thin: ``{"scope", "store_id", "data": {"type": "order", "id": 250}, "hash",
"created_at", "producer": "stores/{store_hash}"}``; the order itself is fetched afterwards.

A delivery is accepted only when BOTH hold:

1. the Standard Webhooks signature (BigCommerce's HTTPS webhooks follow that spec and its code
   samples verify with ``Webhook(base64(client_secret)).verify(raw_body, headers)``): headers
   ``webhook-id``, ``webhook-timestamp``, ``webhook-signature`` = ``v1,<base64 HMAC-SHA256(client
   secret, "{id}.{timestamp}.{raw body}")>``; the library refuses timestamps more than 5 minutes from
   the wall clock, and we check the same distance against the caller's ``now``;
2. the custom header Dropline put in the hook's ``headers`` when it registered it (BigCommerce echoes
   those on every callback; the long-standing way to secure a destination), compared in constant time.

UNCONFIRMED: BigCommerce's docs never print the header names of signed deliveries (only "use the
Standard Webhooks libraries"); the three names above are what that library requires. The custom
header secret is what holds even if they turn out different.

Dedupe key: the ``webhook-id`` header (Standard Webhooks: the same across retries of one message).
The payload ``hash`` (SHA-1 of the JSON-encoded ``data``, not keyed: not a signature) is the same for
both deliveries when "a hook fires twice for the same event"; it is kept as ``Delivery.event_id``.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook, WebhookVerificationError

from ..parsing import timestamp
from ..port import Delivery, DeliveryKind, InvalidStoreOrder, WebhookRejected, WebhookSecrets, header

# store/order/archived: "Fires when an order is archived" (deleted from the order list; the order
# still exists with is_deleted=true). That is not a cancellation: a cancelled order changes status
# to 5 (statusUpdated → ORDER_UPDATED, the fetch reads CANCELLED). So archived is stored, not acted on.
SCOPE_KINDS = {
    "store/order/created": DeliveryKind.ORDER_CREATED,
    "store/order/updated": DeliveryKind.ORDER_UPDATED,
    "store/order/statusUpdated": DeliveryKind.ORDER_UPDATED,
    "store/order/archived": DeliveryKind.OTHER,
}
SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
DEFAULT_HEADER_SECRET_HEADER = "X-Dropline-Webhook-Secret"
PRODUCER = re.compile(r"^stores/([A-Za-z0-9]+)$")


def store_key(raw: bytes) -> str:
    """The store hash from ``producer`` ("stores/{store_hash}"), before anything is verified."""
    return _producer_hash(_json_object(raw))


def verify(raw: bytes, headers: Mapping[str, str], secrets: WebhookSecrets, now: datetime, *,
           header_secret_header: str = DEFAULT_HEADER_SECRET_HEADER, tolerance_seconds: int = 300) -> Delivery:
    values = {name: header(headers, name) for name in SIGNATURE_HEADERS}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise WebhookRejected(401, "missing_signature", f"Standard Webhooks header(s) missing: {', '.join(missing)}")

    expected_secret = secrets.header_secret
    if not expected_secret:
        raise WebhookRejected(401, "no_header_secret",
                              "the store connection has no header secret: deliveries cannot be checked")
    given_secret = header(headers, header_secret_header)
    if not given_secret or not hmac.compare_digest(given_secret.encode(), expected_secret.encode()):
        raise WebhookRejected(401, "invalid_header_secret", f"{header_secret_header} is missing or wrong")

    try:
        sent_at = int(values["webhook-timestamp"] or "")
    except ValueError:
        raise WebhookRejected(401, "invalid_timestamp", "webhook-timestamp is not Unix seconds") from None
    if abs(now.timestamp() - sent_at) > tolerance_seconds:
        raise WebhookRejected(401, "stale_timestamp",
                              f"webhook-timestamp is more than {tolerance_seconds} s away from now")

    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRejected(400, "malformed_body", "body is not UTF-8") from None
    if not secrets.signing_key:
        raise WebhookRejected(401, "no_signing_key", "the store connection has no app client secret")
    try:
        # BigCommerce's own sample: Webhook(base64(client_secret)); the library decodes it again,
        # so the HMAC key is the client secret's bytes.
        Webhook(base64.b64encode(secrets.signing_key.encode()).decode()).verify(
            raw, {k: v or "" for k, v in values.items()}, json_parse=False)
    except (WebhookVerificationError, EmptyWebhookSecretError, ValueError) as exc:
        raise WebhookRejected(401, "invalid_signature", f"webhook-signature does not hold: {exc}") from None

    body = _json_object(raw)
    scope = body.get("scope")
    if not isinstance(scope, str) or not scope:
        raise WebhookRejected(400, "invalid_payload", "callback has no 'scope'")
    shop = _producer_hash(body)
    data = body.get("data")
    if not isinstance(data, dict):
        raise WebhookRejected(400, "invalid_payload", "callback has no 'data' object")
    order_id = _order_id(scope, data)
    try:
        occurred = timestamp(body.get("created_at"), "created_at")
    except InvalidStoreOrder:
        occurred = None
    event_hash = body.get("hash")
    return Delivery(kind=SCOPE_KINDS.get(scope, DeliveryKind.OTHER), topic=scope,
                    delivery_id=str(values["webhook-id"]), store_key=shop, platform_order_id=order_id,
                    order=None, body=body, occurred_at=occurred,
                    event_id=event_hash if isinstance(event_hash, str) and event_hash else None)


def _order_id(scope: str, data: Mapping[str, Any]) -> str | None:
    """``data.id`` for order events (``type`` "order"); ``data.order_id`` for order transactions."""
    if data.get("type") == "order" or scope in SCOPE_KINDS:
        value = data.get("id")
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip():
            if scope in SCOPE_KINDS:
                raise WebhookRejected(400, "invalid_payload", f"{scope} callback has no order id in data.id")
            return None
        return str(value)
    value = data.get("order_id")
    return str(value) if isinstance(value, (int, str)) and not isinstance(value, bool) and str(value) else None


def _producer_hash(body: Mapping[str, Any]) -> str:
    producer = body.get("producer")
    match = PRODUCER.match(producer) if isinstance(producer, str) else None
    if match is None:
        raise WebhookRejected(400, "invalid_payload", "callback 'producer' is not 'stores/{store_hash}'")
    return match.group(1)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise WebhookRejected(400, "malformed_json", f"body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise WebhookRejected(400, "malformed_json", "body must be a JSON object")
    return body
