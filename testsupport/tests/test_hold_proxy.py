"""The holding reverse proxy: forwards everything unchanged, and holds the answer of a request it was told to
hold after that request took effect upstream."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from dropline_testsupport.harness import run_module, wait_for
from dropline_testsupport.hold_proxy import create_app, serve_app_in_thread, serve_in_thread


def upstream_app() -> FastAPI:
    """Records what reached it and echoes it back."""
    app = FastAPI()
    app.state.seen = []

    @app.api_route("/{path:path}", methods=["GET", "POST", "DELETE"])
    async def echo(request: Request, path: str) -> JSONResponse:
        body = (await request.body()).decode()
        app.state.seen.append((request.method, request.url.path, request.url.query, body))
        status = 402 if path.endswith("decline") else 200
        return JSONResponse({"method": request.method, "path": request.url.path, "query": request.url.query,
                             "body": body, "auth": request.headers.get("authorization"),
                             "key": request.headers.get("idempotency-key")},
                            status_code=status, headers={"Request-Id": "req_1", "X-Multi": "a"})

    return app


@pytest.fixture
async def env():
    upstream = upstream_app()
    app = create_app("http://upstream.test", transport=httpx.ASGITransport(app=upstream))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://proxy.test") as http:
        yield http, upstream, app.state.proxy
    await app.state.proxy.aclose()


async def test_everything_is_forwarded_and_answered_unchanged(env):
    http, upstream, _ = env
    r = await http.post("/v1/payment_intents/pi_1/confirm?expand[]=latest_charge", content="a=1&b=2",
                        headers={"Authorization": "Bearer sk_test_x", "Idempotency-Key": "k-1",
                                 "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200
    assert r.json() == {"method": "POST", "path": "/v1/payment_intents/pi_1/confirm",
                        "query": "expand[]=latest_charge", "body": "a=1&b=2", "auth": "Bearer sk_test_x",
                        "key": "k-1"}
    assert r.headers["request-id"] == "req_1"
    declined = await http.get("/v1/decline")
    assert declined.status_code == 402  # the upstream's status, not the proxy's
    assert upstream.state.seen == [("POST", "/v1/payment_intents/pi_1/confirm", "expand[]=latest_charge", "a=1&b=2"),
                                   ("GET", "/v1/decline", "", "")]


async def test_a_held_request_takes_effect_upstream_and_its_answer_comes_later(env):
    http, upstream, proxy = env
    r = await http.post("/_control/hold-next", json={"path": r"/confirm$", "seconds": 0.6})
    assert r.status_code == 200 and r.json()["holds"] == [{"path": "/confirm$", "seconds": 0.6, "method": None,
                                                           "count": 1}]
    started = time.monotonic()
    held = asyncio.create_task(http.post("/v1/payment_intents/pi_1/confirm"))
    while not upstream.state.seen:
        await asyncio.sleep(0.01)
    assert upstream.state.seen[0][1] == "/v1/payment_intents/pi_1/confirm"  # it took effect upstream...
    assert not held.done()  # ...and the client has no answer yet
    while (await http.get("/_control/state")).json()["held_now"] != 1:
        await asyncio.sleep(0.01)
    [entry] = (await http.get("/_control/requests")).json()["requests"]
    assert entry["state"] == "held" and entry["status_code"] == 200
    other = await http.get("/v1/payment_intents/pi_1")  # not matching: answered at once
    assert other.status_code == 200 and not held.done()
    assert (await held).status_code == 200
    assert time.monotonic() - started >= 0.6
    log = (await http.get("/_control/requests")).json()["requests"]
    assert [(e["path"], e["state"]) for e in log] == [("/v1/payment_intents/pi_1/confirm", "answered"),
                                                      ("/v1/payment_intents/pi_1", "answered")]
    assert log[0]["held_seconds"] >= 0.6 and log[1]["held_seconds"] is None
    # One hold, one request: the next confirm is answered at once.
    assert (await http.get("/_control/state")).json() == {"upstream": "http://upstream.test", "holds": [],
                                                          "held_now": 0}
    t0 = time.monotonic()
    await http.post("/v1/payment_intents/pi_2/confirm")
    assert time.monotonic() - t0 < 0.5


async def test_method_and_count_narrow_the_hold(env):
    http, _, proxy = env
    await http.post("/_control/hold-next", json={"path": r"^/v1/payment_intents/\w+$", "method": "GET",
                                                 "seconds": 0.3, "count": 2})
    t0 = time.monotonic()
    await http.post("/v1/payment_intents/pi_1")  # another method: not held
    assert time.monotonic() - t0 < 0.25
    await asyncio.gather(http.get("/v1/payment_intents/pi_1"), http.get("/v1/payment_intents/pi_2"))
    assert time.monotonic() - t0 >= 0.3
    assert proxy.holds == []


async def test_clearing_drops_pending_holds_and_lets_held_answers_go(env):
    http, _, proxy = env
    await http.post("/_control/hold-next", json={"path": "/a", "seconds": 30})
    await http.post("/_control/hold-next", json={"path": "/b", "seconds": 30})
    started = time.monotonic()
    held = asyncio.create_task(http.get("/a"))
    while proxy.held_now != 1:
        await asyncio.sleep(0.01)
    cleared = (await http.delete("/_control/hold-next")).json()
    assert cleared["holds"] == []
    assert (await held).status_code == 200 and time.monotonic() - started < 5
    assert (await http.get("/b")).status_code == 200 and time.monotonic() - started < 5


async def test_bad_control_bodies_are_refused(env):
    http, _, _ = env
    assert (await http.post("/_control/hold-next", json={"path": "(", "seconds": 1})).status_code == 422
    assert (await http.post("/_control/hold-next", json={"path": "/x", "seconds": 0})).status_code == 422
    assert (await http.post("/_control/hold-next", json={"path": "/x"})).status_code == 422


async def test_an_unreachable_upstream_is_a_502():
    app = create_app("http://127.0.0.1:9")  # discard port: nothing listens
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://proxy.test") as http:
        r = await http.get("/v1/charges")
        assert r.status_code == 502 and "not reachable" in r.json()["error"]
        [entry] = (await http.get("/_control/requests")).json()["requests"]
        assert entry["state"] == "failed" and entry["error"]
    await app.state.proxy.aclose()


def test_served_in_a_thread_a_client_that_gives_up_does_not_stop_it_and_stopping_does_not_wait_for_holds():
    with serve_app_in_thread(upstream_app()) as upstream, serve_in_thread(upstream) as proxy:
        httpx.post(f"{proxy}/_control/hold-next", json={"path": "/slow", "seconds": 60}).raise_for_status()
        with pytest.raises(httpx.ReadTimeout):  # the client dies waiting, as a killed service does
            httpx.post(f"{proxy}/slow", timeout=0.5)
        assert httpx.get(f"{proxy}/fast").json()["path"] == "/fast"
        httpx.post(f"{proxy}/_control/hold-next", json={"path": "/slow", "seconds": 60}).raise_for_status()
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{proxy}/slow", timeout=0.5)
        # Both answers are still held (nobody reads them any more); stopping the proxy lets them go.
        wait_for("two answers held", lambda: httpx.get(f"{proxy}/_control/state").json()["held_now"] == 2,
                 timeout=5)
        started = time.monotonic()
    assert time.monotonic() - started < 10


def test_it_runs_as_a_process():
    with serve_app_in_thread(upstream_app()) as upstream, \
            run_module("dropline_testsupport.hold_proxy", "--upstream", upstream) as proxy:
        assert httpx.get(f"{proxy}/v1/x?a=1").json()["query"] == "a=1"
        assert httpx.get(f"{proxy}/_control/state").json()["upstream"] == upstream
