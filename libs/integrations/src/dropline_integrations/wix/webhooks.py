"""Wix webhook deliveries (platforms.md §4.1): the whole body is a compact JWS, RS256-signed with the
app's key pair; verify with the app's public key (PEM, app dashboard > Webhooks > "Get Public Key").

Decoded claims: ``{"data": "<JSON string>", "iat": …, "exp": …}``; ``data`` →
``{eventType, instanceId, data: "<JSON string>", identity: "<JSON string>"}``; that inner ``data`` →
the event envelope ``{id, entityFqdn, slug, entityId, eventTime, createdEvent|actionEvent|updatedEvent…}``.

- The delivery id (dedupe key) is the event ``id`` — NOT ``entityId`` (that is the order id).
- Only RS256 is accepted: ``none`` and HS256-signed-with-the-public-key forgeries are refused.
- ``exp`` is required and enforced against the caller's clock (a stale token is a 401). Wix's own sample
  token lives 300,000 s (~3.5 days), which covers its ~47 h of retries.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import jwt

from ..parsing import timestamp
from ..port import Delivery, DeliveryKind, InvalidStoreOrder, WebhookRejected, WebhookSecrets

ORDER_FQDN = "wix.ecom.v1.order"
ORDER_SLUG_KINDS = {
    # Wix's own fulfilment flow listens to Order Approved: the order Dropline ingests.
    "approved": DeliveryKind.ORDER_CREATED,
    # Also fires for orders not approved (not paid) yet: normalise() gives AWAITING_PAYMENT for those and
    # ingest keeps them out; an approved one ingests once (ingest dedupes on the order id).
    "created": DeliveryKind.ORDER_CREATED,
    "updated": DeliveryKind.ORDER_UPDATED,
    "payment_status_updated": DeliveryKind.ORDER_UPDATED,
    "canceled": DeliveryKind.ORDER_CANCELLED,
}
ALGORITHMS = ["RS256"]


def _token(raw: bytes) -> str:
    try:
        token = raw.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise WebhookRejected(400, "malformed_jwt", "body is not UTF-8 text") from exc
    if token.count(".") != 2:
        raise WebhookRejected(400, "malformed_jwt", "body is not a compact JWT (header.payload.signature)")
    return token


def _json(value: Any, where: str) -> dict[str, Any]:
    """A JSON object given as a string (Wix's documented form) or already as an object."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise WebhookRejected(400, "malformed_payload", f"{where} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise WebhookRejected(400, "malformed_payload", f"{where} must be a JSON object")
    return value


def _unverified_claims(raw: bytes) -> dict[str, Any]:
    token = _token(raw)
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise WebhookRejected(400, "malformed_jwt", f"body is not a readable JWT: {exc}") from exc


def _outer(claims: Mapping[str, Any]) -> dict[str, Any]:
    if "data" not in claims:
        raise WebhookRejected(400, "malformed_payload", "JWT claims have no 'data'")
    return _json(claims["data"], "claims.data")


def store_key(raw: bytes) -> str:
    """The app instance id (the site) that sent this — read WITHOUT verifying, only to find its secrets."""
    instance = _outer(_unverified_claims(raw)).get("instanceId")
    if not isinstance(instance, str) or not instance.strip():
        raise WebhookRejected(400, "missing_instance", "claims.data has no instanceId")
    return instance.strip()


def verify(raw: bytes, secrets: WebhookSecrets, now: datetime, *, leeway_seconds: float = 60.0) -> Delivery:
    token = _token(raw)
    try:
        jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise WebhookRejected(400, "malformed_jwt", f"body is not a readable JWT: {exc}") from exc
    try:
        # exp is checked below against the caller's clock (verify_delivery's `now`), but it must be there.
        claims = jwt.decode(token, secrets.signing_key, algorithms=ALGORITHMS,
                            options={"require": ["exp"], "verify_exp": False, "verify_iat": False,
                                     "verify_nbf": False, "verify_aud": False, "verify_iss": False})
    except jwt.MissingRequiredClaimError as exc:
        raise WebhookRejected(401, "invalid_jwt", f"webhook JWT: {exc}") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise WebhookRejected(401, "invalid_algorithm", f"webhook JWT must be RS256-signed: {exc}") from exc
    except jwt.InvalidSignatureError as exc:
        raise WebhookRejected(401, "invalid_signature", "webhook JWT signature does not verify with the "
                                                         "app's public key") from exc
    except (jwt.InvalidTokenError, ValueError, TypeError) as exc:  # unusable key, unreadable token
        raise WebhookRejected(401, "invalid_jwt", f"webhook JWT could not be verified: {exc}") from exc

    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        raise WebhookRejected(401, "invalid_jwt", "webhook JWT exp is not a number")
    if now.timestamp() > float(exp) + leeway_seconds:
        raise WebhookRejected(401, "expired", "webhook JWT has expired")

    outer = _outer(claims)
    instance = outer.get("instanceId")
    if not isinstance(instance, str) or not instance.strip():
        raise WebhookRejected(400, "missing_instance", "claims.data has no instanceId")
    event = _json(outer.get("data"), "claims.data.data")
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id.strip():
        raise WebhookRejected(400, "missing_event_id", "the event has no 'id'")

    fqdn, slug = event.get("entityFqdn"), event.get("slug")
    event_type = outer.get("eventType")
    topic = event_type if isinstance(event_type, str) and event_type else f"{fqdn}_{slug}"
    if not (isinstance(fqdn, str) and isinstance(slug, str)) and isinstance(event_type, str) and "_" in event_type:
        fqdn, _, slug = event_type.partition("_")  # `{entityFqdn}_{slug}`, e.g. wix.ecom.v1.order_approved

    kind = ORDER_SLUG_KINDS.get(slug, DeliveryKind.OTHER) if fqdn == ORDER_FQDN else DeliveryKind.OTHER
    order: dict[str, Any] | None = None
    order_id: str | None = None
    if fqdn == ORDER_FQDN:
        order = _order_of(event)
        entity_id = event.get("entityId")
        order_id = (str(order["id"]) if order and order.get("id") else
                    entity_id if isinstance(entity_id, str) and entity_id else None)
    try:
        occurred = timestamp(event.get("eventTime"), "eventTime")
    except InvalidStoreOrder:
        occurred = None
    body = {"eventType": event_type, "instanceId": instance, "event": event,
            "identity": _identity(outer.get("identity"))}
    return Delivery(kind=kind, topic=topic, delivery_id=event_id, store_key=instance.strip(),
                    platform_order_id=order_id, order=order, body=body, occurred_at=occurred)


def _order_of(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The full order entity where the event carries it (``…AsJson`` string forms accepted too)."""
    candidates: list[tuple[Any, str]] = []
    action = event.get("actionEvent")
    if isinstance(action, Mapping):
        body = action.get("body")
        if body is None and isinstance(action.get("bodyAsJson"), str):
            body = _json(action["bodyAsJson"], "actionEvent.bodyAsJson")
        if isinstance(body, Mapping):
            candidates.append((body.get("order"), "actionEvent.body.order"))
    created = event.get("createdEvent")
    if isinstance(created, Mapping):
        candidates.append((created.get("entity", created.get("entityAsJson")), "createdEvent.entity"))
    updated = event.get("updatedEvent")
    if isinstance(updated, Mapping):
        candidates.append((updated.get("currentEntity", updated.get("currentEntityAsJson")),
                           "updatedEvent.currentEntity"))
    for value, where in candidates:
        if value is not None:
            return _json(value, where)
    return None


def _identity(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
