"""Never twice, proven at the providers: checkout SIGKILLed after the provider took the money and before
Dropline committed it, duplicate and early webhooks, a retried pay request and two tabs paying the same
orders. Every claim is a count taken at localstripe or the PayPal stand-in (and at the supplier stand-in,
which must receive each paid order once).

localstripe answers at once (and ignores Idempotency-Key), so checkout reaches it through the holding proxy
(dropline_testsupport.hold_proxy, set up in conftest.py). The PayPal stand-in holds an answer itself
(/_control/hold-next)."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from .conftest import wait_for
from .helpers import create_store_order, wait_orders, wait_payable, wait_status

pytestmark = pytest.mark.e2e

STRIPE_KEY = "sk_test_dropline_local"  # localstripe accepts any sk_test_ key; checkout's development key
CARD_LINE = {"sku": "LAMP-01", "title": "Desk lamp", "quantity": 1, "price": "39.00"}  # Berlin Gadgets: card
PAYPAL_LINE = {"sku": "VASE-TILE", "title": "Tiled vase", "quantity": 1, "price": "99.00"}  # PayPal only
HOLD = 30  # seconds an answer is held: far longer than it takes to kill checkout


# ---------------------------------------------------------------------------------------------- setup

@pytest.fixture
def stripe_proxy(stack) -> str:
    """The holding proxy checkout reaches localstripe through (tests/e2e/conftest.py)."""
    return stack.stripe_proxy


@pytest.fixture(autouse=True)
def leave_the_stack_as_found(stack):
    """Whatever a test did or where it failed: no holds left, checkout running (the stack is shared)."""
    yield
    httpx.delete(f"{stack.stripe_proxy}/_control/hold-next").raise_for_status()
    httpx.delete(f"{stack.url('paypal')}/_control/hold-next").raise_for_status()
    if not stack.procs["checkout"].alive():
        restart_checkout(stack)


def retailer(api) -> httpx.Client:
    """A client of its own (one per thread), signed in as the `api` fixture is."""
    return httpx.Client(base_url=api.base_url, headers=dict(api.headers), timeout=60)


def card_orders(stack, api, n: int = 1) -> list[str]:
    ids = [wait_orders(api, create_store_order(stack, lines=[CARD_LINE])["order"]["name"], 1)[0]["order_id"]
           for _ in range(n)]
    wait_payable(api, ids)
    return ids


def paypal_order(stack, api) -> str:
    order = wait_orders(api, create_store_order(stack, lines=[PAYPAL_LINE])["order"]["name"], 1)[0]
    assert order["supplier"]["supplier_id"] == stack.demo["suppliers"]["pp"]["supplier_id"]
    wait_payable(api, [order["order_id"]])
    return order["order_id"]


def pay_card(client: httpx.Client, order_ids: list[str], key: str) -> httpx.Response:
    return client.post("/api/v1/payments", headers={"Idempotency-Key": key},
                       json={"order_ids": order_ids, "method": "card", "payment_method": "pm_card_visa",
                             "confirm_flagged": True})


def pay_paypal(api, order_ids: list[str]) -> dict:
    r = api.post("/api/v1/payments", headers={"Idempotency-Key": str(uuid.uuid4())},
                 json={"order_ids": order_ids, "method": "paypal"})
    assert r.status_code == 201, r.text
    payment = r.json()
    assert payment["status"] == "requires_action", payment
    return payment


def complete(client: httpx.Client, payment_id: str) -> httpx.Response:
    return client.post(f"/api/v1/payments/{payment_id}/complete")


def at_the_same_time(*calls):
    """Run each call in its own thread, released together; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(run, c) for c in calls]]


def paid_through(api, order_id: str) -> dict:
    """Paid, then forwarded to the supplier (auto-order): the order as the API shows it."""
    return wait_status(api, order_id, "forwarded", timeout=60)


def supplier_orders(stack, standin: str, order_id: str) -> list[dict]:
    return [o for o in httpx.get(f"{stack.url(standin)}/_control/orders").json()["orders"]
            if o["external_id"] == order_id]


