"""Webhook signing and delivery, as platforms.md §1.1 documents Shopify's HTTPS deliveries.

Topics the stand-in sends: ``orders/create`` (order created through the control API), ``orders/updated``
(shipping address changed, paid, cancelled), ``orders/paid`` (marked paid) and ``orders/cancelled``
(cancelled), and ``fulfillment_orders/fulfillment_request_submitted`` (the merchant requested fulfillment
from a fulfillment service; its body is fulfillment order ids and statuses plus the merchant's request,
not the order). Every one is signed the same way (base64 HMAC-SHA256 of the raw body with the shop's webhook
secret); the orders/* ones carry the full REST order. ``X-Shopify-Event-Id`` is new per event, ``X-Shopify-Webhook-Id``
new per delivery. A delivery can be ``dropped`` (the control API's drop-webhooks): recorded, never sent.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

# platforms.md §1.1 "Delivery semantics": 1 s to connect, 5 s in total, any 2xx is a success.
CONNECT_TIMEOUT_SECONDS = 1.0
TOTAL_TIMEOUT_SECONDS = 5.0


def sign_webhook(body: bytes, secret: str) -> str:
    """``X-Shopify-Hmac-Sha256``: base64 of the binary HMAC-SHA256 digest of the raw body bytes, keyed with
    the app's client secret (platforms.md §1.1 "Signature verification")."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def encode_body(payload: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON (non-ASCII characters are sent as-is, so a receiver that re-serialises the parsed
    body before checking the HMAC fails, as it would against Shopify)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def triggered_at(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def delivery_headers(
    *,
    body: bytes,
    secret: str,
    topic: str,
    shop_domain: str,
    api_version: str,
    webhook_id: str,
    event_id: str,
    triggered: str,
) -> dict[str, str]:
    """Every header of platforms.md §1.1 "Delivery headers" that applies to an HTTPS delivery.

    ``X-Shopify-Sub-Topic`` and ``X-Shopify-Name`` are left out: the ``orders/*`` topics have no sub-topic
    and the subscription has no name.
    """
    return {
        "Content-Type": "application/json",
        "User-Agent": "Shopify-Captain-Hook",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign_webhook(body, secret),
        "X-Shopify-Shop-Domain": shop_domain,
        "X-Shopify-API-Version": api_version,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Triggered-At": triggered,
    }


@dataclass
class DeliveryAttempt:
    at: str
    webhook_id: str
    status_code: int | None
    response_body: str | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "webhook_id": self.webhook_id,
            "status_code": self.status_code,
            "response_body": self.response_body,
            "error": self.error,
            "ok": self.ok,
            "duration_ms": self.duration_ms,
        }


@dataclass
class WebhookDelivery:
    """One event's delivery: the body bytes and headers are fixed at trigger time (platforms.md §1.1:
    "retries carry the ORIGINAL payload from trigger time"), so a redelivery sends the very same bytes."""

    topic: str
    url: str
    body: bytes
    headers: dict[str, str]
    attempts: list[DeliveryAttempt] = field(default_factory=list)
    dropped: bool = False  # recorded but never sent (the control API's drop-webhooks); redeliver sends it

    @property
    def webhook_id(self) -> str:
        return self.headers["X-Shopify-Webhook-Id"]

    @property
    def event_id(self) -> str:
        return self.headers["X-Shopify-Event-Id"]

    def with_new_webhook_id(self) -> WebhookDelivery:
        """A second delivery of the same event (another subscription, or a Shopify-side duplicate): new
        ``X-Shopify-Webhook-Id``, same ``X-Shopify-Event-Id``, same body."""
        headers = dict(self.headers, **{"X-Shopify-Webhook-Id": str(uuid.uuid4())})
        return WebhookDelivery(topic=self.topic, url=self.url, body=self.body, headers=headers)

    def as_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "url": self.url,
            "webhook_id": self.webhook_id,
            "event_id": self.event_id,
            "headers": dict(self.headers),
            "body": self.body.decode("utf-8"),
            "dropped": self.dropped,
            "attempts": [a.as_json() for a in self.attempts],
        }


def new_delivery(
    *,
    payload: dict[str, Any],
    secret: str,
    topic: str,
    url: str,
    shop_domain: str,
    api_version: str,
    now: datetime,
) -> WebhookDelivery:
    body = encode_body(payload)
    headers = delivery_headers(
        body=body,
        secret=secret,
        topic=topic,
        shop_domain=shop_domain,
        api_version=api_version,
        webhook_id=str(uuid.uuid4()),
        event_id=str(uuid.uuid4()),
        triggered=triggered_at(now),
    )
    return WebhookDelivery(topic=topic, url=url, body=body, headers=headers)


async def send(
    client: httpx.AsyncClient,
    delivery: WebhookDelivery,
    *,
    total_timeout: float = TOTAL_TIMEOUT_SECONDS,
) -> DeliveryAttempt:
    """POST the delivery once; a timeout or connection failure is a failed attempt, never an exception.

    The stand-in does not retry by itself (Shopify retries 8 times over 4 hours); tests trigger a retry
    with the control API's ``redeliver``.
    """
    started = time.monotonic()
    at = triggered_at(datetime.now(UTC))
    status: int | None = None
    text: str | None = None
    error: str | None = None
    try:
        async with asyncio.timeout(total_timeout):
            response = await client.post(delivery.url, content=delivery.body, headers=delivery.headers)
            status, text = response.status_code, response.text
    except TimeoutError:
        error = f"timeout: no response within {total_timeout:g} s"
    except httpx.TimeoutException as exc:
        error = f"timeout: {type(exc).__name__}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    attempt = DeliveryAttempt(
        at=at,
        webhook_id=delivery.webhook_id,
        status_code=status,
        response_body=text,
        error=error,
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    delivery.attempts.append(attempt)
    return attempt
