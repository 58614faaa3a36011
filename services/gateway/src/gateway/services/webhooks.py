"""Platform webhook deliveries: verified by the platform's package exactly as the platform signs,
stored here with their event in one transaction before the platform gets its 200. A second delivery
with the same platform delivery id is acknowledged and has no effect; thin deliveries (ids only) are
acknowledged as soon as they are stored — order-ingest fetches the order in a durable job."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy.exc import IntegrityError

from dropline_infra.db import Database, utcnow
from dropline_infra.observability import get_logger
from dropline_infra.secrets import SecretBox
from dropline_integrations.port import Delivery, StorePlatform, WebhookRejected, WebhookSecrets
from dropline_schemas import topics as T
from dropline_schemas.events import DeliveryKind, Platform, StoreWebhookReceivedData, StoreWebhookReceivedV1

from ..errors import GatewayError
from ..models import Store, WebhookDelivery
from ..repository import Repository
from ..views import WebhookAck

log = get_logger(__name__)
PRODUCER = "gateway"


class Webhooks:
    def __init__(self, db: Database, secret_box: SecretBox, platforms: Mapping[Platform, StorePlatform]):
        self.db = db
        self.secret_box = secret_box
        self.platforms = platforms

    async def receive(self, platform: Platform, raw: bytes, headers: Mapping[str, str]) -> WebhookAck:
        adapter = self.platforms.get(platform)
        if adapter is None:
            raise GatewayError(404, "unknown_platform", f"no webhooks are taken for {platform.value}")
        try:
            key = adapter.webhook_store_key(raw, headers)
            async with self.db.uow() as uow:
                store = await Repository(uow.session).store_by_shop(platform.value, key)
            if store is None:
                raise GatewayError(404, "unknown_shop", f"no store connection for {platform.value} store {key!r}")
            secrets = WebhookSecrets(
                signing_key=self.secret_box.open(store.webhook_secret_encrypted),
                header_secret=self.secret_box.open(store.header_secret_encrypted)
                if store.header_secret_encrypted else None)
            delivery = adapter.verify_delivery(raw, headers, secrets, now=utcnow())
        except WebhookRejected as exc:
            if exc.status == 401:
                log.warning("webhook refused", platform=platform.value, reason=exc.message)
            raise GatewayError(exc.status, exc.code, exc.message) from None
        if delivery.kind is DeliveryKind.OTHER:
            return WebhookAck(status="ignored", reason=f"topic {delivery.topic} is not handled")
        return await self.accept(store, platform, delivery, raw)

    async def accept(self, store: Store, platform: Platform, delivery: Delivery, raw: bytes) -> WebhookAck:
        order_ref = delivery.platform_order_id or "-"
        try:
            async with self.db.uow() as uow:
                repo = Repository(uow.session)
                if await repo.delivery(platform.value, delivery.delivery_id):
                    return WebhookAck(status="duplicate")
                ours = str(uuid.uuid4())
                repo.add(WebhookDelivery(delivery_id=ours, platform=platform.value,
                                         platform_delivery_id=delivery.delivery_id, store_id=store.store_id,
                                         topic=delivery.topic, body=raw.decode("utf-8", errors="replace"),
                                         received_at=utcnow()))
                ev = StoreWebhookReceivedV1.create(
                    data=StoreWebhookReceivedData(
                        delivery_id=ours, platform=platform, store_id=store.store_id, shop=store.shop,
                        topic=delivery.topic, platform_delivery_id=delivery.delivery_id,
                        platform_event_id=delivery.event_id,
                        triggered_at=delivery.occurred_at.isoformat() if delivery.occurred_at else None,
                        payload=delivery.order if delivery.order is not None else delivery.body,
                        kind=delivery.kind, platform_order_id=delivery.platform_order_id,
                        carries_order=delivery.order is not None),
                    producer=PRODUCER, tenant_id=store.retailer_id,
                    correlation_id=f"{platform.value}:{store.shop}:order:{order_ref}",
                    causation_id=f"{platform.value}-delivery:{delivery.delivery_id}")
                uow.publish(ev, T.STORE_WEBHOOK_RECEIVED, key=store.store_id)
                await uow.commit()
        except IntegrityError:  # the same delivery arrived twice at the same moment; the other one won
            return WebhookAck(status="duplicate")
        log.info("webhook accepted", platform=platform.value, shop=store.shop, delivery=delivery.delivery_id,
                 kind=delivery.kind.value)
        return WebhookAck(status="accepted", delivery_id=ours)
