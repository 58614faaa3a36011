"""Pipeline benchmark (make bench).

Starts the whole system (every service its own process) on PostgreSQL when the local server
answers (else SQLite), drives N signed Shopify webhooks into the gateway, pays the resulting
orders through the retailer API in bulk per supplier, lets the supplier stand-in ship each
order at once, and waits until every order is synced back to the store.

What that costs is accounted over the same window (bench/accounting.py): Dropline CPU per order,
per service and in total — the figure that is stable on a shared machine, quoted first — with
the broker's, PostgreSQL's and the harness's own CPU apart; database commits per order per
service database; Kafka messages per order per topic; and the idle system's CPU per second, with
the CPU per order above it (the idle polling over the window taken off).

Then the webhook acknowledgement latency at fixed offered rates (open loop: a webhook is sent on
schedule whether or not earlier ones were answered, and its latency counts from its scheduled
time), p50/p99/p999 per rate, the pipeline drained between rates. Last, the raw ceiling of the
same database on this machine (order row + outbox row inserted per transaction, one process).
Everything is printed as JSON on the last line.

  uv run python bench/pipeline.py --orders 200 --concurrency 16 --ack-rates 25,50,100 --ack-seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import accounting  # noqa: E402

from dropline_testsupport import infra  # noqa: E402
from dropline_testsupport.demo import load_demo_data  # noqa: E402
from dropline_testsupport.devstack import Stack  # noqa: E402
from dropline_testsupport.shopify_standin import sign_webhook  # noqa: E402


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return round(values[k], 2)


def summary_ms(values: list[float]) -> dict:
    return {"p50_ms": pct(values, 50), "p99_ms": pct(values, 99), "n": len(values)}


def shopify_headers(body: bytes, demo: dict) -> dict[str, str]:
    return {"X-Shopify-Hmac-Sha256": sign_webhook(body, demo["webhook_secret"]),
            "X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": demo["shop"],
            "X-Shopify-Webhook-Id": str(uuid.uuid4()), "X-Shopify-API-Version": "2025-10",
            "Content-Type": "application/json"}


async def make_store_orders(client: httpx.AsyncClient, stack: Stack, n: int, concurrency: int,
                            tag: str = "bench") -> list[dict]:
    """Store orders in the Shopify stand-in (so fulfilments can be written back), webhooks not sent:
    the driver delivers them itself to time the gateway's acknowledgement."""
    shop_ctl = f"{stack.url('shopify')}/_control/shops/{stack.demo['shop']}/orders"
    sem = asyncio.Semaphore(concurrency)

    async def make(i: int) -> dict:
        async with sem:
            r = await client.post(shop_ctl, json={
                "currency": "EUR", "email": f"{tag}{i}@example.com", "deliver_webhook": False,
                "line_items": [{"sku": "MUG-BLUE", "title": "Blue mug", "quantity": 1 + i % 3, "price": "14.99"},
                               {"sku": "LAMP-01", "title": "Desk lamp", "quantity": 1, "price": "39.00"}],
                "shipping_address": {"first_name": "B", "last_name": f"Buyer {i}", "address1": "1 Main St",
                                     "city": "Berlin", "zip": "10115", "country_code": "DE"}})
            r.raise_for_status()
            return r.json()["order"]

    return list(await asyncio.gather(*(make(i) for i in range(n))))


async def received_total(api: httpx.AsyncClient) -> int:
    return (await api.get("/api/v1/orders", params={"limit": 1})).json()["total"]


