"""The Wix stand-in as a FastAPI app: Wix REST (OAuth, eCom orders, order fulfillments) for many app
instances (sites), RS256-JWT webhooks, and a control API. Follows platforms.md §4.

Wix REST (base URL ``http://HOST:PORT``; against real Wix ``https://www.wixapis.com``):
  POST /oauth2/token                                        client_credentials → access token (4 h)
  GET  /ecom/v1/orders/{id}                                 → {"order": {...}}
  POST /ecom/v1/orders/search                               → {"orders": [...], "metadata": {...}}
  GET  /ecom/v1/fulfillments/orders/{orderId}               → {"orderWithFulfillments": {...}}
  POST /ecom/v1/fulfillments/orders/{orderId}/create-fulfillment
  PATCH /ecom/v1/fulfillments/{fulfillmentId}/orders/{orderId}   Update Fulfillment → {"orderWithFulfillments"}
Auth: ``Authorization: <access token>`` (an app instance), or ``Authorization: <API key>`` +
``wix-site-id: <site id>``. 200 requests per minute per instance, then 429.
Control: /_control/... (tests and demos only; README.md lists every endpoint).
"""

from __future__ import annotations

import hmac
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import BackgroundTasks, Body, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ..standin_kit import FixedWindow, Outbox, OutgoingWebhook
from . import search as order_search
from .orders import (
    PAYMENT_STATUSES,
    SeedError,
    StoredOrder,
    WixError,
    complete_seed,
    create_fulfillment,
    iso_ms,
    read_fulfillment,
    read_fulfillment_update,
    update_fulfillment,
)
from .signing import WEBHOOK_TTL_SECONDS, AppKeys, webhook_claims

ORDER_FQDN = "wix.ecom.v1.order"
FULFILLMENTS_FQDN = "wix.ecom.v1.fulfillments"
TOKEN_SECONDS = 14400  # "Always 14400 (4 hours)"
WEBHOOK_TIMEOUT_SECONDS = 1.25  # Wix: "The timeout for the response is 1250 ms"
DEFAULT_APP_ID = "standin-app"
DEFAULT_APP_SECRET = "standin-app-secret"


class SiteConfig(BaseModel):
    """One site with the app installed: an app instance."""

    model_config = ConfigDict(extra="forbid")

    instance_id: str = Field(default_factory=lambda: str(uuid.uuid4()), min_length=1)
    app_id: str = Field(default=DEFAULT_APP_ID, min_length=1)
    app_secret: str = Field(default=DEFAULT_APP_SECRET, min_length=1)
    webhook_url: str | None = None
    site_id: str = Field(default_factory=lambda: str(uuid.uuid4()), min_length=1)
    api_key: str | None = Field(default=None, min_length=1, description="enables the API-key flow for this site")
    currency: str = Field(default="USD", min_length=3, max_length=3)
    token_ttl_seconds: int = Field(default=TOKEN_SECONDS, ge=1)
    webhook_ttl_seconds: int = Field(default=WEBHOOK_TTL_SECONDS, ge=1)
    requests_per_minute: int = Field(default=200, ge=1)
    retry_after_header: bool = Field(default=True, description="send Retry-After with 429 (UNCONFIRMED on Wix)")


class DropRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: int = Field(default=1, ge=0, le=1000)


class FailureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: int = Field(default=500, description="500, 503 or 429 (any 4xx/5xx is accepted)", ge=400, le=599)
    seconds: float = Field(default=5.0, gt=0, le=3600)


class PaymentStatusRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    paymentStatus: str  # noqa: N815 - Wix's own field name


class RateLimitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requests_per_minute: int = Field(ge=1)


