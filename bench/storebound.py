"""Store-bound throughput: many Shopify stores at their plans' real limits, each offered more orders than
its limit lets Dropline write back, and whether Dropline keeps every store at its limit — the sum of the
stores' limits — with the supplier's limit off and Dropline itself below its own ceiling.

Each store is a Shopify store of its own in the stand-in (its own token, webhook secret and GraphQL
bucket), connected through the operator API as any store is, selling the bench's two products from the
auto-order supplier. Its bucket is the plan's (Standard 100 points/s, Advanced 200, Plus 1,000; the
bucket holds 20 seconds of it, shopify.dev "GraphQL Admin API rate limits") and starts empty, as a busy
store's is when its other apps and its own first burst have spent it: with a full bucket a Standard store
takes about 85 write-backs before its rate applies at all, and a one-minute phase would mostly measure
that head start.

A store's limit in write-backs per second is its restore rate over the points one write-back takes, read
from the stand-in's GraphQL log after the run (the actual costs of the state query and the
fulfillmentCreate mutation, what Shopify charges once the requested cost is refunded). Each store is
offered `over` times that (from the demo store's write-backs before this phase, or 23 points if none)
for `seconds`, open loop; a payer pays as orders arrive. Reported per store and in total: offered,
limit and written back per second over the sending window's second half, the ratio of that
to limit (write-backs from the store's own GraphQL log), GraphQL calls answered THROTTLED (the scheduler's local accounting should keep those near 0),
and whether every order was written back in the end (nothing lost to the limit).

On this 2-core machine Dropline itself sustains about 10 orders/s (the internal-throughput phase), so
the default is two Standard stores (≈ 9.1 write-backs/s between them at 22 points a write-back); on a machine that sustains more,
`--store-bound standard:50,plus:5` is the issue's example.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import time
import uuid
from collections import Counter
from datetime import datetime

import accounting
import httpx
from driver import Payer, make_store_orders, on_schedule, shopify_headers

from dropline_testsupport.demo import LISTINGS
from dropline_testsupport.devstack import ADMIN_TOKEN

PLANS = {"standard": 100.0, "advanced": 200.0, "plus": 1000.0}  # GraphQL Admin API points restored per second
BUCKET_SECONDS = 20  # the bucket holds 20 s of the restore rate (2,000 points on Standard)
DEFAULT_POINTS_PER_WRITE_BACK = 23.0  # state query + fulfillmentCreate, actual cost (docs/architecture.md)
BENCH_SKUS = ("MUG-BLUE", "LAMP-01")  # what make_store_orders sells


def parse_plans(text: str) -> dict[str, int]:
    """'standard:2,plus:1' -> {"standard": 2, "plus": 1}; unknown plans and bad counts are refused."""
    plans: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, count = part.partition(":")
        if name not in PLANS:
            raise ValueError(f"unknown Shopify plan {name!r}: one of {', '.join(PLANS)}")
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"store count of {name!r} must be a positive whole number, not {count!r}")
        plans[name] = plans.get(name, 0) + int(count)
    return plans


def write_back_costs(log: list[dict]) -> dict:
    """What a shop's GraphQL log says about its write-backs: calls, THROTTLED answers, fulfillments created
    (and when: epoch seconds) and the actual points they took (Shopify refunds requested − actual)."""
    calls = throttled = 0
    created: list[float] = []
    points = 0.0
    for entry in log:
        query = entry.get("query") or ""
        if "DroplineFulfilmentState" not in query and "DroplineFulfillmentCreate" not in query:
            continue
        calls += 1
        throttled += bool(entry.get("throttled"))
        response = entry.get("response") or {}
        cost = (response.get("extensions") or {}).get("cost") or {}
        points += float(cost.get("actualQueryCost") or 0)
        made = ((response.get("data") or {}).get("fulfillmentCreate") or {}).get("fulfillment")
        if made and made.get("id"):
            created.append(datetime.fromisoformat(entry["at"].replace("Z", "+00:00")).timestamp())
    return {"calls": calls, "throttled": throttled, "created_at": created, "points": points,
            "points_per_write_back": round(points / len(created), 1) if created else None}


class BenchStore:
    """One more Shopify store of the demo retailer, on a plan, in the Shopify stand-in."""

    def __init__(self, stack, plan: str, n: int):
        self.stack, self.plan = stack, plan
        self.shop = f"bench-{plan}-{n}.myshopify.com"
        self.restore_rate = PLANS[plan]
        self.webhook_secret = "whsec_" + secrets.token_urlsafe(24)
        self.store_id = ""

    @property
    def ctl(self) -> str:
        return f"{self.stack.url('shopify')}/_control/shops/{self.shop}"

    @property
    def signing(self) -> dict:
        return {"shop": self.shop, "webhook_secret": self.webhook_secret}

    async def connect(self, admin: httpx.AsyncClient, c: httpx.AsyncClient) -> None:
        demo, token = self.stack.demo, "shpat_" + secrets.token_hex(16)
        (await c.post(f"{self.stack.url('shopify')}/_control/shops", json={
            "shop_domain": self.shop, "access_token": token, "webhook_secret": self.webhook_secret,
            "webhook_url": self.stack.url("gateway") + "/webhooks/shopify"})).raise_for_status()
        retailer = demo["retailer"]["retailer_id"]
        r = await admin.post(f"/admin/v1/retailers/{retailer}/stores", json={
            "platform": "shopify", "shop": self.shop, "api_base_url": f"{self.stack.url('shopify')}/shops/{self.shop}",
            "webhook_secret": self.webhook_secret, "access_token": token})
        r.raise_for_status()
        self.store_id = r.json()["store_id"]
        for sku, who, supplier_sku, cost in LISTINGS:
            if sku in BENCH_SKUS:
                (await admin.put(f"/admin/v1/retailers/{retailer}/listings", json={
                    "store_id": self.store_id, "sku": sku, "supplier_id": demo["suppliers"][who]["supplier_id"],
                    "supplier_sku": supplier_sku, "unit_cost": cost})).raise_for_status()

    async def drain_bucket(self, c: httpx.AsyncClient) -> None:
        (await c.post(self.ctl + "/rate-limit", json={
            "restore_rate": self.restore_rate, "maximum_available": self.restore_rate * BUCKET_SECONDS,
            "currently_available": 0})).raise_for_status()

    async def graphql_log(self, c: httpx.AsyncClient) -> list[dict]:
        return (await c.get(self.ctl + "/graphql-log")).json()["requests"]


async def _wait_for_catalog(stack, stores: int, timeout: float = 60.0) -> None:
    """Orders only split once order-ingest has the new stores' listings."""
    async with httpx.AsyncClient(timeout=5) as c:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counts = (await c.get(stack.url("order-ingest") + "/internal/v1/catalog")).json()
            if counts.get("stores", 0) >= stores:
                return
            await asyncio.sleep(0.2)
    raise TimeoutError("order-ingest has not seen the bench stores")


