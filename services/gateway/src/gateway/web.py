"""The built web app, served by the gateway on the same origin as its API (no CORS): hashed
assets under /assets, and index.html for every other path the app routes itself."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

API_PREFIXES = ("api/", "admin/", "supplier/", "webhooks/", "docs", "redoc", "openapi.json", "healthz", "readyz")


def mount_web_app(app: FastAPI, root: Path) -> None:
    root = root.resolve()
    index = root / "index.html"
    files = {p.relative_to(root).as_posix() for p in root.iterdir() if p.is_file()}  # favicon, robots.txt, …
    if (root / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=root / "assets"), name="web-assets")

    @app.get("/{path:path}", include_in_schema=False)
    async def spa(path: str, request: Request):
        if path.startswith(API_PREFIXES):
            return JSONResponse({"error": "not_found", "message": f"no route {request.url.path}", "details": {}},
                                status_code=404)
        if path in files:
            return FileResponse(root / path)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
