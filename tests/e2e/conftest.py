"""The whole system, every service its own process, on PostgreSQL (one fresh database per service)
and the real broker. One stack for the module; tests use their own store orders."""

from __future__ import annotations

import time

import httpx
import pytest

from dropline_testsupport import infra
from dropline_testsupport.demo import load_demo_data
from dropline_testsupport.devstack import Stack

FAST_JOBS = {"JOB_BASE_DELAY": "0.2"}


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    with infra.postgres_server() as admin_url:
        s = Stack(tmp_path_factory.mktemp("stack"), databases=infra.DatabaseFactory(admin_url))
        with s:
            s.demo = load_demo_data(s, auto_ship_after_seconds=None, demo_orders=False)
            yield s


@pytest.fixture(scope="session")
def api(stack):
    with httpx.Client(base_url=stack.url("gateway"), timeout=60,
                      headers={"Authorization": f"Bearer {stack.demo['retailer']['api_key']}"}) as c:
        yield c


def wait_for(what: str, fn, timeout: float = 45.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")