# ------------------------------------------------------------------------------------------ localstripe

def stripe_list(stack, path: str) -> list[dict]:
    out, after = [], None
    while True:
        params = {"limit": 100, **({"starting_after": after} if after else {})}
        page = httpx.get(stack.url("localstripe") + path, params=params,
                         headers={"Authorization": f"Bearer {STRIPE_KEY}"}).raise_for_status().json()
        out += page["data"]
        if not page["has_more"]:
            return out
        after = page["data"][-1]["id"]


def intent_ids(stack) -> set[str]:
    return {pi["id"] for pi in stripe_list(stack, "/v1/payment_intents")}


def new_intents(stack, before: set[str]) -> list[dict]:
    return [pi for pi in stripe_list(stack, "/v1/payment_intents") if pi["id"] not in before]


def charges_of(stack, intent_id: str) -> list[dict]:
    return [c for c in stripe_list(stack, "/v1/charges") if c.get("payment_intent") == intent_id]


def assert_charged_once(stack, before: set[str], payment_id: str) -> dict:
    """Since `before`: one PaymentIntent at localstripe, this payment's, succeeded, with one charge."""
    intents = new_intents(stack, before)
    assert [(pi["metadata"].get("payment_id"), pi["status"]) for pi in intents] == [(payment_id, "succeeded")]
    charges = charges_of(stack, intents[0]["id"])
    assert [c["status"] for c in charges] == ["succeeded"], charges
    return intents[0]


def proxy_hold(proxy: str, path: str, method: str) -> None:
    httpx.post(f"{proxy}/_control/hold-next",
               json={"path": path, "method": method, "seconds": HOLD}).raise_for_status()


def proxied(proxy: str) -> list[dict]:
    return httpx.get(f"{proxy}/_control/requests").json()["requests"]


# ------------------------------------------------------------------------------------------ PayPal

def paypal(stack, method: str, path: str, **kw) -> dict:
    return httpx.request(method, stack.url("paypal") + path, timeout=30, **kw).raise_for_status().json()


def captures_made(stack) -> int:
    return paypal(stack, "GET", "/_control/counts")["captures_made"]


@contextlib.contextmanager
def paypal_webhooks(stack, **settings):
    """The PayPal stand-in's webhook settings changed for a while; put back (and anything queued sent)
    after."""
    before = paypal(stack, "GET", "/_control/webhooks")["config"]
    paypal(stack, "PUT", "/_control/webhooks", json=settings)
    try:
        yield
    finally:
        paypal(stack, "PUT", "/_control/webhooks", json={k: before[k] for k in settings})
        paypal(stack, "POST", "/_control/webhooks/release")


def paypal_events(stack, reference: str) -> dict[str, list[dict]]:
    """The stand-in's webhook events about one PayPal order: event type → its transmissions."""
    out: dict[str, list[dict]] = {}
    for e in paypal(stack, "GET", "/_control/webhooks")["events"]:
        resource = e["event"]["resource"]
        order = resource.get("id") if e["event"]["resource_type"] == "checkout-order" else (
            resource.get("supplementary_data", {}).get("related_ids", {}).get("order_id"))
        if order == reference:
            out[e["event_type"]] = e["transmissions"]
    return out


def answers(transmission: dict) -> list[tuple[int | None, dict | str | None]]:
    """(status, answer body) of each delivery attempt."""
    out = []
    for a in transmission["attempts"]:
        try:
            body = json.loads(a["response_body"]) if a["response_body"] else None
        except ValueError:
            body = a["response_body"]
        out.append((a["status_code"], body))
    return out


# ------------------------------------------------------------------------------------------ checkout's own rows

def checkout_rows(stack, reference: str) -> tuple[str, dict[str, str]]:
    """What checkout committed (read from its database, checkout being dead): the payment's status and
    its orders' statuses."""
    with psycopg.connect(stack.db_urls["checkout"]) as db:
        payment_id, status = db.execute(
            "SELECT payment_id, status FROM checkout_payments WHERE provider_reference = %s",
            (reference,)).fetchone()
        orders = dict(db.execute("SELECT order_id, status FROM checkout_orders WHERE payment_id = %s",
                                 (payment_id,)).fetchall())
    return status, orders


