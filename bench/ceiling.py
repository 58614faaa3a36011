"""Ceilings of this machine's database, measured in the same run as the pipeline, without the framework.

- raw: an order row and an outbox row inserted per transaction by one process — what one writer can
  commit here.
- fair: the same durable writes an order needs, issued by the same number of processes. Each service's
  database commits (measured per order by the pipeline run) are replayed by one process per service,
  all at once, each into a fresh database of its own: every transaction inserts one ~1.5 kB row (an
  event's size) and commits. A service's process reaches `commits/s ÷ commits per order` orders/s; the
  slowest one is the ceiling. No Kafka, no HTTP, no decoding: what the framework's work per order is
  measured against.
"""

from __future__ import annotations

import json
import multiprocessing
import time
import uuid

from sqlalchemy import create_engine, text

from dropline_infra.db import sync_url

BODY = json.dumps({"lines": [{"sku": "MUG-BLUE", "quantity": 1}] * 2, "pad": "x" * 1500})


def raw_ceiling(db_url: str, n: int) -> float:
    """Order row + outbox row per transaction, one process, same database: what the machine can do."""
    from sqlalchemy import create_engine, text

    from dropline_infra.db import sync_url

    engine = create_engine(sync_url(db_url))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_orders (id VARCHAR(64) PRIMARY KEY, body TEXT NOT NULL)"))
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_outbox (id VARCHAR(64) PRIMARY KEY, payload TEXT NOT NULL, "
                          "published BOOLEAN NOT NULL DEFAULT FALSE)"))
    body = json.dumps({"lines": [{"sku": "MUG-BLUE", "quantity": 1}] * 2, "pad": "x" * 1500})
    t0 = time.perf_counter()
    for _ in range(n):
        with engine.begin() as conn:
            oid = str(uuid.uuid4())
            conn.execute(text("INSERT INTO bench_orders (id, body) VALUES (:i, :b)"), {"i": oid, "b": body})
            conn.execute(text("INSERT INTO bench_outbox (id, payload) VALUES (:i, :b)"), {"i": oid, "b": body})
    rate = n / (time.perf_counter() - t0)
    engine.dispose()
    return round(rate, 1)


def _commit_for(db_url: str, seconds: float, start_at: float, out) -> None:
    engine = create_engine(sync_url(db_url))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS fair_rows (id VARCHAR(64) PRIMARY KEY, body TEXT NOT NULL)"))
    while time.time() < start_at:
        time.sleep(0.01)
    n, end = 0, start_at + seconds
    while time.time() < end:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO fair_rows (id, body) VALUES (:i, :b)"), {"i": str(uuid.uuid4()), "b": BODY})
        n += 1
    out.put(n)
    engine.dispose()


def fair_ceiling(db_urls: dict[str, str], commits_per_order: dict[str, float], seconds: float = 10.0) -> dict:
    """Orders/s this machine's database allows for the commits an order takes, one process per service."""
    ctx = multiprocessing.get_context("spawn")
    wanted = {name: c for name, c in commits_per_order.items() if name in db_urls and c > 0}
    queues = {name: ctx.Queue() for name in wanted}
    start_at = time.time() + 3.0  # every process connected and its table made before the clock starts
    procs = [ctx.Process(target=_commit_for, args=(db_urls[name], seconds, start_at, queues[name])) for name in wanted]
    for p in procs:
        p.start()
    commits = {name: queues[name].get(timeout=seconds + 60) for name in wanted}
    for p in procs:
        p.join(30)
    per_service = {name: round(commits[name] / seconds / wanted[name], 1) for name in wanted}
    return {"orders_per_s": min(per_service.values()) if per_service else None,
            "commits_per_s": {name: round(n / seconds, 1) for name, n in commits.items()},
            "orders_per_s_by_service": per_service, "processes": len(wanted), "seconds": seconds}
