"""Batch consumers over a real broker and PostgreSQL, each replica its own process (batch_replica.py):

- a replica SIGKILLed in the middle of a batch, or after the batch committed but before its offset
  did, has the whole batch delivered again to the next replica, with no second effect;
- two replicas of one consumer share the topic's partitions, and a rebalance (one replica killed,
  another joining) while events keep coming leaves every event applied exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import create_engine, text

from dropline_infra.db import sync_url
from dropline_infra.messaging import ensure_topics
from dropline_infra.migrations import upgrade
from dropline_infra.settings import ServiceSettings
from dropline_schemas.events import OrderForwardedData, OrderForwardedV1
from dropline_schemas.topics import Topic

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
# order-ingest's migrations create the shared tables (outbox, processed_events, dead_letters, jobs).
MIGRATIONS = HERE.parents[2] / "services" / "order-ingest" / "migrations"


class Replicas:
    """Starts replica processes of one consumer and reads what they did."""

    def __init__(self, tmp: Path, db_url: str, bootstrap: str, topic: str):
        self.tmp, self.db_url, self.bootstrap, self.topic = tmp, db_url, bootstrap, topic
        self.name = f"effects-{uuid.uuid4().hex[:6]}"
        self.consumer = f"service.{self.name}"
        self.outcomes = tmp / "outcomes.jsonl"
        self.procs: dict[str, subprocess.Popen] = {}
        self.engine = create_engine(sync_url(db_url))

    def start(self, replica: str, *, stall: str = "none", batch_delay: float = 0.0) -> Path:
        marker = self.tmp / f"{replica}.stalled"
        with open(self.tmp / f"{replica}.log", "w") as log:  # the child keeps its own copy of the descriptor
            self.procs[replica] = subprocess.Popen(
                [sys.executable, str(HERE / "batch_replica.py"), "--db", self.db_url, "--bootstrap", self.bootstrap,
                 "--topic", self.topic, "--name", self.name, "--replica", replica, "--outcomes", str(self.outcomes),
                 "--stall", stall, "--marker", str(marker), "--batch-delay", str(batch_delay)],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "LOG_LEVEL": "INFO"})
        return marker

    def kill(self, replica: str) -> None:
        proc = self.procs.pop(replica)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for replica in list(self.procs):
            self.kill(replica)
        self.engine.dispose()

    def effects(self) -> list[tuple[str, str, int]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT event_id, replica, batch_size FROM batch_effects"))]

    def processed(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM processed_events WHERE consumer = :c"),
                                {"c": self.consumer}).scalar_one()

    def batches(self) -> list[dict]:
        if not self.outcomes.exists():
            return []
        return [json.loads(line) for line in self.outcomes.read_text().splitlines() if line.strip()]

    def log(self, replica: str) -> str:
        return (self.tmp / f"{replica}.log").read_text()[-3000:]


def wait_for(what: str, check, timeout: float = 60.0, replicas: Replicas | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    logs = "".join(f"\n--- {r}\n{replicas.log(r)}" for r in replicas.procs) if replicas else ""
    raise AssertionError(f"timed out waiting for {what}{logs}")


def events(n: int, tag: str) -> list[OrderForwardedV1]:
    return [OrderForwardedV1.create(
        data=OrderForwardedData(order_id=f"{tag}-{i}", supplier_id="s", supplier_order_id=f"SUP-{i}",
                                forwarded_at="2026-12-03T10:00:00Z"),
        producer="test", tenant_id="r1", correlation_id=f"c-{tag}-{i}") for i in range(n)]


async def produce(bootstrap: str, topic: str, evs: list[OrderForwardedV1], *, per_second: float | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for i, ev in enumerate(evs):
            await producer.send(topic, ev.model_dump_json().encode(), key=ev.data.order_id.encode())
            if per_second and i % 10 == 9:
                await producer.flush()
                await asyncio.sleep(10 / per_second)
        await producer.flush()
    finally:
        await producer.stop()


@pytest.fixture
def replicas(pg_url, kafka_bootstrap, tmp_path):
    upgrade("order-ingest", pg_url, MIGRATIONS)
    topic = Topic(f"test.batch-{uuid.uuid4().hex[:6]}", partitions=6)
    asyncio.run(ensure_topics(ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap), (topic,)))
    rs = Replicas(tmp_path, pg_url, kafka_bootstrap, topic.name)
    with rs.engine.begin() as conn:
        conn.execute(text("CREATE TABLE batch_effects (event_id VARCHAR(64) NOT NULL, replica VARCHAR(16) NOT NULL, "
                          "batch_size INTEGER NOT NULL)"))
    yield rs
    rs.stop_all()


def assert_each_applied_once(rs: Replicas, evs: list[OrderForwardedV1]) -> None:
    counts = Counter(event_id for event_id, _replica, _n in rs.effects())
    wanted = {str(ev.event_id) for ev in evs}
    assert set(counts) == wanted, f"missing {len(wanted - set(counts))}, unexpected {len(set(counts) - wanted)}"
    assert [e for e, c in counts.items() if c > 1] == [], "applied twice"
    assert rs.processed() == len(evs)


@pytest.mark.parametrize("moment", ["mid-batch", "after-commit"])
def test_a_replica_killed_during_a_batch_has_it_redelivered_whole_with_no_second_effect(replicas, moment):
    rs = replicas
    evs = events(60, moment)
    asyncio.run(produce(rs.bootstrap, rs.topic, evs))  # all there before it starts: its first fetch is a batch
    marker = rs.start("r1", stall=moment)
    wait_for(f"r1 to stop {moment}", marker.exists, replicas=rs)
    stalled = json.loads(marker.read_text())["event_ids"]
    assert len(stalled) > 1
    effects_before_kill = Counter(e for e, _r, _n in rs.effects())
    rs.kill("r1")
    if moment == "mid-batch":
        # Half the batch's effects had been written in its transaction: none of them stayed.
        assert not set(stalled) & set(effects_before_kill)
    else:
        assert all(effects_before_kill[e] == 1 for e in stalled)

    rs.start("r2")

    def seen_by_r2() -> dict[str, str]:
        return {e: o for b in rs.batches() if b["replica"] == "r2" for e, o in b["outcomes"].items()}

    # The next replica is given the killed batch again, whole (its offset was never committed).
    wait_for("the killed batch to come again", lambda: set(stalled) <= set(seen_by_r2()), replicas=rs)
    wait_for("every event applied", lambda: rs.processed() == len(evs), replicas=rs)
    time.sleep(1.0)  # anything still to come would come now
    assert_each_applied_once(rs, evs)
    r2 = seen_by_r2()
    want = "duplicate" if moment == "after-commit" else "applied"
    assert {r2[e] for e in stalled} == {want}
    assert {r for e, r, _n in rs.effects() if e in stalled} == {"r1" if moment == "after-commit" else "r2"}


def test_two_replicas_share_the_partitions_and_a_rebalance_applies_nothing_twice(replicas):
    rs = replicas
    rs.start("r1", batch_delay=0.05)
    rs.start("r2", batch_delay=0.05)
    evs = events(600, "share")

    async def scenario() -> None:
        sending = asyncio.create_task(produce(rs.bootstrap, rs.topic, evs, per_second=60))
        await asyncio.to_thread(wait_for, "both replicas at work",
                                lambda: {r for _e, r, _n in rs.effects()} >= {"r1", "r2"}, 60, rs)
        rs.kill("r1")  # its uncommitted batch and its partitions go to r2 after its session times out
        await asyncio.sleep(2.0)
        rs.start("r3", batch_delay=0.05)  # joins: the partitions are shared again
        await sending

    asyncio.run(scenario())
    wait_for("every event applied", lambda: rs.processed() == len(evs), 90, rs)
    time.sleep(1.0)
    assert_each_applied_once(rs, evs)
    by_replica = Counter(r for _e, r, _n in rs.effects())
    assert set(by_replica) == {"r1", "r2", "r3"}, by_replica
    # Batches really were batches.
    assert max(n for _e, _r, n in rs.effects()) > 1
