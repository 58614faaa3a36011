"""Composition root of order-ingest."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import httpx
from fastapi import FastAPI

from dropline_infra.runtime import Service
from dropline_integrations.port import StorePlatform
from dropline_integrations.registry import build_platforms
from dropline_schemas import topics as T
from dropline_schemas.events import Platform, StoreWebhookReceivedV1

from . import handlers
from .repository import Repository
from .services import OrderIntake
from .settings import Settings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build(settings: Settings | None = None, *, http: httpx.AsyncClient | None = None,
          platforms: Mapping[Platform, StorePlatform] | None = None) -> Service:
    """`http` / `platforms` replace the real outbound edge in tests."""
    settings = settings or Settings()
    svc = Service(settings, migrations=MIGRATIONS, title="Dropline order-ingest",
                  description="Receives store orders (deliveries, fetches, reconciliation) and splits them per supplier.",
                  job_concurrency=settings.job_concurrency, job_poll_interval=settings.job_poll_interval_seconds)
    if http is not None:
        svc.http = http
    intake = OrderIntake(settings, platforms if platforms is not None else build_platforms(svc.http))
    svc.consumers.subscribe(T.STORE_WEBHOOK_RECEIVED, handlers.store_webhook_handler(intake),
                            event_type=StoreWebhookReceivedV1)
    svc.consumers.subscribe(T.CATALOG, handlers.on_catalog)
    svc.job_kinds.extend(intake.job_kinds())
    svc.intake = intake

    @svc.app.get("/internal/v1/catalog", summary="How much of the catalog this service has seen (operators, demo)")
    async def catalog_counts() -> dict:
        async with svc.db.uow() as uow:
            return await Repository(uow.session).catalog_counts()

    return svc


def create_app(settings: Settings | None = None) -> FastAPI:
    return build(settings).app
