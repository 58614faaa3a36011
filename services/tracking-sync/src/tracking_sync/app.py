"""Composition root of tracking-sync."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

import httpx
from fastapi import FastAPI

from dropline_infra.runtime import Service
from dropline_integrations.port import StorePlatform
from dropline_integrations.registry import build_platforms
from dropline_schemas import topics as T
from dropline_schemas.events import (
    OrderReceivedV1,
    Platform,
    StoreWebhookReceivedV1,
    TrackingAddedV1,
    TrackingCorrectedV1,
)

from . import handlers
from .alerts import ALERT_FACTS, ShipmentAlerts
from .corrections import correct_tracking_kind
from .fulfilment_requests import accept_fulfilment_request_kind
from .settings import Settings
from .syncing import sync_tracking_kind

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build(settings: Settings | None = None, *, http: httpx.AsyncClient | None = None,
          adapters: Mapping[Platform, StorePlatform] | None = None,
          clock: Callable[[], datetime] | None = None) -> Service:
    """`http` / `adapters` replace the real outbound edge in tests; `clock` the late-shipment alerts' now."""
    settings = settings or Settings()
    svc = Service(settings, migrations=MIGRATIONS, title="Dropline tracking-sync",
                  description="Writes fulfilments and tracking numbers back to the retailers' stores.",
                  job_concurrency=settings.job_concurrency, job_poll_interval=settings.job_poll_interval_seconds)
    if http is not None:
        svc.http = http  # closed by the service's lifespan like the default one
    svc.consumers.subscribe(T.CATALOG, handlers.on_catalog)
    svc.consumers.subscribe(T.ORDER_RECEIVED, handlers.on_order_received, event_type=OrderReceivedV1)
    svc.consumers.subscribe(T.TRACKING_ADDED, handlers.on_tracking_added, event_type=TrackingAddedV1)
    svc.consumers.subscribe(T.TRACKING_CORRECTED, handlers.on_tracking_corrected, event_type=TrackingCorrectedV1)
    svc.consumers.subscribe(T.STORE_WEBHOOK_RECEIVED, handlers.on_store_webhook, event_type=StoreWebhookReceivedV1)
    # One adapter per platform for all jobs: they share each shop's rate-limit budget.
    adapters = adapters if adapters is not None else build_platforms(svc.http)
    svc.job_kinds.append(sync_tracking_kind(settings, svc.http, adapters))
    svc.job_kinds.append(correct_tracking_kind(settings, svc.http, adapters))
    svc.job_kinds.append(accept_fulfilment_request_kind(settings, adapters))
    # Late-shipment alerts: one consumer of the facts, one recurring scan.
    alerts = ShipmentAlerts(svc.db, settings, clock) if clock else ShipmentAlerts(svc.db, settings)
    svc.alerts = alerts  # type: ignore[attr-defined]
    svc.consumers.subscribe(ALERT_FACTS, alerts.on_alerts, name="alerts", prepare=alerts.lock_facts)
    svc.job_kinds.append(alerts.job_kind())

    async def schedule_alert_scan() -> None:
        await alerts.schedule()

    svc.background.append(schedule_alert_scan)
    return svc


def create_app(settings: Settings | None = None) -> FastAPI:
    return build(settings).app
