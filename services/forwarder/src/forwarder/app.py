"""Composition root of forwarder."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from dropline_infra.runtime import Service
from dropline_schemas import topics as T
from dropline_schemas.events import OrderPaidV1

from . import handlers
from .adapters.supplier import SupplierOrders
from .forwarding import forward_order_kind
from .settings import Settings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build(settings: Settings | None = None, *, http: httpx.AsyncClient | None = None,
          supplier_orders: SupplierOrders | None = None) -> Service:
    """`http` / `supplier_orders` replace the real outbound edge in tests."""
    settings = settings or Settings()
    svc = Service(settings, migrations=MIGRATIONS, title="Dropline forwarder",
                  description="Sends paid auto-orders to the suppliers' order APIs.",
                  job_concurrency=settings.job_concurrency, job_poll_interval=settings.job_poll_interval_seconds)
    if http is not None:
        svc.http = http  # closed by the service's lifespan like the default one
    svc.consumers.subscribe(T.CATALOG, handlers.on_catalog)
    svc.consumers.subscribe(T.ORDER_PAID, handlers.on_order_paid, event_type=OrderPaidV1)
    svc.job_kinds.append(forward_order_kind(settings, svc.http, supplier_orders))
    return svc


def create_app(settings: Settings | None = None) -> FastAPI:
    return build(settings).app
