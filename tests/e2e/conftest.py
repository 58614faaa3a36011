"""The whole system, every service its own process, on PostgreSQL (one fresh database per service)
and the real broker. One stack for the module; tests use their own store orders."""

from __future__ import annotations

import httpx
import pytest

from dropline_testsupport import hold_proxy, infra
from dropline_testsupport.demo import load_demo_data
from dropline_testsupport.devstack import Stack
from dropline_testsupport.harness import wait_for  # noqa: F401  (the e2e modules import it from here)

# Each store is listed every 2 s, so a dropped webhook's order arrives within seconds.
RECONCILE_FAST = {"RECONCILE_INTERVAL_SECONDS": "2", "RECONCILE_OVERLAP_SECONDS": "5"}
# The late-shipment scan every 2 s, so an order of a supplier with 0 handling days is late within seconds.
ALERTS_FAST = {"ALERT_SCAN_INTERVAL_SECONDS": "2"}


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    with infra.postgres_server() as admin_url:
        s = Stack(tmp_path_factory.mktemp("stack"), databases=infra.DatabaseFactory(admin_url),
                  service_env={"order-ingest": RECONCILE_FAST, "tracking-sync": ALERTS_FAST})
        # checkout reaches localstripe through a transparent proxy that can hold an answer
        # (test_payment_crashes kills checkout while localstripe's answer to a confirm is held), and its
        # sweep finishes a payment left open (a crash mid-checkout) 5 s after its last change, not 30 s.
        with hold_proxy.serve_in_thread(s.url("localstripe")) as stripe_proxy:
            s.service_env["checkout"] = {"STRIPE_API_BASE": stripe_proxy, "PAYMENT_RECOVERY_AFTER_SECONDS": "5"}
            s.stripe_proxy = stripe_proxy
            with s:
                s.demo = load_demo_data(s, auto_ship_after_seconds=None, demo_orders=False)
                yield s


@pytest.fixture(scope="session")
def api(stack):
    with httpx.Client(base_url=stack.url("gateway"), timeout=60,
                      headers={"Authorization": f"Bearer {stack.demo['retailer']['api_key']}"}) as c:
        yield c

