"""Ecwid webhook deliveries (platforms.md §3.1).

Ecwid signs ``"{eventCreated}.{eventId}"`` taken from the JSON body, not the raw body:
``X-Ecwid-Webhook-Signature = base64(HMAC-SHA256(app client_secret, f"{eventCreated}.{eventId}"))``.

What that means for us:
- the rest of the body (storeId, eventType, data.orderId) is NOT covered by the signature. The body is
  therefore only a hint: the order is always re-fetched from the store's REST API with the store's own
  token (thin webhooks), and deliveries are deduplicated on ``eventId``;
- a captured signature stays valid for as long as we accept its ``eventCreated``, so deliveries older
  than ``max_age`` are refused. Ecwid re-sends an unacknowledged delivery for 24 hours (15 min, 30 min,
  45 min, 1 h … attempt 27 at 24 h), always with the original eventCreated, so the default max age is
  24 h + 1 h of margin (delays under load, clock skew): a legitimate retry is never refused, a replay
  is refused one hour after Ecwid itself would have given up. Older Ecwid pages speak of 48 h of
  retries; a store on that schedule needs DROPLINE_ECWID_WEBHOOK_MAX_AGE_SECONDS raised.
- ``?eventtype=`` duplicated in the URL is not signed either and the port sees no URL: the body's
  ``eventType`` is what counts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ..port import Delivery, DeliveryKind, WebhookRejected, WebhookSecrets, header

SIGNATURE_HEADER = "X-Ecwid-Webhook-Signature"

EVENT_KINDS = {
    "order.created": DeliveryKind.ORDER_CREATED,
    "order.updated": DeliveryKind.ORDER_UPDATED,
    "order.deleted": DeliveryKind.ORDER_CANCELLED,
}
ORDER_EVENT_PREFIXES = ("order.", "unfinished_order.")


def signed_string(event_created: int, event_id: str) -> str:
    return f"{event_created}.{event_id}"


def signature(event_created: int, event_id: str, client_secret: str) -> str:
    digest = hmac.new(client_secret.encode("utf-8"), signed_string(event_created, event_id).encode("utf-8"),
                      hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_ok(event_created: int, event_id: str, header_value: str | None, client_secret: str) -> bool:
    if not header_value:
        return False
    return hmac.compare_digest(signature(event_created, event_id, client_secret).encode(),
                               header_value.strip().encode())


def _body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookRejected(400, "malformed_json", f"body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise WebhookRejected(400, "malformed_json", "body must be a JSON object")
    return body


def _id_text(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
        return None
    return str(value).strip()


def _event_created(value: Any) -> int:
    """Unix seconds (a JSON number; Ecwid's client DTO reads a Long). A digit string is read the same way."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise WebhookRejected(400, "invalid_body", f"'eventCreated' must be Unix seconds, got {value!r}")


def store_key(raw: bytes) -> str:
    """The body's ``storeId`` as a string (not yet verified: only to look up the store's secrets)."""
    store_id = _id_text(_body(raw).get("storeId"))
    if store_id is None:
        raise WebhookRejected(400, "invalid_body", "'storeId' is missing or not an id")
    return store_id


def verify(raw: bytes, headers: Mapping[str, str], secrets: WebhookSecrets, now: datetime, *,
           max_age: timedelta, future_skew: timedelta) -> Delivery:
    body = _body(raw)
    event_id = _id_text(body.get("eventId"))
    if event_id is None:
        raise WebhookRejected(400, "invalid_body", "'eventId' is missing")
    if "eventCreated" not in body:
        raise WebhookRejected(400, "invalid_body", "'eventCreated' is missing")
    created = _event_created(body.get("eventCreated"))
    store_id = _id_text(body.get("storeId"))
    if store_id is None:
        raise WebhookRejected(400, "invalid_body", "'storeId' is missing or not an id")
    event_type = body.get("eventType")
    if not isinstance(event_type, str) or not event_type:
        raise WebhookRejected(400, "invalid_body", "'eventType' is missing")

    sig = header(headers, SIGNATURE_HEADER)
    if not sig:
        raise WebhookRejected(401, "missing_signature", f"{SIGNATURE_HEADER} header is required")
    if not signature_ok(created, event_id, sig, secrets.signing_key):
        raise WebhookRejected(401, "invalid_signature",
                              f"{SIGNATURE_HEADER} does not match eventCreated.eventId")
    try:
        occurred = datetime.fromtimestamp(created, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise WebhookRejected(401, "stale_delivery", f"eventCreated {created} is not a usable time") from exc
    now = now.astimezone(UTC)
    if now - occurred > max_age:
        raise WebhookRejected(401, "stale_delivery",
                              f"eventCreated {occurred.isoformat()} is older than {max_age} (Ecwid retries "
                              "for 24 h; this is a replay or a delivery Ecwid would not send)")
    if occurred - now > future_skew:
        raise WebhookRejected(401, "stale_delivery", f"eventCreated {occurred.isoformat()} lies in the future")

    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    order_id = None
    if event_type.startswith(ORDER_EVENT_PREFIXES):
        order_id = _id_text(data.get("orderId")) or _id_text(body.get("entityId"))
    return Delivery(kind=EVENT_KINDS.get(event_type, DeliveryKind.OTHER), topic=event_type, delivery_id=event_id,
                    store_key=store_id, platform_order_id=order_id, order=None, body=body, occurred_at=occurred)