@dataclass
class Site:
    config: SiteConfig
    window: FixedWindow
    outbox: Outbox
    orders: dict[str, StoredOrder] = field(default_factory=dict)
    next_number: int = 10001
    failure: tuple[int, datetime] | None = None
    webhook_meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def instance_id(self) -> str:
        return self.config.instance_id

    def as_json(self, keys: AppKeys) -> dict[str, Any]:
        c = self.config
        return {"instance_id": c.instance_id, "app_id": c.app_id, "app_secret": c.app_secret,
                "site_id": c.site_id, "api_key": c.api_key, "webhook_url": c.webhook_url,
                "public_key_pem": keys.public_key_pem, "kid": keys.kid,
                "requests_per_minute": c.requests_per_minute, "orders": len(self.orders),
                "drop_next": self.outbox.drop_next}


def _error(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(WixError(status, message, code=code).body(), status_code=status, headers=headers)


class WixStandin:
    def __init__(self, *, webhook_transport: httpx.AsyncBaseTransport | None = None,
                 webhook_timeout_seconds: float = WEBHOOK_TIMEOUT_SECONDS,
                 initial_sites: Sequence[SiteConfig] = (), clock: Callable[[], datetime] | None = None):
        self.apps: dict[str, AppKeys] = {}
        self.sites: dict[str, Site] = {}
        self.tokens: dict[str, tuple[str, datetime]] = {}
        self._transport = webhook_transport
        self._timeout = webhook_timeout_seconds
        self._client: httpx.AsyncClient | None = None
        self._initial = list(initial_sites)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------------------

    def reset(self) -> None:
        self.sites.clear()
        self.tokens.clear()
        for config in self._initial:
            self.create_site(config)

    def webhook_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport, timeout=self._timeout,
                                             follow_redirects=False)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- sites -------------------------------------------------------------------------------------

    def app_keys(self, app_id: str) -> AppKeys:
        if app_id not in self.apps:
            self.apps[app_id] = AppKeys()  # one key pair per app, made at first sight
        return self.apps[app_id]

    def create_site(self, config: SiteConfig) -> Site:
        for other in self.sites.values():
            if other.config.app_id == config.app_id and other.config.app_secret != config.app_secret \
                    and other.instance_id != config.instance_id:
                raise HTTPException(409, {"error": f"app {config.app_id} already has another app secret"})
        self.app_keys(config.app_id)
        site = Site(config=config, window=FixedWindow(quota=config.requests_per_minute, window_seconds=60.0),
                    outbox=Outbox(timeout_seconds=self._timeout))
        self.sites[config.instance_id] = site
        return site

    def site(self, instance_id: str) -> Site:
        site = self.sites.get(instance_id)
        if site is None:
            raise HTTPException(404, {"error": f"unknown instance {instance_id!r}"})
        return site

    def stored(self, site: Site, order_id: str) -> StoredOrder:
        stored = site.orders.get(order_id)
        if stored is None:
            raise HTTPException(404, {"error": f"unknown order {order_id!r} in instance {site.instance_id}"})
        return stored

    def site_json(self, site: Site) -> dict[str, Any]:
        return site.as_json(self.app_keys(site.config.app_id))

    # -- the gate every API call passes --------------------------------------------------------------

    def authenticate(self, request: Request) -> Site | JSONResponse:
        auth = (request.headers.get("Authorization") or "").strip()
        if auth.lower().startswith("bearer "):  # Wix's examples send the bare token; "Bearer" tolerated
            auth = auth[7:].strip()
        if not auth:
            return _error(401, "Missing Authorization header", "UNAUTHENTICATED")
        entry = self.tokens.get(auth)
        if entry is not None:
            instance, expires = entry
            if expires <= self.clock():
                return _error(401, "Access token expired", "UNAUTHENTICATED")
            site = self.sites.get(instance)
            if site is None:
                return _error(401, "The app instance no longer exists", "UNAUTHENTICATED")
            return site
        site_id = request.headers.get("wix-site-id")
        for site in self.sites.values():
            key = site.config.api_key
            if key and hmac.compare_digest(auth.encode(), key.encode()):
                if not site_id:
                    return _error(403, "API key calls need the wix-site-id header", "PERMISSION_DENIED")
                if site_id != site.config.site_id:
                    return _error(403, "The API key has no access to this site", "PERMISSION_DENIED")
                return site
        return _error(401, "Invalid access token or API key", "UNAUTHENTICATED")

    def gate(self, site: Site, request: Request) -> JSONResponse | None:
        """Forced failures first, then 200 requests/min per instance."""
        now = self.clock()
        site.requests.append({"at": iso_ms(now), "method": request.method, "path": request.url.path})
        del site.requests[:-1000]  # the last 1000 calls
        if site.failure is not None:
            status, until = site.failure
            if now < until:
                if status == 429:
                    return self.throttled(site, max(1, int((until - now).total_seconds() + 0.999)))
                return JSONResponse({"message": "", "details": {}}, status_code=status)  # system errors: empty
            site.failure = None
        verdict = site.window.take(site.instance_id)
        if not verdict.allowed:
            return self.throttled(site, verdict.retry_after_seconds)
        return None

    @staticmethod
    def throttled(site: Site, retry_after: int) -> JSONResponse:
        headers = {"Retry-After": str(retry_after)} if site.config.retry_after_header else None
        return _error(429, "Too many requests: 200 requests per minute per app instance", "RESOURCE_EXHAUSTED",
                      headers)

    # -- OAuth -------------------------------------------------------------------------------------

    async def create_token(self, request: Request) -> JSONResponse:
        raw = await request.body()
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            if content_type == "application/x-www-form-urlencoded":
                from urllib.parse import parse_qs
                body: Any = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            else:
                body = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            return JSONResponse({"error": "invalid_request", "error_description": "body must be a JSON object"}, 400)
        if body.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type",
                                 "error_description": "grant_type must be client_credentials"}, 400)
        missing = [k for k in ("client_id", "client_secret", "instance_id") if not isinstance(body.get(k), str)
                   or not body.get(k)]
        if missing:
            return JSONResponse({"error": "invalid_request",
                                 "error_description": f"missing: {', '.join(missing)}"}, 400)
        apps = [s for s in self.sites.values() if s.config.app_id == body["client_id"]]
        if not apps or not hmac.compare_digest(body["client_secret"].encode(), apps[0].config.app_secret.encode()):
            return JSONResponse({"error": "invalid_client", "error_description": "unknown app or wrong secret"}, 401)
        site = self.sites.get(body["instance_id"])
        if site is None or site.config.app_id != body["client_id"]:
            return JSONResponse({"error": "invalid_grant",
                                 "error_description": "the app is not installed on this instance"}, 400)
        refused = self.gate(site, request)
        if refused is not None:
            return refused
        token = f"OauthNG.JWS.standin.{secrets.token_urlsafe(24)}"
        self.tokens[token] = (site.instance_id, self.clock() + timedelta(seconds=site.config.token_ttl_seconds))
        return JSONResponse({"access_token": token, "token_type": "Bearer",
                             "expires_in": site.config.token_ttl_seconds})

    # -- webhooks ----------------------------------------------------------------------------------

    def event(self, site: Site, fqdn: str, slug: str, entity_id: str, carrier: dict[str, Any]) -> OutgoingWebhook:
        now = self.clock()
        event = {"id": str(uuid.uuid4()), "entityFqdn": fqdn, "slug": slug, "entityId": entity_id,
                 "eventTime": iso_ms(now), "triggeredByAnonymizeRequest": False, **carrier}
        event_type = f"{fqdn}_{slug}"
        keys = self.app_keys(site.config.app_id)
        token = keys.sign(webhook_claims(event_type=event_type, instance_id=site.instance_id, event=event,
                                         app_id=site.config.app_id, now=now,
                                         ttl_seconds=site.config.webhook_ttl_seconds))
        webhook = OutgoingWebhook(event=event_type, url=site.config.webhook_url or "", body=token.encode(),
                                  headers={"Content-Type": "text/plain; charset=utf-8",
                                           "User-Agent": "Wix-Webhooks (Dropline stand-in)"})
        site.webhook_meta[webhook.id] = {"event_id": event["id"], "event_type": event_type, "entity_id": entity_id}
        return webhook

    def order_event(self, site: Site, slug: str, stored: StoredOrder, **extra: Any) -> OutgoingWebhook:
        order = json.loads(json.dumps(stored.order))
        if slug == "created":
            carrier: dict[str, Any] = {"createdEvent": {"entity": order}}
        elif slug == "updated":
            carrier = {"updatedEvent": {"currentEntity": order}}
        else:  # approved, canceled, payment_status_updated: action events
            carrier = {"actionEvent": {"body": {"order": order, **extra}}}
        return self.event(site, ORDER_FQDN, slug, stored.id, carrier)

    async def send(self, site: Site, webhook: OutgoingWebhook) -> dict[str, Any]:
        if not site.config.webhook_url:
            if webhook not in site.outbox.sent:
                site.outbox.sent.append(webhook)
            return self.webhook_result(site, webhook, error="the site has no webhook_url")
        webhook.url = site.config.webhook_url
        await site.outbox.deliver(self.webhook_client(), webhook)
        return self.webhook_result(site, webhook)

    async def send_all(self, site: Site, webhooks: list[OutgoingWebhook]) -> list[dict[str, Any]]:
        return [await self.send(site, w) for w in webhooks]

    def webhook_result(self, site: Site, webhook: OutgoingWebhook, error: str | None = None) -> dict[str, Any]:
        last = webhook.attempts[-1] if webhook.attempts else None
        return {"webhook_id": webhook.id, **site.webhook_meta.get(webhook.id, {}), "dropped": webhook.dropped,
                "status_code": last.status_code if last else None,
                "error": (last.error if last else None) or error, "attempts": len(webhook.attempts)}

    def webhook_json(self, site: Site, webhook: OutgoingWebhook) -> dict[str, Any]:
        return {**webhook.as_json(), **site.webhook_meta.get(webhook.id, {})}

    # -- orders ------------------------------------------------------------------------------------

    def seed(self, site: Site, raw: Any) -> StoredOrder:
        try:
            order = complete_seed(raw, number=site.next_number, now=self.clock(), default_currency=site.config.currency)
        except SeedError as exc:
            raise HTTPException(422, {"error": "invalid_order", "message": str(exc)}) from exc
        if order["id"] in site.orders:
            raise HTTPException(409, {"error": f"order {order['id']} exists"})
        site.next_number += 1
        stored = StoredOrder(order=order)
        stored.derive_fulfillment_status()
        site.orders[stored.id] = stored
        return stored

    def touch(self, stored: StoredOrder) -> None:
        stored.order["updatedDate"] = iso_ms(self.clock())

    def order_view(self, site: Site, stored: StoredOrder) -> dict[str, Any]:
        return {"order": stored.order, "orderWithFulfillments": stored.with_fulfillments(),
                # fulfillment id -> its tracking number now; every tracking change an update made
                "trackingNumbers": {f.id: (f.tracking_info or {}).get("trackingNumber") for f in stored.fulfillments},
                "trackingHistory": {f.id: list(f.tracking_history) for f in stored.fulfillments},
                "webhooks": [self.webhook_json(site, w) for w in site.outbox.sent
                             if site.webhook_meta.get(w.id, {}).get("entity_id") == stored.id]}