def restart_checkout(stack) -> None:
    stack.start_service("checkout")
    stack.wait_ready("checkout")


# ---------------------------------------------------------------------------------------------- 1. crashes

def test_stripe_checkout_killed_after_the_charge_before_its_commit_charges_once(stack, api, stripe_proxy):
    """The sweep finishes it: payment_recovery_after_seconds (5 s in e2e) after the payment's last change it
    looks at the PaymentIntent, which has succeeded."""
    [order_id] = card_orders(stack, api)
    before = intent_ids(stack)
    # localstripe confirms (the money moves) and the proxy holds its answer. The look-up that localstripe's
    # payment_intent.succeeded webhook makes (1 s later) is held too: nothing can commit the success.
    proxy_hold(stripe_proxy, r"^/v1/payment_intents/pi_\w+/confirm$", "POST")
    proxy_hold(stripe_proxy, r"^/v1/payment_intents/pi_\w+$", "GET")
    with ThreadPoolExecutor(1) as pool, retailer(api) as client:
        paying = pool.submit(pay_card, client, [order_id], str(uuid.uuid4()))
        confirm = wait_for("localstripe to answer the confirm (its answer held by the proxy)", lambda: next(
            (r for r in proxied(stripe_proxy) if r["path"].endswith("/confirm") and r["state"] == "held"), None),
            interval=0.02)
        stack.kill("checkout")
        answer = paying.result(timeout=30)
    reference = confirm["path"].split("/")[3]
    intent = httpx.get(f"{stack.url('localstripe')}/v1/payment_intents/{reference}",
                       headers={"Authorization": f"Bearer {STRIPE_KEY}"}).json()
    assert intent["status"] == "succeeded" and confirm["status_code"] == 200  # the provider took the money
    assert checkout_rows(stack, reference) == ("processing", {order_id: "payment_pending"})  # Dropline had not
    assert answer.status_code == 503 and answer.json()["error"] == "checkout_unavailable", answer.text
    httpx.delete(f"{stripe_proxy}/_control/hold-next").raise_for_status()  # the held look-up must not wait

    restart_checkout(stack)
    paid_through(api, order_id)
    payment_id = intent["metadata"]["payment_id"]
    assert_charged_once(stack, before, payment_id)
    # The restarted checkout looked at the PaymentIntent and found the money taken: it never confirmed again.
    assert [r["path"] for r in proxied(stripe_proxy) if r["path"] == f"/v1/payment_intents/{reference}/confirm"] \
        == [f"/v1/payment_intents/{reference}/confirm"]
    payment = api.get(f"/api/v1/payments/{payment_id}").json()
    assert payment["status"] == "succeeded" and payment["order_ids"] == [order_id]
    assert checkout_rows(stack, reference) == ("succeeded", {order_id: "paid"})
    assert len(supplier_orders(stack, "supplier", order_id)) == 1


