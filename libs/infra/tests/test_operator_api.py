"""The operator API (/operator/v1) on a SQLite file: dead letters listed, shown and replayed through their
consumer (twice has no second effect), failed jobs listed and retried, the outbox backlog."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from dropline_infra.db import Database
from dropline_infra.jobs import JobKind, JobWorker, Permanent, enqueue
from dropline_infra.messaging import Consumers, PermanentError
from dropline_infra.migrations import upgrade
from dropline_infra.models import OutboxMessage
from dropline_infra.operator import DEVELOPMENT_OPERATOR_TOKEN, mount_operator_api
from dropline_infra.settings import ServiceSettings
from dropline_schemas import topics as T
from dropline_schemas.events import OrderForwardedData, OrderForwardedV1

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "order-ingest" / "migrations"
AUTH = {"Authorization": f"Bearer {DEVELOPMENT_OPERATOR_TOKEN}"}


def forwarded(order_id: str) -> bytes:
    return OrderForwardedV1.create(
        data=OrderForwardedData(order_id=order_id, supplier_id="s", supplier_order_id=f"S-{order_id}",
                                forwarded_at="2026-11-26T10:00:00Z"),
        producer="t", tenant_id="r", correlation_id=f"c-{order_id}").model_dump_json().encode()


class Kit:
    def __init__(self, db: Database, consumers: Consumers, client: httpx.AsyncClient):
        self.db, self.consumers, self.client = db, consumers, client
        self.broken: set[str] = set()  # orders the handler refuses (a bug, until it is "fixed")

    async def effects(self) -> list[str]:
        async with self.db.uow() as uow:
            return sorted(r.key for r in (await uow.session.exec(select(OutboxMessage))).all()
                          if r.topic == T.ORDER_FORWARDED.name)


@pytest.fixture
async def kit(tmp_path):
    url = f"sqlite:///{tmp_path}/t.db"
    upgrade("order-ingest", url, MIGRATIONS)
    db = Database(url)
    settings = ServiceSettings(environment="test", consumer_max_attempts=1)
    consumers = Consumers(broker=None, db=db, settings=settings)
    app = FastAPI()
    mount_operator_api(app, db, consumers, settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:
        k = Kit(db, consumers, client)

        async def handler(uow, ev):
            if ev.data.order_id in k.broken:
                raise PermanentError(f"order {ev.data.order_id} refused")
            uow.publish(OrderForwardedV1.create(data=ev.data, producer="t", **ev.caused()),
                        T.ORDER_FORWARDED, key=ev.data.order_id)

        consumers.registered["service.forwarded"] = ((T.ORDER_FORWARDED,), handler, OrderForwardedV1)
        k.handler = handler
        yield k
    await db.dispose()


async def _dead_letter(kit: Kit, raw: bytes) -> None:
    outcome = await kit.consumers.process("service.forwarded", T.ORDER_FORWARDED, raw, kit.handler, OrderForwardedV1)
    assert outcome == "dead-lettered"


async def test_without_the_token_nothing_is_answered_and_production_without_one_stays_closed(kit, tmp_path):
    assert (await kit.client.get("/operator/v1/dead-letters")).status_code == 401
    assert (await kit.client.get("/operator/v1/jobs", headers={"Authorization": "Bearer nope"})).status_code == 401
    app = FastAPI()
    mount_operator_api(app, kit.db, kit.consumers, ServiceSettings(environment="production"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as prod:
        r = await prod.get("/operator/v1/dead-letters", headers=AUTH)
    assert r.status_code == 403 and "OPERATOR_TOKEN" in r.json()["detail"]


async def test_a_dead_letter_is_listed_shown_and_replayed_once_its_cause_is_fixed_and_twice_has_no_second_effect(kit):
    kit.broken.add("o1")
    raw = forwarded("o1")
    await _dead_letter(kit, raw)
    await _dead_letter(kit, raw)  # redelivered while still broken: a second dead letter of the same event
    page = (await kit.client.get("/operator/v1/dead-letters", params={"reason": "refused"}, headers=AUTH)).json()
    assert page["total"] == 2 and {d["consumer"] for d in page["dead_letters"]} == {"service.forwarded"}
    assert (await kit.client.get("/operator/v1/dead-letters", params={"consumer": "other"}, headers=AUTH)).json()["total"] == 0
    first, second = sorted(d["id"] for d in page["dead_letters"])
    shown = (await kit.client.get(f"/operator/v1/dead-letters/{first}", headers=AUTH)).json()
    assert json.loads(shown["payload"])["data"]["order_id"] == "o1" and shown["reason"] == "order o1 refused"

    kit.broken.clear()  # the fix is deployed
    r = await kit.client.post(f"/operator/v1/dead-letters/{first}/replay", headers=AUTH)
    assert r.json() == {"dead_letter_id": first, "outcome": "applied", "new_dead_letter_id": None}
    r = await kit.client.post(f"/operator/v1/dead-letters/{second}/replay", headers=AUTH)
    assert r.json()["outcome"] == "duplicate"  # the same event, applied already: nothing done
    assert (await kit.client.post(f"/operator/v1/dead-letters/{first}/replay", headers=AUTH)).status_code == 404
    assert await kit.effects() == ["o1"]  # one effect for two dead letters and three replays
    assert (await kit.client.get("/operator/v1/dead-letters", headers=AUTH)).json()["total"] == 0


async def test_a_replay_that_fails_again_leaves_one_dead_letter_with_the_new_reason(kit):
    kit.broken.add("o2")
    await _dead_letter(kit, forwarded("o2"))
    [letter] = (await kit.client.get("/operator/v1/dead-letters", headers=AUTH)).json()["dead_letters"]
    r = (await kit.client.post(f"/operator/v1/dead-letters/{letter['id']}/replay", headers=AUTH)).json()
    assert r["outcome"] == "dead-lettered" and r["new_dead_letter_id"] not in (None, letter["id"])
    [now] = (await kit.client.get("/operator/v1/dead-letters", headers=AUTH)).json()["dead_letters"]
    assert now["id"] == r["new_dead_letter_id"] and await kit.effects() == []
    consumers_of_nothing = await kit.client.post("/operator/v1/dead-letters/999/replay", headers=AUTH)
    assert consumers_of_nothing.status_code == 404


async def test_a_failed_job_is_listed_with_its_error_retried_once_and_then_runs(kit):
    runs: list[str] = []
    fail = {"yes": True}

    async def call_supplier(uow, payload):
        runs.append(payload["order_id"])
        if fail["yes"]:
            raise Permanent("supplier said 422: unknown SKU")

    async def give_up(uow, payload, reason):
        pass

    worker = JobWorker(kit.db, [JobKind("forward", call_supplier, give_up)])
    async with kit.db.uow() as uow:
        await enqueue(uow, "forward", "o3", {"order_id": "o3"})
        await uow.commit()
    assert await worker.run_one()
    [job] = (await kit.client.get("/operator/v1/jobs", headers=AUTH)).json()["jobs"]
    assert (job["status"], job["attempts"], job["last_error"]) == ("failed", 1, "supplier said 422: unknown SKU")

    fail["yes"] = False
    retried = (await kit.client.post(f"/operator/v1/jobs/{job['id']}/retry", headers=AUTH)).json()
    assert (retried["status"], retried["attempts"]) == ("pending", 0)
    assert (await kit.client.post(f"/operator/v1/jobs/{job['id']}/retry", headers=AUTH)).status_code == 409
    assert await worker.run_one() and runs == ["o3", "o3"]
    assert (await kit.client.get("/operator/v1/jobs", headers=AUTH)).json()["total"] == 0  # no failed job left
    done = (await kit.client.get("/operator/v1/jobs", params={"status": "done"}, headers=AUTH)).json()["jobs"]
    assert [j["key"] for j in done] == ["o3"]


async def test_the_outbox_backlog_counts_what_is_not_sent(kit):
    assert (await kit.client.get("/operator/v1/outbox", headers=AUTH)).json()["unsent"] == 0
    await kit.consumers.process("service.forwarded", T.ORDER_FORWARDED, forwarded("o4"), kit.handler, OrderForwardedV1)
    backlog = (await kit.client.get("/operator/v1/outbox", headers=AUTH)).json()
    assert backlog["unsent"] == 1 and backlog["oldest_unsent_age_seconds"] >= 0


async def test_an_orders_story_is_what_this_service_published_ran_and_dead_lettered_for_it(kit):
    await kit.consumers.process("service.forwarded", T.ORDER_FORWARDED, forwarded("o5"), kit.handler, OrderForwardedV1)
    kit.broken.add("o5")
    await _dead_letter(kit, forwarded("o5"))

    async def forward(uow, payload):
        pass

    async def give_up(uow, payload, reason):
        pass

    async with kit.db.uow() as uow:
        await enqueue(uow, "forward", "o5", {"order_id": "o5"})
        await enqueue(uow, "forward", "o6", {"order_id": "o6"})  # another order's: not in the story
        await uow.commit()
    await JobWorker(kit.db, [JobKind("forward", forward, give_up)]).run_one()
    story = (await kit.client.get("/operator/v1/orders/o5/story", headers=AUTH)).json()
    assert [(e["event_type"], e["topic"], e["key"]) for e in story["events"]] == \
        [("OrderForwarded", T.ORDER_FORWARDED.name, "o5"), ("MessageDeadLettered", T.DEAD_LETTER.name, "service.forwarded")]
    consumed = OrderForwardedV1.read(forwarded("o5"))
    assert story["events"][0]["correlation_id"] == consumed.correlation_id == "c-o5"  # the order's story
    assert story["events"][0]["causation_id"]  # and what caused each step: the event consumed
    assert [(j["kind"], j["key"]) for j in story["jobs"]] == [("forward", "o5")]
    assert [d["reason"] for d in story["dead_letters"]] == ["order o5 refused"]
    assert (await kit.client.get("/operator/v1/orders/nobody/story", headers=AUTH)).json()["events"] == []
