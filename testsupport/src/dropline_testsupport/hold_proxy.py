"""A small reverse proxy that can hold an answer: crash tests for systems that cannot hold their own.

Everything is forwarded to one upstream (method, path, query, headers, body) and the upstream's answer is
passed back. ``POST /_control/hold-next`` makes the next matching request go upstream as usual (it takes
effect there) and then holds the answer for some seconds before passing it back: a client killed
meanwhile never learns what happened. localstripe, for instance, answers at once and ignores
Idempotency-Key; behind this proxy a test can SIGKILL checkout after the confirm reached localstripe and
before checkout committed.

Control API (JSON; paths under ``/_control/`` are not forwarded):

    POST   /_control/hold-next   {path: "<regex>", seconds: N, method?: "POST", count?: 1}
                                 the next ``count`` requests whose path matches (re.search) are forwarded,
                                 then their answers are held N seconds
    DELETE /_control/hold-next   pending holds dropped and answers being held passed back now
    GET    /_control/requests    every forwarded request: {id, method, path, query, state, status_code,
                                 held_seconds, error}; state forwarding | held (the upstream answered, the
                                 answer is being held) | answered | failed (upstream unreachable: 502)
    GET    /_control/state       {upstream, holds (pending), held_now}

Run it as a process (``python -m dropline_testsupport.hold_proxy --upstream http://127.0.0.1:8420
--port 8430``) or in a thread of the test process (:func:`serve_in_thread`, yields the base URL).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ._server import add_server_arguments, free_port, serve

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "host", "content-length"}
# httpx decodes gzip/deflate/br bodies, so the answer goes back decoded, without these.
DECODED = {"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"}
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class HoldNext(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="regular expression searched in the request path, e.g. '/confirm$'")
    seconds: float = Field(gt=0, le=600, description="how long the upstream's answer is held")
    method: str | None = Field(default=None, description="only this method (default: any)")
    count: int = Field(default=1, ge=1, le=1000, description="how many of the next matching requests")

    @field_validator("path")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from exc
        return value


@dataclass
class Hold:
    path: str
    seconds: float
    method: str | None
    count: int

    def matches(self, method: str, path: str) -> bool:
        return (self.count > 0 and re.search(self.path, path) is not None
                and (self.method is None or self.method.upper() == method.upper()))

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "seconds": self.seconds, "method": self.method, "count": self.count}


class HoldProxy:
    """The proxy's state: the upstream, pending holds, the request log."""

    def __init__(self, upstream: str, *, transport: httpx.AsyncBaseTransport | None = None):
        self.upstream = upstream.rstrip("/")
        self.holds: list[Hold] = []
        self.requests: list[dict[str, Any]] = []
        self.held_now = 0
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._release: asyncio.Event | None = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(base_url=self.upstream, transport=self._transport,
                                             timeout=httpx.Timeout(60.0, connect=5.0), follow_redirects=False)
        return self._client

    def release_event(self) -> asyncio.Event:
        if self._release is None:
            self._release = asyncio.Event()
        return self._release

    def take_hold(self, method: str, path: str) -> Hold | None:
        for hold in self.holds:
            if hold.matches(method, path):
                hold.count -= 1
                if hold.count <= 0:
                    self.holds.remove(hold)
                return hold
        return None

    def release_all(self) -> None:
        """Drop pending holds; answers being held go back now."""
        self.holds.clear()
        event = self.release_event()
        event.set()
        self._release = asyncio.Event()  # later holds wait on a fresh one

    async def hold(self, seconds: float) -> None:
        event = self.release_event()
        self.held_now += 1
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=seconds)
        finally:
            self.held_now -= 1

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def state_json(self) -> dict[str, Any]:
        return {"upstream": self.upstream, "holds": [h.as_json() for h in self.holds], "held_now": self.held_now}


