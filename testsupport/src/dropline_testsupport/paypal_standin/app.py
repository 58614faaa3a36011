"""The PayPal stand-in as a FastAPI app. The API and control API are listed in the package docstring and
in ``README.md`` next to this file."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal
from urllib.parse import parse_qs

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .approval import approval_page, message_page, with_query
from .errors import PayPalError, debug_id, forced, invalid_request
from .state import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_WEBHOOK_ID,
    ForcedFailure,
    HeldAnswer,
    PayPalStandin,
)
from .validation import check_request_id, parse_prefer, validate_order
from .webhooks import (
    CERT_PATH,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_RETRY_DELAY_SECONDS,
    SigningKey,
    WebhookConfig,
)

API_PREFIXES = ("/v1/", "/v2/")
VERIFY_FIELDS = ("auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time", "webhook_id",
                 "webhook_event")


# -- control API bodies ---------------------------------------------------------------------------------

class DeclineNext(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["INSTRUMENT_DECLINED", "CAPTURE_DECLINED", "CAPTURE_PENDING"] = Field(
        default="INSTRUMENT_DECLINED",
        description="INSTRUMENT_DECLINED: capture answers 422 INSTRUMENT_DECLINED until the buyer approves again; "
                    "CAPTURE_DECLINED: capture creates a DECLINED capture (order COMPLETED); CAPTURE_PENDING: a "
                    "PENDING capture (resolve it through /_control/captures/{id}/resolve).")
    count: int = Field(default=1, ge=1, le=1000, description="how many of the next approvals")


class ApproveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payer_email: str | None = None


class ResolveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["COMPLETED", "DECLINED"]


class FailNext(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: int = Field(default=503, description="429 or 5xx")
    count: int = Field(default=1, ge=1, le=1000)
    apply: Literal["before", "after"] = Field(
        default="before", description="before: nothing happens; after: the call takes effect, then the answer is "
                                      "replaced by the failure (a lost response)")
    path: str | None = Field(default=None, description="only requests whose path contains this, e.g. '/capture'")
    method: str | None = None

    @field_validator("status")
    @classmethod
    def _status(cls, value: int) -> int:
        if value != 429 and not 500 <= value <= 599:
            raise ValueError("status must be 429 or a 5xx")
        return value


class HoldNext(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(gt=0, le=600, description="how long the answer is held after the call took effect")
    count: int = Field(default=1, ge=1, le=1000)
    path: str | None = Field(default=None, description="regular expression searched in the request path, e.g. "
                                                      "'/capture$' (a plain substring works); default: any call")
    method: str | None = None

    @field_validator("path")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from exc
        return value


class WebhookSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    webhook_id: str | None = Field(default=None, pattern=r"^[a-zA-Z0-9]+$", max_length=50)
    event_types: list[str] | None = None
    hold: bool | None = None
    max_attempts: int | None = Field(default=None, ge=1, le=25)
    retry_delay_seconds: float | None = Field(default=None, ge=0, le=3600)


class CountBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(default=1, ge=0, le=1000)


class RedeliverBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    same_transmission: bool = Field(
        default=False, description="true: the very same bytes and headers again (a duplicate delivery); false: a "
                                   "new transmission of the event, freshly signed (PayPal's resend)")


def _json(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"Paypal-Debug-Id": debug_id()})


async def _body(request: Request, *, required: bool = True) -> Any:
    raw = await request.body()
    if not raw.strip():
        if required:
            raise invalid_request("MALFORMED_REQUEST_JSON", location="body")
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_request("MALFORMED_REQUEST_JSON", location="body") from exc


def create_app(*, client_id: str = DEFAULT_CLIENT_ID, client_secret: str = DEFAULT_CLIENT_SECRET,
               webhook_url: str | None = None, webhook_id: str = DEFAULT_WEBHOOK_ID,
               webhook_max_attempts: int = DEFAULT_MAX_ATTEMPTS,
               webhook_retry_delay_seconds: float = DEFAULT_RETRY_DELAY_SECONDS,
               public_url: str | None = None, webhook_transport: httpx.AsyncBaseTransport | None = None,
               clock: Callable[[], dt.datetime] | None = None, signing_key: SigningKey | None = None) -> FastAPI:
    """Build the stand-in.

    ``client_id``/``client_secret``: the only credentials ``/v1/oauth2/token`` accepts. ``webhook_url`` and
    ``webhook_id``: the listener (events go nowhere without a URL). ``public_url``: the base written into links
    (approve, HATEOAS, cert URL); default: the base URL of each request. ``webhook_transport``: httpx transport
    for deliveries (tests pass ``httpx.ASGITransport(app=receiver)``). ``clock``: wall clock (aware datetimes).
    ``signing_key``: the webhook key and certificate (default: a new RSA key; tests share one to stay fast).
    """
    standin = PayPalStandin(
        client_id=client_id, client_secret=client_secret, public_url=public_url, webhook_transport=webhook_transport,
        clock=clock, signing_key=signing_key, webhook=WebhookConfig(url=webhook_url, webhook_id=webhook_id, max_attempts=webhook_max_attempts,
                                           retry_delay_seconds=webhook_retry_delay_seconds))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        standin.release_held()
        await standin.webhooks.aclose()

    app = FastAPI(title="PayPal stand-in (Dropline test support)", lifespan=lifespan)
    app.state.standin = standin

    def base(request: Request) -> str:
        return standin.base(str(request.base_url))

    @app.exception_handler(PayPalError)
    async def paypal_error(_request: Request, exc: PayPalError) -> JSONResponse:
        return exc.response()

    @app.middleware("http")
    async def api_gate(request: Request, call_next):
        path = request.url.path
        if not path.startswith(API_PREFIXES) or path.startswith("/v1/notifications/certs/"):
            return await call_next(request)
        body = await request.body()
        failure = standin.take_failure(request.method, path)
        if failure is not None and failure.apply == "before":
            response: Response = forced(failure.status).response()
        else:
            response = await call_next(request)
            if failure is not None:
                # The call took effect; its answer is lost on the way back.
                response = forced(failure.status).response()
        hold = standin.take_hold(request.method, path)
        if hold is not None:
            # The call took effect (its webhooks are on their way); the caller waits for the answer.
            await standin.hold_answer(hold.seconds)
        standin.requests.append({
            "at": standin.clock().isoformat(), "method": request.method, "path": path,
            "query": str(request.url.query), "status_code": response.status_code,
            "paypal_request_id": request.headers.get("paypal-request-id"), "prefer": request.headers.get("prefer"),
            "content_type": request.headers.get("content-type"),
            "authorization": (request.headers.get("authorization") or "").split(" ", 1)[0] or None,
            "body": body.decode("utf-8", "replace")[:20000], "forced_failure": failure.as_json() if failure else None,
            "held_seconds": hold.seconds if hold else None})
        return response

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "orders": len(standin.orders)}

    # -- OAuth ------------------------------------------------------------------------------------------

    @app.post("/v1/oauth2/token")
    async def token(request: Request) -> JSONResponse:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        issued = standin.issue_token(request.headers.get("authorization"))
        if issued is None:
            return JSONResponse({"error": "invalid_client", "error_description": "Client Authentication failed"},
                                status_code=401, headers={"Paypal-Debug-Id": debug_id()})
        if form.get("grant_type") != ["client_credentials"]:
            standin.tokens.pop(issued["access_token"], None)
            return JSONResponse({"error": "unsupported_grant_type",
                                 "error_description": "Grant Type is NULL" if "grant_type" not in form
                                 else "unsupported grant_type"}, status_code=400)
        return _json(issued)

    # -- Orders v2 --------------------------------------------------------------------------------------

    @app.post("/v2/checkout/orders")
    async def create_order(request: Request) -> JSONResponse:
        standin.authorize(request.headers.get("authorization"))
        request_id = check_request_id(request.headers.get("paypal-request-id"))
        view = parse_prefer(request.headers.get("prefer"))
        req = validate_order(await _body(request))
        order, created = standin.create_order(req, request_id)
        return _json(standin.order_json(order, base(request), view), 201 if created else 200)

    @app.get("/v2/checkout/orders/{order_id}")
    async def get_order(order_id: str, request: Request) -> JSONResponse:
        standin.authorize(request.headers.get("authorization"))
        return _json(standin.order_json(standin.order(order_id), base(request)))

    @app.post("/v2/checkout/orders/{order_id}/capture")
    async def capture_order(order_id: str, request: Request) -> JSONResponse:
        standin.authorize(request.headers.get("authorization"))
        request_id = check_request_id(request.headers.get("paypal-request-id"))
        view = parse_prefer(request.headers.get("prefer"))
        body = await _body(request, required=False)
        if not isinstance(body, dict):
            raise invalid_request("MALFORMED_REQUEST_JSON", location="body")
        if body.get("payment_source") is not None:
            raise invalid_request("INVALID_PARAMETER_VALUE", "/payment_source",
                                  description="The stand-in captures approved orders only (no payment_source).")
        order, created = standin.capture_order(standin.order(order_id), request_id, base=base(request))
        return _json(standin.order_json(order, base(request), "full" if view == "representation" else "capture"),
                     201 if created else 200)

    # -- Payments v2 ------------------------------------------------------------------------------------

    @app.post("/v2/payments/captures/{capture_id}/refund")
    async def refund_capture(capture_id: str, request: Request) -> JSONResponse:
        standin.authorize(request.headers.get("authorization"))
        request_id = check_request_id(request.headers.get("paypal-request-id"))
        view = parse_prefer(request.headers.get("prefer"))
        body = await _body(request, required=False)
        if not isinstance(body, dict):
            raise invalid_request("MALFORMED_REQUEST_JSON", location="body")
        refund, created = standin.refund_capture(standin.capture(capture_id), body, request_id, base=base(request))
        return _json(standin.refund_json(refund, base(request), minimal=view == "minimal"), 201 if created else 200)

    @app.get("/v2/payments/captures/{capture_id}")
    async def get_capture(capture_id: str, request: Request) -> JSONResponse:
        standin.authorize(request.headers.get("authorization"))
        return _json(standin.capture_json(standin.capture(capture_id), base(request), standalone=True))

    @app.get("/v2/payments/refunds/{refund_id}")
    async def get_refund(refund_id: str, request: Request) -> JSONResponse:
        standin.authorize(request.headers.get("authorization"))
        return _json(standin.refund_json(standin.refund(refund_id), base(request)))

    # -- Webhooks v1: certificate and online verification -----------------------------------------------

    @app.get(CERT_PATH.format(cert_id="{cert_id}"))
    async def certificate(cert_id: str) -> Response:
        if cert_id != standin.key.cert_id:
            return Response("Not Found", status_code=404, media_type="text/plain")
        return Response(standin.key.cert_pem, media_type="application/x-pem-file")

    @app.post("/v1/notifications/verify-webhook-signature")
    async def verify_webhook_signature(request: Request) -> JSONResponse:
        standin.authorize(request.headers.get("authorization"))
        body = await _body(request)
        if not isinstance(body, dict):
            raise invalid_request("MALFORMED_REQUEST_JSON", location="body")
        missing = [name for name in VERIFY_FIELDS if body.get(name) in (None, "")]
        wrong = [name for name in VERIFY_FIELDS if name != "webhook_event" and name not in missing
                 and not isinstance(body.get(name), str)]
        if missing or wrong:
            return JSONResponse({
                "name": "VALIDATION_ERROR", "message": "Invalid request - see details", "debug_id": debug_id(),
                "information_link": "https://developer.paypal.com/docs/api/webhooks/v1/#error-VALIDATION_ERROR",
                "details": [{"field": name, "location": "body",
                             "issue": "Required field is missing." if name in missing else "Invalid value."}
                            for name in missing + wrong]}, status_code=400)
        ok = standin.webhooks.verify(**{name: body[name] for name in VERIFY_FIELDS})
        return _json({"verification_status": "SUCCESS" if ok else "FAILURE"})

    # -- the buyer's approval page ----------------------------------------------------------------------

    @app.get("/checkoutnow", response_class=HTMLResponse)
    async def checkout_page(token: str | None = None) -> HTMLResponse:
        order = standin.orders.get(token or "")
        if order is None:
            return HTMLResponse(message_page("This payment link is not valid",
                                             "PayPal does not know this order. Go back to the merchant and try "
                                             "again."), status_code=404)
        if order.status == "VOIDED":
            return HTMLResponse(message_page("This payment has expired",
                                             "The time to approve this payment has passed. Go back to the merchant "
                                             "to start again.", link=order.request.cancel_url), status_code=410)
        if order.status == "COMPLETED" or (order.status == "APPROVED" and order.funding != "INSTRUMENT_DECLINED"):
            return HTMLResponse(message_page("You already approved this payment",
                                             "There is nothing more to do here.", link=order.request.return_url))
        return HTMLResponse(approval_page(order))

    @app.post("/checkoutnow")
    async def checkout_decision(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        order = standin.orders.get(form.get("token", ""))
        if order is None:
            return HTMLResponse(message_page("This payment link is not valid", "PayPal does not know this order."),
                                status_code=404)
        action = form.get("action")
        if action == "cancel":
            order.cancelled_by_buyer = True
            if order.request.cancel_url:
                return RedirectResponse(with_query(order.request.cancel_url, {"token": order.id}), status_code=303)
            return HTMLResponse(message_page("Payment cancelled", "You cancelled. Nothing was paid."))
        if action != "approve":
            return HTMLResponse(approval_page(order, error="Choose Approve payment or Cancel and return."),
                                status_code=400)
        try:
            standin.approve(order, base=base(request), payer_email=form.get("payer_email") or None)
        except ValueError as exc:
            status = 410 if order.status == "VOIDED" else 409
            return HTMLResponse(message_page("This payment cannot be approved", str(exc),
                                             link=order.request.cancel_url), status_code=status)
        if order.request.return_url:
            return RedirectResponse(with_query(order.request.return_url,
                                               {"token": order.id, "PayerID": order.payer["payer_id"]}),
                                    status_code=303)
        return HTMLResponse(message_page("Payment approved", "You can close this window and return to the merchant."))

    # -- control API (tests and demos) ------------------------------------------------------------------

    def conflict(exc: ValueError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=409)

    @app.get("/_control/state")
    async def control_state() -> dict[str, Any]:
        return standin.state_json()

    @app.get("/_control/counts")
    async def control_counts() -> dict[str, int]:
        return standin.counts_json()

    @app.post("/_control/reset")
    async def control_reset() -> dict[str, Any]:
        await standin.reset()
        return standin.state_json()

    @app.post("/_control/decline-next")
    async def control_decline_next(body: DeclineNext) -> dict[str, Any]:
        standin.decline_next.extend([body.mode] * body.count)
        return {"decline_next": list(standin.decline_next)}

    @app.delete("/_control/decline-next")
    async def control_decline_clear() -> dict[str, Any]:
        standin.decline_next.clear()
        return {"decline_next": []}

    @app.get("/_control/orders")
    async def control_orders(request: Request) -> dict[str, Any]:
        return {"orders": [standin.order_debug_json(o, base(request)) for o in standin.orders.values()]}

    @app.get("/_control/orders/{order_id}")
    async def control_order(order_id: str, request: Request) -> dict[str, Any]:
        return standin.order_debug_json(standin.order(order_id), base(request))

    @app.post("/_control/orders/{order_id}/approve")
    async def control_approve(order_id: str, request: Request, body: ApproveBody | None = None) -> Any:
        order = standin.order(order_id)
        try:
            standin.approve(order, base=base(request), payer_email=body.payer_email if body else None)
        except ValueError as exc:
            return conflict(exc)
        return standin.order_debug_json(order, base(request))

    @app.post("/_control/orders/{order_id}/expire")
    async def control_expire(order_id: str, request: Request) -> Any:
        order = standin.order(order_id)
        try:
            standin.expire(order, base=base(request))
        except ValueError as exc:
            return conflict(exc)
        return standin.order_debug_json(order, base(request))

    @app.post("/_control/captures/{capture_id}/resolve")
    async def control_resolve(capture_id: str, body: ResolveBody, request: Request) -> Any:
        capture = standin.capture(capture_id)
        try:
            standin.resolve_capture(capture, body.status, base=base(request))
        except ValueError as exc:
            return conflict(exc)
        return standin.capture_json(capture, base(request), standalone=True)

    @app.post("/_control/fail-next")
    async def control_fail_next(body: FailNext) -> dict[str, Any]:
        standin.failures.append(ForcedFailure(status=body.status, count=body.count, apply=body.apply, path=body.path,
                                              method=body.method))
        return {"failures": [f.as_json() for f in standin.failures]}

    @app.delete("/_control/fail-next")
    async def control_fail_clear() -> dict[str, Any]:
        standin.failures.clear()
        return {"failures": []}

    @app.post("/_control/hold-next")
    async def control_hold_next(body: HoldNext) -> dict[str, Any]:
        standin.holds.append(HeldAnswer(seconds=body.seconds, count=body.count, path=body.path, method=body.method))
        return {"holds": [h.as_json() for h in standin.holds], "held_now": standin.held_now}

    @app.delete("/_control/hold-next")
    async def control_hold_clear() -> dict[str, Any]:
        standin.release_held()
        return {"holds": [], "held_now": standin.held_now}

    @app.get("/_control/requests")
    async def control_requests() -> dict[str, Any]:
        return {"requests": standin.requests}

    @app.post("/_control/revoke-tokens")
    async def control_revoke_tokens() -> dict[str, Any]:
        revoked = len(standin.tokens)
        standin.tokens.clear()
        return {"revoked": revoked}

    @app.get("/_control/webhooks")
    async def control_webhooks() -> dict[str, Any]:
        return standin.webhooks.as_json()

    @app.put("/_control/webhooks")
    async def control_webhooks_configure(body: WebhookSettings) -> dict[str, Any]:
        config = standin.webhooks.config
        for name in body.model_fields_set:
            setattr(config, name, getattr(body, name) if name != "event_types" else list(body.event_types or ["*"]))
        return config.as_json()

    @app.post("/_control/webhooks/release")
    async def control_webhooks_release() -> dict[str, Any]:
        standin.webhooks.config.hold = False
        return {"released": standin.webhooks.release()}

    @app.post("/_control/webhooks/duplicate-next")
    async def control_webhooks_duplicate(body: CountBody) -> dict[str, Any]:
        standin.webhooks.duplicate_next = body.count
        return {"duplicate_next": body.count}

    @app.post("/_control/webhooks/events/{event_id}/redeliver")
    async def control_webhooks_redeliver(event_id: str, request: Request, body: RedeliverBody | None = None) -> Any:
        record = standin.webhooks.find(event_id)
        if record is None:
            return JSONResponse({"error": f"no event {event_id}"}, status_code=404)
        if not standin.webhooks.config.url:
            return JSONResponse({"error": "no webhook url is configured"}, status_code=409)
        if body is not None and body.same_transmission and record.transmissions:
            transmission = standin.webhooks.copy_transmission(record, record.transmissions[0])
        else:
            transmission = standin.webhooks.new_transmission(record, base=base(request))
        standin.webhooks.transmit(record, base=base(request), transmission=transmission)
        return {"event_id": record.id, "transmission_id": transmission.transmission_id}

    return app


__all__ = ["create_app"]
