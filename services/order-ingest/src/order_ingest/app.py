"""Composition root of order-ingest."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from dropline_infra.runtime import Service
from dropline_schemas import topics as T
from dropline_schemas.events import StoreWebhookReceivedV1

from . import handlers
from .repository import Repository
from .settings import Settings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build(settings: Settings | None = None) -> Service:
    settings = settings or Settings()
    svc = Service(settings, migrations=MIGRATIONS, title="Dropline order-ingest",
                  description="Normalises store orders and splits them per supplier.")
    svc.consumers.subscribe(T.STORE_WEBHOOK_RECEIVED, handlers.on_store_webhook, event_type=StoreWebhookReceivedV1)
    svc.consumers.subscribe(T.CATALOG, handlers.on_catalog)

    @svc.app.get("/internal/v1/catalog", summary="How much of the catalog this service has seen (operators, demo)")
    async def catalog_counts() -> dict:
        async with svc.db.uow() as uow:
            return await Repository(uow.session).catalog_counts()

    return svc


def create_app(settings: Settings | None = None) -> FastAPI:
    return build(settings).app
