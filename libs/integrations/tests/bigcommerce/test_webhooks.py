"""BigCommerce delivery verification: Standard Webhooks signature (client secret) AND the hook's custom
header secret, both required; the store comes from `producer`."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import httpx
import pytest

from dropline_integrations.bigcommerce import BigCommercePlatform
from dropline_integrations.limits import StoreLimiter
from dropline_integrations.port import DeliveryKind, WebhookRejected, WebhookSecrets
from dropline_testsupport.bigcommerce_standin.samples import (
    CLIENT_SECRET,
    HEADER_SECRET,
    STORE_HASH,
    callback,
    signed,
)

SECRETS = WebhookSecrets(signing_key=CLIENT_SECRET, header_secret=HEADER_SECRET)


@pytest.fixture(scope="module")
def platform() -> BigCommercePlatform:
    return BigCommercePlatform(httpx.AsyncClient(), StoreLimiter())


def now() -> datetime:
    return datetime.now(UTC)


def rejected(platform: BigCommercePlatform, raw: bytes, headers: dict[str, str],
             secrets: WebhookSecrets = SECRETS) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as caught:
        platform.verify_delivery(raw, headers, secrets, now())
    return caught.value


def test_valid_delivery(platform: BigCommercePlatform) -> None:
    raw, headers = signed(callback())
    assert platform.webhook_store_key(raw, headers) == STORE_HASH
    delivery = platform.verify_delivery(raw, headers, SECRETS, now())
    assert delivery.kind is DeliveryKind.ORDER_CREATED and delivery.topic == "store/order/created"
    assert delivery.platform_order_id == "250" and delivery.order is None and platform.thin_webhooks
    assert delivery.delivery_id == "msg_test_1" and delivery.store_key == STORE_HASH
    assert delivery.event_id == "dd70c0976e06b67aaf671e73f49dcb79230ebf9d"
    assert delivery.occurred_at == datetime.fromtimestamp(1561479335, UTC)


def test_headers_are_case_insensitive(platform: BigCommercePlatform) -> None:
    raw, headers = signed(callback())
    upper = {k.upper(): v for k, v in headers.items()}
    assert platform.verify_delivery(raw, upper, SECRETS, now()).platform_order_id == "250"


@pytest.mark.parametrize(("scope", "kind"), [
    ("store/order/updated", DeliveryKind.ORDER_UPDATED), ("store/order/statusUpdated", DeliveryKind.ORDER_UPDATED),
    ("store/order/archived", DeliveryKind.OTHER), ("store/order/message/created", DeliveryKind.OTHER)])
def test_scopes(platform: BigCommercePlatform, scope: str, kind: DeliveryKind) -> None:
    extra = {"status": {"previous_status_id": 0, "new_status_id": 11}} if scope.endswith("statusUpdated") else {}
    raw, headers = signed(callback(scope, 251, **extra))
    delivery = platform.verify_delivery(raw, headers, SECRETS, now())
    assert delivery.kind is kind and delivery.platform_order_id == "251"


def test_tampered_body(platform: BigCommercePlatform) -> None:
    raw, headers = signed(callback())
    error = rejected(platform, raw.replace(b"250", b"251"), headers)
    assert (error.status, error.code) == (401, "invalid_signature")


def test_signed_with_another_secret(platform: BigCommercePlatform) -> None:
    raw, headers = signed(callback(), secret="someone-else")
    assert rejected(platform, raw, headers).status == 401


def test_stale_and_future_timestamps(platform: BigCommercePlatform) -> None:
    for at in (int(time.time()) - 6 * 60, int(time.time()) + 6 * 60):
        raw, headers = signed(callback(), at=at)
        error = rejected(platform, raw, headers)
        assert (error.status, error.code) == (401, "stale_timestamp")


def test_timestamp_is_checked_against_the_callers_clock(platform: BigCommercePlatform) -> None:
    raw, headers = signed(callback())
    with pytest.raises(WebhookRejected) as caught:
        platform.verify_delivery(raw, headers, SECRETS, datetime(2020, 1, 1, tzinfo=UTC))
    assert caught.value.code == "stale_timestamp"


def test_wrong_or_missing_header_secret(platform: BigCommercePlatform) -> None:
    for value in ("wrong", None):
        raw, headers = signed(callback(), header_secret=value)
        error = rejected(platform, raw, headers)
        assert (error.status, error.code) == (401, "invalid_header_secret")


def test_connection_without_header_secret_accepts_nothing(platform: BigCommercePlatform) -> None:
    raw, headers = signed(callback())
    error = rejected(platform, raw, headers, WebhookSecrets(signing_key=CLIENT_SECRET))
    assert (error.status, error.code) == (401, "no_header_secret")


def test_header_secret_alone_is_not_enough(platform: BigCommercePlatform) -> None:
    raw = json.dumps(callback()).encode()
    for missing in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        _, headers = signed(raw)
        del headers[missing]
        error = rejected(platform, raw, headers)
        assert (error.status, error.code) == (401, "missing_signature")


@pytest.mark.parametrize("value", ["garbage", "v1,not-base64!!", "v2,abc", "v1,", ""])
def test_malformed_signature_header(platform: BigCommercePlatform, value: str) -> None:
    raw, headers = signed(callback())
    headers["webhook-signature"] = value
    assert rejected(platform, raw, headers).status == 401


def test_unreadable_timestamp(platform: BigCommercePlatform) -> None:
    raw, headers = signed(callback())
    headers["webhook-timestamp"] = "yesterday"
    assert rejected(platform, raw, headers).code == "invalid_timestamp"


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b"{\"scope\": 1}",
                                 json.dumps({**callback(), "producer": "someone"}).encode(),
                                 json.dumps({**callback(), "data": {"type": "order"}}).encode()])
def test_malformed_bodies_signed_correctly_are_400(platform: BigCommercePlatform, raw: bytes) -> None:
    _, headers = signed(raw)
    assert rejected(platform, raw, headers).status == 400


def test_body_that_is_not_utf8_is_400(platform: BigCommercePlatform) -> None:
    _, headers = signed(b"{}")
    error = rejected(platform, b"\xff\xfe", headers)
    assert (error.status, error.code) == (400, "malformed_body")


def test_store_key_needs_a_producer(platform: BigCommercePlatform) -> None:
    with pytest.raises(WebhookRejected) as caught:
        platform.webhook_store_key(b'{"producer": "elsewhere/abc"}', {})
    assert caught.value.status == 400
    with pytest.raises(WebhookRejected):
        platform.webhook_store_key(b"nope", {})