async def ack_latency(stack: Stack, rates: list[int], seconds: float) -> dict:
    """Open loop at each offered rate: webhook i is sent at t0 + i/rate (never waiting for earlier
    answers) and its latency runs from that scheduled moment to the answer, so a stalled gateway
    shows as latency, not as a slower offered rate."""
    demo = stack.demo
    out: dict = {}
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client, httpx.AsyncClient(
            base_url=stack.url("gateway"), timeout=120,
            headers={"Authorization": f"Bearer {demo['retailer']['api_key']}"}) as api:
        for rate in rates:
            n = int(rate * seconds)
            bodies = [json.dumps(o).encode() for o in await make_store_orders(client, stack, n, 32, f"ack{rate}-")]
            before = await received_total(api)
            latencies: list[float] = []
            errors: list[str] = []

            async def send(body: bytes, due: float, latencies=latencies, errors=errors) -> None:
                try:
                    r = await client.post(stack.url("gateway") + "/webhooks/shopify", content=body,
                                          headers=shopify_headers(body, demo))
                    if r.status_code != 200:
                        errors.append(f"{r.status_code}")
                except httpx.HTTPError as exc:
                    errors.append(type(exc).__name__)
                latencies.append((time.perf_counter() - due) * 1000)

            t0 = time.perf_counter() + 0.05
            tasks = []
            for i, body in enumerate(bodies):
                due = t0 + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(send(body, due)))
            await asyncio.gather(*tasks)
            sent_s = time.perf_counter() - t0
            # Let the pipeline take them all in before the next rate (no backlog carried over).
            t_drain = time.perf_counter()
            # (one Dropline order per store order: both lines are the one auto-order supplier's)
            while await received_total(api) < before + n and time.perf_counter() - t_drain < 120:
                await asyncio.sleep(0.5)
            out[str(rate)] = {"offered_per_s": rate, "sent": n, "send_s": round(sent_s, 2),
                              "p50_ms": pct(latencies, 50), "p99_ms": pct(latencies, 99),
                              "p999_ms": pct(latencies, 99.9), "max_ms": pct(latencies, 100),
                              "errors": len(errors), "received_all_after_s": round(time.perf_counter() - t_drain, 1)}
            print(f"ack latency at {rate}/s: {out[str(rate)]}", file=sys.stderr, flush=True)
    return out


