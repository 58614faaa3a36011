"""What the bench's drivers share: signed Shopify webhooks, store orders made in the stand-in,
percentiles, and each order's stage latencies read from its timeline."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime

import httpx

from dropline_testsupport.shopify_standin import sign_webhook


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return round(values[k], 2)


def summary_ms(values: list[float]) -> dict:
    return {"p50_ms": pct(values, 50), "p99_ms": pct(values, 99), "n": len(values)}


def shopify_headers(body: bytes, demo: dict) -> dict[str, str]:
    """Headers of a signed orders/create webhook of the shop in `demo` ({"shop", "webhook_secret"})."""
    return {"X-Shopify-Hmac-Sha256": sign_webhook(body, demo["webhook_secret"]),
            "X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": demo["shop"],
            "X-Shopify-Webhook-Id": str(uuid.uuid4()), "X-Shopify-API-Version": "2025-10",
            "Content-Type": "application/json"}


async def make_store_orders(client: httpx.AsyncClient, stack, n: int, concurrency: int,
                            tag: str = "bench", shop: str | None = None) -> list[dict]:
    """Store orders in the Shopify stand-in (so fulfilments can be written back), webhooks not sent:
    the driver delivers them itself to time the gateway's acknowledgement. `shop`: the demo shop unless given."""
    shop_ctl = f"{stack.url('shopify')}/_control/shops/{shop or stack.demo['shop']}/orders"
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


class Payer:
    """A retailer paying as orders arrive: every `every` seconds, every unpaid order it sees, per supplier, by
    card, up to 200 orders a payment (what the API takes)."""

    def __init__(self, api: httpx.AsyncClient, every: float = 2.0):
        self.api, self.every = api, every
        self.paid: set[str] = set()
        self.failures: list[str] = []

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(self.every)
            for group in (await self.api.get("/api/v1/unpaid")).json()["suppliers"]:
                todo = [oid for oid in group["order_ids"] if oid not in self.paid]
                for i in range(0, len(todo), 200):
                    chunk = todo[i:i + 200]
                    r = await self.api.post("/api/v1/payments", headers={"Idempotency-Key": str(uuid.uuid4())},
                                            json={"order_ids": chunk, "method": "card",
                                                  "payment_method": "pm_card_visa"})
                    if r.status_code == 201:
                        self.paid.update(chunk)
                    else:
                        self.failures.append(f"{r.status_code} {r.text[:200]}")


async def received_total(api: httpx.AsyncClient) -> int:
    return (await api.get("/api/v1/orders", params={"limit": 1})).json()["total"]




async def open_loop(items: list, rate: float, send, t0: float | None = None) -> float:
    """Call `send(item, due)` for item i at t0 + i/rate (perf_counter time), never waiting for earlier
    calls to finish, then wait for all of them; returns t0. Latency measured from `due` shows a stalled
    server as latency, not as a lower offered rate."""
    return await on_schedule([(i / rate, item) for i, item in enumerate(items)], send, t0)


async def on_schedule(schedule: list[tuple[float, object]], send, t0: float | None = None) -> float:
    """`open_loop` with a due time of its own for each item: (seconds after t0, item), in time order."""
    t0 = time.perf_counter() + 0.05 if t0 is None else t0
    tasks = []
    for offset, item in schedule:
        due = t0 + offset
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(item, due)))
    await asyncio.gather(*tasks)
    return t0


STAGES = ("webhook_to_received", "paid_to_forwarded", "forwarded_to_shipped", "shipped_to_synced", "paid_to_synced",
          "webhook_to_synced")


async def stage_latencies(api: httpx.AsyncClient, order_ids: list[str], sent_at: dict[str, float]) -> dict:
    """p50/p99 of each stage over these orders, from their timelines (event times stamped by the
    producers); `sent_at`: store order name -> when its webhook was sent (epoch seconds)."""
    stages: dict[str, list[float]] = {k: [] for k in STAGES}
    for oid in order_ids:
        d = (await api.get(f"/api/v1/orders/{oid}")).json()
        at = {e["status"]: datetime.fromisoformat(e["at"]).timestamp() for e in d["timeline"] if e["status"]}
        sent = sent_at[d["platform_order_number"]]
        stages["webhook_to_received"].append((at["unpaid"] - sent) * 1000)
        stages["paid_to_forwarded"].append((at["forwarded"] - at["paid"]) * 1000)
        if "shipped" in at:
            stages["forwarded_to_shipped"].append((at["shipped"] - at["forwarded"]) * 1000)
            stages["shipped_to_synced"].append((at["synced"] - at["shipped"]) * 1000)
        stages["paid_to_synced"].append((at["synced"] - at["paid"]) * 1000)
        stages["webhook_to_synced"].append((at["synced"] - sent) * 1000)
    return {k: summary_ms(v) for k, v in stages.items()}
