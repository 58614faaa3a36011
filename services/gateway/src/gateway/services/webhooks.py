"""Platform webhook deliveries: verified by the platform's package exactly as the platform signs,
stored here with their event in one transaction before the platform gets its 200. A second delivery
with the same platform delivery id is acknowledged and has no effect; thin deliveries (ids only) are
acknowledged as soon as they are stored — order-ingest fetches the order in a durable job."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

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


@dataclass(frozen=True)
class _Known:
    store: Store
    secrets: WebhookSecrets
    until: float


class Webhooks:
    """The webhook path is the one every store order takes first, at the platform's pace: per delivery it
    does the signature check and ONE transaction (delivery row + outbox row, no read before it — a
    repeated delivery id is told by the unique constraint). The store and its decrypted secrets are
    kept in memory for `store_cache_seconds` (5 s): a delivery whose signature fails with a kept secret is
    checked again against the database's, so a new secret is honoured at once, and a new store is seen at
    once (misses are not kept). The price: a replaced secret is still accepted by a replica that kept it
    for at most those seconds (docs/architecture.md, ADR 27)."""

    def __init__(self, db: Database, secret_box: SecretBox, platforms: Mapping[Platform, StorePlatform], *,
                 store_cache_seconds: float = 5.0, clock=time.monotonic):
        self.db = db
        self.secret_box = secret_box
        self.platforms = platforms
        self.store_cache_seconds = store_cache_seconds
        self.clock = clock
        self._known: dict[tuple[str, str], _Known] = {}

    async def _store(self, platform: Platform, key: str, *, fresh: bool = False) -> _Known | None:
        now = self.clock()
        known = None if fresh else self._known.get((platform.value, key))
        if known is not None and known.until > now:
            return known
        async with self.db.uow() as uow:
            store = await Repository(uow.session).store_by_shop(platform.value, key)
        if store is None:
            self._known.pop((platform.value, key), None)
            return None
        known = _Known(store=store, until=now + self.store_cache_seconds, secrets=WebhookSecrets(
            signing_key=self.secret_box.open(store.webhook_secret_encrypted),
            header_secret=self.secret_box.open(store.header_secret_encrypted)
            if store.header_secret_encrypted else None))
        if self.store_cache_seconds > 0:
            self._known[(platform.value, key)] = known
        return known

    async def receive(self, platform: Platform, raw: bytes, headers: Mapping[str, str]) -> WebhookAck:
        adapter = self.platforms.get(platform)
        if adapter is None:
            raise GatewayError(404, "unknown_platform", f"no webhooks are taken for {platform.value}")
        try:
            key = adapter.webhook_store_key(raw, headers)
            known = await self._store(platform, key)
            if known is None:
                raise GatewayError(404, "unknown_shop", f"no store connection for {platform.value} store {key!r}")
            try:
                delivery = adapter.verify_delivery(raw, headers, known.secrets, now=utcnow())
            except WebhookRejected as exc:
                if exc.status != 401:
                    raise
                # Maybe the secret was rotated since it was kept: check against the stored one.
                known = await self._store(platform, key, fresh=True)
                if known is None:
                    raise GatewayError(404, "unknown_shop",
                                       f"no store connection for {platform.value} store {key!r}") from None
                delivery = adapter.verify_delivery(raw, headers, known.secrets, now=utcnow())
            store = known.store
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
                # Keyed by store order: one order's deliveries stay in order on one partition, and a big
                # store's orders spread over all of them (a delivery about no order: by store).
                key = f"{store.store_id}:{delivery.platform_order_id}" if delivery.platform_order_id else store.store_id
                uow.publish(ev, T.STORE_WEBHOOK_RECEIVED, key=key)
                await uow.commit()
        except IntegrityError as exc:
            # The platform delivery id is unique: this delivery was stored before (a retry, or the same one
            # arriving twice at once). Anything else that broke a constraint is not a duplicate.
            if not await self._delivered(platform, delivery.delivery_id):
                raise GatewayError(500, "delivery_not_stored", "the delivery could not be stored") from exc
            return WebhookAck(status="duplicate")
        log.info("webhook accepted", platform=platform.value, shop=store.shop, delivery=delivery.delivery_id,
                 kind=delivery.kind.value)
        return WebhookAck(status="accepted", delivery_id=ours)

    async def _delivered(self, platform: Platform, platform_delivery_id: str) -> bool:
        async with self.db.uow() as uow:
            return await Repository(uow.session).delivery(platform.value, platform_delivery_id) is not None