def test_paypal_checkout_killed_while_the_capture_answer_is_held_captures_once(stack, api):
    order_id = paypal_order(stack, api)
    captured_before = captures_made(stack)
    with paypal_webhooks(stack, hold=True):  # nothing tells checkout about the capture before it dies
        payment = pay_paypal(api, [order_id])
        reference = payment["provider_reference"]
        assert payment["next_action"]["url"].startswith(f"{stack.url('paypal')}/checkoutnow?token={reference}")
        paypal(stack, "POST", f"/_control/orders/{reference}/approve", json={})
        paypal(stack, "POST", "/_control/hold-next", json={"path": f"/v2/checkout/orders/{reference}/capture$",
                                                           "seconds": HOLD})
        with ThreadPoolExecutor(1) as pool, retailer(api) as client:
            completing = pool.submit(complete, client, payment["payment_id"])  # the buyer is back from PayPal
            wait_for("PayPal to capture, its answer held", lambda: paypal(stack, "GET", "/_control/state")[
                "held_now"] == 1 and captures_made(stack) == captured_before + 1, interval=0.02)
            stack.kill("checkout")
            answer = completing.result(timeout=30)
        assert answer.status_code == 503 and answer.json()["error"] == "checkout_unavailable", answer.text
        # The buyer had approved, so the payment was being taken ("processing"): the regular sweep finishes it.
        assert checkout_rows(stack, reference) == ("processing", {order_id: "payment_pending"})
        paypal(stack, "DELETE", "/_control/hold-next")  # the dead client's answer goes nowhere
        # PayPal's webhooks (CHECKOUT.ORDER.APPROVED, PAYMENT.CAPTURE.COMPLETED) are refused while checkout is
        # down (the gateway answers 503, PayPal delivers again later).
        paypal(stack, "POST", "/_control/webhooks/release")
        wait_for("PayPal's capture webhook refused while checkout is down", lambda: any(
            status == 503 for t in paypal_events(stack, reference).get("PAYMENT.CAPTURE.COMPLETED", [])
            for status, _ in answers(t)))
    restart_checkout(stack)
    # Nobody comes back: checkout's sweep (or PayPal's next delivery) looks at the PayPal order, finds it
    # captured, captures nothing more.
    paid_through(api, order_id)
    again = complete(api, payment["payment_id"])  # the buyer's page asks again later: same answer
    assert again.status_code == 200 and again.json()["status"] == "succeeded", again.text
    assert again.json()["provider_reference"] == reference
    assert captures_made(stack) == captured_before + 1
    assert checkout_rows(stack, reference) == ("succeeded", {order_id: "paid"})
    assert len(supplier_orders(stack, "supplier3", order_id)) == 1


# ------------------------------------------------------------------------------------------ 2. duplicates

def test_a_duplicated_paypal_webhook_is_applied_once(stack, api):
    order_id = paypal_order(stack, api)
    captured_before = captures_made(stack)
    payment = pay_paypal(api, [order_id])
    reference = payment["provider_reference"]
    # CHECKOUT.ORDER.APPROVED and PAYMENT.CAPTURE.COMPLETED each arrive twice, the very same transmission.
    paypal(stack, "POST", "/_control/webhooks/duplicate-next", json={"count": 2})
    paypal(stack, "POST", f"/_control/orders/{reference}/approve", json={})
    paid_through(api, order_id)  # the approval webhook alone captured and paid it
    done = complete(api, payment["payment_id"]).json()  # then the buyer comes back: nothing more to do
    assert done["status"] == "succeeded"

    def delivered():
        events = paypal_events(stack, reference)
        sent = [t for ts in events.values() for t in ts]
        return len(events) == 2 and all(t["status"] in ("delivered", "failed") for t in sent) and events

    events = wait_for("both duplicated events delivered", delivered)
    for event_type, transmissions in events.items():
        assert len(transmissions) == 2 and len({t["transmission_id"] for t in transmissions}) == 1, event_type
        final = [answers(t)[-1] for t in transmissions]
        assert all(status == 200 for status, _ in final), (event_type, [answers(t) for t in transmissions])
        assert sorted(body["duplicate"] for _, body in final) == [False, True], (event_type, final)
    assert captures_made(stack) == captured_before + 1
    assert len(supplier_orders(stack, "supplier3", order_id)) == 1


