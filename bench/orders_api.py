"""Orders API benchmark (make bench-orders).

Checks the web app's speed target: with 10,000 orders in one retailer's account, the Orders API's
first page (filtered and unfiltered) answers in under 300 ms p95 on this machine.

1. A fresh PostgreSQL database, migrated; a retailer, its store and 3 suppliers registered through
   the gateway's use cases; then 10,000 orders for that retailer (and 2,000 for a second retailer,
   so every query has to scope) loaded the way production fills the read model: real
   OrderReceived events (and OrderPaid / OrderForwarded / TrackingAdded / OrderSynced for a share
   of them) applied with the gateway's projection, ~500 events per unit of work.
2. The gateway as a real process (`python -m gateway`, API only: no consumers, no broker needed
   for readiness).
3. After a warm-up, N sequential requests per case (one keep-alive connection), p50/p95/p99/max;
   the CSV export of every order; Postgres's plan of the unfiltered first page.

The last line printed is one JSON object.

  uv run python bench/orders_api.py --orders 10000 --other-orders 2000 --requests 200
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

from dropline_infra.db import Database
from dropline_infra.migrations import upgrade
from dropline_infra.secrets import SecretBox
from dropline_schemas.events import (
    Address,
    Customer,
    DroplineOrder,
    FxRecord,
    Money,
    OrderForwardedData,
    OrderForwardedV1,
    OrderLine,
    OrderPaidData,
    OrderPaidV1,
    OrderReceivedV1,
    OrderStatus,
    OrderSyncedData,
    OrderSyncedV1,
    PaymentMethod,
    Platform,
    StoreTotals,
    SupplierTerms,
    TrackingAddedData,
    TrackingAddedV1,
)
from dropline_testsupport import infra
from gateway import handlers
from gateway.app import MIGRATIONS
from gateway.services.catalog import Catalog
from gateway.settings import Settings

TARGET_P95_MS = 300
BATCH = 500
DAYS = 90
ROOT = Path(__file__).resolve().parents[1]
ORDER_NS = uuid.UUID("6f0e6a52-4c1b-4f57-9d0e-2b5a7c3d9e10")

FIRST = ["Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hugo", "Ines", "Jonas", "Klara", "Lukas",
         "Mia", "Noah", "Olivia", "Paul", "Quinn", "Rosa", "Simon", "Tara", "Uwe", "Vera", "Wim", "Xenia",
         "Yusuf", "Zoe", "Amir", "Beatriz", "Chen", "Dana", "Elif", "Farah", "Gustav", "Hana", "Ivan", "Jana"]
LAST = ["Müller", "Schmidt", "Kowalski", "Novak", "Rossi", "García", "Dubois", "Jansen", "Nielsen", "Virtanen",
        "Horvat", "Papadopoulos", "Silva", "Murphy", "Smith", "Johansson", "Costa", "Weber", "Wagner", "Becker",
        "Hoffmann", "Schulz", "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Zimmermann", "Braun",
        "Krüger", "Hartmann", "Lange", "Werner", "Krause", "Lehmann", "Köhler", "Maier", "Fuchs", "Peters",
        "Lang", "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Vogel", "Friedrich", "Keller", "Günther"]
PRODUCTS = ["MUG", "LAMP", "SOCK", "CAP", "TEE", "BAG", "PEN", "BOWL", "RUG", "VASE"]
CITIES = [("Berlin", "10115", "DE"), ("Paris", "75001", "FR"), ("Madrid", "28001", "ES"), ("Rome", "00118", "IT"),
          ("Vienna", "1010", "AT"), ("Dublin", "D01", "IE"), ("Warsaw", "00-001", "PL")]


def say(*parts) -> None:
    print(*parts, flush=True)


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, -(-len(s) * p // 100) - 1))
    return round(s[int(k)], 2)


# --------------------------------------------------------------------------- 1. data


async def register(db: Database, settings: Settings) -> dict:
    """Retailers, stores, suppliers through the gateway's own use cases (what the operator API calls)."""
    catalog = Catalog(db, SecretBox(settings.secrets_key.get_secret_value()))
    out: dict = {"retailers": []}
    for i, name in enumerate(("Bench Retailer", "Other Retailer")):
        r = await catalog.create_retailer(name)
        store = await catalog.connect_store(r.retailer_id, platform=Platform.SHOPIFY,
                                            shop=f"bench-{i}-{uuid.uuid4().hex[:6]}.myshopify.com",
                                            api_base_url=None, webhook_secret="bench-webhook-secret",
                                            access_token="shpat_bench_token")
        out["retailers"].append({"retailer_id": r.retailer_id, "api_key": r.api_key, "store_id": store.store_id})
    suppliers = []
    for name, currency, auto in (("Euro Goods", "EUR", True), ("London Supply", "GBP", True),
                                 ("Handmade Co", "USD", False)):
        s = await catalog.create_supplier(
            name=name, currency=currency, auto_order=auto,
            website_url=None if auto else "https://handmade.example.com",
            payment_methods=[PaymentMethod.CARD] if auto else [], vat_rate=Decimal("0.2"),
            shipping_first_item=Decimal("4.90"), shipping_additional_item=Decimal("1.50"), handling_days=2,
            order_api_url="http://127.0.0.1:9/v1" if auto else None,
            order_api_key="bench-supplier-order-api-key" if auto else None)
        suppliers.append(SupplierTerms.model_validate(s.terms))
    out["suppliers"] = suppliers
    return out