def create_app(upstream: str, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """The proxy in front of ``upstream`` (``transport``: how to reach it, e.g. an ASGITransport in tests).
    ``app.state.proxy`` is the :class:`HoldProxy`."""
    proxy = HoldProxy(upstream, transport=transport)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        proxy.release_all()
        await proxy.aclose()

    app = FastAPI(title="Holding reverse proxy (Dropline test support)", lifespan=lifespan)
    app.state.proxy = proxy

    @app.post("/_control/hold-next")
    async def hold_next(body: HoldNext) -> dict[str, Any]:
        proxy.holds.append(Hold(path=body.path, seconds=body.seconds, method=body.method, count=body.count))
        return proxy.state_json()

    @app.delete("/_control/hold-next")
    async def clear_holds() -> dict[str, Any]:
        proxy.release_all()
        return proxy.state_json()

    @app.get("/_control/requests")
    async def requests_log() -> dict[str, Any]:
        return {"requests": proxy.requests}

    @app.get("/_control/state")
    async def state() -> dict[str, Any]:
        return proxy.state_json()

    @app.api_route("/{path:path}", methods=METHODS, include_in_schema=False)
    async def forward(request: Request, path: str) -> Response:
        url_path = request.url.path
        entry: dict[str, Any] = {"id": len(proxy.requests) + 1, "method": request.method, "path": url_path,
                                 "query": request.url.query, "state": "forwarding", "status_code": None,
                                 "held_seconds": None, "error": None}
        proxy.requests.append(entry)
        hold = proxy.take_hold(request.method, url_path)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        raw = request.scope.get("raw_path") or url_path.encode()  # as the client wrote it (percent-encoded)
        target = raw.decode("latin-1") + (f"?{request.url.query}" if request.url.query else "")
        try:
            upstream = await proxy.client().request(request.method, target, headers=headers,
                                                    content=await request.body())
        except httpx.HTTPError as exc:
            entry.update(state="failed", error=f"{type(exc).__name__}: {exc}")
            return JSONResponse({"error": f"upstream {proxy.upstream} not reachable: {exc}"}, status_code=502)
        entry["status_code"] = upstream.status_code
        if hold is not None:
            entry.update(state="held", held_seconds=hold.seconds)
            started = time.monotonic()
            await proxy.hold(hold.seconds)
            entry["held_seconds"] = round(time.monotonic() - started, 3)
        entry["state"] = "answered"
        response = Response(content=upstream.content, status_code=upstream.status_code)
        for key, value in upstream.headers.multi_items():
            if key.lower() not in DECODED:
                response.headers.append(key, value)
        return response

    return app


@contextlib.contextmanager
def serve_app_in_thread(app: FastAPI, *, host: str = "127.0.0.1", port: int | None = None,
                        before_exit=None) -> Iterator[str]:
    """Run ``app`` with uvicorn in a daemon thread (its own event loop); yields its base URL.
    ``before_exit()`` is called in the server's loop as it stops."""
    port = port or free_port(host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on",
                                           timeout_graceful_shutdown=5))
    loop_box: dict[str, asyncio.AbstractEventLoop] = {}
    failure: list[BaseException] = []

    def run() -> None:
        loop = asyncio.new_event_loop()
        loop_box["loop"] = loop
        try:
            loop.run_until_complete(server.serve())
        except BaseException as exc:  # noqa: BLE001  (reported to the caller below)
            failure.append(exc)
        finally:
            loop.close()

    thread = threading.Thread(target=run, name=f"serve-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"server on port {port} did not start: {failure or 'timeout'}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        if before_exit is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed already
                loop_box["loop"].call_soon_threadsafe(before_exit)
        server.should_exit = True
        thread.join(timeout=15)


@contextlib.contextmanager
def serve_in_thread(upstream: str, *, host: str = "127.0.0.1", port: int | None = None) -> Iterator[str]:
    """The proxy in front of ``upstream``, served in a thread of this process; yields its base URL. On exit,
    answers still held go back first, so stopping never waits for a hold."""
    app = create_app(upstream)
    with serve_app_in_thread(app, host=host, port=port, before_exit=app.state.proxy.release_all) as url:
        yield url


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dropline_testsupport.hold_proxy",
                                     description="Reverse proxy that forwards everything to an upstream and can "
                                                 "hold an answer (POST /_control/hold-next).")
    add_server_arguments(parser, default_port=8430)
    parser.add_argument("--upstream", required=True, help="where every request goes, e.g. http://127.0.0.1:8420")
    args = parser.parse_args(argv)
    serve(create_app(args.upstream), args)


if __name__ == "__main__":
    main()