def test_the_capture_webhook_arriving_before_the_capture_answer_pays_once(stack, api):
    order_id = paypal_order(stack, api)
    captured_before = captures_made(stack)
    # Only capture events are sent: the buyer's return captures (not the approval webhook).
    with paypal_webhooks(stack, event_types=["PAYMENT.CAPTURE.COMPLETED"]):
        payment = pay_paypal(api, [order_id])
        reference = payment["provider_reference"]
        paypal(stack, "POST", f"/_control/orders/{reference}/approve", json={})
        paypal(stack, "POST", "/_control/hold-next", json={"path": f"/v2/checkout/orders/{reference}/capture$",
                                                           "seconds": HOLD})
        with ThreadPoolExecutor(1) as pool, retailer(api) as client:
            completing = pool.submit(complete, client, payment["payment_id"])
            paid_through(api, order_id)  # by the webhook...
            assert paypal(stack, "GET", "/_control/state")["held_now"] == 1  # ...the capture answer still held
            assert not completing.done()
            paypal(stack, "DELETE", "/_control/hold-next")  # now the answer arrives
            answer = completing.result(timeout=30)
    assert answer.status_code == 200 and answer.json()["status"] == "succeeded", answer.text
    [transmission] = paypal_events(stack, reference)["PAYMENT.CAPTURE.COMPLETED"]
    [(status, body)] = answers(transmission)
    assert status == 200 and body["duplicate"] is False and "succeeded" in body["outcome"], body
    assert captures_made(stack) == captured_before + 1
    assert checkout_rows(stack, reference) == ("succeeded", {order_id: "paid"})
    assert len(supplier_orders(stack, "supplier3", order_id)) == 1


def test_a_retried_pay_request_with_the_same_idempotency_key_charges_once(stack, api):
    [order_id] = card_orders(stack, api)
    before = intent_ids(stack)
    key = str(uuid.uuid4())
    first = pay_card(api, [order_id], key)
    retried = pay_card(api, [order_id], key)  # the client lost the answer and sends the request again
    assert first.status_code == retried.status_code == 201, (first.text, retried.text)
    assert first.json()["status"] == retried.json()["status"] == "succeeded"
    payment_id = first.json()["payment_id"]
    assert retried.json()["payment_id"] == payment_id
    paid_through(api, order_id)
    assert_charged_once(stack, before, payment_id)
    assert len(supplier_orders(stack, "supplier", order_id)) == 1


def test_the_same_idempotency_key_sent_twice_at_once_charges_once(stack, api):
    [order_id] = card_orders(stack, api)
    before = intent_ids(stack)
    key = str(uuid.uuid4())
    with retailer(api) as a, retailer(api) as b:
        racing = at_the_same_time(lambda: pay_card(a, [order_id], key), lambda: pay_card(b, [order_id], key))
    later = pay_card(api, [order_id], key)
    assert later.status_code == 201 and later.json()["status"] == "succeeded", later.text
    payment_id = later.json()["payment_id"]
    # Both answers are this one payment (the twin that finds the orders claimed looks at the key again).
    for r in racing:
        assert r.status_code == 201 and r.json()["payment_id"] == payment_id, r.text
    assert any(r.status_code == 201 for r in racing)
    paid_through(api, order_id)
    assert_charged_once(stack, before, payment_id)
    assert len(supplier_orders(stack, "supplier", order_id)) == 1


def test_two_tabs_paying_the_same_orders_at_once_charge_once(stack, api):
    order_ids = card_orders(stack, api, 2)
    before = intent_ids(stack)
    with retailer(api) as tab1, retailer(api) as tab2:
        answers_ = at_the_same_time(lambda: pay_card(tab1, order_ids, str(uuid.uuid4())),
                                    lambda: pay_card(tab2, order_ids, str(uuid.uuid4())))
    [won] = [r for r in answers_ if r.status_code == 201]
    [lost] = [r for r in answers_ if r is not won]
    assert won.json()["status"] == "succeeded", won.text
    # Refused before anything was made at the provider: the orders are held by (or paid by) the other tab's payment.
    assert lost.status_code == 409 and lost.json()["error"] == "not_payable", lost.text
    blocked = lost.json()["details"]["orders"]
    assert sorted(o["order_id"] for o in blocked) == sorted(order_ids)
    assert all(o["status"] == "paid" or o["payment_id"] == won.json()["payment_id"] for o in blocked), blocked
    for order_id in order_ids:
        paid_through(api, order_id)
        assert len(supplier_orders(stack, "supplier", order_id)) == 1
    assert_charged_once(stack, before, won.json()["payment_id"])
