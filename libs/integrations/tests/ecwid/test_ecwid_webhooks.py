"""Ecwid webhook verification (platforms.md §3.1): the signature computed here independently, with hmac,
exactly as Ecwid documents it; the staleness bound; unreadable deliveries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from dropline_integrations.ecwid import EcwidPlatform, EcwidSettings
from dropline_integrations.limits import StoreLimiter
from dropline_integrations.port import DeliveryKind, WebhookRejected, WebhookSecrets

SECRET = "app_client_secret"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def platform() -> EcwidPlatform:
    return EcwidPlatform(httpx.AsyncClient(), StoreLimiter(), EcwidSettings())


def documented_signature(event_created: int, event_id: str, secret: str) -> str:
    """platforms.md §3.1: base64(HMAC-SHA256(client_secret, f"{eventCreated}.{eventId}"))."""
    return base64.b64encode(hmac.new(secret.encode(), f"{event_created}.{event_id}".encode(),
                                     hashlib.sha256).digest()).decode()


def delivery(event_type: str = "order.created", *, created: datetime = NOW, secret: str = SECRET,
             **overrides: Any) -> tuple[bytes, dict[str, str]]:
    body = {"eventId": str(uuid.uuid4()), "eventCreated": int(created.timestamp()), "storeId": 1003,
            "entityId": 103878161, "eventType": event_type,
            "data": {"orderId": "XJ12H", "newPaymentStatus": "PAID", "newFulfillmentStatus": "AWAITING_PROCESSING"}}
    body.update(overrides)
    raw = json.dumps(body).encode()
    return raw, {"X-Ecwid-Webhook-Signature": documented_signature(body["eventCreated"], body["eventId"], secret),
                 "Content-Type": "application/json"}


def test_valid_delivery(platform):
    raw, headers = delivery()
    body = json.loads(raw)
    assert platform.webhook_store_key(raw, headers) == "1003"
    got = platform.verify_delivery(raw, headers, WebhookSecrets(signing_key=SECRET), NOW)
    assert got.kind is DeliveryKind.ORDER_CREATED and got.topic == "order.created"
    assert got.delivery_id == body["eventId"] and got.store_key == "1003"
    assert got.platform_order_id == "XJ12H" and got.order is None and got.body == body
    assert got.occurred_at == NOW
    assert platform.thin_webhooks is True


@pytest.mark.parametrize(("event_type", "kind"), [
    ("order.created", DeliveryKind.ORDER_CREATED), ("order.updated", DeliveryKind.ORDER_UPDATED),
    ("order.deleted", DeliveryKind.ORDER_CANCELLED), ("unfinished_order.created", DeliveryKind.OTHER),
    ("product.updated", DeliveryKind.OTHER),
])
def test_kinds(platform, event_type, kind):
    raw, headers = delivery(event_type)
    got = platform.verify_delivery(raw, headers, WebhookSecrets(signing_key=SECRET), NOW)
    assert got.kind is kind
    assert got.platform_order_id == (None if event_type == "product.updated" else "XJ12H")


def test_order_id_falls_back_to_entity_id(platform):
    raw, headers = delivery("order.updated", data={"newPaymentStatus": "PAID"})
    got = platform.verify_delivery(raw, headers, WebhookSecrets(signing_key=SECRET), NOW)
    assert got.platform_order_id == "103878161"


def test_signature_header_is_case_insensitive(platform):
    raw, headers = delivery()
    lowered = {k.lower(): v for k, v in headers.items()}
    assert platform.verify_delivery(raw, lowered, WebhookSecrets(signing_key=SECRET), NOW).store_key == "1003"


def test_tampered_signature_is_refused(platform):
    raw, headers = delivery()
    sig = headers["X-Ecwid-Webhook-Signature"]
    headers["X-Ecwid-Webhook-Signature"] = ("A" if sig[0] != "A" else "B") + sig[1:]
    with pytest.raises(WebhookRejected) as caught:
        platform.verify_delivery(raw, headers, WebhookSecrets(signing_key=SECRET), NOW)
    assert (caught.value.status, caught.value.code) == (401, "invalid_signature")


def test_tampered_signed_fields_are_refused(platform):
    raw, headers = delivery()
    body = json.loads(raw)
    body["eventId"] = str(uuid.uuid4())  # a new id under an old signature (a replay dodging dedupe)
    with pytest.raises(WebhookRejected) as caught:
        platform.verify_delivery(json.dumps(body).encode(), headers, WebhookSecrets(signing_key=SECRET), NOW)
    assert caught.value.status == 401


def test_wrong_secret_is_refused(platform):
    raw, headers = delivery(secret="another_apps_secret")
    with pytest.raises(WebhookRejected) as caught:
        platform.verify_delivery(raw, headers, WebhookSecrets(signing_key=SECRET), NOW)
    assert caught.value.status == 401


def test_missing_signature_is_refused(platform):
    raw, headers = delivery()
    del headers["X-Ecwid-Webhook-Signature"]
    with pytest.raises(WebhookRejected) as caught:
        platform.verify_delivery(raw, headers, WebhookSecrets(signing_key=SECRET), NOW)
    assert (caught.value.status, caught.value.code) == (401, "missing_signature")


def test_a_retry_within_ecwids_24_hours_is_accepted(platform):
    raw, headers = delivery(created=NOW - timedelta(hours=24, minutes=30))
    assert platform.verify_delivery(raw, headers, WebhookSecrets(signing_key=SECRET), NOW).delivery_id


@pytest.mark.parametrize("created", [NOW - timedelta(hours=25, seconds=1), NOW - timedelta(days=30),
                                     NOW + timedelta(minutes=6)])
def test_stale_or_future_deliveries_are_refused(platform, created):
    raw, headers = delivery(created=created)
    with pytest.raises(WebhookRejected) as caught:
        platform.verify_delivery(raw, headers, WebhookSecrets(signing_key=SECRET), NOW)
    assert (caught.value.status, caught.value.code) == (401, "stale_delivery")


def test_max_age_is_configurable(monkeypatch):
    monkeypatch.setenv("DROPLINE_ECWID_WEBHOOK_MAX_AGE_SECONDS", "3600")
    strict = EcwidPlatform(httpx.AsyncClient(), StoreLimiter())
    raw, headers = delivery(created=NOW - timedelta(hours=2))
    with pytest.raises(WebhookRejected):
        strict.verify_delivery(raw, headers, WebhookSecrets(signing_key=SECRET), NOW)


@pytest.mark.parametrize("raw", [
    b"not json", b"\xff\xfe", b"[1, 2]", b'"text"',
    json.dumps({"eventCreated": 1, "storeId": 1003, "eventType": "order.created"}).encode(),
    json.dumps({"eventId": "e", "storeId": 1003, "eventType": "order.created"}).encode(),
    json.dumps({"eventId": "e", "eventCreated": "yesterday", "storeId": 1003, "eventType": "order.created"}).encode(),
    json.dumps({"eventId": "e", "eventCreated": 1, "eventType": "order.created"}).encode(),
    json.dumps({"eventId": "e", "eventCreated": 1, "storeId": 1003}).encode(),
])
def test_malformed_bodies_are_400(platform, raw):
    with pytest.raises(WebhookRejected) as caught:
        platform.verify_delivery(raw, {"X-Ecwid-Webhook-Signature": "x"}, WebhookSecrets(signing_key=SECRET), NOW)
    assert caught.value.status == 400


@pytest.mark.parametrize("raw", [b"{", b"[]", json.dumps({"storeId": None}).encode(),
                                 json.dumps({"storeId": True}).encode()])
def test_store_key_of_an_unreadable_body_is_400(platform, raw):
    with pytest.raises(WebhookRejected) as caught:
        platform.webhook_store_key(raw, {})
    assert caught.value.status == 400
