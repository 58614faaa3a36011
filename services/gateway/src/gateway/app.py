"""Composition root of the gateway."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from dropline_platform.runtime import Service
from dropline_platform.secrets import SecretBox

from . import api, handlers
from .settings import Settings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

DESCRIPTION = """Dropline's front door.

* **Platform webhooks** (`/webhooks/...`): signed by the platform (Shopify: X-Shopify-Hmac-Sha256).
* **Retailer API** (`/api/v1/...`): `Authorization: Bearer <retailer API key>`.
* **Supplier API** (`/supplier/v1/...`): `Authorization: Bearer <supplier API key>`.
* **Operator API** (`/admin/v1/...`): `Authorization: Bearer <GATEWAY_ADMIN_TOKEN>`.
"""


def build(settings: Settings | None = None) -> Service:
    settings = settings or Settings()
    svc = Service(settings, migrations=MIGRATIONS, title="Dropline gateway", description=DESCRIPTION,
                  ready_needs_kafka=False)
    svc.secret_box = SecretBox(settings.secrets_key.get_secret_value())
    svc.app.add_exception_handler(api.ApiError, api.api_error_handler)
    for router in (api.webhooks, api.retailer_api, api.supplier_api, api.admin_api):
        svc.app.include_router(router)
    svc.consumers.subscribe(handlers.ORDER_EVENT_TOPICS, handlers.on_order_event, name="projection")
    return svc


def create_app(settings: Settings | None = None) -> FastAPI:
    return build(settings).app
