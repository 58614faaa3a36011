"""Browser tests: the retailer's web app in Debian's Chromium (Playwright for Python), against the
whole system as processes (like tests/e2e) with the demo data, the gateway serving web/dist.

Controls are found by role and the exact words of docs (web-app.md). A failing test leaves a
screenshot of its page in test-artifacts/."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from dropline_testsupport.demo import load_demo_data
from dropline_testsupport.devstack import Stack
from dropline_testsupport.harness import wait_for

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("DROPLINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"

# The demo's second auto-order supplier (GBP), so a selection can mix suppliers.
SECOND_SUPPLIER_NAME = "London Home Goods Ltd"
SECOND_SKU = "TEA-SET"



@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """web/dist, built when a source is newer (the same rule as `make install`)."""
    subprocess.run(["make", "--no-print-directory", "-s", "web-build"], cwd=ROOT, check=True)
    assert (WEB / "dist" / "index.html").exists()
    return WEB / "dist"


@pytest.fixture(scope="package")  # torn down when tests/browser/ is done, before tests/e2e/ starts its own
def stack(tmp_path_factory, pg_databases, web_dist):
    s = Stack(tmp_path_factory.mktemp("browser-stack"), databases=pg_databases)
    s.service_env.setdefault("gateway", {})["WEB_DIR"] = str(web_dist)
    with s:
        s.demo = load_demo_data(s)  # the supplier stand-in ships 2 s after an order arrives
        yield s


@pytest.fixture(scope="package")  # torn down when tests/browser/ is done, before tests/e2e/ starts its own
def api(stack):
    """The retailer API with the demo API key: test set-up and checks, never what the browser does."""
    with httpx.Client(base_url=stack.url("gateway"), timeout=60,
                      headers={"Authorization": f"Bearer {stack.demo['retailer']['api_key']}"}) as c:
        yield c


@pytest.fixture(scope="package")  # torn down when tests/browser/ is done, before tests/e2e/ starts its own
def web_user(stack) -> dict:
    web = stack.demo.get("web")
    if not web:
        pytest.fail("the demo data has no web user (demo.json 'web': url, email, password)")
    return web


@pytest.fixture(scope="package")  # torn down when tests/browser/ is done, before tests/e2e/ starts its own
def browser(stack):  # the stack first: its start-up uses asyncio.run, which cannot run inside Playwright's loop
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does it)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def context(browser, stack, request):
    ctx = browser.new_context(base_url=stack.url("gateway"), viewport={"width": 1280, "height": 900},
                              accept_downloads=True, locale="en-US", timezone_id="Europe/Berlin")
    ctx.set_default_timeout(15_000)
    # Supplier websites are outside this machine: answer them locally so "new tab" can be checked.
    ctx.route(re.compile(r"https://[a-z-]+\.example/.*"),
              lambda route: route.fulfill(status=200, content_type="text/html",
                                          body="<!doctype html><title>Supplier</title><h1>Supplier site</h1>"))
    yield ctx
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        for i, pg in enumerate(ctx.pages):
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
            with contextlib.suppress(Exception):  # a screenshot must not hide the real failure
                pg.screenshot(path=str(ARTIFACTS / f"{name}-{i}.png"), full_page=True)
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


def sign_in(page, web_user: dict, path: str = "/") -> None:
    page.goto(path)
    page.get_by_label("Email").fill(web_user["email"])
    page.get_by_label("Password").fill(web_user["password"])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


@pytest.fixture
def signed_in(page, web_user):
    sign_in(page, web_user)
    return page


def assert_accessible(page, *, exclude: list[str] | None = None) -> None:
    """No serious or critical axe-core violations on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async (exclude) => {
            // Measure colours after MUI's transitions (e.g. a button just enabled) have settled.
            await Promise.all(document.getAnimations().map(a => a.finished.catch(() => null)));
            const r = await axe.run({ include: [document], exclude }, { resultTypes: ['violations'] });
            return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                             nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ')) }));
        }""", [[sel] for sel in (exclude or [])])
    assert violations == [], violations


# ------------------------------------------------------------------------------------ test data

DE_ADDRESS = {"first_name": "Jane", "last_name": "Doe", "address1": "Hauptstrasse 5", "city": "Berlin",
              "zip": "10115", "country": "Germany", "country_code": "DE", "phone": "+49 30 1234567"}


def create_store_order(stack, lines: list[dict], customer: str | None = None) -> dict:
    first, last = (customer or f"Buyer {uuid.uuid4().hex[:5]}").split(" ", 1)
    r = httpx.post(f"{stack.url('shopify')}/_control/shops/{stack.demo['shop']}/orders", timeout=30, json={
        "currency": "EUR", "email": f"{first.lower()}-{uuid.uuid4().hex[:6]}@example.com", "line_items": lines,
        "customer": {"first_name": first, "last_name": last},
        "shipping_address": DE_ADDRESS | {"first_name": first, "last_name": last},
        "deliver_webhook": True})
    r.raise_for_status()
    return r.json()["order"]


def line(sku: str, qty: int = 1, price: str = "19.90", title: str | None = None) -> dict:
    return {"sku": sku, "title": title or f"Item {sku}", "quantity": qty, "price": price}


def dropline_orders(api, store_order_name: str, count: int) -> list[dict]:
    """The Dropline orders a store order became, once all of them are in the read model."""
    def rows():
        got = api.get("/api/v1/orders", params={"q": store_order_name, "limit": 100}).json()["orders"]
        got = [r for r in got if r["platform_order_number"] == store_order_name]
        return got if len(got) == count else None
    return wait_for(f"{count} Dropline orders for {store_order_name}", rows)


def wait_payable(api, order_ids: list[str]) -> None:
    """checkout learns of new orders from its own consumer: wait until a quote succeeds."""
    def ready():
        r = api.post("/api/v1/checkout/quote", json={"order_ids": order_ids})
        return r.status_code == 200
    wait_for(f"checkout to quote {order_ids}", ready)


def order_status(api, order_id: str) -> str:
    return api.get(f"/api/v1/orders/{order_id}").json()["status"]
