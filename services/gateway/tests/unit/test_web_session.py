"""Web sign-in, the session cookie, CSRF, sign-in throttling and the one error body — in-process on
SQLite (no broker, no checkout: the checkout port is a fake that records calls)."""

from __future__ import annotations

import re

import httpx
import pytest

from dropline_infra.db import utcnow
from dropline_infra.migrations import upgrade
from gateway.app import MIGRATIONS, build
from gateway.errors import GatewayError
from gateway.models import OrderView
from gateway.settings import Settings

ADMIN = {"Authorization": "Bearer dev-admin-token"}
PASSWORD = "correct horse battery"


class FakeCheckout:
    def __init__(self):
        self.calls: list[tuple[str, str, dict | None]] = []

    async def call(self, method, path, *, json=None, params=None):
        self.calls.append((method, path, json or params))
        raise GatewayError(404, "orders_not_found", "no such orders", order_ids=(json or {}).get("order_ids", []))


@pytest.fixture
async def gw(tmp_path):
    settings = Settings(data_dir=tmp_path, environment="test", signin_max_failures_per_account=3,
                        signin_max_failures_per_address=50)
    upgrade("gateway", settings.database_url, MIGRATIONS)
    checkout = FakeCheckout()
    svc = build(settings, checkout=checkout)
    transport = httpx.ASGITransport(app=svc.app, client=("203.0.113.7", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="https://gw.example") as client:
        retailer = (await client.post("/admin/v1/retailers", json={"name": "R"}, headers=ADMIN)).json()
        r = await client.post(f"/admin/v1/retailers/{retailer['retailer_id']}/users", headers=ADMIN,
                              json={"email": "Ann@Example.com", "password": PASSWORD})
        assert r.status_code == 201, r.text
        client.svc, client.retailer, client.checkout = svc, retailer, checkout
        yield client
    await svc.db.dispose()


async def sign_in(gw, email="ann@example.com", password=PASSWORD):
    return await gw.post("/api/v1/session", json={"email": email, "password": password})


async def test_signing_in_sets_an_httponly_secure_lax_cookie_and_returns_the_csrf_token(gw):
    r = await sign_in(gw, email="  ANN@example.com ")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["email"] == "ann@example.com" and body["retailer"]["name"] == "R" and body["csrf_token"]
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("dropline_session=")
    flags = {f.strip().lower() for f in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=lax", "path=/"} <= flags
    assert (await gw.get("/api/v1/session")).json()["csrf_token"] == body["csrf_token"]
    assert (await gw.get("/api/v1/orders")).status_code == 200


async def test_the_cookie_is_not_secure_in_local_development(tmp_path):
    settings = Settings(data_dir=tmp_path, environment="development")
    assert settings.cookie_secure is False
    assert Settings(data_dir=tmp_path, environment="production", admin_token="x" * 20,
                    secrets_key="K" * 43 + "=").cookie_secure is True


async def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(gw):
    wrong = await sign_in(gw, password="not the password")
    unknown = await sign_in(gw, email="nobody@example.com", password="not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"error": "invalid_credentials",
                                              "message": "Email or password is incorrect.", "details": {}}
    assert "set-cookie" not in wrong.headers


async def test_repeated_failures_are_slowed_down_per_account_even_with_the_right_password(gw):
    for _ in range(3):
        assert (await sign_in(gw, password="guess")).status_code == 401
    r = await sign_in(gw)
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0 and r.json()["error"] == "too_many_attempts"
    assert r.json()["details"]["retry_after_seconds"] == int(r.headers["retry-after"])


async def test_failures_are_also_counted_per_client_address(tmp_path):
    settings = Settings(data_dir=tmp_path, environment="test", signin_max_failures_per_account=100,
                        signin_max_failures_per_address=4)
    upgrade("gateway", settings.database_url, MIGRATIONS)
    svc = build(settings, checkout=FakeCheckout())
    transport = httpx.ASGITransport(app=svc.app, client=("198.51.100.9", 1))
    async with httpx.AsyncClient(transport=transport, base_url="https://gw.example") as c:
        statuses = [(await c.post("/api/v1/session", json={"email": f"u{i}@example.com", "password": "x"})).status_code
                    for i in range(5)]
    await svc.db.dispose()
    assert statuses == [401, 401, 401, 401, 429]


async def test_a_state_changing_request_with_the_cookie_but_without_the_csrf_token_is_refused(gw):
    csrf = (await sign_in(gw)).json()["csrf_token"]
    body = {"order_ids": ["o-1"]}
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        r = await gw.post("/api/v1/checkout/quote", json=body, headers=headers)
        assert r.status_code == 403 and r.json()["error"] == "csrf_failed", r.text
        r = await gw.post("/api/v1/orders/o-1/tracking", json={"tracking_number": "1Z999AA10123456784"},
                          headers=headers)
        assert r.status_code == 403
    assert gw.checkout.calls == []  # nothing reached checkout
    r = await gw.post("/api/v1/checkout/quote", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 404 and gw.checkout.calls  # past CSRF: an unknown order is simply not found


async def test_api_keys_need_no_csrf_token_and_sign_out_ends_the_session(gw):
    key = {"Authorization": f"Bearer {gw.retailer['api_key']}"}
    r = await gw.post("/api/v1/checkout/quote", json={"order_ids": ["o-1"]}, headers=key)
    assert r.status_code == 404
    csrf = (await sign_in(gw)).json()["csrf_token"]
    assert (await gw.delete("/api/v1/session")).status_code == 403  # sign-out is state-changing too
    assert (await gw.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})).status_code == 204
    assert (await gw.get("/api/v1/orders")).status_code == 401


async def test_a_sign_in_posted_from_another_site_is_refused(gw):
    r = await gw.post("/api/v1/session", json={"email": "ann@example.com", "password": PASSWORD},
                      headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and r.json()["error"] == "cross_origin"


async def test_ids_that_cannot_exist_get_422_never_a_5xx_and_every_error_has_one_shape(gw):
    key = {"Authorization": f"Bearer {gw.retailer['api_key']}"}
    for path in ("/api/v1/payments/%01%02", "/api/v1/payments/a%0Ab", "/api/v1/orders/%7F", "/api/v1/payments/"
                 + "x" * 65):
        r = await gw.get(path, headers=key)
        assert r.status_code in (404, 422), (path, r.status_code, r.text)
        assert set(r.json()) == {"error", "message", "details"}
    r = await gw.get("/api/v1/nowhere", headers=key)
    assert r.status_code == 404 and set(r.json()) == {"error", "message", "details"}
    r = await gw.get("/api/v1/orders", params={"limit": 0}, headers=key)
    assert r.status_code == 422 and r.json()["error"] == "invalid_request" and "limit" in r.json()["message"]


async def test_timestamps_carry_their_utc_offset_even_on_sqlite(gw):
    async with gw.svc.db.uow() as uow:
        uow.session.add(OrderView(order_id="o-ts", retailer_id=gw.retailer["retailer_id"], status="unpaid",
                                  created_at=utcnow(), updated_at=utcnow()))
        await uow.commit()
    page = (await gw.get("/api/v1/orders", headers={"Authorization": f"Bearer {gw.retailer['api_key']}"})).json()
    for stamp in (page["orders"][0]["created_at"], page["orders"][0]["updated_at"]):
        assert re.search(r"(Z|[+-]\d\d:\d\d)$", stamp), stamp


async def test_carrier_detection_names_the_carrier_and_its_tracking_url(gw):
    key = {"Authorization": f"Bearer {gw.retailer['api_key']}"}
    for number, carrier, url in [
        ("1Z999AA10123456784", "UPS", "https://www.ups.com/track?tracknum=1Z999AA10123456784"),
        ("AA473124829GB", "Royal Mail", "https://www.royalmail.com/track-your-item#/tracking-results/AA473124829GB"),
        ("YT2107421272062530", "YunExpress", "https://www.yuntrack.com/parcelTracking?id=YT2107421272062530"),
        ("AA473124828GB", None, None),  # wrong S10 check digit
    ]:
        r = await gw.get("/api/v1/carriers/detect", params={"tracking_number": number}, headers=key)
        assert r.status_code == 200 and r.json() == {"carrier": carrier, "tracking_url": url}, r.text
