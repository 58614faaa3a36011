"""The operator's `dropline` commands against the running system: a message no consumer can read is
dead-lettered, listed, shown and replayed (and dead-lettered again: it is still unreadable), its notice
read with `topic tail`; jobs and outbox backlogs answer for every service. Replays that apply, and the
replay twice with no second effect, are in libs/infra/tests/test_operator_api.py."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from dropline_operator.cli import SERVICES, app
from typer.testing import CliRunner

from dropline_schemas import topics as T

from .conftest import wait_for
from .helpers import create_store_order, pay, wait_orders, wait_status

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def dropline(stack):
    env = {f"DROPLINE_{s.upper().replace('-', '_')}_URL": stack.url(s) for s in SERVICES}
    env["DROPLINE_KAFKA_BOOTSTRAP_SERVERS"] = stack.bootstrap
    env["COLUMNS"] = "250"  # rich fits tables to the terminal: a wide one, so no cell is cut
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == code, (args, result.exit_code, result.output)
        return result.output

    return run


async def _publish(bootstrap: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(T.STORE_WEBHOOK_RECEIVED.name, value, key=b"operator-test")
    finally:
        await producer.stop()


def test_an_unreadable_message_is_listed_shown_replayed_and_its_notice_tailed(stack, dropline):
    marker = f"not-an-event-{uuid.uuid4().hex[:8]}"
    asyncio.run(_publish(stack.bootstrap, f'{{"{marker}": true}}'.encode()))

    def letter():
        [page] = json.loads(dropline("dead-letters", "list", "--service", "order-ingest", "--reason", "invalid event",
                                     "--json"))
        return next((d for d in page["dead_letters"] if marker in d["payload_preview"]), None)

    found = wait_for("order-ingest to dead-letter the unreadable message", letter)
    assert found["consumer"] == "order-ingest.store_webhook" and found["topic"] == T.STORE_WEBHOOK_RECEIVED.name
    table = dropline("dead-letters", "list", "--service", "order-ingest")
    assert "order-ingest.store_webhook" in table and "dead letter(s)" in table
    shown = dropline("dead-letters", "show", "order-ingest", str(found["id"]))
    assert "invalid event" in shown and marker in shown

    replayed = dropline("dead-letters", "replay", "order-ingest", str(found["id"]), code=1)
    assert "dead-lettered again" in replayed  # still unreadable: a new dead letter takes its place
    dropline("dead-letters", "show", "order-ingest", str(found["id"]), code=1)  # the old one is gone

    notices = [json.loads(line) for line in dropline("topic", "tail", T.DEAD_LETTER.name, "--from-beginning",
                                                     "--no-follow", "--json").splitlines() if line.startswith("{")]
    mine = [n for n in notices if marker in n["value"]["data"]["payload"]]
    assert {n["value"]["event_type"] for n in mine} == {"MessageDeadLettered"}
    assert {n["value"]["data"]["consumer"] for n in mine} >= {"order-ingest.store_webhook"}
    assert all(n["key"] == n["value"]["data"]["consumer"] for n in mine)


def test_jobs_and_outbox_backlogs_answer_for_every_service(dropline):
    pages = {p["service"]: p for p in json.loads(dropline("jobs", "list", "--status", "pending", "--json"))}
    assert list(pages) == list(SERVICES)
    # Each store's reconciliation is a recurring order-ingest job: always there, pending its next run.
    assert {j["kind"] for j in pages["order-ingest"]["jobs"]} >= {"reconcile_store"}
    assert "reconcile_store" in dropline("jobs", "list", "--service", "order-ingest", "--status", "pending")
    backlog = json.loads(dropline("outbox", "--json"))
    assert [b["service"] for b in backlog] == list(SERVICES) and all(b["unsent"] >= 0 for b in backlog)
    lagging = json.loads(dropline("lag", "--json"))
    groups = {r["group"] for r in lagging["consumer_lag"]}
    assert {"order-ingest.catalog", "forwarder.catalog", "tracking-sync.catalog"} <= groups, groups  # the demo catalog
    # (lag only: the bundled broker reports end offsets as produce batches, not records, so an end can be
    # behind the group's commit here; on Apache Kafka it never is)
    assert all(r["lag"] >= 0 and r["committed"] >= 0 for r in lagging["consumer_lag"])
    assert [b["service"] for b in lagging["outbox"]] == list(SERVICES)
    assert "Consumer lag" in dropline("lag", "--all")
    dropline("jobs", "retry", "forwarder", "999999", code=1)  # no such job: refused, said so
    dropline("topic", "tail", "dropline.no-such-topic.v1", "--no-follow", code=1)


def test_order_show_tells_an_orders_story_across_the_services_in_time_order(stack, api, dropline):
    created = create_store_order(stack, lines=[{"sku": "MUG-BLUE", "title": "Blue mug", "quantity": 1,
                                                "price": "14.99"}])["order"]
    [row] = wait_orders(api, created["name"], 1)
    assert pay(api, [row["order_id"]]).status_code == 201
    wait_status(api, row["order_id"], "forwarded")
    story = json.loads(dropline("order", "show", row["order_id"], "--json"))
    steps = [(s["service"], s["what"]) for s in story["steps"]]
    for expected in [("order-ingest", "published OrderReceived"), ("checkout", "published OrderPriced"),
                     ("checkout", "published OrderPaid"), ("forwarder", "published OrderForwarded")]:
        assert expected in steps, steps
    assert any(service == "forwarder" and what.startswith("job ") for service, what in steps), steps
    at = [s["at"] for s in story["steps"]]
    assert at == sorted(at)
    assert steps.index(("order-ingest", "published OrderReceived")) < steps.index(("checkout", "published OrderPaid")) \
        < steps.index(("forwarder", "published OrderForwarded"))
    assert "published OrderForwarded" in dropline("order", "show", row["order_id"])
    dropline("order", "show", "D-nobody", code=1)