async def store_bound(stack, plans: dict[str, int], seconds: float = 60.0, over: float = 1.25,
                      drain_s: float = 240.0, pay_every: float = 2.0) -> dict:
    demo = stack.demo
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=60, limits=limits) as c, \
            httpx.AsyncClient(base_url=stack.url("gateway"), timeout=60,
                              headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as admin, \
            httpx.AsyncClient(base_url=stack.url("gateway"), timeout=120,
                              headers={"Authorization": f"Bearer {demo['retailer']['api_key']}"}) as api:
        # The points a write-back takes, as the demo store's write-backs so far showed it.
        seen = write_back_costs((await c.get(f"{stack.url('shopify')}/_control/shops/{demo['shop']}/graphql-log"))
                                .json()["requests"])
        per_write_back = seen["points_per_write_back"] or DEFAULT_POINTS_PER_WRITE_BACK
        stores = [BenchStore(stack, plan, i) for plan, count in plans.items() for i in range(1, count + 1)]
        before = (await c.get(stack.url("order-ingest") + "/internal/v1/catalog")).json().get("stores", 0)
        for store in stores:
            await store.connect(admin, c)
        await _wait_for_catalog(stack, before + len(stores))

        # Each store's orders on its own open-loop schedule, all stores merged into one timeline.
        schedule: list[tuple[float, tuple[BenchStore, dict]]] = []
        offered: dict[str, float] = {}
        for store in stores:
            rate = over * store.restore_rate / per_write_back
            offered[store.shop] = rate
            orders = await make_store_orders(c, stack, int(rate * seconds), 32, f"sb-{uuid.uuid4().hex[:4]}-",
                                             shop=store.shop)
            schedule += [(i / rate, (store, order)) for i, order in enumerate(orders)]
        schedule.sort(key=lambda item: item[0])
        for store in stores:
            await store.drain_bucket(c)

        errors: Counter = Counter()
        payer, stop = Payer(api, pay_every), asyncio.Event()

        async def synced(store: BenchStore | None = None) -> int:
            params = {"status": "synced", "limit": 1, **({"store_id": store.store_id} if store else {})}
            return (await api.get("/api/v1/orders", params=params)).json()["total"]

        async def send(item: tuple[BenchStore, dict], due: float) -> None:
            store, order = item
            body = json.dumps(order).encode()
            try:
                r = await c.post(stack.url("gateway") + "/webhooks/shopify", content=body,
                                 headers=shopify_headers(body, store.signing))
                if r.status_code != 200:
                    errors[str(r.status_code)] += 1
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] += 1

        synced_before = await synced()
        cost_before = accounting.snapshot(stack)
        t0 = time.perf_counter() + 0.05
        t0_wall = time.time() + 0.05
        background = asyncio.create_task(payer.run(stop))
        await on_schedule(schedule, send, t0)
        t_sent = time.perf_counter() - t0
        total = len(schedule)
        deadline = time.perf_counter() + drain_s
        while await synced() - synced_before < total and time.perf_counter() < deadline:
            await asyncio.sleep(1.0)
        drained_s = time.perf_counter() - t0 - t_sent
        stop.set()
        background.cancel()
        await asyncio.gather(background, return_exceptions=True)
        await asyncio.sleep(1.5)  # the last commits' statistics reach pg_stat_database
        done = {s.shop: await synced(s) for s in stores}
        cost = accounting.per_order(cost_before, accounting.snapshot(stack), max(sum(done.values()), 1))

        per_store: dict[str, dict] = {}
        for store in stores:
            costs = write_back_costs(await store.graphql_log(c))
            ppw = costs["points_per_write_back"] or per_write_back
            limit = store.restore_rate / ppw
            # Write-backs per second over the sending window's second half, from the store's own log (no
            # polling of Dropline while it runs).
            rate = sum(t0_wall + t_sent / 2 <= t <= t0_wall + t_sent for t in costs["created_at"]) / (t_sent / 2)
            per_store[store.shop] = {
                "plan": store.plan, "orders": int(offered[store.shop] * seconds),
                "offered_per_s": round(offered[store.shop], 2), "limit_write_backs_per_s": round(limit, 2),
                "written_back_per_s_second_half": round(rate, 2), "synced_vs_limit": round(rate / limit, 3),
                "synced": done[store.shop], "graphql_calls": costs["calls"], "throttled": costs["throttled"],
                "points_per_write_back": costs["points_per_write_back"]}
    limit_sum = sum(s["limit_write_backs_per_s"] for s in per_store.values())
    synced_rate = sum(s["written_back_per_s_second_half"] for s in per_store.values())
    result = {
        "plans": plans, "stores": len(stores), "seconds": seconds, "over": over,
        "offered_per_s": round(sum(offered.values()), 2), "sum_of_limits_per_s": round(limit_sum, 2),
        "written_back_per_s_second_half": round(synced_rate, 2), "synced_vs_sum_of_limits": round(synced_rate / limit_sum, 3),
        "orders": total, "synced": sum(done.values()), "all_synced": sum(done.values()) == total,
        "drained_after_s": round(drained_s, 1), "webhook_errors": dict(errors), "payment_failures": payer.failures[:5],
        "throttled": sum(s["throttled"] for s in per_store.values()),
        "worst_store_synced_vs_limit": min(s["synced_vs_limit"] for s in per_store.values()),
        "dropline_cpu_ms_per_order": cost["dropline_cpu_ms_per_order"],
        "db_commits_per_order": cost["db_commits_per_order"],
        "per_store": per_store,
    }
    print("store-bound throughput: " + json.dumps({k: v for k, v in result.items() if k != "per_store"}),
          file=sys.stderr, flush=True)
    return result
