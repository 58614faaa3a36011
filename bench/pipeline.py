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

Then internal throughput (bench/throughput.py): the store's and supplier's limits off, an open-loop
driver offering each rate for 60 s while a payer pays what arrives, up to the first rate not sustained.
Then store-bound throughput (bench/storebound.py): more Shopify stores at their plans' real limits, each
offered more than its limit, and whether Dropline writes back at the sum of the stores' limits.
Then the webhook acknowledgement latency at fixed offered rates (open loop: a webhook is sent on
schedule whether or not earlier ones were answered, and its latency counts from its scheduled
time), p50/p99/p999 per rate, the pipeline drained between rates. Last, the ceilings of the same
database on this machine (bench/ceiling.py): raw (order row + outbox row per transaction, one
process) and fair (the commits an order took, per service, replayed by one process per service at
once, without the framework), with internal throughput's ratio to the fair one.
Everything is printed as JSON on the last line.

One gateway process takes every request and projects the read model, as `make run` runs it.
`--gateway split` runs it as deploy/k8s does: one process takes every request and consumes nothing
(GATEWAY_RUN_CONSUMERS=false), a second projects; their CPU counts as the gateway's.

  uv run python bench/pipeline.py --orders 200 --concurrency 16 --throughput-rates 5,10,20,40 \
      --throughput-seconds 60 --store-bound standard:2 --ack-rates 25,50,100 --ack-seconds 10 [--keep-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import accounting  # noqa: E402
import ceiling as ceilings  # noqa: E402
import storebound  # noqa: E402
import throughput  # noqa: E402
from driver import (  # noqa: E402
    make_store_orders,
    open_loop,
    pct,
    received_total,
    shopify_headers,
    stage_latencies,
    summary_ms,
)

from dropline_testsupport import infra  # noqa: E402
from dropline_testsupport.demo import load_demo_data  # noqa: E402
from dropline_testsupport.devstack import Stack  # noqa: E402


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

            t0 = await open_loop(bodies, rate, send)
            sent_s = time.perf_counter() - t0
            # Let the pipeline take them all in before the next rate (no backlog carried over).
            t_drain = time.perf_counter()
            # (one Dropline order per store order: both lines are the one auto-order supplier's; a webhook not
            # answered 200 was not taken — a platform would send it again, reconciliation would find it)
            while await received_total(api) < before + n - len(errors) and time.perf_counter() - t_drain < 120:
                await asyncio.sleep(0.5)
            out[str(rate)] = {"offered_per_s": rate, "sent": n, "send_s": round(sent_s, 2),
                              "p50_ms": pct(latencies, 50), "p99_ms": pct(latencies, 99),
                              "p999_ms": pct(latencies, 99.9), "max_ms": pct(latencies, 100),
                              "error_kinds": dict(Counter(errors)),
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
        cost_before = accounting.snapshot(stack)
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
        cost = accounting.per_order(cost_before, accounting.snapshot(stack), n)

        # 3. Stage latencies from each order's timeline (event times stamped by the producers).
        stages = await stage_latencies(api, unpaid, sent_at)
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
        "stages": stages,
    }


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
    parser.add_argument("--throughput-rates", default="5,10,20,40",
                        help="offered rates (orders/s) for internal throughput, limits off, up to the first not "
                             "sustained; empty: skip")
    parser.add_argument("--throughput-seconds", type=float, default=60.0, help="seconds of sending per rate")
    parser.add_argument("--store-bound", default="standard:2",
                        help="Shopify stores by plan for the store-bound phase, e.g. standard:50,plus:5 (plans: "
                             f"{', '.join(storebound.PLANS)}); empty: skip")
    parser.add_argument("--store-bound-seconds", type=float, default=60.0, help="seconds of sending, store-bound")
    parser.add_argument("--store-bound-over", type=float, default=1.25,
                        help="each store is offered this many times its write-back limit")
    parser.add_argument("--keep-dir", type=Path, help="run in this directory and keep it (logs, SQLite files)")
    parser.add_argument("--gateway", choices=["one", "split"], default="one",
                        help="one (as make run): one gateway process takes every request and projects the read "
                             "model; split (as deploy/k8s): an HTTP-only process takes every request and a second "
                             "one projects — on 2 cores it cost more CPU than it saved (issue 9's notes)")
    args = parser.parse_args()
    try:
        store_plans = storebound.parse_plans(args.store_bound)
    except ValueError as exc:
        parser.error(f"--store-bound: {exc}")

    # A SIGTERM (timeout, CI) must still stop every process the stack started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    use_pg = args.db == "postgres" or (args.db == "auto" and _pg_up())
    workdir = (contextlib.nullcontext(str(args.keep_dir)) if args.keep_dir
               else tempfile.TemporaryDirectory(prefix="dropline-bench-"))
    with workdir as tmp, infra.postgres_server() as admin:
        factory = infra.DatabaseFactory(admin) if use_pg else None
        split = args.gateway == "split" and factory is not None  # two processes share a database: PostgreSQL
        stack = Stack(Path(tmp), databases=factory,
                      service_env={"gateway": {"RUN_CONSUMERS": "false"}} if split else {})
        print(f"starting the system on {'PostgreSQL' if use_pg else 'SQLite'}…", file=sys.stderr, flush=True)
        with stack:
            if split:
                stack.wait_ready(stack.start_replica("gateway", "projection", {"RUN_CONSUMERS": "true"}))
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
            tp_rates = [float(r) for r in args.throughput_rates.split(",") if r.strip()]
            if tp_rates:
                print("internal throughput (store and supplier limits off)…", file=sys.stderr, flush=True)
                result["internal_throughput"] = asyncio.run(
                    throughput.internal_throughput(stack, tp_rates, args.throughput_seconds))
            if store_plans:
                print(f"store-bound throughput ({args.store_bound})…", file=sys.stderr, flush=True)
                result["store_bound"] = asyncio.run(storebound.store_bound(
                    stack, store_plans, args.store_bound_seconds, args.store_bound_over))
            # (after the phases with a payer: it pays every unpaid order, and these stay unpaid)
            rates = [int(r) for r in args.ack_rates.split(",") if r.strip()]
            if rates:
                result["webhook_ack_open_loop"] = asyncio.run(ack_latency(stack, rates, args.ack_seconds))
            ceiling_db = (factory.create("bench-raw") if factory else f"sqlite:///{tmp}/raw.db")
            ceiling = ceilings.raw_ceiling(ceiling_db, max(args.orders * 5, 1000))
            if factory is not None:
                # The commits an order took where Dropline ran flat out (else in the store-bound run).
                best = (result.get("internal_throughput") or {}).get("at_highest") or result
                commits = {k: v for k, v in best["db_commits_per_order"].items() if k != "total"}
                print("fair ceiling…", file=sys.stderr, flush=True)
                result["fair_ceiling"] = ceilings.fair_ceiling({k: factory.create(f"fair-{k}") for k in commits},
                                                               commits)
    result["database"] = "postgresql" if use_pg else "sqlite"
    result["gateway_processes"] = "split: HTTP tier + projection" if split else "one"
    result["shopify_restore_rate_points_per_s"] = args.shopify_restore_rate
    result["raw_ceiling_order_plus_outbox_inserts_per_s"] = ceiling
    result["ratio_ingest_vs_raw_ceiling"] = round(result["ingest_orders_per_s"] / ceiling, 4)
    result["ratio_webhook_to_synced_vs_raw_ceiling"] = round(result["webhook_to_synced_orders_per_s"] / ceiling, 4)
    fair = (result.get("fair_ceiling") or {}).get("orders_per_s")
    internal = (result.get("internal_throughput") or {}).get("highest_sustained_orders_per_s")
    if fair and internal:
        result["ratio_internal_throughput_vs_fair_ceiling"] = round(internal / fair, 4)
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
