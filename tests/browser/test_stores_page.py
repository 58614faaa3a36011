"""The Stores screen in Chromium: from the nav, each connected store with its platform and sync
health (last webhook, reconciliation, write-back, writes waiting, last failure); a store that is
failing says so with an icon and words; empty and error states. axe-core on the screen."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from .conftest import assert_accessible, wait_for

pytestmark = pytest.mark.e2e

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
STORES_API = re.compile(r".*/api/v1/stores(\?.*)?$")
RELATIVE = re.compile(r"just now|\d+ (minute|hour|day|week|month|year)s? ago")


def fact(section, term: str):
    """The <dd> that answers a <dt> of a store's health list."""
    return section.locator("dt", has_text=re.compile(rf"^{re.escape(term)}$")).locator("xpath=following-sibling::dd[1]")


def fake_stores(page, status: int, body: dict) -> None:
    """Answer GET /api/v1/stores in this page only: states the demo stack cannot be put in on demand."""
    page.route(STORES_API,
               lambda route: route.fulfill(status=status, content_type="application/json", body=json.dumps(body)))


def test_stores_from_the_nav_show_the_demo_store_its_platform_and_its_last_webhook(signed_in, stack, api):
    page = signed_in
    shop = stack.demo["shop"]

    def demo_store_has_webhook():
        stores = api.get("/api/v1/stores").json()["stores"]
        got = [s for s in stores if s["shop"] == shop and s["health"]["last_webhook_at"]]
        return got[0] if got else None
    store = wait_for("the demo store's last webhook in GET /api/v1/stores", demo_store_has_webhook)
    assert store["platform"] == "shopify"

    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Orders", exact=True)).to_be_visible()
    nav.get_by_role("link", name="Stores", exact=True).click()
    expect(page).to_have_url(re.compile(r"/stores$"))
    expect(page.get_by_role("heading", level=1, name="Stores")).to_be_visible()
    expect(page).to_have_title(re.compile(r"^Stores"))
    expect(nav.get_by_role("link", name="Stores", exact=True)).to_have_attribute("aria-current", "page")

    card = page.get_by_role("region", name=shop)
    expect(card.get_by_role("heading", name=shop)).to_be_visible()
    expect(card.get_by_text("Shopify", exact=True)).to_be_visible()
    webhook = fact(card, "Last webhook received")
    expect(webhook.locator("time")).to_have_attribute("datetime", ISO)
    expect(webhook.locator("time")).to_have_text(RELATIVE)
    expect(webhook).to_contain_text(re.compile(r"· \w{3} \d{1,2}, \d{4}"))  # the absolute time beside it
    for term in ("Last reconciliation", "Last write-back", "Writes waiting", "Last failure"):
        expect(fact(card, term)).to_be_visible()
    expect(fact(card, "Writes waiting")).to_contain_text(re.compile(r"^\d+"))
    expect(card.get_by_text(re.compile(r"^(Healthy|Needs attention|No activity yet)$"))).to_be_visible()
    assert_accessible(page)


def test_a_failing_store_needs_attention_in_words_and_icon_and_reconciliation_says_what_it_found(signed_in):
    page = signed_in
    fake_stores(page, 200, {"stores": [
        {"store_id": "st_ok", "platform": "ecwid", "shop": "1234567", "health": {
            "last_webhook_at": "2024-05-01T10:00:00+00:00",
            "last_reconciliation": {"at": "2024-05-01T10:05:00+00:00", "examined": 14, "found": 2, "error": None},
            "last_write_back_at": None, "writes_waiting": 0,
            "last_failure": {"at": "2024-05-01T09:00:00+00:00", "reason": "old hiccup"}}},
        {"store_id": "st_bad", "platform": "bigcommerce", "shop": "abc123", "health": {
            "last_webhook_at": None,
            "last_reconciliation": {"at": "2024-05-01T10:05:00+00:00", "examined": 3, "found": 0, "error": None},
            "last_write_back_at": "2024-05-01T10:00:00+00:00", "writes_waiting": 3,
            "last_failure": {"at": "2024-05-01T11:00:00+00:00", "reason": "shipment write-back answered 503"}}},
    ]})
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Stores", exact=True).click()

    ok = page.get_by_role("region", name="1234567")
    expect(ok.get_by_text("Ecwid by Lightspeed", exact=True)).to_be_visible()
    expect(ok.get_by_text("Healthy", exact=True)).to_be_visible()
    expect(fact(ok, "Last reconciliation")).to_contain_text("Found 2 orders no webhook brought")
    expect(fact(ok, "Last reconciliation")).to_contain_text("14 orders checked")

    bad = page.get_by_role("region", name="abc123")
    expect(bad.get_by_text("BigCommerce", exact=True)).to_be_visible()
    expect(bad.get_by_text("Needs attention", exact=True)).to_be_visible()
    expect(bad.locator(".MuiChip-icon")).to_be_visible()  # an icon with the words, not colour alone
    expect(bad.get_by_role("status")).to_contain_text("shipment write-back answered 503")
    expect(fact(bad, "Last webhook received")).to_have_text("None yet")
    expect(fact(bad, "Last reconciliation")).to_contain_text("Nothing missing")
    expect(fact(bad, "Writes waiting")).to_contain_text("3")
    expect(fact(bad, "Last failure")).to_contain_text("shipment write-back answered 503")
    expect(page.get_by_text("1 store needs attention.")).to_be_visible()
    assert_accessible(page)


def test_no_stores_says_so_and_an_api_error_is_readable(signed_in):
    page = signed_in
    fake_stores(page, 200, {"stores": []})
    page.goto("/stores")
    expect(page.get_by_text("No stores connected yet")).to_be_visible()
    assert_accessible(page)

    page.unroute(STORES_API)
    fake_stores(page, 503, {"error": "unavailable", "message": "Stores are unavailable right now."})
    page.reload()
    expect(page.get_by_role("alert")).to_contain_text("Stores are unavailable right now.", timeout=30_000)
    expect(page.get_by_role("button", name="Try again")).to_be_visible()
