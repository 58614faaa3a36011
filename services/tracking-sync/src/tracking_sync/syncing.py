"""The sync_tracking job: write one tracking record to the retailer's store through the platform's
adapter, then record the outcome and its event in the worker's transaction.

Safe to run again: a crash after the store accepted the fulfilment and before our commit makes the job
run once more; the adapter looks before writing and reports the fulfilment it finds (already_present).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from dropline_infra.db import UnitOfWork, utcnow
from dropline_infra.jobs import Deferred, JobKind, Permanent
from dropline_infra.observability import get_logger
from dropline_infra.secrets import SecretBox
from dropline_integrations.limits import StoreLimiter
from dropline_integrations.port import FulfilmentRequest, StoreAccess, StorePlatform, Tracking
from dropline_integrations.registry import build_platforms
from dropline_schemas import topics as T
from dropline_schemas.events import (
    OrderSyncedData,
    OrderSyncedV1,
    OrderSyncFailedData,
    OrderSyncFailedV1,
    Platform,
    TrackingAddedV1,
)

from .domain import LineToFulfil, Shipped, UnknownLines, lines_to_fulfil
from .models import SyncFulfillment, SyncOrder, SyncOrderLine
from .repository import Repository, as_utc
from .settings import Settings

log = get_logger(__name__)
PRODUCER = "tracking-sync"
SYNC_TRACKING = "sync_tracking"


def sync_payload(event: TrackingAddedV1, order: SyncOrder | None, lines: list[SyncOrderLine]) -> dict[str, Any]:
    """Everything the job needs about the tracking and the order. The store's credentials are read when
    the job runs (a reconnected store's new token is then used) and stay out of the jobs table. Without
    the order (its OrderReceived has not reached tracking-sync yet) the job is parked: it carries the
    tracking only and reads the order when it runs (`SyncTracking.run` waits for it)."""
    d = event.data
    payload = {
        "tracking_id": d.tracking_id,
        "order_id": d.order_id,
        "tenant_id": event.tenant_id,
        "correlation_id": event.correlation_id,
        "causation_id": str(event.event_id),
        "tracking_number": d.tracking_number,
        "carrier": d.carrier,
        "tracking_url": d.tracking_url,
        "line_ids": d.line_ids,
        # Lines and quantities of this shipment; None for events before partial shipments (then line_ids).
        "shipped": None if d.lines is None else [{"line_id": s.line_id, "quantity": s.quantity} for s in d.lines],
    }
    if order is None:
        return payload | {"parked_at": utcnow().isoformat()}
    return payload | order_fields(order, lines)


def order_fields(order: SyncOrder, lines: list[SyncOrderLine]) -> dict[str, Any]:
    return {
        "store_id": order.store_id,
        "platform": order.platform,
        "platform_order_id": order.platform_order_id,
        "lines": [{"line_id": line.line_id, "platform_line_id": line.platform_line_id, "sku": line.sku,
                   "quantity": line.quantity} for line in lines],
    }


def _event_context(payload: dict[str, Any]) -> dict[str, str]:
    return {"tenant_id": payload["tenant_id"], "correlation_id": payload["correlation_id"],
            "causation_id": payload["causation_id"]}


@dataclass(frozen=True)
class StoreCall:
    """What a job needs to call one store: its platform's adapter and the decrypted access."""

    platform: Platform
    adapter: StorePlatform
    access: StoreAccess


async def open_store(repo: Repository, adapters: Mapping[Platform, StorePlatform], secrets: SecretBox,
                     store_id: str) -> StoreCall:
    """The store, its adapter and its credentials (decrypted now; a reconnected store's new token is used).
    Permanent when the store is unknown, the platform has no adapter or the credentials cannot be read."""
    store = await repo.store(store_id)
    if store is None:
        raise Permanent(f"store {store_id} is not known")
    platform = Platform(store.platform)
    adapter = adapters.get(platform)
    if adapter is None:
        raise Permanent(f"writing fulfilments back to {platform.value} is not supported yet")
    try:
        credentials = secrets.open_json(store.credentials_encrypted)
    except ValueError as exc:  # wrong secrets_key or not JSON; never echo the token
        raise Permanent(f"store {store.store_id}: credentials could not be read: {exc}") from None
    return StoreCall(platform=platform, adapter=adapter,
                     access=StoreAccess(store_id=store.store_id, shop=store.shop, api_base_url=store.api_base_url,
                                        credentials=credentials))


def shipment_lines(payload: dict[str, Any]) -> list[LineToFulfil]:
    """The order's lines (and quantities) the job's tracking record covers; Permanent when it names lines
    outside the order or covers none."""
    try:
        shipped = payload.get("shipped")  # absent in jobs queued before partial shipments
        lines = lines_to_fulfil((LineToFulfil(**line) for line in payload["lines"]), payload.get("line_ids"),
                                None if shipped is None else [Shipped(**s) for s in shipped])
    except UnknownLines as exc:
        raise Permanent(str(exc)) from exc
    if not lines:
        raise Permanent("nothing to fulfil: the tracking covers no lines")
    return lines


def record_synced(uow: UnitOfWork, repo: Repository, payload: dict[str, Any], platform: Platform,
                  platform_fulfillment_id: str, *, already_present: bool, kept_number: str | None) -> None:
    """The store has the job's tracking record: its SyncFulfillment row and OrderSynced, in the job's
    unit of work (a rerun finds the row and does nothing)."""
    tracking_id = payload["tracking_id"]
    repo.add_fulfillment(SyncFulfillment(tracking_id=tracking_id, order_id=payload["order_id"],
                                         platform_fulfillment_id=platform_fulfillment_id,
                                         synced_at=utcnow(), already_present=already_present))
    event = OrderSyncedV1.create(
        data=OrderSyncedData(order_id=payload["order_id"], tracking_id=tracking_id, platform=platform,
                             platform_fulfillment_id=platform_fulfillment_id,
                             tracking_number=payload["tracking_number"], already_present=already_present,
                             kept_number=kept_number),
        producer=PRODUCER, **_event_context(payload))
    uow.publish(event, T.ORDER_SYNCED, key=payload["order_id"])
    log.info("tracking synced to the store", tracking_id=tracking_id, platform=platform.value,
             platform_fulfillment_id=platform_fulfillment_id, already_present=already_present,
             kept_number=kept_number)


def publish_sync_failed(uow: UnitOfWork, payload: dict[str, Any], reason: str) -> None:
    event = OrderSyncFailedV1.create(
        data=OrderSyncFailedData(order_id=payload["order_id"], tracking_id=payload["tracking_id"], reason=reason),
        producer=PRODUCER, **_event_context(payload))
    uow.publish(event, T.ORDER_SYNC_FAILED, key=payload["order_id"])


class SyncTracking:
    def __init__(self, adapters: Mapping[Platform, StorePlatform], secrets: SecretBox, *,
                 order_wait_max_seconds: float = 3600.0):
        self.adapters = adapters
        self.secrets = secrets
        self.order_wait_max_seconds = order_wait_max_seconds  # Settings.order_wait_max_seconds

    async def run(self, uow: UnitOfWork, payload: dict[str, Any]) -> None:
        repo = Repository(uow.session)
        tracking_id = payload["tracking_id"]
        if await repo.fulfillment(tracking_id):
            log.info("tracking already synced; nothing to do", tracking_id=tracking_id)
            return
        # One order's shipments reach its store one at a time, in the order they were reported (Ecwid keeps
        # the first number it gets, ADR 24): the order's row is locked until this write-back is recorded,
        # and an earlier one still to run goes first.
        order = await repo.order(payload["order_id"], for_update=True)
        if "lines" not in payload:  # parked: queued before the order reached tracking-sync
            payload = payload | await self._unparked(repo, order, payload)
        earlier = await repo.earlier_write_back(SYNC_TRACKING, tracking_id, payload["order_id"])
        if earlier is not None:
            wait = (as_utc(earlier.next_attempt_at) - utcnow()).total_seconds()
            raise Deferred(f"the order's earlier shipment {earlier.key} is written back first",
                           retry_after=min(max(wait, 0.0) + 0.5, 300.0))
        call = await open_store(repo, self.adapters, self.secrets, payload["store_id"])
        lines = shipment_lines(payload)
        result = await call.adapter.fulfil(
            call.access,
            FulfilmentRequest(platform_order_id=payload["platform_order_id"], lines=tuple(lines),
                              tracking=Tracking(number=payload["tracking_number"], company=payload["carrier"],
                                                url=payload["tracking_url"])))
        record_synced(uow, repo, payload, call.platform, result.platform_fulfillment_id,
                      already_present=result.already_present, kept_number=result.kept_number)

    async def _unparked(self, repo: Repository, order: SyncOrder | None, payload: dict[str, Any]) -> dict[str, Any]:
        """The order's part of a parked job's payload, once the order and its store are known; until then the
        job waits (Deferred, no attempt spent), for up to order_wait_max_seconds from when it was parked."""
        store_known = order is not None and await repo.store(order.store_id) is not None
        if order is not None and store_known:
            return order_fields(order, await repo.order_lines(order.order_id))
        waited = (utcnow() - datetime.fromisoformat(payload["parked_at"])).total_seconds()
        missing = f"order {payload['order_id']}" if order is None else f"store {order.store_id}"
        if waited >= self.order_wait_max_seconds:
            raise Permanent(f"{missing} never reached tracking-sync ({waited:.0f} s after its tracking)")
        # The order's OrderReceived makes the job due at once (handlers.on_order_received); this is the
        # fallback (a store connected late, or the two transactions crossing), so it need not be soon:
        # under load hundreds of jobs are parked at once, and every try is a claim and a commit.
        raise Deferred(f"{missing} not known yet: the tracking is written back once it has arrived",
                       retry_after=min(5.0 + waited / 10, 60.0))

    async def give_up(self, uow: UnitOfWork, payload: dict[str, Any], reason: str) -> None:
        publish_sync_failed(uow, payload, reason)

def sync_tracking_kind(settings: Settings, http: httpx.AsyncClient,
                       adapters: Mapping[Platform, StorePlatform] | None = None,
                       limiter: StoreLimiter | None = None) -> JobKind:
    job = SyncTracking(adapters if adapters is not None else build_platforms(http, limiter),
                       SecretBox(settings.secrets_key.get_secret_value()),
                       order_wait_max_seconds=settings.order_wait_max_seconds)
    return JobKind(SYNC_TRACKING, handler=job.run, on_give_up=job.give_up, max_attempts=settings.job_max_attempts,
                   base_delay=settings.job_base_delay_seconds, max_delay=settings.job_max_delay_seconds)