def make_orders(rng: random.Random, n: int, retailer_id: str, store_id: str, suppliers: list[SupplierTerms],
                now: datetime, prefix: str) -> list[OrderReceivedV1]:
    events = []
    for i in range(n):
        pick = rng.random()
        terms = None if pick < 0.05 else suppliers[int(pick * 1000) % 3]  # 5 % unmatched, the rest spread on 3
        status = (OrderStatus.UNMATCHED if terms is None else
                  OrderStatus.UNPAID if terms.auto_order else OrderStatus.NON_AUTO_ORDER)
        platform_order_id = str(5_000_000_000 + i) if prefix == "A" else f"9{i:09d}"
        order_id = str(uuid.uuid5(ORDER_NS, f"{store_id}|{platform_order_id}|{terms.supplier_id if terms else '-'}"))
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        city, zip_, cc = rng.choice(CITIES)
        lines = []
        for j in range(rng.choice((1, 1, 2, 2, 3, 4))):
            sku = f"{rng.choice(PRODUCTS)}-{rng.randrange(300):03d}"
            lines.append(OrderLine(
                line_id=str(uuid.uuid5(ORDER_NS, f"{order_id}|{j}")), platform_line_id=str(10_000_000 + i * 10 + j),
                sku=sku, variant_id=str(40_000_000 + rng.randrange(3000)), title=f"{sku.split('-')[0].title()} {sku}",
                quantity=rng.choice((1, 1, 1, 2, 3)), unit_price=Decimal(rng.randrange(500, 9000)) / 100,
                matched=terms is not None, supplier_sku=f"SUP-{sku}" if terms else None,
                unit_cost=Decimal(rng.randrange(200, 4000)) / 100 if terms else None))
        created = now - timedelta(seconds=rng.uniform(0, DAYS * 86400))
        number = f"#{1001 + i}"
        order = DroplineOrder(
            order_id=order_id, order_number=f"{prefix}{100000 + i}-1", retailer_id=retailer_id, store_id=store_id,
            platform=Platform.SHOPIFY, platform_order_id=platform_order_id, platform_order_number=number,
            placed_at=created, status=status, supplier=terms, lines=lines,
            shipping_address=Address(name=name, first_name=name.split()[0], last_name=name.split()[1],
                                     address1=f"{rng.randrange(1, 200)} Main St", city=city, zip=zip_,
                                     country_code=cc),
            customer=Customer(name=name, email=f"{name.split()[0].lower()}.{i}@example.com"),
            shipping_method="Standard",
            store_totals=StoreTotals(currency="EUR", subtotal=sum((x.unit_price * x.quantity for x in lines),
                                                                  Decimal(0))))
        events.append(OrderReceivedV1.create(data=order, producer="order-ingest", tenant_id=retailer_id,
                                             correlation_id=f"store-order:{store_id}:{platform_order_id}",
                                             occurred_at=created))
    return events


