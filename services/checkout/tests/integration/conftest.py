"""Integration tier: real PostgreSQL, a real Kafka-protocol broker, localstripe as the card
provider, and the checkout app running in-process with its full lifespan (migrations, consumer,
outbox relay, recovery loop)."""

from __future__ import annotations

import contextlib
from datetime import date

import httpx
import pytest
import stripe

from checkout import handlers
from checkout.app import build
from checkout.settings import Settings
from dropline_schemas import topics as T
from dropline_schemas.events import OrderReceivedV1
from dropline_testsupport import infra

TODAY = date(2024, 1, 2)
STRIPE_KEY = "sk_test_dropline_local"


@pytest.fixture(scope="session")
def localstripe_server(tmp_path_factory):
    with infra.localstripe(log_path=tmp_path_factory.mktemp("localstripe") / "localstripe.log") as url:
        yield url


@pytest.fixture
def localstripe(localstripe_server):
    """A localstripe with no objects in it (reset before each test)."""
    httpx.delete(f"{localstripe_server}/_config/data", timeout=10).raise_for_status()
    return localstripe_server


@pytest.fixture
async def stripe_client(localstripe):
    http = stripe.HTTPXClient()
    yield stripe.StripeClient(STRIPE_KEY, base_addresses={"api": localstripe}, http_client=http)
    await http.close_async()


@pytest.fixture
def payment_intents(stripe_client):
    """Every PaymentIntent localstripe holds (it was emptied at the start of the test)."""

    async def list_all() -> list:
        page = await stripe_client.v1.payment_intents.list_async(params={"limit": 100})
        return list(page.data)

    return list_all


class App:
    def __init__(self, svc):
        self.svc = svc
        self.checkout = svc.checkout
        self.db = svc.db
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.app), base_url="http://checkout",
                                      timeout=60)

    async def deliver(self, event: OrderReceivedV1) -> str:
        return await self.svc.consumers.process("checkout.order_received", T.ORDER_RECEIVED,
                                                event.model_dump_json().encode(), handlers.on_order_received,
                                                OrderReceivedV1)


@pytest.fixture
def start_app(pg_url, kafka_bootstrap, localstripe):
    """Start checkout (lifespan included) with optional settings overrides and provider."""

    @contextlib.asynccontextmanager
    async def start(provider=None, **overrides):
        settings = Settings(database_url=pg_url, kafka_bootstrap_servers=kafka_bootstrap, stripe_api_base=localstripe,
                            stripe_api_key=STRIPE_KEY, environment="test", log_format="console",
                            **overrides)
        svc = build(settings, provider=provider, today=lambda: TODAY)
        async with svc.app.router.lifespan_context(svc.app):
            app = App(svc)
            try:
                yield app
            finally:
                await app.http.aclose()

    return start
