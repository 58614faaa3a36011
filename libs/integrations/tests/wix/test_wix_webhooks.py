"""Wix webhook verification (platforms.md §4.1): the body is an RS256 JWT signed with the app's key;
``data`` → ``{eventType, instanceId, data, identity}`` → the event. Tokens here are built from the
documented structure with our own key pair, not with the stand-in's code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dropline_integrations.port import DeliveryKind, WebhookRejected, WebhookSecrets
from dropline_integrations.wix import WixPlatform


def _samples():
    path = Path(__file__).with_name("wix_samples.py")
    spec = importlib.util.spec_from_file_location("wix_samples", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


S = _samples()

NOW = datetime(2025, 5, 1, 10, 0, 5, tzinfo=UTC)
INSTANCE = "a1b2c3d4-0000-4000-8000-000000000001"
HEADERS = {"content-type": "text/plain"}


def _key() -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return key, pem


PRIVATE, PUBLIC_PEM = _key()
OTHER_PRIVATE, OTHER_PEM = _key()
SECRETS = WebhookSecrets(signing_key=PUBLIC_PEM)


def claims(event: dict[str, Any], *, event_type: str = "wix.ecom.v1.order_approved", instance: str = INSTANCE,
           iat: datetime = NOW, ttl: int = 300_000, data_as_object: bool = False) -> dict[str, Any]:
    outer = {"data": json.dumps(event), "instanceId": instance, "eventType": event_type,
             "identity": json.dumps({"identityType": "APP"})}
    return {"data": outer if data_as_object else json.dumps(outer), "iat": int(iat.timestamp()),
            "exp": int(iat.timestamp()) + ttl}


def token(payload: dict[str, Any], key: Any = PRIVATE) -> bytes:
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "qG1kD2dz"}).encode()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@pytest.fixture(scope="module")
def wix() -> WixPlatform:
    return WixPlatform(http=None, limiter=None)  # type: ignore[arg-type]  # webhooks touch neither


def test_documented_order_approved(wix: WixPlatform) -> None:
    raw = token(claims(S.APPROVED_EVENT))
    assert wix.webhook_store_key(raw, HEADERS) == INSTANCE
    d = wix.verify_delivery(raw, HEADERS, SECRETS, NOW)
    assert d.kind is DeliveryKind.ORDER_CREATED
    assert d.topic == "wix.ecom.v1.order_approved"
    assert d.delivery_id == "6c4e4a8e-0a3e-4a5b-9f2a-7a1a0d1e2b3c"  # the event id, not the entity id
    assert d.delivery_id != S.ORDER_ID
    assert d.store_key == INSTANCE
    assert d.platform_order_id == S.ORDER_ID
    assert d.order == S.APPROVED_EVENT["actionEvent"]["body"]["order"]
    assert d.occurred_at == datetime(2025, 5, 1, 10, 0, tzinfo=UTC)
    assert wix.normalise(d.order).platform_order_id == S.ORDER_ID


def test_claims_data_already_an_object(wix: WixPlatform) -> None:
    d = wix.verify_delivery(token(claims(S.APPROVED_EVENT, data_as_object=True)), HEADERS, SECRETS, NOW)
    assert d.kind is DeliveryKind.ORDER_CREATED and d.order is not None


def _event(slug: str, carrier: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"evt-{slug}", "entityFqdn": "wix.ecom.v1.order", "slug": slug, "entityId": S.ORDER_ID,
            "eventTime": "2025-05-01T10:00:00Z", **carrier}


@pytest.mark.parametrize(("slug", "carrier", "kind"), [
    ("created", {"createdEvent": {"entity": S.sample_order(status="INITIALIZED")}}, DeliveryKind.ORDER_CREATED),
    ("updated", {"updatedEvent": {"currentEntity": S.sample_order()}}, DeliveryKind.ORDER_UPDATED),
    ("payment_status_updated", {"actionEvent": {"body": {"order": S.sample_order()}}}, DeliveryKind.ORDER_UPDATED),
    ("canceled", {"actionEvent": {"body": {"order": S.sample_order(status="CANCELED")}}},
     DeliveryKind.ORDER_CANCELLED),
    ("created", {"createdEvent": {"entityAsJson": json.dumps(S.sample_order())}}, DeliveryKind.ORDER_CREATED),
])
def test_order_event_kinds(wix: WixPlatform, slug: str, carrier: dict[str, Any], kind: DeliveryKind) -> None:
    d = wix.verify_delivery(token(claims(_event(slug, carrier), event_type=f"wix.ecom.v1.order_{slug}")),
                            HEADERS, SECRETS, NOW)
    assert d.kind is kind
    assert d.delivery_id == f"evt-{slug}"
    assert d.platform_order_id == S.ORDER_ID
    assert d.order is not None and d.order["id"] == S.ORDER_ID


def test_created_for_an_unapproved_order_is_not_paid(wix: WixPlatform) -> None:
    event = _event("created", {"createdEvent": {"entity": S.sample_order(status="INITIALIZED")}})
    d = wix.verify_delivery(token(claims(event, event_type="wix.ecom.v1.order_created")), HEADERS, SECRETS, NOW)
    assert wix.normalise(d.order).state.value == "awaiting_payment"


def test_event_without_entity_and_other_events(wix: WixPlatform) -> None:
    d = wix.verify_delivery(token(claims(_event("canceled", {}), event_type="wix.ecom.v1.order_canceled")),
                            HEADERS, SECRETS, NOW)
    assert d.kind is DeliveryKind.ORDER_CANCELLED and d.order is None and d.platform_order_id == S.ORDER_ID
    other = {"id": "evt-f", "entityFqdn": "wix.ecom.v1.fulfillments", "slug": "updated", "entityId": S.ORDER_ID,
             "updatedEvent": {"currentEntity": {"orderId": S.ORDER_ID, "fulfillments": []}}}
    d = wix.verify_delivery(token(claims(other, event_type="wix.ecom.v1.fulfillments_updated")),
                            HEADERS, SECRETS, NOW)
    assert d.kind is DeliveryKind.OTHER and d.order is None and d.topic == "wix.ecom.v1.fulfillments_updated"


def _rejected(wix: WixPlatform, raw: bytes, status: int, now: datetime = NOW) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as info:
        wix.verify_delivery(raw, HEADERS, SECRETS, now)
    assert info.value.status == status, info.value.message
    return info.value


def test_tampered_payload(wix: WixPlatform) -> None:
    header, payload, signature = token(claims(S.APPROVED_EVENT)).decode().split(".")
    forged = claims(S.APPROVED_EVENT, instance="someone-else")
    raw = f"{header}.{b64(json.dumps(forged).encode())}.{signature}".encode()
    _rejected(wix, raw, 401)
    raw = f"{header}.{payload}.{signature[:-4]}AAAA".encode()
    _rejected(wix, raw, 401)


def test_wrong_key(wix: WixPlatform) -> None:
    _rejected(wix, token(claims(S.APPROVED_EVENT), key=OTHER_PRIVATE), 401)


def test_expired_and_missing_exp(wix: WixPlatform) -> None:
    stale = token(claims(S.APPROVED_EVENT, iat=NOW - timedelta(days=5), ttl=300_000))
    assert _rejected(wix, stale, 401).code == "expired"
    assert wix.verify_delivery(stale, HEADERS, SECRETS, NOW - timedelta(days=2)).delivery_id  # fresh then
    no_exp = claims(S.APPROVED_EVENT)
    del no_exp["exp"]
    _rejected(wix, token(no_exp), 401)


def test_hs256_forgery_with_the_public_key(wix: WixPlatform) -> None:
    """Key confusion: an attacker HMACs with the (public) PEM and claims HS256."""
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims(S.APPROVED_EVENT)).encode())
    sig = b64(hmac.new(PUBLIC_PEM.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest())
    _rejected(wix, f"{header}.{payload}.{sig}".encode(), 401)


def test_alg_none(wix: WixPlatform) -> None:
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims(S.APPROVED_EVENT)).encode())
    _rejected(wix, f"{header}.{payload}.".encode(), 401)


@pytest.mark.parametrize("raw", [b"", b"{\"data\": 1}", b"not.a.jwt", b"\xff\xfe.\x00.x", b"a.b"])
def test_malformed(wix: WixPlatform, raw: bytes) -> None:
    with pytest.raises(WebhookRejected) as info:
        wix.webhook_store_key(raw, HEADERS)
    assert info.value.status == 400
    with pytest.raises(WebhookRejected) as info:
        wix.verify_delivery(raw, HEADERS, SECRETS, NOW)
    assert info.value.status in (400, 401)


def test_signed_but_unreadable_inside(wix: WixPlatform) -> None:
    _rejected(wix, token({"data": "{not json", "exp": int(NOW.timestamp()) + 60}), 400)
    no_id = dict(S.APPROVED_EVENT)
    del no_id["id"]
    _rejected(wix, token(claims(no_id)), 400)
    no_instance = claims(S.APPROVED_EVENT, instance="")
    _rejected(wix, token(no_instance), 400)
