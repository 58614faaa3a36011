"""The retailer's cancel against a checkout starting at the same moment, on real PostgreSQL: the
cancel locks the order row as claim_orders does, so they go one after the other and exactly one wins
(the order ends cancelled and is never charged, or it is claimed and the cancel is refused)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import httpx
import pytest

from checkout import handlers
from checkout.amendments import cancel_by_retailer
from checkout.app import MIGRATIONS, build
from checkout.domain import CheckoutError
from checkout.repository import Repository
from checkout.settings import Settings
from dropline_infra.migrations import upgrade
from dropline_schemas import topics as T
from dropline_schemas.events import OrderReceivedV1

pytestmark = pytest.mark.integration
TODAY = date(2024, 1, 2)


def received(o) -> OrderReceivedV1:
    return OrderReceivedV1.create(data=o, producer="order-ingest", tenant_id=o.retailer_id,
                                  correlation_id=f"store-order-{o.platform_order_id}")


@pytest.fixture
async def app(pg_url, fake_provider):
    upgrade("checkout", pg_url, MIGRATIONS)
    svc = build(Settings(database_url=pg_url, environment="test", log_format="console"), provider=fake_provider,
                today=lambda: TODAY)  # a day the packaged ECB data covers (today's real date would be stale)
    svc.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.app), base_url="http://checkout", timeout=60)
    yield svc
    await svc.http.aclose()
    await svc.db.dispose()


async def seed(svc, *orders) -> list[str]:
    for o in orders:
        assert await svc.consumers.process("checkout.order_received", T.ORDER_RECEIVED,
                                           received(o).model_dump_json().encode(), handlers.on_order_received,
                                           OrderReceivedV1) == "applied"
    return [o.order_id for o in orders]


async def status(svc, order_id) -> str:
    async with svc.db.uow() as uow:
        return (await Repository(uow.session).order(order_id)).status


async def test_a_cancel_waits_for_a_claim_holding_the_row_and_is_then_refused(app, make_order):
    (a,) = await seed(app, make_order())
    async with app.db.uow() as claim:
        assert await Repository(claim.session).claim_orders("ret-1", [a], "pay-1", app.checkout.now())
        task = asyncio.create_task(app.checkout.cancel("ret-1", a))
        await asyncio.sleep(0.5)
        assert not task.done(), "the cancel should wait on the claim's row lock"
        await claim.commit()
    with pytest.raises(CheckoutError) as exc:
        await asyncio.wait_for(task, 10)
    assert exc.value.code == "payment_in_progress"
    assert await status(app, a) == "payment_pending"


async def test_a_claim_waits_for_a_cancel_holding_the_row_and_then_claims_nothing(app, make_order):
    (b,) = await seed(app, make_order())
    async with app.db.uow() as cancel:
        row = await Repository(cancel.session).order(b, for_update=True)
        assert cancel_by_retailer(cancel, row, causation_id="c-1", now=app.checkout.now()) is True
        await cancel.session.flush()

        async def late_claim() -> bool:
            async with app.db.uow() as uow:
                return await Repository(uow.session).claim_orders("ret-1", [b], "pay-2", app.checkout.now())

        task = asyncio.create_task(late_claim())
        await asyncio.sleep(0.5)
        assert not task.done(), "the claim should wait on the cancel's row lock"
        await cancel.commit()
    assert await asyncio.wait_for(task, 10) is False
    assert await status(app, b) == "cancelled"


async def test_a_cancel_and_a_payment_at_the_same_moment_exactly_one_wins(app, make_order, fake_provider):
    rounds = 8
    orders = [make_order() for _ in range(rounds)]
    ids = await seed(app, *orders)
    wins = {"cancel": 0, "pay": 0}
    for oid in ids:
        body = {"retailer_id": "ret-1", "order_ids": [oid], "method": "card", "payment_method": "pm_card_visa",
                "request_id": str(uuid.uuid4())}
        c, p = await asyncio.gather(app.http.post(f"/internal/v1/orders/{oid}/cancel", json={"retailer_id": "ret-1"}),
                                    app.http.post("/internal/v1/payments", json=body))
        final = await status(app, oid)
        if c.status_code == 200:
            assert p.status_code == 409, p.text  # the payment found the order cancelled: nothing charged
            assert final == "cancelled"
            wins["cancel"] += 1
        else:
            assert c.status_code == 409 and c.json()["error"]["code"] in ("payment_in_progress", "already_paid")
            assert p.status_code == 201, p.text
            assert final == "paid"
            wins["pay"] += 1
    assert wins["cancel"] + wins["pay"] == rounds
    # One charge per order the payment won, none for the cancelled ones.
    assert fake_provider.count("confirm") == wins["pay"]
