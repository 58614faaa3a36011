"""Composition root of checkout: the one place that builds the database, broker, Stripe client and
use cases, with overrides for tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path

import httpx
from fastapi import FastAPI

from dropline_infra.runtime import Service
from dropline_schemas import topics as T
from dropline_schemas.events import OrderReceivedV1, PaymentMethod

from . import api, fx, handlers
from .adapters.port import PaymentProvider
from .adapters.registry import build_providers
from .rates import RatesRefresher
from .services import Checkout
from .settings import Settings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build(settings: Settings | None = None, *, provider: PaymentProvider | None = None,
          providers: Mapping[PaymentMethod, PaymentProvider] | None = None,
          now: Callable[[], datetime] | None = None, today: Callable[[], date] | None = None,
          rates_http: httpx.AsyncClient | None = None) -> Service:
    """`provider` / `providers`: payment providers to use instead of the configured ones (tests);
    one `provider` replaces only its own method. `rates_http`: the client the ECB rates are fetched
    with (tests pass one bound to the stand-in's ASGI app); by default the service's shared client."""
    settings = settings or Settings()
    svc = Service(settings, migrations=MIGRATIONS, title="Dropline checkout",
                  description="Prices unpaid orders in USD and takes the retailer's payment to the supplier, "
                              "exactly once per order.")
    fx.converter()  # load the packaged ECB table now, not inside the first request
    chosen = dict(providers) if providers is not None else build_providers(settings)
    if provider is not None:
        chosen[provider.method] = provider
    overrides = {k: v for k, v in (("now", now), ("today", today)) if v is not None}
    checkout = Checkout(svc.db, chosen, settings, **overrides)
    svc.checkout = checkout  # type: ignore[attr-defined]  (tests reach the use cases through the service)
    api.install(svc.app, checkout, settings)
    svc.consumers.subscribe(T.ORDER_RECEIVED, handlers.on_order_received, event_type=OrderReceivedV1)
    # One consumer for both (each consumer costs a group join at start): store changes of an order,
    # and a supplier's rejection of a paid one (refunded).
    svc.consumers.subscribe((T.STORE_ORDER_CHANGED, T.ORDER_FORWARDING_FAILED), handlers.on_order_update,
                            name="store_order_changed")
    svc.background.append(checkout.run_recovery)
    rates = RatesRefresher(svc.db, rates_http or svc.http, settings)
    svc.rates = rates  # type: ignore[attr-defined]
    svc.job_kinds.append(rates.job_kind())

    async def schedule_rates_refresh() -> None:
        await rates.schedule()

    svc.background.append(schedule_rates_refresh)

    for p in chosen.values():
        svc.on_shutdown.append(p.aclose)
    return svc


def create_app(settings: Settings | None = None) -> FastAPI:
    return build(settings).app
