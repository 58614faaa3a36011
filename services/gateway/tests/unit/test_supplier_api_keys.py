"""A supplier's API key: known keys are kept in memory for a few seconds (every tracking report is a
request; no query for each), unknown keys are looked up every time (nothing an outsider sends is
kept), and a kept key is looked up again once its time is up."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import event

from dropline_infra.migrations import upgrade
from gateway.app import MIGRATIONS, build
from gateway.services.accounts import Accounts
from gateway.settings import Settings

ADMIN = {"Authorization": "Bearer dev-admin-token"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def gateway(tmp_path):
    settings = Settings(data_dir=tmp_path, environment="test")
    upgrade("gateway", settings.database_url, MIGRATIONS)
    svc = build(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.app), base_url="http://gw") as client:
        r = await client.post("/admin/v1/suppliers", headers=ADMIN, json={
            "name": "Acme", "currency": "EUR", "auto_order": True, "payment_methods": ["card"],
            "order_api_url": "https://orders.example", "order_api_key": "sup_order_api_key"})
        assert r.status_code == 201, r.text
        yield svc, settings, r.json()
    await svc.db.dispose()


async def test_a_known_key_is_kept_for_its_seconds_and_an_unknown_one_never(gateway):
    svc, settings, supplier = gateway
    clock = Clock()
    accounts = Accounts(svc.db, settings, supplier_cache_seconds=5.0, clock=clock)
    lookups: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        if "FROM gateway_suppliers" in statement:
            lookups.append(statement)

    event.listen(svc.db.engine.sync_engine, "before_cursor_execute", record)
    try:
        first = await accounts.supplier_by_api_key(supplier["api_key"])
        clock.now += 4.9
        again = await accounts.supplier_by_api_key(supplier["api_key"])
        assert first.supplier_id == again.supplier_id == supplier["supplier_id"]
        assert len(lookups) == 1                      # the second answer came from memory
        clock.now += 0.2                              # past the 5 s: looked up again
        assert (await accounts.supplier_by_api_key(supplier["api_key"])).supplier_id == supplier["supplier_id"]
        assert len(lookups) == 2
        for _ in range(3):
            assert await accounts.supplier_by_api_key("dls_not-a-key") is None
        assert len(lookups) == 5                      # an unknown key: a query each time, nothing kept
        assert len(accounts._suppliers) == 1
    finally:
        event.remove(svc.db.engine.sync_engine, "before_cursor_execute", record)
