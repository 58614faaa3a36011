"""The web app's API against the whole system on PostgreSQL: one retailer never reaches another's
orders or payments (by API key or by session), and live updates reach a browser connected to a
gateway replica that did not apply the change itself."""

from __future__ import annotations

import contextlib
import json
import queue
import sys
import threading
import time
import uuid

import httpx
import pytest

from dropline_testsupport import infra
from dropline_testsupport.devstack import ADMIN_TOKEN

from .conftest import wait_for
from .helpers import by_supplier, create_store_order, pay, wait_orders, wait_status

pytestmark = pytest.mark.e2e
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def other(stack):
    """A second retailer with a web user, signed in: a client with the session cookie and CSRF token."""
    gw = stack.url("gateway")
    retailer = httpx.post(f"{gw}/admin/v1/retailers", json={"name": "Other Retailer"}, headers=ADMIN).json()
    email, password = f"other-{uuid.uuid4().hex[:6]}@example.com", "another long password"
    r = httpx.post(f"{gw}/admin/v1/retailers/{retailer['retailer_id']}/users", headers=ADMIN,
                   json={"email": email, "password": password})
    assert r.status_code == 201, r.text
    with httpx.Client(base_url=gw, timeout=30) as c:
        signed = c.post("/api/v1/session", json={"email": email, "password": password})
        assert signed.status_code == 200, signed.text
        c.headers["X-CSRF-Token"] = signed.json()["csrf_token"]
        c.retailer = retailer
        yield c


def test_another_retailers_ids_answer_404_on_every_retailer_endpoint(stack, api, other):
    created = create_store_order(stack)
    rows = wait_orders(api, created["order"]["name"], 2)
    auto, manual = by_supplier(rows, stack, "auto"), by_supplier(rows, stack, "manual")
    paid = pay(api, [auto["order_id"]])
    assert paid.status_code == 201, paid.text
    payment_id = paid.json()["payment_id"]
    by_key = httpx.Client(base_url=stack.url("gateway"), timeout=30,
                          headers={"Authorization": f"Bearer {other.retailer['api_key']}"})
    for client in (other, by_key):
        calls = [
            client.get(f"/api/v1/orders/{auto['order_id']}"),
            client.get(f"/api/v1/orders/{manual['order_id']}"),
            client.post(f"/api/v1/orders/{manual['order_id']}/tracking", json={"tracking_number": "1Z999AA10123456784"}),
            client.post("/api/v1/checkout/quote", json={"order_ids": [auto["order_id"]]}),
            client.post("/api/v1/payments", headers={"Idempotency-Key": str(uuid.uuid4())},
                        json={"order_ids": [auto["order_id"]], "method": "card", "payment_method": "pm_card_visa"}),
            client.get(f"/api/v1/payments/{payment_id}"),
        ]
        for r in calls:
            assert r.status_code == 404, (r.request.method, r.request.url, r.status_code, r.text)
            assert set(r.json()) == {"error", "message", "details"}
        assert client.get("/api/v1/orders", params={"q": created["order"]["name"]}).json()["total"] == 0
        assert client.get("/api/v1/unpaid").json()["suppliers"] == []
        csv = client.get("/api/v1/orders/export.csv")
        assert csv.status_code == 200 and len(csv.text.strip().splitlines()) == 1  # the header only
    # … and the owner still sees both, unchanged.
    assert api.get(f"/api/v1/orders/{manual['order_id']}").json()["tracking"] == []


