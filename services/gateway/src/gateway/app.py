"""Composition root of the gateway."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from dropline_infra.notify import ChangeNotifier
from dropline_infra.runtime import Service
from dropline_infra.secrets import SecretBox
from dropline_integrations.registry import build_platforms

from . import handlers
from .adapters.checkout import CheckoutApi, HttpCheckout
from .api import ROUTERS
from .api.common import UseCases, install_error_handlers
from .services.accounts import Accounts
from .services.catalog import Catalog
from .services.live import OrderFeed
from .services.orders import Orders
from .services.payments import Payments
from .services.webhooks import Webhooks
from .settings import Settings
from .web import mount_web_app

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
CHANGES_CHANNEL = "dropline_gateway_order_changes"

DESCRIPTION = """Dropline's front door.

* **Platform webhooks** (`/webhooks/{platform}`: shopify, ecwid, bigcommerce, wix): verified as each platform signs.
* **Retailer API** (`/api/v1/...`): the web app signs in (`POST /api/v1/session`: an HttpOnly session cookie,
  plus `X-CSRF-Token` on every state-changing request); machine clients send
  `Authorization: Bearer <retailer API key>`.
* **Supplier API** (`/supplier/v1/...`): `Authorization: Bearer <supplier API key>`.
* **Operator API** (`/admin/v1/...`): `Authorization: Bearer <GATEWAY_ADMIN_TOKEN>`.

Errors always have the shape `{"error": "<code>", "message": "<readable>", "details": {...}}`.
"""


def build(settings: Settings | None = None, *, checkout: CheckoutApi | None = None) -> Service:
    settings = settings or Settings()
    svc = Service(settings, migrations=MIGRATIONS, title="Dropline gateway", description=DESCRIPTION,
                  ready_needs_kafka=False)
    svc.secret_box = SecretBox(settings.secrets_key.get_secret_value())
    notifier = ChangeNotifier(svc.db, CHANGES_CHANNEL)
    checkout = checkout or HttpCheckout(svc.http, settings.checkout_url,
                                        settings.checkout_internal_token.get_secret_value()
                                        if settings.checkout_internal_token else None)
    orders = Orders(svc.db, checkout)
    platforms = build_platforms(svc.http)
    svc.app.state.use_cases = UseCases(
        accounts=Accounts(svc.db, settings), orders=orders, payments=Payments(svc.db, checkout, settings),
        webhooks=Webhooks(svc.db, svc.secret_box, platforms), catalog=Catalog(svc.db, svc.secret_box, platforms),
        feed=OrderFeed(svc.db, notifier, orders, poll_seconds=settings.live_poll_seconds))
    svc.notifier = notifier
    install_error_handlers(svc.app)
    for router in ROUTERS:
        svc.app.include_router(router)
    if settings.run_consumers:
        svc.consumers.subscribe(handlers.PROJECTION_TOPICS, handlers.projection_handler(notifier), name="projection",
                                prepare=handlers.lock_orders)
    svc.background.append(notifier.run)
    web_root = settings.web_root
    if web_root is not None:
        mount_web_app(svc.app, web_root)  # last: its catch-all must not shadow an API route
    return svc


def create_app(settings: Settings | None = None) -> FastAPI:
    return build(settings).app
