"""What every route module shares: the use cases of this process, who is calling (API key or web
session, with its CSRF check), path parameter shapes, and the one error body."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Header, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from dropline_infra.observability import get_logger

from ..errors import GatewayError
from ..services.accounts import Accounts, Principal
from ..services.catalog import Catalog
from ..services.live import OrderFeed
from ..services.orders import Orders
from ..services.payments import Payments
from ..services.webhooks import Webhooks
from ..views import ErrorBody

log = get_logger(__name__)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Ids are made by Dropline (uuids, prefixed tokens); anything else cannot exist, so it is refused
# before it reaches a query or another service's URL.
ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"
Id = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
ERRORS = {code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 422, 429, 503)}


@dataclass
class UseCases:
    accounts: Accounts
    orders: Orders
    payments: Payments
    webhooks: Webhooks
    catalog: Catalog
    feed: OrderFeed


def use_cases(request: Request) -> UseCases:
    return request.app.state.use_cases


def settings(request: Request):
    return request.app.state.service.settings


def bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None


async def current_retailer(
        request: Request,
        authorization: Annotated[str | None, Header(description="Machine clients: Bearer <retailer API key>")] = None,
        x_csrf_token: Annotated[str | None, Header(alias="X-CSRF-Token", description=(
            "Browsers: the csrf_token of the session, on every state-changing request"))] = None,
) -> Principal:
    uc = use_cases(request)
    key = bearer(authorization)
    if key:
        principal = await uc.accounts.by_api_key(key)
        if principal is None:
            raise GatewayError(401, "unauthorized", "unknown API key")
        return principal
    token = request.cookies.get(settings(request).session_cookie_name)
    if token:
        principal = await uc.accounts.by_session(token)
        if principal is not None:
            if request.method not in SAFE_METHODS and not (
                    x_csrf_token and hmac.compare_digest(x_csrf_token.encode(), principal.csrf_token.encode())):
                raise GatewayError(403, "csrf_failed", "this request needs the session's X-CSRF-Token header")
            return principal
    raise GatewayError(401, "unauthorized", "sign in first (or send 'Authorization: Bearer <retailer API key>')")


Retailer = Annotated[Principal, Depends(current_retailer)]


def install_error_handlers(app: FastAPI) -> None:
    def body(status: int, error: str, message: str, details: dict | None = None,
             headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(ErrorBody(error=error, message=message, details=details or {}).model_dump(mode="json"),
                            status_code=status, headers=headers)

    @app.exception_handler(GatewayError)
    async def _refused(request: Request, exc: GatewayError) -> JSONResponse:
        # One line per refusal (not per request): a refused report from a supplier or a store is
        # otherwise invisible on Dropline's side. Never the body: it may hold what must not be logged.
        log.info("request refused", method=request.method, path=request.url.path, status=exc.status,
                 error=exc.error)
        return body(exc.status, exc.error, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": [str(x) for x in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")}
                  for e in exc.errors()]
        first = errors[0] if errors else {"loc": [], "msg": "invalid"}
        where = ".".join(x for x in first["loc"] if x not in ("body", "query", "path", "header"))
        return body(422, "invalid_request", f"{where + ': ' if where else ''}{first['msg']}", {"errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return body(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))