def follow_ups(rng: random.Random, received: list[OrderReceivedV1]) -> list:
    """Move a share of the auto-order orders on: paid (40 %), of those forwarded (75 %), of those
    shipped and synced back to the store (60 %). Events come after the order, as in production."""
    out = []
    for ev in received:
        o = ev.data
        if o.status != OrderStatus.UNPAID or rng.random() > 0.4:
            continue
        kw = ev.caused()
        t = ev.occurred_at + timedelta(minutes=rng.uniform(5, 600))
        product = sum(((line.unit_cost or 0) * line.quantity for line in o.lines), Decimal(0))
        money = Money(product_cost=product, shipping=Decimal("4.90"), vat=(product * Decimal("0.2")).quantize(
            Decimal("0.01")), total=(product * Decimal("1.2") + Decimal("4.90")).quantize(Decimal("0.01")))
        rate = Decimal("1.08") if o.supplier.currency == "EUR" else Decimal("1.27")
        usd = Money(**{k: (v * rate).quantize(Decimal("0.01")) for k, v in money.model_dump().items()})
        out.append(OrderPaidV1.create(data=OrderPaidData(
            order_id=o.order_id, payment_id="pay_" + uuid.uuid4().hex[:16], method=PaymentMethod.CARD,
            provider="stripe", provider_reference="pi_" + uuid.uuid4().hex[:24], supplier_currency_amounts=money,
            usd_amounts=usd, fx=FxRecord(from_currency=o.supplier.currency, rate=rate, rate_date=t.date().isoformat(),
                                         source="ECB euro foreign exchange reference rates"),
            paid_at=t, order=o), producer="checkout", occurred_at=t, **kw))
        if rng.random() > 0.75:
            continue
        t += timedelta(seconds=rng.uniform(1, 30))
        out.append(OrderForwardedV1.create(data=OrderForwardedData(
            order_id=o.order_id, supplier_id=o.supplier.supplier_id, supplier_order_id=f"SO-{uuid.uuid4().hex[:10]}",
            forwarded_at=t), producer="forwarder", occurred_at=t, **kw))
        if rng.random() > 0.6:
            continue
        t += timedelta(hours=rng.uniform(4, 72))
        tracking_id, number = str(uuid.uuid4()), f"1Z{rng.randrange(10**15):015d}"
        out.append(TrackingAddedV1.create(data=TrackingAddedData(
            order_id=o.order_id, tracking_id=tracking_id, tracking_number=number, carrier="UPS", source="supplier"),
            producer="gateway", occurred_at=t, **kw))
        t += timedelta(seconds=rng.uniform(1, 60))
        out.append(OrderSyncedV1.create(data=OrderSyncedData(
            order_id=o.order_id, tracking_id=tracking_id, platform=Platform.SHOPIFY,
            platform_fulfillment_id=str(rng.randrange(10**12)), tracking_number=number),
            producer="tracking-sync", occurred_at=t, **kw))
    return out


async def project_all(db: Database, events: list) -> None:
    """~500 events per unit of work. No autoflush inside a batch: rows and timeline entries go to the
    database in one flush at commit (batched INSERTs) instead of a flush before every SELECT. Same
    result, because an order is received once (and in an earlier batch than its later events), so the
    SELECT never needs a row of its own batch that is still unflushed."""
    for i in range(0, len(events), BATCH):
        async with db.uow() as uow:
            with uow.session.no_autoflush:
                for ev in events[i:i + BATCH]:
                    await handlers.project(uow, ev)
            await uow.commit()


async def load(url: str, n: int, n_other: int, seed: int) -> dict:
    settings = Settings(database_url=url)
    db = Database(url)
    try:
        reg = await register(db, settings)
        (main, other), suppliers = reg["retailers"], reg["suppliers"]
        rng = random.Random(seed)
        now = datetime.now(UTC)
        t0 = time.perf_counter()
        received = make_orders(rng, n, main["retailer_id"], main["store_id"], suppliers, now, "A")
        received += make_orders(rng, n_other, other["retailer_id"], other["store_id"], suppliers, now, "B")
        later = follow_ups(rng, received)
        t_built = time.perf_counter()
        await project_all(db, received)
        await project_all(db, later)
        t_loaded = time.perf_counter()
    finally:
        await db.dispose()
    return {"main": main, "other": other, "suppliers": suppliers, "received": received, "later": later,
            "build_s": t_built - t0, "load_s": t_loaded - t_built, "now": now}


# --------------------------------------------------------------------------- 2. the gateway process


