"""Helpers for tests that talk to the stand-ins (and for the stand-ins' own tests).

- :class:`Receiver`: a recording ASGI app that plays Dropline's side (webhook or tracking endpoint);
  hand ``receiver.transport`` to a stand-in's ``create_app`` to deliver in-process.
- :func:`serve_in_loop`: run any FastAPI app under a real uvicorn server inside the current event loop.
- :func:`run_module`: start a stand-in as a real process (``python -m ...``) and wait until it is healthy.
- :func:`wait_for`: poll until a condition holds (e2e and browser tests against a running system).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field

import httpx
import uvicorn
from fastapi import FastAPI, Request, Response

from ._server import free_port


@dataclass
class Received:
    method: str
    path: str  # percent-decoded
    raw_path: str  # as sent on the wire
    body: bytes
    headers: httpx.Headers


@dataclass
class Receiver:
    """An ASGI app that records every request and answers with scripted statuses.

    ``statuses`` is consumed one per request (then ``default_status``); ``delay`` seconds are slept
    before answering (to provoke timeouts).
    """

    default_status: int = 200
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    app: FastAPI = field(init=False)

    def __post_init__(self) -> None:
        self.app = FastAPI()

        @self.app.api_route("/{path:path}", methods=["GET", "POST", "PUT"])
        async def catch_all(path: str, request: Request) -> Response:
            raw_path = bytes(request.scope.get("raw_path") or b"").decode("latin-1") or request.url.path
            self.received.append(Received(request.method, "/" + path, raw_path.split("?", 1)[0],
                                          await request.body(), httpx.Headers(request.headers)))
            if self.delay:
                await asyncio.sleep(self.delay)
            status = self.statuses.pop(0) if self.statuses else self.default_status
            return Response(content=b'{"received": true}', status_code=status, media_type="application/json")

    @property
    def transport(self) -> httpx.ASGITransport:
        return httpx.ASGITransport(app=self.app)


@asynccontextmanager
async def serve_in_loop(app: FastAPI) -> AsyncIterator[str]:
    """Run ``app`` with a real uvicorn server in this event loop; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextmanager
def run_module(module: str, *args: str) -> Iterator[str]:
    """Start ``python -m module --port N ...`` as a real process; yields its base URL once healthy."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         *args],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{module} exited with {process.returncode}")
            try:
                if httpx.get(f"{base}/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{module} did not become healthy")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(what: str, fn, timeout: float = 45.0, interval: float = 0.2):
    """Call ``fn`` until it returns something truthy (and return that), or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")
