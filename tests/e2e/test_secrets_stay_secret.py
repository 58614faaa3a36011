"""Known secrets never show in a Dropline log line or on a topic (issue 10).

The system runs with secrets this test knows — every store's webhook secret and API token on all four
platforms, the retailer's and the suppliers' API keys, the suppliers' order API keys, the web sign-in
password, the payment providers' keys and webhook secrets, the admin token, the key credentials are
encrypted with — and a card number. An order goes through on each platform (received, paid by card,
forwarded, shipped and written back to the store), then every line of every Dropline service's log and
every record on every topic (value, key and headers) is searched for each secret. What other tests of the
session did before is searched as well."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import create_engine, text

from checkout.adapters.paypal.settings import DEVELOPMENT_PAYPAL_CLIENT_SECRET
from checkout.adapters.stripe.settings import DEVELOPMENT_STRIPE_KEY, DEVELOPMENT_STRIPE_WEBHOOK_SECRET
from dropline_infra.db import sync_url
from dropline_infra.settings import DEVELOPMENT_SECRETS_KEY
from dropline_schemas import topics as T
from dropline_testsupport.demo_stores import Customer
from dropline_testsupport.devstack import SERVICES
from gateway.settings import DEVELOPMENT_ADMIN_TOKEN

from .helpers import by_supplier, pay, wait_orders, wait_status

pytestmark = pytest.mark.e2e

CARD_NUMBERS = ("4242424242424242", "4242 4242 4242 4242")
SECRET_WORDS = ("secret", "token", "password", "api_key")


def known_secrets(stack) -> dict[str, str]:
    """Where each secret came from -> its value (short or empty values left out: they would match anything)."""
    found: dict[str, str] = {
        "secrets key": DEVELOPMENT_SECRETS_KEY, "admin token": DEVELOPMENT_ADMIN_TOKEN,
        "Stripe secret key": DEVELOPMENT_STRIPE_KEY, "Stripe webhook secret": DEVELOPMENT_STRIPE_WEBHOOK_SECRET,
        "PayPal client secret": DEVELOPMENT_PAYPAL_CLIENT_SECRET,
        **{f"card number {n}": n for n in CARD_NUMBERS}}

    def walk(where: str, value: object, secret: bool = False) -> None:
        """Every string under a key that names a secret (or inside a mapping whose key does)."""
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{where}.{k}", v, secret or any(w in k.lower() for w in SECRET_WORDS))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(f"{where}[{i}]", v, secret)
        elif isinstance(value, str) and secret:
            found[where] = value

    walk("demo", stack.demo)
    for platform, store in stack.demo_stores.items():
        walk(f"{platform} store", {k: v for k, v in vars(store).items() if isinstance(v, str)})
    return {where: v for where, v in found.items() if len(v) >= 12}


def _dropline_logs(stack) -> list:
    """The log of every Dropline process (a service, or a replica of one), not the stand-ins' or the broker's."""
    return sorted(p for p in stack.log_dir.glob("*.log")
                  if p.stem in SERVICES or any(p.stem.startswith(f"{name}-") for name in SERVICES))


async def _every_record(bootstrap: str, sent: set[str]) -> list[tuple[str, bytes]]:
    """Every record on every Dropline topic, from the start until each event in `sent` (the ids of what the
    services had sent when the scan began) has been read: (where, bytes of its key, value and headers).
    Not up to the end offsets: the bundled broker's count produce batches, not records."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                max_partition_fetch_bytes=8 * 1024 * 1024)
    await consumer.start()
    try:
        partitions = [TopicPartition(t.name, p) for t in T.ALL_TOPICS for p in range(t.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        out: list[tuple[str, bytes]] = []
        missing, deadline = set(sent), asyncio.get_running_loop().time() + 120
        while missing:
            assert asyncio.get_running_loop().time() < deadline, f"{len(missing)} sent events never read"
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for tp, records in batches.items():
                for r in records:
                    headers = dict(r.headers)
                    missing.discard((headers.get("event_id") or b"").decode())
                    raw = b"\n".join([r.key or b"", r.value or b""] + [k.encode() + b"=" + (v or b"")
                                                                         for k, v in r.headers])
                    out.append((f"{tp.topic}[{tp.partition}]@{r.offset}", raw))
        return out
    finally:
        await consumer.stop()


def _sent_by_dropline(stack) -> set[str]:
    """The ids of the events the services have sent to Kafka so far (their outbox rows marked published)."""
    ids: set[str] = set()
    for url in stack.db_urls.values():
        engine = create_engine(sync_url(url))
        try:
            with engine.connect() as conn:
                ids |= set(conn.execute(text("SELECT event_id FROM outbox WHERE published_at IS NOT NULL")).scalars())
        finally:
            engine.dispose()
    return ids


def test_no_secret_appears_in_any_log_line_or_on_any_topic(stack, api):
    secrets = known_secrets(stack)
    # Every platform's secrets were used: its webhook verified, its API called for the write-back.
    assert {"demo.webhook_secret", "demo.retailer.api_key", "demo.suppliers.auto.api_key",
            "demo.order_api_keys.auto", "demo.web.password", "shopify store.access_token",
            "ecwid store.token", "bigcommerce store.token", "wix store.app_secret"} <= set(secrets), sorted(secrets)

    for store in stack.demo_stores.values():
        placed = store.place(Customer("Sam", f"Secret{uuid.uuid4().hex[:6]}", "Berlin", "DE"),
                             [("MUG-BLUE", "Blue mug", 1, "14.99")])
        [row] = wait_orders(api, placed.number, 1)
        auto = by_supplier([row], stack, "auto")
        assert pay(api, [auto["order_id"]]).status_code == 201
        wait_status(api, auto["order_id"], "forwarded")
        sent = next(o for o in httpx.get(f"{stack.url('supplier')}/_control/orders").json()["orders"]
                    if o["external_id"] == auto["order_id"])
        assert httpx.post(f"{stack.url('supplier')}/_control/orders/{sent['id']}/ship", json={}, timeout=30).is_success
        wait_status(api, auto["order_id"], "synced")

    logs = _dropline_logs(stack)
    assert {p.stem for p in logs} >= set(SERVICES), [p.name for p in logs]
    leaks: list[str] = []
    lines: dict[str, int] = {}
    for path in logs:
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            lines[path.stem] = n
            leaks += [f"{path.name}:{n}: {where}" for where, value in secrets.items() if value in line]
    sent = _sent_by_dropline(stack)
    records = asyncio.run(_every_record(stack.bootstrap, sent))  # every event Dropline had sent, and more
    for where_on_topic, raw in records:
        leaks += [f"{where_on_topic}: {where}" for where, value in secrets.items() if value.encode() in raw]
    # A scan of something, not of nothing: every service logged, and the orders' events are on their topics.
    assert all(lines.get(name, 0) > 20 for name in SERVICES), lines
    on_topics = {where.split("[")[0] for where, _ in records}
    assert {T.STORE_WEBHOOK_RECEIVED.name, T.ORDER_PAID.name, T.ORDER_SYNCED.name, T.CATALOG.name} <= on_topics
    assert leaks == []
