"""Ecwid webhooks as platforms.md §3.1 documents them: a thin JSON body, signed over
``"{eventCreated}.{eventId}"`` (not the body) with the app's client_secret, the event type repeated in the
URL as ``?eventtype=``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..standin_kit import OutgoingWebhook

# https://docs.ecwid.com/.../how-to-process-webhooks: 3 s to connect, 10 s for the answer; these count as
# delivered (203, 208, other 2xx and every 3xx do not).
CONNECT_TIMEOUT_SECONDS = 3.0
TOTAL_TIMEOUT_SECONDS = 10.0
SUCCESS_CODES = frozenset({200, 201, 202, 204, 209})
SIGNATURE_HEADER = "X-Ecwid-Webhook-Signature"


def sign_webhook(event_created: int, event_id: str, client_secret: str) -> str:
    """base64(HMAC-SHA256(client_secret, f"{eventCreated}.{eventId}"))."""
    message = f"{event_created}.{event_id}".encode()
    return base64.b64encode(hmac.new(client_secret.encode(), message, hashlib.sha256).digest()).decode()


def with_event_type(url: str, event_type: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&eventtype={event_type}" if parts.query else f"eventtype={event_type}"
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def new_webhook(*, url: str, client_secret: str, store_id: int, event_type: str, entity_id: Any,
                data: dict[str, Any], now: datetime) -> OutgoingWebhook:
    event_id = str(uuid.uuid4())
    created = int(now.timestamp())
    payload = {"eventId": event_id, "eventCreated": created, "storeId": store_id, "entityId": entity_id,
               "eventType": event_type, "data": {k: v for k, v in data.items() if v is not None}}
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json; charset=utf-8",
               SIGNATURE_HEADER: sign_webhook(created, event_id, client_secret)}
    return OutgoingWebhook(event=event_type, url=with_event_type(url, event_type), body=body, headers=headers)
