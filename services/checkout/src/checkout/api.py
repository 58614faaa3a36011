"""checkout's internal HTTP API, called by the gateway (which authenticates the retailer and passes
`retailer_id`). Routes parse, call one use case, and map refusals to JSON 4xx answers:

    {"error": {"code": "<machine code>", "message": "<why>", ...details}}

A declined payment is not an error body: it answers 402 with the payment (status failed)."""

from __future__ import annotations

import hmac
from decimal import Decimal

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .domain import CheckoutError
from .services import Checkout
from .settings import Settings
from .views import ErrorView, PaymentRequest, PaymentView, QuoteRequest, QuoteView, UnpaidView

STATUS_BY_CODE = {
    "unauthorized": 401,
    "orders_not_found": 404,
    "payment_not_found": 404,
    "order_not_found": 404,
    "not_payable": 409,
    "payment_in_progress": 409,
    "already_paid": 409,
    "not_cancellable": 409,
    "price_check_failed": 409,
    "checkout_conflict": 409,
    "not_implemented": 501,
    "webhook_rejected": 400,
    "unknown_provider": 404,
}  # every other CheckoutError code is a 422

RetailerId = Query(min_length=1, max_length=64, description="Set by the gateway from the retailer's session.")
MaxBuyPrice = Query(default=None, gt=0, le=Decimal("999999.99"), decimal_places=2,
                    description="The retailer's maximum buy price per unit, USD (from the gateway).")

_errors = {401: {"model": ErrorView}, 404: {"model": ErrorView}, 409: {"model": ErrorView},
           422: {"model": ErrorView}}


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    retailer_id: str = Field(min_length=1, max_length=64, description="Set by the gateway from the session.")


class PaymentActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    retailer_id: str = Field(min_length=1, max_length=64, description="Set by the gateway from the session.")


class WebhookAnswer(BaseModel):
    received: bool = True
    duplicate: bool = Field(description="True: this provider event was stored before (nothing done again).")
    outcome: str


class OrderOwnerView(BaseModel):
    order_id: str
    retailer_id: str
    supplier_id: str | None
    status: str


class CancelView(BaseModel):
    order_id: str
    status: str = Field(description="cancelled")
    cancelled_now: bool = Field(description="False: it was cancelled already (nothing changed).")


def error_response(status: int, code: str, message: str, **details) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message, **details}})


def _checkout(request: Request) -> Checkout:
    return request.app.state.checkout


def build_router(settings: Settings) -> APIRouter:
    async def require_internal_token(x_internal_token: str | None = Header(default=None)) -> None:
        expected = settings.internal_token
        if expected is None:
            return
        if x_internal_token is None or not hmac.compare_digest(x_internal_token.encode(),
                                                               expected.get_secret_value().encode()):
            raise CheckoutError("unauthorized", "missing or wrong X-Internal-Token")

    router = APIRouter(prefix="/internal/v1", dependencies=[Depends(require_internal_token)], tags=["internal"])

    @router.get("/unpaid", response_model=UnpaidView, responses=_errors,
                summary="The retailer's unpaid orders, grouped by supplier")
    async def unpaid(request: Request, retailer_id: str = RetailerId,
                     max_buy_price_usd: Decimal | None = MaxBuyPrice) -> UnpaidView:
        return await _checkout(request).unpaid(retailer_id, max_buy_price_usd)

    @router.post("/quotes", response_model=QuoteView, responses=_errors,
                 summary="Price orders of one supplier in its currency and in USD")
    async def quote(request: Request, body: QuoteRequest) -> QuoteView:
        return await _checkout(request).quote(body.retailer_id, body.order_ids, body.max_buy_price_usd)

    @router.post("/payments", response_model=PaymentView, status_code=201,
                 responses={**_errors, 402: {"model": PaymentView, "description": "Declined: the payment, failed"},
                            501: {"model": ErrorView}},
                 summary="Pay one order, or several orders of one supplier (idempotent on request_id)")
    async def pay(request: Request, body: PaymentRequest) -> JSONResponse:
        view, replayed = await _checkout(request).pay(body)
        headers = {"Location": f"/internal/v1/payments/{view.payment_id}"}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        status = 402 if view.status == "failed" else 201
        return JSONResponse(status_code=status, content=view.model_dump(mode="json"), headers=headers)

    @router.post("/orders/{order_id}/cancel", response_model=CancelView, responses=_errors,
                 summary="The retailer cancels an unpaid order (idempotent; never a paid one or one being paid)")
    async def cancel(request: Request, body: CancelRequest,
                     order_id: str = Path(min_length=1, max_length=64)) -> CancelView:
        status, cancelled_now = await _checkout(request).cancel(body.retailer_id, order_id)
        return CancelView(order_id=order_id, status=status, cancelled_now=cancelled_now)

    @router.post("/payments/{payment_id}/complete", response_model=PaymentView, responses=_errors,
                 summary="The buyer is back from the provider (PayPal approval, 3-D Secure): carry the payment on")
    async def complete(request: Request, body: PaymentActionRequest,
                       payment_id: str = Path(min_length=1, max_length=64)) -> PaymentView:
        return await _checkout(request).complete(body.retailer_id, payment_id)

    @router.post("/payments/{payment_id}/cancel", response_model=PaymentView, responses=_errors,
                 summary="The buyer cancelled at the provider: release the orders (nothing is charged)")
    async def cancel_payment(request: Request, body: PaymentActionRequest,
                             payment_id: str = Path(min_length=1, max_length=64)) -> PaymentView:
        return await _checkout(request).cancel_payment(body.retailer_id, payment_id)

    @router.post("/provider-webhooks/{provider}", response_model=WebhookAnswer, responses=_errors,
                 summary="A payment provider's webhook delivery, passed through unchanged by the gateway "
                         "(raw body and headers); verified, stored once, then applied")
    async def provider_webhook(request: Request, provider: str = Path(min_length=1, max_length=32)) -> WebhookAnswer:
        body = await request.body()
        new, outcome = await _checkout(request).provider_webhook(provider, dict(request.headers), body)
        return WebhookAnswer(duplicate=not new, outcome=outcome)

    @router.get("/orders/{order_id}", response_model=OrderOwnerView, responses=_errors,
                summary="Whose an order is (retailer, supplier) and its checkout status: the gateway asks when a "
                        "supplier reports on an order its read model does not hold yet")
    async def order_owner(request: Request, order_id: str = Path(min_length=1, max_length=64)) -> OrderOwnerView:
        row = await _checkout(request).order(order_id)
        return OrderOwnerView(order_id=row.order_id, retailer_id=row.retailer_id, supplier_id=row.supplier_id,
                              status=row.status)

    @router.get("/payments/{payment_id}", response_model=PaymentView, responses=_errors, summary="One payment")
    async def get_payment(request: Request, payment_id: str, retailer_id: str = RetailerId) -> PaymentView:
        return await _checkout(request).payment(retailer_id, payment_id)

    return router


def install(app: FastAPI, checkout: Checkout, settings: Settings) -> None:
    app.state.checkout = checkout
    app.include_router(build_router(settings))

    @app.exception_handler(CheckoutError)
    async def _refused(_request: Request, exc: CheckoutError) -> JSONResponse:
        return error_response(STATUS_BY_CODE.get(exc.code, 422), exc.code, exc.message, **exc.details)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                  for e in exc.errors()]
        return error_response(422, "invalid_request", "the request is not valid", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))
