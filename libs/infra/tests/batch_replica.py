"""One replica of a batch consumer, run as its own process by test_batch_consumers_integration.py.

It subscribes one handler through `Consumers` (batches, one transaction and one offset commit per
batch) to a topic on a real broker; each event it applies writes an effect row in the batch's
transaction — the table has no unique key, so a second effect would show as a second row. Each
batch's outcomes are appended to a JSON-lines file (after the transaction, before the offset commit).

`--stall mid-batch` stops in the middle of the first batch of two or more events, after half its
effects were written (not committed); `--stall after-commit` stops after that batch committed, before
its offset is committed. Either way it writes the batch's event ids to `--marker` and waits there for
the test to SIGKILL it.

  python batch_replica.py --db URL --bootstrap HOST:PORT --topic T --name N --replica r1 --outcomes F
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os

from sqlalchemy import text

from dropline_infra.db import Database
from dropline_infra.messaging import Consumers, make_broker
from dropline_infra.settings import ServiceSettings
from dropline_schemas.topics import Topic


async def main() -> None:
    p = argparse.ArgumentParser()
    for flag in ("--db", "--bootstrap", "--topic", "--name", "--replica", "--outcomes"):
        p.add_argument(flag, required=True)
    p.add_argument("--stall", choices=["none", "mid-batch", "after-commit"], default="none")
    p.add_argument("--marker", default="")
    p.add_argument("--batch-delay", type=float, default=0.0, help="seconds each batch takes (to spread the work)")
    args = p.parse_args()

    settings = ServiceSettings(database_url=args.db, kafka_bootstrap_servers=args.bootstrap,
                               kafka_session_timeout_ms=3000, kafka_heartbeat_interval_ms=1000)
    db = Database(args.db)
    broker = make_broker(settings)
    batch: dict = {"ids": [], "applied": 0}
    stalled = asyncio.Event()

    def note(path: str, line: dict, mode: str) -> None:  # a few hundred bytes: no need to leave the loop
        with open(path, mode) as f:
            f.write(json.dumps(line) + "\n")

    async def stall() -> None:
        note(args.marker, {"pid": os.getpid(), "event_ids": batch["ids"]}, "w")
        stalled.set()
        await asyncio.sleep(3600)  # the test kills the process here

    class Replica(Consumers):
        async def process_batch(self, consumer, items, handler, event_type, *, prepare=None):
            batch["ids"] = [json.loads(raw)["event_id"] for _topic, raw, _record in items]
            batch["applied"] = 0
            if args.batch_delay:
                await asyncio.sleep(args.batch_delay)
            outcomes = await super().process_batch(consumer, items, handler, event_type, prepare=prepare)
            note(args.outcomes, {"replica": args.replica, "outcomes": dict(zip(batch["ids"], outcomes, strict=True))},
                 "a")
            if args.stall == "after-commit" and len(items) > 1 and not stalled.is_set():
                await stall()
            return outcomes

    async def on_effect(uow, event) -> None:
        await uow.session.execute(text("INSERT INTO batch_effects (event_id, replica, batch_size) VALUES (:e, :r, :n)"),
                                  {"e": str(event.event_id), "r": args.replica, "n": len(batch["ids"])})
        batch["applied"] += 1
        if args.stall == "mid-batch" and len(batch["ids"]) > 1 and batch["applied"] == len(batch["ids"]) // 2 \
                and not stalled.is_set():
            await uow.session.flush()  # half the batch's effects are in the database, not committed
            await stall()

    Replica(broker, db, settings).subscribe(Topic(args.topic), on_effect, name=args.name)
    await broker.start()
    print("ready", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await broker.stop()
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
