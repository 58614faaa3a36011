"""Unit tier: the real service wiring on a migrated SQLite file, a fake card provider, no network."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from checkout import handlers
from checkout.app import MIGRATIONS, build
from checkout.settings import Settings
from dropline_infra.migrations import upgrade
from dropline_schemas import topics as T
from dropline_schemas.events import OrderReceivedV1, StoreOrderChangedV1

TODAY = date(2024, 1, 2)  # EUR→USD 1.0956 in the packaged ECB data


class Harness:
    def __init__(self, svc, provider):
        self.svc = svc
        self.provider = provider
        self.checkout = svc.checkout
        self.db = svc.db
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.app), base_url="http://checkout")

    async def deliver(self, event: OrderReceivedV1) -> str:
        """Deliver an OrderReceived through the real idempotent consumer path."""
        return await self.svc.consumers.process("checkout.order_received", T.ORDER_RECEIVED,
                                                event.model_dump_json().encode(), handlers.on_order_received,
                                                OrderReceivedV1)

    async def deliver_change(self, event: StoreOrderChangedV1) -> str:
        """Deliver a StoreOrderChanged through the real idempotent consumer path."""
        return await self.svc.consumers.process("checkout.store_order_changed", T.STORE_ORDER_CHANGED,
                                                event.model_dump_json().encode(), handlers.on_store_order_changed,
                                                StoreOrderChangedV1)


@pytest.fixture
def settings_for(tmp_path):
    def make(**overrides) -> Settings:
        url = f"sqlite:///{tmp_path}/checkout.db"
        upgrade("checkout", url, MIGRATIONS)
        return Settings(database_url=url, environment="test", **overrides)

    return make


@pytest.fixture
async def harness(settings_for, fake_provider):
    svc = build(settings_for(), provider=fake_provider, today=lambda: TODAY)
    h = Harness(svc, fake_provider)
    yield h
    await h.http.aclose()
    await svc.db.dispose()