async def drive(stack: Stack, n: int, concurrency: int) -> dict:
    demo = stack.demo
    async with httpx.AsyncClient(timeout=60) as client:
        sem = asyncio.Semaphore(concurrency)
        orders = await make_store_orders(client, stack, n, concurrency)
        ack_ms: list[float] = []
        sent_at: dict[str, float] = {}

        async def deliver(order: dict) -> None:
            body = json.dumps(order).encode()
            headers = shopify_headers(body, demo)
            async with sem:
                t0 = time.perf_counter()
                r = await client.post(stack.url("gateway") + "/webhooks/shopify", content=body, headers=headers)
                ack_ms.append((time.perf_counter() - t0) * 1000)
                sent_at[order["name"]] = time.time()
                assert r.status_code == 200, r.text

        api = httpx.AsyncClient(base_url=stack.url("gateway"), timeout=120,
                                headers={"Authorization": f"Bearer {demo['retailer']['api_key']}"})
        cost_before = accounting.snapshot(stack, in_loop=True)
        t_start = time.time()
        await asyncio.gather(*(deliver(o) for o in orders))
        t_acked = time.time()

        async def count(status: str) -> int:
            return (await api.get("/api/v1/orders", params={"status": status, "limit": 1})).json()["total"]

        # Waiting polls once a second: the polls are Dropline work too (counted in the window), kept small.
        while await count("unpaid") < n:
            await asyncio.sleep(1.0)
        t_received = time.time()
        while sum(g["order_count"] for g in (await api.get("/api/v1/unpaid")).json()["suppliers"]) < n:
            await asyncio.sleep(1.0)  # checkout receives OrderReceived on its own consumer

        # 2. Pay in bulk per supplier (all bench orders belong to the one auto-order supplier);
        #    the API takes up to 200 orders per payment.
        unpaid = []
        offset = 0
        while True:
            page = (await api.get("/api/v1/orders", params={"status": "unpaid", "limit": 200, "offset": offset})).json()
            unpaid += [o["order_id"] for o in page["orders"]]
            offset += 200
            if offset >= page["total"]:
                break
        t_pay = time.time()
        pay_ms = []
        for i in range(0, len(unpaid), 200):
            t0 = time.perf_counter()
            r = await api.post("/api/v1/payments", headers={"Idempotency-Key": str(uuid.uuid4())},
                               json={"order_ids": unpaid[i:i + 200], "method": "card", "payment_method": "pm_card_visa"})
            pay_ms.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 201, r.text
        while await count("synced") < n:
            await asyncio.sleep(1.0)
        t_synced = time.time()
        await asyncio.sleep(1.5)  # the last commits' statistics reach pg_stat_database
        cost = accounting.per_order(cost_before, accounting.snapshot(stack, in_loop=True), n)

        # 3. Stage latencies from each order's timeline (event times stamped by the producers).
        stages = {"webhook_to_received": [], "paid_to_forwarded": [], "forwarded_to_shipped": [],
                  "shipped_to_synced": [], "paid_to_synced": []}
        for oid in unpaid:
            d = (await api.get(f"/api/v1/orders/{oid}")).json()
            at = {e["status"]: datetime.fromisoformat(e["at"]).timestamp() for e in d["timeline"] if e["status"]}
            stages["webhook_to_received"].append((at["unpaid"] - sent_at[d["platform_order_number"]]) * 1000)
            stages["paid_to_forwarded"].append((at["forwarded"] - at["paid"]) * 1000)
            # The read model may apply OrderSynced before TrackingAdded (two topics): no "shipped" step then.
            if "shipped" in at:
                stages["forwarded_to_shipped"].append((at["shipped"] - at["forwarded"]) * 1000)
                stages["shipped_to_synced"].append((at["synced"] - at["shipped"]) * 1000)
            stages["paid_to_synced"].append((at["synced"] - at["paid"]) * 1000)
        await api.aclose()
    return {
        "orders": n,
        **cost,
        "webhook_ack": summary_ms(ack_ms),
        "ingest_orders_per_s": round(n / (t_received - t_start), 1),
        "pay_request_ms": [round(x, 1) for x in pay_ms],
        "fulfilment_orders_per_s": round(n / (t_synced - t_pay), 1),
        "webhook_to_synced_orders_per_s": round(n / (t_synced - t_start), 1),
        "wall_s": {"webhooks_acked": round(t_acked - t_start, 2), "all_received": round(t_received - t_start, 2),
                   "pay_to_all_synced": round(t_synced - t_pay, 2), "total": round(t_synced - t_start, 2)},
        "stages": {k: summary_ms(v) for k, v in stages.items()},
    }


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--db", choices=["auto", "postgres", "sqlite"], default="auto")
    parser.add_argument("--ack-rates", default="25,50,100",
                        help="offered webhook rates (per s) for the open-loop ack latency; empty: skip")
    parser.add_argument("--ack-seconds", type=float, default=10.0, help="seconds of sending per ack rate")
    parser.add_argument("--shopify-restore-rate", type=float, default=100.0,
                        help="store's GraphQL cost restore rate, points/s (Shopify Standard 100, Plus 1000)")
    args = parser.parse_args()

    # A SIGTERM (timeout, CI) must still stop every process the stack started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    use_pg = args.db == "postgres" or (args.db == "auto" and _pg_up())
    with tempfile.TemporaryDirectory(prefix="dropline-bench-") as tmp, infra.postgres_server() as admin:
        factory = infra.DatabaseFactory(admin) if use_pg else None
        stack = Stack(Path(tmp), databases=factory)
        print(f"starting the system on {'PostgreSQL' if use_pg else 'SQLite'}…", file=sys.stderr, flush=True)
        with stack:
            stack.demo = load_demo_data(stack, auto_ship_after_seconds=0, supplier_rate_limit=None, demo_orders=False)
            httpx.post(f"{stack.url('shopify')}/_control/shops/{stack.demo['shop']}/rate-limit",
                       json={"restore_rate": args.shopify_restore_rate,
                             "maximum_available": args.shopify_restore_rate * 20}).raise_for_status()
            idle = accounting.idle_cpu_ms_per_s(stack)
            print(f"driving {args.orders} orders…", file=sys.stderr, flush=True)
            result = asyncio.run(drive(stack, args.orders, args.concurrency))
            result["idle_dropline_cpu_ms_per_s"] = idle
            # What the orders themselves cost: the idle system's polling over the same window taken off. A
            # store-bound run is slow, so idle polling is a large share of the plain figure.
            above = {k: round(max(v - idle.get(k, 0.0) * result["window_s"] / args.orders, 0.0), 2)
                     for k, v in result["dropline_cpu_ms_per_order"].items() if k != "total"}
            result["dropline_cpu_ms_per_order_above_idle"] = {**above, "total": round(sum(above.values()), 2)}
            rates = [int(r) for r in args.ack_rates.split(",") if r.strip()]
            if rates:
                result["webhook_ack_open_loop"] = asyncio.run(ack_latency(stack, rates, args.ack_seconds))
            ceiling_db = (factory.create("bench-raw") if factory else f"sqlite:///{tmp}/raw.db")
            ceiling = raw_ceiling(ceiling_db, max(args.orders * 5, 1000))
    result["database"] = "postgresql" if use_pg else "sqlite"
    result["shopify_restore_rate_points_per_s"] = args.shopify_restore_rate
    result["raw_ceiling_order_plus_outbox_inserts_per_s"] = ceiling
    result["ratio_ingest_vs_raw_ceiling"] = round(result["ingest_orders_per_s"] / ceiling, 4)
    result["ratio_webhook_to_synced_vs_raw_ceiling"] = round(result["webhook_to_synced_orders_per_s"] / ceiling, 4)
    print(json.dumps(result))


def _pg_up() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    main()
