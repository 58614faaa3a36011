"""Composition root of checkout: the one place that builds the database, broker, Stripe client and
use cases, with overrides for tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import httpx
from fastapi import FastAPI

from dropline_infra.runtime import Service
from dropline_schemas import topics as T
from dropline_schemas.events import OrderReceivedV1, StoreOrderChangedV1

from . import api, fx, handlers
from .provider import PaymentProvider, StripeProvider
from .rates import RatesRefresher
from .services import Checkout
from .settings import Settings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build(settings: Settings | None = None, *, provider: PaymentProvider | None = None,
          now: Callable[[], datetime] | None = None, today: Callable[[], date] | None = None,
          rates_http: httpx.AsyncClient | None = None) -> Service:
    """`rates_http`: the client the ECB rates are fetched with (tests pass one bound to the
    stand-in's ASGI app); by default the service's shared HTTP client."""
    settings = settings or Settings()
    svc = Service(settings, migrations=MIGRATIONS, title="Dropline checkout",
                  description="Prices unpaid orders in USD and takes the retailer's payment to the supplier, "
                              "exactly once per order.")
    fx.converter()  # load the packaged ECB table now, not inside the first request
    provider = provider or StripeProvider(settings.stripe_api_key.get_secret_value(), settings.stripe_api_base,
                                          timeout=settings.stripe_timeout_seconds)
    overrides = {k: v for k, v in (("now", now), ("today", today)) if v is not None}
    checkout = Checkout(svc.db, provider, settings, **overrides)
    svc.checkout = checkout  # type: ignore[attr-defined]  (tests reach the use cases through the service)
    api.install(svc.app, checkout, settings)
    svc.consumers.subscribe(T.ORDER_RECEIVED, handlers.on_order_received, event_type=OrderReceivedV1)
    svc.consumers.subscribe(T.STORE_ORDER_CHANGED, handlers.on_store_order_changed, event_type=StoreOrderChangedV1)
    svc.background.append(checkout.run_recovery)
    rates = RatesRefresher(svc.db, rates_http or svc.http, settings)
    svc.rates = rates  # type: ignore[attr-defined]
    svc.job_kinds.append(rates.job_kind())

    async def schedule_rates_refresh() -> None:
        await rates.schedule()

    svc.background.append(schedule_rates_refresh)

    async def close_provider_on_shutdown() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await provider.aclose()

    svc.background.append(close_provider_on_shutdown)
    return svc


def create_app(settings: Settings | None = None) -> FastAPI:
    return build(settings).app
