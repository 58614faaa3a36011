"""Platform webhook deliveries: verified by the route, stored here with their event in one
transaction before the platform gets its 200; a second delivery with the same platform delivery id
is acknowledged and has no effect."""

from __future__ import annotations

import json
import uuid

from sqlalchemy.exc import IntegrityError

from dropline_infra.db import Database, utcnow
from dropline_infra.observability import get_logger
from dropline_infra.secrets import SecretBox
from dropline_schemas import topics as T
from dropline_schemas.events import Platform, StoreWebhookReceivedData, StoreWebhookReceivedV1

from ..errors import GatewayError
from ..models import Store, WebhookDelivery
from ..repository import Repository
from ..views import WebhookAck
from ..webhooks import shopify_signature_ok

log = get_logger(__name__)
PRODUCER = "gateway"
HANDLED_SHOPIFY_TOPICS = {"orders/create"}


class Webhooks:
    def __init__(self, db: Database, secret_box: SecretBox):
        self.db = db
        self.secret_box = secret_box

    async def shopify(self, raw: bytes, *, signature: str, shop: str, topic: str, webhook_id: str,
                      event_id: str | None, triggered_at: str | None) -> WebhookAck:
        async with self.db.uow() as uow:
            store = await Repository(uow.session).store_by_shop(Platform.SHOPIFY.value, shop.lower())
        if store is None:
            raise GatewayError(404, "unknown_shop", f"no store connection for shop {shop!r}")
        if not shopify_signature_ok(raw, signature, self.secret_box.open(store.webhook_secret_encrypted)):
            log.warning("shopify webhook with a bad signature", shop=shop, webhook_id=webhook_id)
            raise GatewayError(401, "invalid_signature", "X-Shopify-Hmac-Sha256 does not match the body")
        try:
            payload = json.loads(raw.decode("utf-8"))  # webhooks are UTF-8 JSON; anything else is malformed
        except (ValueError, UnicodeDecodeError) as exc:
            raise GatewayError(400, "malformed_json", f"body is not valid JSON: {exc}") from exc
        if not isinstance(payload, dict):
            raise GatewayError(400, "malformed_json", "body must be a JSON object")
        if topic not in HANDLED_SHOPIFY_TOPICS:
            return WebhookAck(status="ignored", reason=f"topic {topic} is not handled")
        if "id" not in payload:
            raise GatewayError(400, "invalid_order", "order payload has no 'id'")
        return await self.accept(store, Platform.SHOPIFY, topic, webhook_id, event_id, triggered_at, raw, payload,
                                 correlation_id=f"shopify:{store.shop}:order:{payload['id']}")

    async def accept(self, store: Store, platform: Platform, topic: str, delivery_id: str, event_id: str | None,
                     triggered_at: str | None, raw: bytes, payload: dict, correlation_id: str) -> WebhookAck:
        try:
            async with self.db.uow() as uow:
                repo = Repository(uow.session)
                if await repo.delivery(platform.value, delivery_id):
                    return WebhookAck(status="duplicate")
                ours = str(uuid.uuid4())
                repo.add(WebhookDelivery(delivery_id=ours, platform=platform.value, platform_delivery_id=delivery_id,
                                         store_id=store.store_id, topic=topic, body=raw.decode("utf-8"),
                                         received_at=utcnow()))
                ev = StoreWebhookReceivedV1.create(
                    data=StoreWebhookReceivedData(delivery_id=ours, platform=platform, store_id=store.store_id,
                                                  shop=store.shop, topic=topic, platform_delivery_id=delivery_id,
                                                  platform_event_id=event_id, triggered_at=triggered_at,
                                                  payload=payload),
                    producer=PRODUCER, tenant_id=store.retailer_id, correlation_id=correlation_id,
                    causation_id=f"{platform.value}-delivery:{delivery_id}")
                uow.publish(ev, T.STORE_WEBHOOK_RECEIVED, key=store.store_id)
                await uow.commit()
        except IntegrityError:  # the same delivery arrived twice at the same moment; the other one won
            return WebhookAck(status="duplicate")
        log.info("webhook accepted", platform=platform.value, shop=store.shop, delivery=delivery_id)
        return WebhookAck(status="accepted", delivery_id=ours)
