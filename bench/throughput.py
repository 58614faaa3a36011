"""Internal throughput: what Dropline itself sustains, webhook to synced, with the outside world out
of the way (the store's and the supplier's rate limits off, the supplier ships at once).

At each offered rate, an open-loop driver sends signed webhooks on schedule for `seconds` (whether or
not earlier ones were answered) while a payer, as a retailer paying as orders arrive, pays every
unpaid order it sees per supplier every `pay_every` seconds — so receiving, paying, forwarding and
syncing overlap as in real use. A rate is sustained when the synced rate over the second half of the
sending window (the pipeline warm, the first orders already through; a least-squares slope, as the
payer's rounds make the syncs come in bursts) is at least 95 % of the offered rate, and every order is
through within the drain time: below that the backlog grows for as long as the rate is offered. The phase goes up the rates
and stops at the first one not sustained; each rate reports the Dropline CPU per order over its
window (bench/accounting.py), the backlog it ended with, how long it took to drain, and stage
p50/p99 from a sample of its orders' timelines.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
import uuid
from collections import Counter

import accounting
import httpx
from driver import Payer, make_store_orders, open_loop, pct, shopify_headers, stage_latencies

SUSTAINED = 0.95  # share of the offered rate synced over the window's second half
UNLIMITED = {"restore_rate": 1_000_000.0, "maximum_available": 10_000_000.0}


async def _count(api: httpx.AsyncClient, status: str) -> int:
    return (await api.get("/api/v1/orders", params={"status": status, "limit": 1})).json()["total"]


async def one_rate(stack, rate: float, seconds: float, pay_every: float, sample: int) -> dict:
    demo = stack.demo
    n = int(rate * seconds)
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client, httpx.AsyncClient(
            base_url=stack.url("gateway"), timeout=120,
            headers={"Authorization": f"Bearer {demo['retailer']['api_key']}"}) as api:
        tag = f"tp{rate:g}-{uuid.uuid4().hex[:4]}-"
        orders = await make_store_orders(client, stack, n, 32, tag)
        synced_before = await _count(api, "synced")
        sent_at: dict[str, float] = {}
        ack_ms: list[float] = []
        errors: list[str] = []
        payer = Payer(api, pay_every)
        samples: list[tuple[float, int, int]] = []  # (t since start, webhooks sent, orders synced)
        stop = asyncio.Event()

        async def send(order: dict, due: float) -> None:
            sent_at[order["name"]] = time.time()
            body = json.dumps(order).encode()
            try:
                r = await client.post(stack.url("gateway") + "/webhooks/shopify", content=body,
                                      headers=shopify_headers(body, demo))
                if r.status_code != 200:
                    errors.append(str(r.status_code))
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)
            ack_ms.append((time.perf_counter() - due) * 1000)

        async def monitor(t0: float) -> None:
            while not stop.is_set():
                samples.append((time.perf_counter() - t0, len(sent_at), await _count(api, "synced") - synced_before))
                await asyncio.sleep(1.0)

        cost_before = accounting.snapshot(stack)
        t0 = time.perf_counter() + 0.05
        background = [asyncio.create_task(payer.run(stop)), asyncio.create_task(monitor(t0))]
        await open_loop(orders, rate, send, t0)
        t_sent = time.perf_counter() - t0
        synced_at_end = await _count(api, "synced") - synced_before
        # Drain: every order of this rate through (or give up after two minutes).
        deadline = time.perf_counter() + 120
        while await _count(api, "synced") - synced_before < n and time.perf_counter() < deadline:
            await asyncio.sleep(0.5)
        drained_s = time.perf_counter() - t0 - t_sent
        synced = await _count(api, "synced") - synced_before
        stop.set()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await asyncio.sleep(1.5)  # the last commits' statistics reach pg_stat_database
        cost = accounting.per_order(cost_before, accounting.snapshot(stack), max(synced, 1))

        second_half_rate = _slope([(t, done) for t, _sent, done in samples if t_sent / 2 <= t <= t_sent])
        mine = sorted(payer.paid)
        stuck: Counter = Counter()
        if synced < n:  # where the rest are (the paid ones; the others were never seen unpaid by the payer)
            for oid in mine:
                status = (await api.get(f"/api/v1/orders/{oid}")).json()["status"]
                if status != "synced":
                    stuck[status] += 1
            stuck["never_paid"] = n - len(payer.paid)
        sampled = random.Random(0).sample(mine, min(sample, len(mine)))
        done = [oid for oid in sampled
                if (await api.get(f"/api/v1/orders/{oid}")).json()["status"] == "synced"]
        result = {
            "offered_per_s": rate, "orders": n, "send_s": round(t_sent, 1),
            "synced_per_s_second_half": round(second_half_rate, 1),
            "sustained": second_half_rate >= SUSTAINED * rate and synced == n,
            "backlog_at_end_of_sending": n - synced_at_end, "drained_after_s": round(drained_s, 1),
            "synced": synced, "not_synced_by_status": dict(stuck), "webhook_errors": len(errors), "payment_failures": payer.failures[:5],
            "webhook_ack": {"p50_ms": pct(ack_ms, 50), "p99_ms": pct(ack_ms, 99), "p999_ms": pct(ack_ms, 99.9)},
            "dropline_cpu_ms_per_order": cost["dropline_cpu_ms_per_order"],
            "shared_cpu_ms_per_order": cost["shared_cpu_ms_per_order"],
            "harness_cpu_ms_per_order": cost["harness_cpu_ms_per_order"],
            "db_commits_per_order": cost["db_commits_per_order"],
            "stages": await stage_latencies(api, done, sent_at) if done else {},
        }
    print(f"internal throughput at {rate:g}/s: " + json.dumps({k: v for k, v in result.items() if k != "stages"}),
          file=sys.stderr, flush=True)
    return result


def _slope(points: list[tuple[float, int]]) -> float:
    """Least-squares slope (orders synced per second): the payer pays every few seconds, so orders
    are synced in bursts and two end points alone would say more about the bursts than the rate."""
    if len(points) < 3:
        return 0.0
    mt = sum(t for t, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    var = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (y - my) for t, y in points) / var if var else 0.0


async def internal_throughput(stack, rates: list[float], seconds: float, *, pay_every: float = 2.0,
                              sample: int = 200) -> dict:
    """Up the offered rates until one is not sustained; the highest sustained rate and every rate's figures."""
    shop = f"{stack.url('shopify')}/_control/shops/{stack.demo['shop']}/rate-limit"
    async with httpx.AsyncClient(timeout=30) as c:
        before = (await c.post(shop, json={})).json()  # the store's limit as it was, to put back after
        (await c.post(shop, json=UNLIMITED)).raise_for_status()
    per_rate: dict[str, dict] = {}
    try:
        for rate in rates:
            per_rate[f"{rate:g}"] = r = await one_rate(stack, rate, seconds, pay_every, sample)
            if not r["sustained"]:
                break
    finally:
        async with httpx.AsyncClient(timeout=30) as c:
            await c.post(shop, json={"restore_rate": before["restore_rate"],
                                     "maximum_available": before["maximum_available"]})
    sustained = [r["offered_per_s"] for r in per_rate.values() if r["sustained"]]
    best = max(sustained) if sustained else None
    return {"highest_sustained_orders_per_s": best, "seconds_per_rate": seconds,
            "at_highest": per_rate.get(f"{best:g}") if best is not None else None, "rates": per_rate}