def create_app(*, webhook_transport: httpx.AsyncBaseTransport | None = None,
               webhook_timeout_seconds: float = WEBHOOK_TIMEOUT_SECONDS,
               sites: Sequence[SiteConfig | Mapping[str, Any]] | None = None,
               clock: Callable[[], datetime] | None = None) -> FastAPI:
    """Build the stand-in. ``webhook_transport``: httpx transport for webhook deliveries (tests pass
    ``httpx.ASGITransport(app=receiver)``); ``sites``: instances created at start and after each reset."""
    standin = WixStandin(
        webhook_transport=webhook_transport, webhook_timeout_seconds=webhook_timeout_seconds, clock=clock,
        initial_sites=[s if isinstance(s, SiteConfig) else SiteConfig.model_validate(s) for s in sites or []])

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await standin.aclose()

    app = FastAPI(title="Wix stand-in (Dropline test support)", lifespan=lifespan)
    app.state.standin = standin

    @app.exception_handler(WixError)
    async def wix_error(_request: Request, exc: WixError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    async def api(request: Request) -> Site | JSONResponse:
        site = standin.authenticate(request)
        if isinstance(site, JSONResponse):
            return site
        return standin.gate(site, request) or site

    async def json_body(request: Request) -> Any:
        try:
            return json.loads(await request.body() or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise WixError(400, "request body is not valid JSON", field="body") from exc

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "sites": len(standin.sites)}

    # -- Wix REST ----------------------------------------------------------------------------------

    @app.post("/oauth2/token")
    async def oauth_token(request: Request) -> JSONResponse:
        return await standin.create_token(request)

    @app.get("/ecom/v1/orders/{order_id}")
    async def get_order(order_id: str, request: Request) -> JSONResponse:
        site = await api(request)
        if isinstance(site, JSONResponse):
            return site
        stored = site.orders.get(order_id)
        if stored is None:
            return _error(404, f"Order with id {order_id} not found", "NOT_FOUND")
        return JSONResponse({"order": stored.order})

    @app.post("/ecom/v1/orders/search")
    async def search_orders(request: Request) -> JSONResponse:
        site = await api(request)
        if isinstance(site, JSONResponse):
            return site
        body = await json_body(request)
        if body is not None and not isinstance(body, dict):
            raise WixError(400, "request body must be an object", field="body")
        try:
            answer = order_search.run([s.order for s in site.orders.values()], (body or {}).get("search"))
        except order_search.QueryError as exc:
            raise WixError(400, exc.description, field=exc.field) from exc
        return JSONResponse(answer)

    @app.get("/ecom/v1/fulfillments/orders/{order_id}")
    async def list_fulfillments(order_id: str, request: Request) -> JSONResponse:
        site = await api(request)
        if isinstance(site, JSONResponse):
            return site
        stored = site.orders.get(order_id)
        if stored is None:
            return _error(404, f"Order with id {order_id} not found", "NOT_FOUND")
        return JSONResponse({"orderWithFulfillments": stored.with_fulfillments()})

    @app.post("/ecom/v1/fulfillments/orders/{order_id}/create-fulfillment")
    async def create_fulfillment_route(order_id: str, request: Request, tasks: BackgroundTasks) -> JSONResponse:
        site = await api(request)
        if isinstance(site, JSONResponse):
            return site
        body = await json_body(request)
        fulfillment_in = read_fulfillment(body)
        stored = site.orders.get(order_id)
        if stored is None:
            return _error(404, f"Order with id {order_id} not found", "NOT_FOUND")
        created = create_fulfillment(stored, fulfillment_in, now=standin.clock())
        hooks = [standin.event(site, FULFILLMENTS_FQDN, "updated", stored.id,
                               {"updatedEvent": {"currentEntity": stored.with_fulfillments()}}),
                 standin.order_event(site, "updated", stored)]
        tasks.add_task(standin.send_all, site, hooks)  # Wix sends webhooks asynchronously
        return JSONResponse({"orderWithFulfillments": stored.with_fulfillments(), "fulfillmentId": created.id})

    @app.patch("/ecom/v1/fulfillments/{fulfillment_id}/orders/{order_id}")
    async def update_fulfillment_route(fulfillment_id: str, order_id: str, request: Request,
                                       tasks: BackgroundTasks) -> JSONResponse:
        site = await api(request)
        if isinstance(site, JSONResponse):
            return site
        fulfillment_in, paths = read_fulfillment_update(await json_body(request))
        stored = site.orders.get(order_id)
        if stored is None:
            return _error(404, f"Order with id {order_id} not found", "NOT_FOUND")
        updated = update_fulfillment(stored, fulfillment_id, fulfillment_in, paths, now=standin.clock())
        if updated is None:  # error code UNCONFIRMED on Wix: the stand-in answers like an unknown order
            return _error(404, f"Fulfillment with id {fulfillment_id} not found in order {order_id}", "NOT_FOUND")
        hooks = [standin.event(site, FULFILLMENTS_FQDN, "updated", stored.id,
                               {"updatedEvent": {"currentEntity": stored.with_fulfillments()}}),
                 standin.order_event(site, "updated", stored)]
        tasks.add_task(standin.send_all, site, hooks)
        return JSONResponse({"orderWithFulfillments": stored.with_fulfillments()})

    # -- control API -------------------------------------------------------------------------------

    @app.post("/_control/sites")
    async def control_create_site(config: SiteConfig) -> JSONResponse:
        existed = config.instance_id in standin.sites
        site = standin.create_site(config)
        return JSONResponse(standin.site_json(site), status_code=200 if existed else 201)

    @app.get("/_control/sites")
    async def control_sites() -> dict[str, Any]:
        return {"sites": [standin.site_json(s) for s in standin.sites.values()]}

    @app.get("/_control/sites/{instance_id}")
    async def control_site(instance_id: str) -> dict[str, Any]:
        return standin.site_json(standin.site(instance_id))

    @app.get("/_control/apps/{app_id}/public-key")
    async def control_public_key(app_id: str) -> dict[str, Any]:
        if app_id not in standin.apps:
            raise HTTPException(404, {"error": f"unknown app {app_id!r}"})
        keys = standin.apps[app_id]
        return {"app_id": app_id, "kid": keys.kid, "public_key_pem": keys.public_key_pem}

    @app.post("/_control/sites/{instance_id}/orders")
    async def control_seed(instance_id: str, order: dict[str, Any] = Body(...),  # noqa: B008
                           deliver: bool = True) -> JSONResponse:
        site = standin.site(instance_id)
        stored = standin.seed(site, order)
        hooks = [standin.order_event(site, "created", stored)]
        if stored.order["status"] == "APPROVED":
            hooks.append(standin.order_event(site, "approved", stored))
        results = await standin.send_all(site, hooks) if deliver else []
        if not deliver:
            site.outbox.sent.extend(hooks)
        return JSONResponse({"order": stored.order, "webhooks": results}, status_code=201)

    @app.get("/_control/sites/{instance_id}/orders")
    async def control_orders(instance_id: str) -> dict[str, Any]:
        site = standin.site(instance_id)
        return {"orders": [standin.order_view(site, s) for s in site.orders.values()]}

    @app.get("/_control/sites/{instance_id}/orders/{order_id}")
    async def control_order(instance_id: str, order_id: str) -> dict[str, Any]:
        site = standin.site(instance_id)
        return standin.order_view(site, standin.stored(site, order_id))

    @app.post("/_control/sites/{instance_id}/orders/{order_id}/payment-status")
    async def control_payment_status(instance_id: str, order_id: str, body: PaymentStatusRequest) -> dict[str, Any]:
        site = standin.site(instance_id)
        stored = standin.stored(site, order_id)
        if body.paymentStatus not in PAYMENT_STATUSES:
            raise HTTPException(422, {"error": f"paymentStatus must be one of {sorted(PAYMENT_STATUSES)}"})
        previous = stored.order.get("paymentStatus")
        stored.order["paymentStatus"] = body.paymentStatus
        standin.touch(stored)
        hooks = [standin.order_event(site, "payment_status_updated", stored, previousPaymentStatus=previous),
                 standin.order_event(site, "updated", stored)]
        return {"order": stored.order, "webhooks": await standin.send_all(site, hooks)}

    @app.post("/_control/sites/{instance_id}/orders/{order_id}/approve")
    async def control_approve(instance_id: str, order_id: str) -> dict[str, Any]:
        site = standin.site(instance_id)
        stored = standin.stored(site, order_id)
        if stored.order.get("status") != "INITIALIZED":
            raise HTTPException(409, {"error": f"order is {stored.order.get('status')}, not INITIALIZED"})
        stored.order["status"] = "APPROVED"
        standin.touch(stored)
        hooks = [standin.order_event(site, "approved", stored), standin.order_event(site, "updated", stored)]
        return {"order": stored.order, "webhooks": await standin.send_all(site, hooks)}

    @app.post("/_control/sites/{instance_id}/orders/{order_id}/cancel")
    async def control_cancel(instance_id: str, order_id: str) -> dict[str, Any]:
        site = standin.site(instance_id)
        stored = standin.stored(site, order_id)
        if stored.order.get("status") == "CANCELED":
            raise HTTPException(409, {"error": "order is canceled already"})
        stored.order["status"] = "CANCELED"
        standin.touch(stored)
        hooks = [standin.order_event(site, "canceled", stored), standin.order_event(site, "updated", stored)]
        return {"order": stored.order, "webhooks": await standin.send_all(site, hooks)}

    @app.get("/_control/sites/{instance_id}/webhooks")
    async def control_webhooks(instance_id: str) -> dict[str, Any]:
        site = standin.site(instance_id)
        return {"webhooks": [standin.webhook_json(site, w) for w in site.outbox.sent],
                "drop_next": site.outbox.drop_next}

    @app.post("/_control/sites/{instance_id}/webhooks/drop-next")
    async def control_drop(instance_id: str, body: DropRequest) -> dict[str, Any]:
        site = standin.site(instance_id)
        site.outbox.drop_next = body.count
        return {"drop_next": site.outbox.drop_next}

    @app.post("/_control/sites/{instance_id}/webhooks/{webhook_id}/redeliver")
    async def control_redeliver(instance_id: str, webhook_id: str) -> dict[str, Any]:
        site = standin.site(instance_id)
        webhook = site.outbox.find(webhook_id)
        if webhook is None:
            raise HTTPException(404, {"error": f"unknown webhook {webhook_id!r}"})
        return await standin.send(site, webhook)  # the very same JWT (Wix resends the delivery)

    @app.post("/_control/sites/{instance_id}/failures")
    async def control_fail(instance_id: str, body: FailureRequest) -> dict[str, Any]:
        site = standin.site(instance_id)
        until = standin.clock() + timedelta(seconds=body.seconds)
        site.failure = (body.status, until)
        return {"status": body.status, "until": iso_ms(until)}

    @app.delete("/_control/sites/{instance_id}/failures")
    async def control_unfail(instance_id: str) -> dict[str, Any]:
        standin.site(instance_id).failure = None
        return {"status": None}

    @app.post("/_control/sites/{instance_id}/rate-limit")
    async def control_rate_limit(instance_id: str, body: RateLimitRequest) -> dict[str, Any]:
        site = standin.site(instance_id)
        site.config.requests_per_minute = body.requests_per_minute
        site.window.configure(quota=body.requests_per_minute)
        return {"requests_per_minute": body.requests_per_minute}

    @app.post("/_control/sites/{instance_id}/expire-tokens")
    async def control_expire_tokens(instance_id: str) -> dict[str, Any]:
        standin.site(instance_id)
        gone = [t for t, (i, _) in standin.tokens.items() if i == instance_id]
        for token in gone:
            del standin.tokens[token]
        return {"expired": len(gone)}

    @app.get("/_control/sites/{instance_id}/requests")
    async def control_requests(instance_id: str) -> dict[str, Any]:
        return {"requests": standin.site(instance_id).requests}

    @app.post("/_control/reset")
    async def control_reset() -> dict[str, Any]:
        standin.reset()
        return {"status": "reset", "sites": list(standin.sites)}

    return app


__all__ = ["SiteConfig", "WixStandin", "create_app"]