def test_the_timeline_shows_checkouts_payment_pending_step(stack, api):
    created = create_store_order(stack, lines=[{"sku": "MUG-BLUE", "title": "Blue mug", "quantity": 1,
                                                "price": "9.99"}])
    [row] = wait_orders(api, created["order"]["name"], 1)
    declined = pay(api, [row["order_id"]], card="pm_card_chargeCustomerFail")
    assert declined.status_code == 402 and declined.json()["status"] == "failed"
    assert pay(api, [row["order_id"]]).status_code == 201
    detail = wait_status(api, row["order_id"], "forwarded")
    steps = [e["status"] for e in detail["timeline"] if e["status"]]
    assert steps[:5] == ["unpaid", "payment_pending", "unpaid", "payment_pending", "paid"], \
        [(e["event"], e["status"], e["summary"]) for e in detail["timeline"]]
    assert detail["cost"]["currency"] == "EUR" and detail["usd_total"] == detail["payment"]["usd_amounts"]["total"]


class SseReader:
    """Reads a server-sent event stream in a thread; events land in a queue as (id, data)."""

    def __init__(self, url: str, headers: dict[str, str]):
        self.events: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url, headers), daemon=True)
        self.connected = threading.Event()
        self.error: Exception | None = None
        self._thread.start()

    def _run(self, url, headers):
        try:
            self._read(url, headers)
        except httpx.HTTPError as exc:  # the server went away (end of the module's stack) or we stopped
            self.error = exc

    def _read(self, url, headers):
        with httpx.Client(timeout=httpx.Timeout(60, read=None)) as c, c.stream("GET", url, headers=headers) as r:
            assert r.status_code == 200, r.read()
            self.connected.set()
            event_id, data = None, None
            for line in r.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith("id:"):
                    event_id = line[3:].strip()
                elif line.startswith("data:"):
                    data = json.loads(line[5:])
                elif line == "" and data is not None:
                    self.events.put((event_id, data))
                    event_id, data = None, None

    def wait_for(self, what, predicate, timeout=30.0):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                item = self.events.get(timeout=0.5)
                seen.append(item)
                if predicate(item[1]):
                    return item
        raise AssertionError(f"no SSE event for {what}; got {[(i, d['order_number'], d['status']) for i, d in seen]}")

    def close(self):
        self._stop.set()


@pytest.fixture(scope="module")
def replica(stack):
    """A second gateway replica on the same database that runs no projection consumer: every change
    it streams was applied by the first replica."""
    port = infra.free_port()
    env = stack.service_environment("gateway") | {"GATEWAY_HTTP_PORT": str(port), "GATEWAY_RUN_CONSUMERS": "false"}
    stack._spawn("gateway-replica", [sys.executable, "-m", "gateway"], env)
    url = f"http://127.0.0.1:{port}"
    wait_for("the second gateway replica", lambda: _ready(url), timeout=60)
    yield url
    stack.procs.pop("gateway-replica").stop()


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_live_updates_reach_a_browser_on_the_other_replica_and_resume_after_a_reconnect(stack, api, replica):
    key = {"Authorization": f"Bearer {stack.demo['retailer']['api_key']}"}
    reader = SseReader(replica + "/api/v1/orders/events", key)
    assert reader.connected.wait(10)
    time.sleep(0.5)
    created = create_store_order(stack, lines=[{"sku": "MUG-BLUE", "title": "Blue mug", "quantity": 1,
                                                "price": "9.99"}])
    name = created["order"]["name"]
    event_id, order = reader.wait_for(f"{name} received", lambda d: d["platform_order_number"] == name)
    assert order["status"] == "unpaid"
    assert pay(api, [order["order_id"]]).status_code == 201
    reader.wait_for(f"{name} paid", lambda d: d["order_id"] == order["order_id"] and d["status"] in ("paid", "forwarded"))
    reader.close()

    # Disconnected: the order moves on meanwhile; the reconnecting browser sends its last event id.
    last_id = event_id
    wait_status(api, order["order_id"], "forwarded")
    resumed = SseReader(replica + "/api/v1/orders/events", key | {"Last-Event-ID": last_id})
    assert resumed.connected.wait(10)
    resumed.wait_for(f"{name} forwarded after the reconnect",
                     lambda d: d["order_id"] == order["order_id"] and d["status"] == "forwarded", timeout=20)
    resumed.close()
