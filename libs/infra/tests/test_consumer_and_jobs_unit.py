"""Consumer retry policy and the job worker, on a SQLite file (no broker needed)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlmodel import select

from dropline_infra.db import Database
from dropline_infra.jobs import Again, Deferred, JobKind, JobWorker, Permanent, Retryable, enqueue
from dropline_infra.messaging import Consumers, RetryLater
from dropline_infra.migrations import upgrade
from dropline_infra.models import DeadLetter, Job, OutboxMessage
from dropline_infra.settings import ServiceSettings
from dropline_schemas import topics as T
from dropline_schemas.events import OrderForwardedData, OrderForwardedV1

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "order-ingest" / "migrations"


@pytest.fixture
async def db(tmp_path):
    url = f"sqlite:///{tmp_path}/t.db"
    upgrade("order-ingest", url, MIGRATIONS)
    database = Database(url)
    yield database
    await database.dispose()


def event() -> bytes:
    return OrderForwardedV1.create(
        data=OrderForwardedData(order_id="o1", supplier_id="s", supplier_order_id="S-1", forwarded_at="2026-11-26T10:00:00Z"),
        producer="t", tenant_id="r", correlation_id="c").model_dump_json().encode()


async def test_a_missing_prerequisite_is_waited_for_not_dead_lettered(db):
    consumers = Consumers(broker=None, db=db, settings=ServiceSettings(consumer_max_attempts=2, consumer_retry_later_seconds=30))
    calls = []

    async def handler(uow, ev):
        calls.append(1)
        if len(calls) < 4:  # more tries than consumer_max_attempts
            raise RetryLater("supplier not known yet")

    assert await consumers.process("t.h", T.ORDER_FORWARDED, event(), handler, OrderForwardedV1) == "applied"
    assert len(calls) == 4


async def test_a_prerequisite_that_never_comes_is_dead_lettered_after_the_window(db):
    consumers = Consumers(broker=None, db=db, settings=ServiceSettings(consumer_max_attempts=2, consumer_retry_later_seconds=0.3))

    async def handler(uow, ev):
        raise RetryLater("supplier not known yet")

    assert await consumers.process("t.h", T.ORDER_FORWARDED, event(), handler, OrderForwardedV1) == "dead-lettered"
    async with db.uow() as uow:
        letter = (await uow.session.exec(select(DeadLetter))).one()
    assert "supplier not known yet" in letter.reason


async def _run_until_idle(worker: JobWorker) -> None:
    while await worker.run_one():
        pass


async def test_a_job_is_retried_with_backoff_then_succeeds_and_its_event_commits_with_it(db):
    attempts = []

    async def handler(uow, payload):
        attempts.append(payload["order_id"])
        if len(attempts) == 1:
            raise Retryable("HTTP 503")
        uow.publish(OrderForwardedV1.model_validate_json(event()), T.ORDER_FORWARDED, key="o1")

    async def give_up(uow, payload, reason):
        raise AssertionError("must not give up")

    kind = JobKind("k", handler, give_up, max_attempts=3, base_delay=0.05, max_delay=0.05)
    async with db.uow() as uow:
        assert await enqueue(uow, "k", "o1", {"order_id": "o1"})
        assert not await enqueue(uow, "k", "o1", {"order_id": "o1"})  # same key: one job
        await uow.commit()
    worker = JobWorker(db, [kind])
    await _run_until_idle(worker)
    async with db.uow() as uow:
        job = (await uow.session.exec(select(Job))).one()
        assert (job.status, job.attempts, job.last_error) == ("pending", 1, "HTTP 503")
        assert (await uow.session.exec(select(OutboxMessage))).all() == []  # failed attempt left nothing
    await asyncio.sleep(0.06)
    await _run_until_idle(worker)
    async with db.uow() as uow:
        job = (await uow.session.exec(select(Job))).one()
        assert (job.status, job.attempts) == ("done", 2)
        assert len((await uow.session.exec(select(OutboxMessage))).all()) == 1


async def test_a_permanent_failure_gives_up_at_once_and_reports(db):
    reported = []

    async def handler(uow, payload):
        raise Permanent("HTTP 422 unknown_sku")

    async def give_up(uow, payload, reason):
        reported.append(reason)

    async with db.uow() as uow:
        await enqueue(uow, "k", "o2", {"order_id": "o2"})
        await uow.commit()
    await _run_until_idle(JobWorker(db, [JobKind("k", handler, give_up)]))
    async with db.uow() as uow:
        job = (await uow.session.exec(select(Job))).one()
    assert job.status == "failed" and reported == ["HTTP 422 unknown_sku"]


async def test_a_deferred_job_moves_without_spending_an_attempt_and_keeps_nothing(db):
    calls = []

    async def handler(uow, payload):
        calls.append(1)
        uow.publish(OrderForwardedV1.model_validate_json(event()), T.ORDER_FORWARDED, key="o3")
        if len(calls) < 3:
            raise Deferred("store cooling down", retry_after=0.02)

    async def give_up(uow, payload, reason):
        raise AssertionError("a deferral is not a failure")

    async with db.uow() as uow:
        await enqueue(uow, "k", "o3", {"order_id": "o3"})
        await uow.commit()
    worker = JobWorker(db, [JobKind("k", handler, give_up, max_attempts=1)])
    for _ in range(3):
        await _run_until_idle(worker)
        async with db.uow() as uow:
            job = (await uow.session.exec(select(Job))).one()
            outbox = (await uow.session.exec(select(OutboxMessage))).all()
        if job.status == "done":
            break
        assert (job.status, job.attempts, job.last_error) == ("pending", 0, "deferred: store cooling down")
        assert outbox == []  # the deferred run's effects were rolled back
        await asyncio.sleep(0.03)
    assert (job.status, job.attempts, len(calls), len(outbox)) == ("done", 1, 3, 1)


async def test_a_recurring_job_commits_each_run_and_comes_back(db):
    runs = []

    async def handler(uow, payload):
        runs.append(1)
        uow.publish(OrderForwardedV1.model_validate_json(event()), T.ORDER_FORWARDED, key="o4")
        return Again(60)

    async def give_up(uow, payload, reason):
        raise AssertionError("must not give up")

    async with db.uow() as uow:
        await enqueue(uow, "k", "store-1", {"store_id": "store-1"})
        await uow.commit()
    await _run_until_idle(JobWorker(db, [JobKind("k", handler, give_up)]))
    async with db.uow() as uow:
        job = (await uow.session.exec(select(Job))).one()
        assert len((await uow.session.exec(select(OutboxMessage))).all()) == 1
    assert (job.status, job.attempts, len(runs)) == ("pending", 0, 1)  # not due again for a minute


def forwarded_event(order_id: str) -> bytes:
    return OrderForwardedV1.create(
        data=OrderForwardedData(order_id=order_id, supplier_id="s", supplier_order_id=f"S-{order_id}",
                                forwarded_at="2026-11-26T10:00:00Z"),
        producer="t", tenant_id="r", correlation_id=f"c-{order_id}").model_dump_json().encode()


async def _effects(db) -> list[str]:
    async with db.uow() as uow:
        return sorted(r.key for r in (await uow.session.exec(select(OutboxMessage))).all()
                      if r.topic == T.ORDER_FORWARDED.name)


def _publishing_handler(poison: set[str], calls: list[str]):
    from dropline_infra.messaging import PermanentError

    async def handler(uow, ev):
        calls.append(ev.data.order_id)
        # The effect is a database row, written in the consumer's transaction.
        uow.publish(OrderForwardedV1.create(data=ev.data, producer="t", tenant_id="r", correlation_id="c"),
                    T.ORDER_FORWARDED, key=ev.data.order_id)
        if ev.data.order_id in poison:
            raise PermanentError(f"order {ev.data.order_id} is inconsistent")

    return handler


async def test_a_batch_with_a_poison_message_dead_letters_it_alone_and_commits_the_rest(db):
    consumers = Consumers(broker=None, db=db, settings=ServiceSettings(consumer_max_attempts=2))
    calls: list[str] = []
    raws = [forwarded_event(o) for o in ("o1", "o2", "bad", "o4")] + [b'{"not": "an event"}']
    items = [(T.ORDER_FORWARDED, raw, None) for raw in raws]
    outcomes = await consumers.process_batch("t.batch", items, _publishing_handler({"bad"}, calls), OrderForwardedV1)
    assert outcomes == ["applied", "applied", "dead-lettered", "applied", "dead-lettered"]
    # Tried together first (rolled back at "bad"), then one by one: "bad" alone failed.
    assert calls == ["o1", "o2", "bad", "o1", "o2", "bad", "o4"]
    # The poison message's own effect was rolled back with it; each other message's effect is there once.
    assert await _effects(db) == ["o1", "o2", "o4"]
    async with db.uow() as uow:
        letters = (await uow.session.exec(select(DeadLetter))).all()
    reasons = sorted(letter.reason for letter in letters)
    assert len(reasons) == 2 and reasons[0].startswith("invalid event:") and reasons[1] == "order bad is inconsistent"


async def test_a_batch_applies_in_one_transaction_and_a_redelivered_batch_has_no_second_effect(db):
    consumers = Consumers(broker=None, db=db, settings=ServiceSettings())
    calls: list[str] = []
    handler = _publishing_handler(set(), calls)
    items = [(T.ORDER_FORWARDED, forwarded_event(o), None) for o in ("a", "b", "c")]
    items.append(items[0])  # the same event twice in one fetch (a producer retry)
    assert await consumers.process_batch("t.batch", items, handler, OrderForwardedV1) == \
        ["applied", "applied", "applied", "duplicate"]
    assert calls == ["a", "b", "c"]  # no replay: the batch went through as a whole
    assert await consumers.process_batch("t.batch", items[:3], handler, OrderForwardedV1) == ["duplicate"] * 3
    assert await _effects(db) == ["a", "b", "c"]


async def test_a_record_that_is_not_an_event_is_dead_lettered_inside_the_batch_without_a_replay(db):
    consumers = Consumers(broker=None, db=db, settings=ServiceSettings())
    calls: list[str] = []
    items = [(T.ORDER_FORWARDED, forwarded_event("x1"), None), (T.ORDER_FORWARDED, b"\xff not json", None),
             (T.ORDER_FORWARDED, forwarded_event("x2"), None)]
    assert await consumers.process_batch("t.batch", items, _publishing_handler(set(), calls), OrderForwardedV1) == \
        ["applied", "dead-lettered", "applied"]
    assert calls == ["x1", "x2"]
    assert await _effects(db) == ["x1", "x2"]
    async with db.uow() as uow:
        letter = (await uow.session.exec(select(DeadLetter))).one()
        notices = [r for r in (await uow.session.exec(select(OutboxMessage))).all() if r.topic == T.DEAD_LETTER.name]
    assert letter.reason.startswith("invalid event:") and len(notices) == 1


async def test_a_batch_from_a_producer_one_additive_version_ahead_is_applied_and_nothing_dead_lettered(db):
    # During a rolling deploy the producer may know fields its consumers do not yet: they are ignored.
    consumers = Consumers(broker=None, db=db, settings=ServiceSettings())
    calls: list[str] = []
    newer = []
    for order_id in ("n1", "n2"):
        body = json.loads(forwarded_event(order_id))
        body["schema_minor"] = 2
        body["data"]["carrier_hint"] = {"name": "UPS", "service": "express"}
        newer.append((T.ORDER_FORWARDED, json.dumps(body).encode(), None))
    assert await consumers.process_batch("t.skew", newer, _publishing_handler(set(), calls), OrderForwardedV1) == \
        ["applied", "applied"]
    assert calls == ["n1", "n2"] and await _effects(db) == ["n1", "n2"]
    async with db.uow() as uow:
        assert (await uow.session.exec(select(DeadLetter))).all() == []


async def test_a_dead_letter_notice_is_an_event_with_a_schema_carrying_the_story_of_what_was_refused(db):
    from dropline_schemas.events import MessageDeadLetteredV1

    consumers = Consumers(broker=None, db=db, settings=ServiceSettings())
    calls: list[str] = []
    refused = forwarded_event("p1")
    items = [(T.ORDER_FORWARDED, refused, None), (T.ORDER_FORWARDED, b"\xff not json", None)]
    await consumers.process_batch("t.notice", items, _publishing_handler({"p1"}, calls), OrderForwardedV1)
    async with db.uow() as uow:
        rows = [r for r in (await uow.session.exec(select(OutboxMessage))).all() if r.topic == T.DEAD_LETTER.name]
    notices = sorted((MessageDeadLetteredV1.read(r.payload) for r in rows), key=lambda n: n.data.reason)
    garbage, poison = notices  # "invalid event: …" sorts first
    original = OrderForwardedV1.read(refused)
    assert poison.data.consumer == "t.notice" and poison.data.reason == "order p1 is inconsistent"
    assert poison.data.dead_lettered_event_type == "OrderForwarded"
    assert (poison.tenant_id, poison.correlation_id) == ("r", "c-p1")  # the refused event's story
    assert poison.data.dead_lettered_event_id == original.event_id and poison.causation_id == str(original.event_id)
    assert poison.data.payload == refused.decode() and not poison.data.payload_truncated
    assert garbage.tenant_id == "unknown" and garbage.correlation_id == "dead-letter:t.notice"
    assert garbage.data.reason.startswith("invalid event:") and garbage.data.dead_lettered_event_id is None
    assert json.loads(rows[0].headers)["event_type"] == "MessageDeadLettered"


async def test_an_event_is_refused_on_a_topic_that_does_not_carry_it(db):
    async with db.uow() as uow:
        with pytest.raises(ValueError, match="OrderForwardedV1 is not an event of dropline.order-paid.v1"):
            uow.publish(OrderForwardedV1.read(forwarded_event("w1")), T.ORDER_PAID, key="w1")
        uow.publish(OrderForwardedV1.read(forwarded_event("w1")), T.ORDER_FORWARDED, key="w1")  # its own: fine
