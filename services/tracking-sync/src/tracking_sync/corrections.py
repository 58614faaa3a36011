"""The correct_tracking job: a wrong tracking number replaced by an explicit correction (TrackingCorrected)
reaches the store as a change of the number on the store's existing fulfilment, never as a second one.

The new record (`tracking_id`) replaces `corrects_tracking_id`, whose own write-back may not be finished:

- the corrected record is in the store (it has a SyncFulfillment): `adapter.correct_tracking` on that
  fulfilment, from the number the store shows to the new one, with the shipment's lines;
- its write-back (sync_tracking, or correct_tracking for a correction of a correction) is still queued,
  running or not even queued yet (TrackingAdded is on another topic): `Deferred`, no attempt spent, to
  about when that job runs next;
- its write-back failed for good (it never reached the store): nothing to correct, the new number is
  written as a fresh fulfilment of the same lines through `adapter.fulfil`. A correction that failed for
  good left the store with what *it* corrected: the chain is followed back to the record the store has.

Either way the new record gets its SyncFulfillment row (same platform_fulfillment_id) and OrderSynced in
the job's unit of work, like sync_tracking; giving up publishes OrderSyncFailed for the new record. Safe
to run again: the row for the new id short-circuits a rerun, and after a crash past the store write the
adapter looks first (already_present).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from dropline_infra.db import UnitOfWork, utcnow
from dropline_infra.jobs import Deferred, JobKind, Permanent
from dropline_infra.models import Job
from dropline_infra.observability import get_logger
from dropline_infra.secrets import SecretBox
from dropline_integrations.port import FulfilmentRequest, StorePlatform, Tracking, TrackingCorrection
from dropline_integrations.registry import build_platforms
from dropline_schemas.events import Platform, TrackingCorrectedV1

from .models import SyncFulfillment, SyncOrder, SyncOrderLine
from .repository import Repository, as_utc
from .settings import Settings
from .syncing import SYNC_TRACKING, open_store, publish_sync_failed, record_synced, shipment_lines

log = get_logger(__name__)
CORRECT_TRACKING = "correct_tracking"
WRITE_BACK_KINDS = (SYNC_TRACKING, CORRECT_TRACKING)
MISSING_WAIT_SECONDS = 15.0  # the corrected record's TrackingAdded not consumed yet: look again after this


def correction_payload(event: TrackingCorrectedV1, order: SyncOrder, lines: list[SyncOrderLine]) -> dict[str, Any]:
    """sync_payload's shape (the same keys mean the same) plus what is corrected. Credentials are read
    when the job runs."""
    d = event.data
    return {
        "tracking_id": d.tracking_id,
        "corrects_tracking_id": d.corrects_tracking_id,
        "order_id": d.order_id,
        "tenant_id": event.tenant_id,
        "correlation_id": event.correlation_id,
        "causation_id": str(event.event_id),
        "previous_tracking_number": d.previous_tracking_number,
        "tracking_number": d.tracking_number,
        "carrier": d.carrier,
        "tracking_url": d.tracking_url,
        "line_ids": None,
        # The corrected shipment's lines and quantities; None = every line of the order.
        "shipped": None if d.lines is None else [{"line_id": s.line_id, "quantity": s.quantity} for s in d.lines],
        "store_id": order.store_id,
        "platform": order.platform,
        "platform_order_id": order.platform_order_id,
        "lines": [{"line_id": line.line_id, "platform_line_id": line.platform_line_id, "sku": line.sku,
                   "quantity": line.quantity} for line in lines],
        "source": d.source,
        "changed_by": d.changed_by,
        "reason": d.reason,
    }


class CorrectTracking:
    def __init__(self, adapters: Mapping[Platform, StorePlatform], secrets: SecretBox, settings: Settings):
        self.adapters = adapters
        self.secrets = secrets
        self.settings = settings

    async def run(self, uow: UnitOfWork, payload: dict[str, Any]) -> None:
        repo = Repository(uow.session)
        tracking_id = payload["tracking_id"]
        if await repo.fulfillment(tracking_id):
            log.info("correction already synced; nothing to do", tracking_id=tracking_id)
            return
        in_store, written_by = await self._in_store(repo, payload)
        call = await open_store(repo, self.adapters, self.secrets, payload["store_id"])
        lines = tuple(shipment_lines(payload))
        tracking = Tracking(number=payload["tracking_number"], company=payload["carrier"], url=payload["tracking_url"])
        if in_store is None:
            # The corrected number never reached the store: nothing to correct, write the right one.
            result = await call.adapter.fulfil(call.access, FulfilmentRequest(
                platform_order_id=payload["platform_order_id"], lines=lines, tracking=tracking))
            log.info("corrected tracking written as a fresh fulfilment (the corrected one never reached the store)",
                     tracking_id=tracking_id, corrects_tracking_id=payload["corrects_tracking_id"])
        else:
            result = await call.adapter.correct_tracking(call.access, TrackingCorrection(
                platform_order_id=payload["platform_order_id"], platform_fulfillment_id=in_store.platform_fulfillment_id,
                previous=self._previous(payload, written_by), tracking=tracking, lines=lines))
            log.info("tracking corrected in the store", tracking_id=tracking_id,
                     corrects_tracking_id=payload["corrects_tracking_id"], in_store_tracking_id=in_store.tracking_id)
        record_synced(uow, repo, payload, call.platform, result.platform_fulfillment_id,
                      already_present=result.already_present, kept_number=result.kept_number)

    async def _in_store(self, repo: Repository, payload: dict[str, Any]) -> tuple[SyncFulfillment | None, Job | None]:
        """The fulfilment the store has for the corrected shipment and the job that wrote it, or (None, job)
        when the shipment never reached the store. Deferred while that is not decided yet."""
        key, seen = payload["corrects_tracking_id"], {payload["tracking_id"]}
        while True:
            row = await repo.fulfillment(key)
            job = await repo.write_back_job(key, WRITE_BACK_KINDS)
            if row is not None:
                return row, job
            if job is None:
                await self._still_worth_waiting(repo, payload, key)
                raise Deferred(f"the corrected tracking {key} has not reached tracking-sync yet",
                               retry_after=min(self.settings.job_max_delay_seconds,
                                               max(self.settings.job_base_delay_seconds, MISSING_WAIT_SECONDS)))
            if job.status != "failed":  # pending or running; done without a row = it committed just now
                wait = (as_utc(job.next_attempt_at) - utcnow()).total_seconds()
                raise Deferred(f"waiting for the write-back of the corrected tracking {key} ({job.kind})",
                               retry_after=min(self.settings.job_max_delay_seconds,
                                               max(self.settings.job_base_delay_seconds, wait)))
            if job.kind == SYNC_TRACKING:
                return None, job
            # A correction that failed for good changed nothing: the store shows what it corrected.
            seen.add(key)
            key = json.loads(job.payload)["corrects_tracking_id"]
            if key in seen:
                raise Permanent(f"tracking corrections form a loop at {key}")

    async def _still_worth_waiting(self, repo: Repository, payload: dict[str, Any], key: str) -> None:
        """Waiting spends no attempt, so it is bounded by time: Permanent (given up, reported) once the
        corrected record has not arrived `correction_wait_max_seconds` after this correction was queued
        (its TrackingAdded was dead-lettered, or never published)."""
        own = await repo.write_back_job(payload["tracking_id"], (CORRECT_TRACKING,))
        if own is not None and (utcnow() - as_utc(own.created_at)).total_seconds() > \
                self.settings.correction_wait_max_seconds:
            raise Permanent(f"the corrected tracking {key} never reached tracking-sync (waited "
                            f"{self.settings.correction_wait_max_seconds:.0f} s); nothing was written to the store")

    @staticmethod
    def _previous(payload: dict[str, Any], written_by: Job | None) -> Tracking:
        """The tracking the store shows now: as the job that wrote it sent it; without that job, the
        event's previous number (with the carrier of the correction, no URL: it would name the new number)."""
        if written_by is not None:
            earlier = json.loads(written_by.payload)
            return Tracking(number=earlier["tracking_number"], company=earlier.get("carrier"),
                            url=earlier.get("tracking_url"))
        return Tracking(number=payload["previous_tracking_number"], company=payload["carrier"], url=None)

    async def give_up(self, uow: UnitOfWork, payload: dict[str, Any], reason: str) -> None:
        publish_sync_failed(uow, payload, reason)


def correct_tracking_kind(settings: Settings, http: httpx.AsyncClient,
                          adapters: Mapping[Platform, StorePlatform] | None = None) -> JobKind:
    job = CorrectTracking(adapters if adapters is not None else build_platforms(http),
                          SecretBox(settings.secrets_key.get_secret_value()), settings)
    return JobKind(CORRECT_TRACKING, handler=job.run, on_give_up=job.give_up, max_attempts=settings.job_max_attempts,
                   base_delay=settings.job_base_delay_seconds, max_delay=settings.job_max_delay_seconds)
