"""The accept_fulfilment_request job: a store asked Dropline, as the fulfilment service of its order, to
fulfil it (Shopify "Request fulfillment", a StoreWebhookReceived of kind fulfilment_requested); Dropline
accepts the request so the store shows the order In progress, and says so on every Dropline order of that
store order (FulfilmentRequestAccepted). Nothing is paid, forwarded or fulfilled here: the order goes on as
any other, and its tracking is written back by sync_tracking as today.

One job per delivery (key = Dropline's delivery id), in two steps, each committed with its outcome:
1. find the store order: the delivery names only the fulfillment order (Shopify's payload has no order id),
   so read it (and its line items) from the store; then find its Dropline orders (OrderReceived). None yet
   → retried with backoff: Dropline answers only for orders it has (it ingests paid orders only) and gives
   up quietly otherwise. Some of the fulfillment order's lines in no Dropline order yet (the store order's
   other suppliers' orders have not arrived) → retried too, for up to fulfilment_request_wait_seconds from
   the request, then answered for the orders known. The orders found are recorded
   (sync_fulfilment_requests, status pending).
2. accept through the platform's adapter (it looks first: an accepted request is reported, not accepted
   again — the rerun after a crash past the store's write), record it, publish one event per Dropline
   order. Another delivery of a fulfillment order accepted already is recorded as duplicate, nothing is
   published. Refused (not submitted any more, userErrors, bad token) or given up → FulfilmentRequestAccepted
   with accepted=false and the reason, on each of those Dropline orders.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dropline_infra.db import UnitOfWork, utcnow
from dropline_infra.jobs import Again, JobKind, Permanent, Retryable
from dropline_infra.observability import get_logger
from dropline_infra.secrets import SecretBox
from dropline_integrations.port import (
    AcceptsFulfilmentRequests,
    InvalidStoreOrder,
    StoreAccess,
    StorePlatform,
    accepts_fulfilment_requests,
)
from dropline_schemas import topics as T
from dropline_schemas.events import (
    FulfilmentRequestAcceptedData,
    FulfilmentRequestAcceptedV1,
    Platform,
    StoreWebhookReceivedV1,
)

from .models import SyncFulfilmentRequest, SyncOrder, SyncStore
from .repository import Repository
from .settings import Settings

log = get_logger(__name__)
PRODUCER = "tracking-sync"
ACCEPT_FULFILMENT_REQUEST = "accept_fulfilment_request"


def request_payload(event: StoreWebhookReceivedV1) -> dict[str, Any]:
    d = event.data
    return {"delivery_id": d.delivery_id, "store_id": d.store_id, "platform": d.platform.value,
            "body": d.payload, "platform_order_id": d.platform_order_id,
            "tenant_id": event.tenant_id, "correlation_id": event.correlation_id,
            "causation_id": str(event.event_id), "requested_at": event.occurred_at.isoformat()}


def _context(payload: dict[str, Any]) -> dict[str, str]:
    return {"tenant_id": payload["tenant_id"], "correlation_id": payload["correlation_id"],
            "causation_id": payload["causation_id"]}


class AcceptFulfilmentRequest:
    def __init__(self, adapters: Mapping[Platform, StorePlatform], secrets: SecretBox, *, wait_seconds: float = 120.0):
        self.adapters = adapters
        self.secrets = secrets
        self.wait_seconds = wait_seconds  # Settings.fulfilment_request_wait_seconds

    async def run(self, uow: UnitOfWork, payload: dict[str, Any]) -> Again | None:
        repo = Repository(uow.session)
        row = await repo.fulfilment_request(payload["delivery_id"])
        if row is not None and row.status != "pending":
            log.info("fulfilment request answered already; nothing to do", delivery_id=row.delivery_id)
            return None
        store = await repo.store(payload["store_id"])
        if store is None:
            raise Permanent(f"store {payload['store_id']} is not known")
        adapter = self._adapter(store)
        try:
            request = adapter.fulfilment_request_of(payload["body"])
        except InvalidStoreOrder as exc:
            raise Permanent(f"the fulfilment request cannot be read: {exc}") from None
        access = self._access(store)

        if row is None:  # step 1: which Dropline orders is this for?
            state = await adapter.fulfilment_request(access, request.platform_fulfillment_order_id)
            platform_order_id = request.platform_order_id or payload.get("platform_order_id") or state.platform_order_id
            orders = await repo.orders_of_store_order(store.store_id, platform_order_id)
            if not orders:
                raise Retryable(f"store order {platform_order_id} is not a Dropline order (yet): "
                                "the request is answered once the order has arrived")
            await self._every_line_known(repo, payload, platform_order_id, orders, state.platform_line_ids)
            repo.add(SyncFulfilmentRequest(
                delivery_id=payload["delivery_id"], store_id=store.store_id, platform=store.platform,
                platform_fulfillment_order_id=request.platform_fulfillment_order_id,
                platform_order_id=platform_order_id, order_ids=json.dumps([o.order_id for o in orders]),
                message=request.message, created_at=utcnow()))
            log.info("fulfilment request is for Dropline orders", delivery_id=payload["delivery_id"],
                     order_ids=[o.order_id for o in orders], platform_order_id=platform_order_id)
            return Again(0)

        # step 2: answer the store
        earlier = await repo.answered_request(store.store_id, row.platform_fulfillment_order_id)
        if earlier is not None:
            row.status = "duplicate"
            repo.add(row)
            log.info("fulfillment order's request accepted already by an earlier delivery; nothing published",
                     delivery_id=row.delivery_id, earlier_delivery_id=earlier.delivery_id)
            return None
        try:
            accepted = await adapter.accept_fulfilment_request(access, request)
        except Permanent as exc:
            self._refused(uow, row, payload, str(exc))
            return None
        row.status, row.already_accepted, row.accepted_at = "accepted", accepted.already_accepted, utcnow()
        repo.add(row)
        for order_id in json.loads(row.order_ids):
            event = FulfilmentRequestAcceptedV1.create(
                data=FulfilmentRequestAcceptedData(
                    order_id=order_id, store_id=row.store_id, platform=Platform(row.platform),
                    platform_order_id=row.platform_order_id,
                    platform_fulfillment_order_id=accepted.platform_fulfillment_order_id, accepted=True,
                    message=row.message, accepted_at=row.accepted_at, already_accepted=accepted.already_accepted),
                producer=PRODUCER, **_context(payload))
            uow.publish(event, T.FULFILMENT_REQUEST, key=order_id)
        log.info("fulfilment request accepted", delivery_id=row.delivery_id,
                 platform_fulfillment_order_id=accepted.platform_fulfillment_order_id,
                 already_accepted=accepted.already_accepted, request_status=accepted.request_status,
                 status=accepted.status)
        return None

    async def _every_line_known(self, repo: Repository, payload: dict[str, Any], platform_order_id: str,
                                orders: list[SyncOrder], platform_line_ids: tuple[str, ...]) -> None:
        """Wait (retry) while a line of the fulfillment order is in no Dropline order tracking-sync knows:
        the store order's other Dropline orders (one per supplier) may not have reached it yet — their
        OrderReceived events travel apart, e.g. across a consumer-group rebalance — and the answer is said
        once, on the orders known when it is given. Past the wait, it is given for the orders known."""
        missing = sorted(set(platform_line_ids) - await repo.platform_line_ids([o.order_id for o in orders]))
        if not missing:
            return
        requested_at = payload.get("requested_at")
        waited = (utcnow() - datetime.fromisoformat(requested_at)).total_seconds() if requested_at else None
        if waited is not None and waited < self.wait_seconds:
            raise Retryable(f"store order {platform_order_id}: line items {', '.join(missing)} are in no Dropline "
                            "order yet: the request is answered once their orders have arrived")
        log.warning("fulfilment request answered without every line in a Dropline order",
                    delivery_id=payload["delivery_id"], platform_order_id=platform_order_id,
                    missing_platform_line_ids=missing, waited_seconds=waited)

    async def give_up(self, uow: UnitOfWork, payload: dict[str, Any], reason: str) -> None:
        row = await Repository(uow.session).fulfilment_request(payload["delivery_id"])
        if row is None or row.status != "pending":
            # No Dropline order to say it on (the store order never arrived, or the delivery is unreadable).
            log.warning("fulfilment request not answered", delivery_id=payload["delivery_id"],
                        store_id=payload["store_id"], reason=reason)
            return
        self._refused(uow, row, payload, reason)

    def _refused(self, uow: UnitOfWork, row: SyncFulfilmentRequest, payload: dict[str, Any], reason: str) -> None:
        row.status, row.reason = "failed", reason
        uow.session.add(row)
        for order_id in json.loads(row.order_ids):
            event = FulfilmentRequestAcceptedV1.create(
                data=FulfilmentRequestAcceptedData(
                    order_id=order_id, store_id=row.store_id, platform=Platform(row.platform),
                    platform_order_id=row.platform_order_id,
                    platform_fulfillment_order_id=row.platform_fulfillment_order_id, accepted=False,
                    message=row.message, reason=reason),
                producer=PRODUCER, **_context(payload))
            uow.publish(event, T.FULFILMENT_REQUEST, key=order_id)
        log.warning("fulfilment request not accepted", delivery_id=row.delivery_id, reason=reason)

    def _adapter(self, store: SyncStore) -> AcceptsFulfilmentRequests:
        platform = Platform(store.platform)
        adapter = self.adapters.get(platform)
        if adapter is None or not accepts_fulfilment_requests(adapter):
            raise Permanent(f"{platform.value} stores' fulfilment requests are not supported")
        return adapter  # type: ignore[return-value]

    def _access(self, store: SyncStore) -> StoreAccess:
        try:
            credentials = self.secrets.open_json(store.credentials_encrypted)
        except ValueError as exc:  # wrong secrets_key or not JSON; never echo the token
            raise Permanent(f"store {store.store_id}: credentials could not be read: {exc}") from None
        return StoreAccess(store_id=store.store_id, shop=store.shop, api_base_url=store.api_base_url,
                           credentials=credentials)


def accept_fulfilment_request_kind(settings: Settings, adapters: Mapping[Platform, StorePlatform]) -> JobKind:
    job = AcceptFulfilmentRequest(adapters, SecretBox(settings.secrets_key.get_secret_value()),
                                  wait_seconds=settings.fulfilment_request_wait_seconds)
    return JobKind(ACCEPT_FULFILMENT_REQUEST, handler=job.run, on_give_up=job.give_up,
                   max_attempts=settings.job_max_attempts, base_delay=settings.job_base_delay_seconds,
                   max_delay=settings.job_max_delay_seconds)