def start_gateway(url: str, port: int, bootstrap: str, log_path: Path) -> subprocess.Popen:
    """/readyz does not need Kafka, but the service's start does (its producer bootstraps), so the
    bundled broker runs alongside; with GATEWAY_RUN_CONSUMERS=false nothing is consumed."""
    env = {**os.environ, "GATEWAY_DATABASE_URL": url, "GATEWAY_HTTP_PORT": str(port),
           "GATEWAY_RUN_CONSUMERS": "false", "GATEWAY_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
           "GATEWAY_LOG_LEVEL": "WARNING", "GATEWAY_ENVIRONMENT": "development"}
    with open(log_path, "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "gateway"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd=ROOT)


def wait_ready(base: str, proc: subprocess.Popen, log_path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gateway exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            r = httpx.get(base + "/readyz", timeout=2)
            if r.status_code == 200:
                return
            last = r.text
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.2)
    raise TimeoutError(f"gateway not ready after {timeout}s: {last}\n{log_path.read_text()[-3000:]}")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --------------------------------------------------------------------------- 3. measure


def cases(data: dict) -> dict[str, dict]:
    main = data["main"]
    mine = [ev.data for ev in data["received"] if ev.tenant_id == main["retailer_id"]]
    rng = random.Random(7)
    customer_part = "kowalsk"  # one of 50 last names, written lower-case: ~2 % of the orders
    sku = rng.choice([line.sku for o in mine for line in o.lines]).lower()
    end = (data["now"] - timedelta(days=30)).date()
    return {
        "unfiltered_limit50": {"limit": 50},
        "status_unpaid": {"status": "unpaid", "limit": 50},
        "supplier": {"supplier_id": data["suppliers"][0].supplier_id, "limit": 50},
        "q_customer": {"q": customer_part, "limit": 50},
        "q_sku": {"q": sku, "limit": 50},
        "created_7_days": {"created_from": (end - timedelta(days=6)).isoformat(), "created_to": end.isoformat(),
                           "limit": 50},
        "unfiltered_limit100": {"limit": 100},
    }


def measure(base: str, api_key: str, case_params: dict[str, dict], n: int, warmup: int) -> tuple[dict, dict]:
    out, totals = {}, {}
    with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {api_key}"}) as client:
        for name, params in case_params.items():
            for _ in range(warmup):
                client.get("/api/v1/orders", params=params).raise_for_status()
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                r = client.get("/api/v1/orders", params=params)
                times.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
            body = r.json()
            totals[name] = (body["total"], len(body["orders"]))
            out[name] = {"p50_ms": pct(times, 50), "p95_ms": pct(times, 95), "p99_ms": pct(times, 99),
                         "max_ms": round(max(times), 2)}
            say(f"  {name:<22} {json.dumps(params, ensure_ascii=False):<62} total={body['total']:>6} "
                f"rows={len(body['orders']):>3}  p50 {out[name]['p50_ms']:7.2f}  p95 {out[name]['p95_ms']:7.2f}  "
                f"p99 {out[name]['p99_ms']:7.2f}  max {out[name]['max_ms']:7.2f} ms")
    return out, totals


def export(base: str, api_key: str) -> tuple[float, int]:
    with httpx.Client(base_url=base, timeout=300, headers={"Authorization": f"Bearer {api_key}"}) as client:
        t0 = time.perf_counter()
        r = client.get("/api/v1/orders/export.csv")
        r.raise_for_status()
        seconds = time.perf_counter() - t0
    import csv
    import io

    rows = list(csv.reader(io.StringIO(r.text)))
    return round(seconds, 3), len(rows) - 1  # minus the header


def explain(url: str, retailer_id: str) -> list[str]:
    """One line each: the plan of the first page and of its count, as the gateway runs them."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    queries = {
        "first page": "SELECT * FROM gateway_orders WHERE retailer_id = %s "
                      "ORDER BY created_at DESC, order_id DESC LIMIT 50 OFFSET 0",
        "count": "SELECT count(*) FROM gateway_orders WHERE retailer_id = %s",
    }
    lines = []
    with psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password,
                         dbname=u.database) as conn:
        conn.execute("ANALYZE gateway_orders")
        for label, sql in queries.items():
            plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, (retailer_id,)).fetchone()[0][0]
            nodes, todo = [], [plan["Plan"]]
            while todo:
                node = todo.pop(0)
                what = node["Node Type"] + (f" using {node['Index Name']}" if "Index Name" in node else "")
                nodes.append(f"{what} (rows={node.get('Actual Rows')})")
                todo = node.get("Plans", []) + todo
            lines.append(f"  EXPLAIN {label}: {' -> '.join(nodes)}; execution {plan['Execution Time']:.2f} ms")
    return lines


# --------------------------------------------------------------------------- main


def _interrupt(signum, _frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main() -> int:
    # Ctrl-C and SIGTERM end the run through the finally below (also when started with SIGINT ignored,
    # e.g. in the background of a script).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orders", type=int, default=10_000, help="orders in the measured retailer's account")
    ap.add_argument("--other-orders", type=int, default=2_000, help="orders of a second retailer (scoping)")
    ap.add_argument("--requests", type=int, default=200, help="timed requests per case")
    ap.add_argument("--warmup", type=int, default=5, help="untimed requests per case first")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    factory = infra.DatabaseFactory(os.environ.get("DROPLINE_TEST_POSTGRES_URL", infra.DEFAULT_PG))
    proc = None
    log_dir = Path(tempfile.mkdtemp(prefix="dropline-bench-orders-"))
    log_path = log_dir / "gateway.log"
    stack = contextlib.ExitStack()
    try:
        url = factory.create("bench_orders")
        upgrade("gateway", url, MIGRATIONS)
        say(f"database {url.rsplit('/', 1)[-1]} migrated; loading {args.orders} + {args.other_orders} orders ...")
        data = asyncio.run(load(url, args.orders, args.other_orders, args.seed))
        n_events = len(data["received"]) + len(data["later"])
        say(f"loaded {len(data['received'])} orders ({n_events} events through gateway.handlers.project, "
            f"{BATCH} per unit of work) in {data['load_s']:.1f} s = {n_events / data['load_s']:.0f} events/s "
            f"(events built in {data['build_s']:.1f} s)")

        port = infra.free_port()
        base = f"http://127.0.0.1:{port}"
        t0 = time.perf_counter()
        bootstrap = stack.enter_context(infra.bundled_broker(log_path=log_dir / "broker.log"))
        proc = start_gateway(url, port, bootstrap, log_path)
        wait_ready(base, proc, log_path)
        say(f"gateway ready on {base} in {time.perf_counter() - t0:.1f} s (log: {log_path})")

        main_r, other_r = data["main"], data["other"]
        with httpx.Client(base_url=base, timeout=30) as c:
            counts = {}
            for who in (main_r, other_r):
                r = c.get("/api/v1/orders", params={"limit": 1}, headers={"Authorization": f"Bearer {who['api_key']}"})
                r.raise_for_status()
                counts[who["retailer_id"]] = r.json()["total"]
            by_status = {s: c.get("/api/v1/orders", params={"status": s, "limit": 1},
                                  headers={"Authorization": f"Bearer {main_r['api_key']}"}).json()["total"]
                         for s in ("unmatched", "unpaid", "non_auto_order", "paid", "forwarded", "synced")}
        assert counts[main_r["retailer_id"]] == args.orders, counts
        assert counts[other_r["retailer_id"]] == args.other_orders, counts
        say(f"scoping: retailer sees {counts[main_r['retailer_id']]}, the other retailer "
            f"{counts[other_r['retailer_id']]}; statuses {by_status}")

        say(f"{args.requests} sequential requests per case after {args.warmup} warm-up (one keep-alive connection):")
        results, _ = measure(base, main_r["api_key"], cases(data), args.requests, args.warmup)
        export_s, export_rows = export(base, main_r["api_key"])
        say(f"  CSV export of every order: {export_rows} rows in {export_s:.2f} s")
        assert export_rows == args.orders, export_rows
        for line in explain(url, main_r["retailer_id"]):
            say(line)

        over = [k for k, v in results.items() if v["p95_ms"] >= TARGET_P95_MS]
        all_under = not over
        say(f"target p95 < {TARGET_P95_MS} ms: " + ("met by every case" if all_under else f"MISSED by {over}"))
        print(json.dumps({"orders": args.orders, "other_retailer_orders": args.other_orders,
                          "requests_per_case": args.requests, "load_seconds": round(data["load_s"], 2),
                          "cases": results, "export_seconds": export_s, "export_rows": export_rows,
                          "target_p95_ms": TARGET_P95_MS, "all_under_target": all_under}), flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        stop(proc)
        stack.close()  # the broker
        factory.close()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
