"""Fixtures for the BigCommerce adapter tests: the documented sample (platforms.md §2.2), signing per
Standard Webhooks with the library itself, and the stand-in reached over httpx.ASGITransport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from dropline_integrations.bigcommerce import BigCommercePlatform
from dropline_integrations.bigcommerce.settings import BigCommerceSettings
from dropline_integrations.limits import StoreLimiter
from dropline_integrations.port import StoreAccess
from dropline_testsupport.bigcommerce_standin import create_app
from dropline_testsupport.bigcommerce_standin.samples import (
    CLIENT_SECRET,
    HEADER_NAME,
    HEADER_SECRET,
    STORE_HASH,
    TOKEN,
    WEBHOOK_URL,
)
from dropline_testsupport.harness import Receiver


@dataclass
class Env:
    platform: BigCommercePlatform
    control: httpx.AsyncClient
    receiver: Receiver
    store: StoreAccess

    async def seed(self, order: dict[str, Any], products: list[dict[str, Any]],
                   addresses: list[dict[str, Any]]) -> dict[str, Any]:
        resp = await self.control.post(f"/_control/stores/{STORE_HASH}/orders",
                                       json={"order": order, "products": products, "shipping_addresses": addresses})
        assert resp.status_code == 201, resp.text
        return resp.json()

    async def view(self, order_id: int) -> dict[str, Any]:
        return (await self.control.get(f"/_control/stores/{STORE_HASH}/orders/{order_id}")).json()

    async def fail(self, status: int, seconds: float = 30) -> None:
        resp = await self.control.post(f"/_control/stores/{STORE_HASH}/failures",
                                       json={"status": status, "seconds": seconds})
        assert resp.status_code == 200, resp.text


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    receiver = Receiver()
    app = create_app(webhook_transport=receiver.transport, stores=[{
        "store_hash": STORE_HASH, "store_id": "1025646", "access_token": TOKEN, "client_secret": CLIENT_SECRET,
        "webhook_url": WEBHOOK_URL, "header_name": HEADER_NAME, "header_secret": HEADER_SECRET}])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bc.test") as http, \
            httpx.AsyncClient(transport=transport, base_url="http://bc.test") as control:
        platform = BigCommercePlatform(http, StoreLimiter(), BigCommerceSettings(list_page_size=20))
        store = StoreAccess(store_id="store-1", shop=STORE_HASH, api_base_url=f"http://bc.test/stores/{STORE_HASH}",
                            credentials={"access_token": TOKEN})
        yield Env(platform=platform, control=control, receiver=receiver, store=store)
        await app.state.standin.aclose()
