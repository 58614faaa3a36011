"""The supplier API: auto-order suppliers report tracking for the orders forwarded to them, or that
they cannot fulfil one (docs/supplier-api.md, parts B and C)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse

from ..errors import GatewayError
from ..models import Supplier
from ..views import RejectionAccepted, RejectionIn, TrackingAccepted, TrackingCorrectionAccepted
from .common import ERRORS, Id, bearer, use_cases
from .retailer import CORRECTION_REFUSALS, TrackingCorrectionIn, TrackingIn

router = APIRouter(prefix="/supplier/v1", tags=["supplier API"], responses=ERRORS)


async def current_supplier(request: Request, authorization: Annotated[str | None, Header()] = None) -> Supplier:
    key = bearer(authorization)
    if not key:
        raise GatewayError(401, "unauthorized", "send the supplier API key as 'Authorization: Bearer <key>'")
    supplier = await use_cases(request).accounts.supplier_by_api_key(key)
    if supplier is None:
        raise GatewayError(401, "unauthorized", "unknown API key")
    return supplier


@router.post("/orders/{order_id}/tracking", status_code=201, response_model=TrackingAccepted,
             summary="Report tracking for a shipped order",
             responses={200: {"model": TrackingAccepted, "description": "This number was already there"}})
async def supplier_add_tracking(request: Request, order_id: Id, body: TrackingIn,
                                supplier: Annotated[Supplier, Depends(current_supplier)]):
    out = await use_cases(request).orders.supplier_adds_tracking(
        supplier.supplier_id, order_id, body.tracking_number, body.carrier,
        str(body.tracking_url) if body.tracking_url else None, body.supplier_order_id, body.lines_asked())
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if out.status == "accepted" else 200)


@router.post("/orders/{order_id}/tracking/{tracking_id}/correction", status_code=201,
             response_model=TrackingCorrectionAccepted, summary="Correct a wrong tracking number the supplier reported",
             description="Only a number the supplier reported (source supplier): 403 not_your_report otherwise. "
                         + CORRECTION_REFUSALS,
             responses={200: {"model": TrackingCorrectionAccepted, "description": "Corrected to this number already"}})
async def supplier_correct_tracking(request: Request, order_id: Id, tracking_id: Id, body: TrackingCorrectionIn,
                                    supplier: Annotated[Supplier, Depends(current_supplier)]):
    out = await use_cases(request).orders.supplier_corrects_tracking(
        supplier.supplier_id, order_id, tracking_id, body.tracking_number, body.carrier, body.url(), body.reason)
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if out.status == "accepted" else 200)


@router.post("/orders/{order_id}/rejection", status_code=201, response_model=RejectionAccepted,
             summary="Report that an order cannot be fulfilled",
             description=("The supplier rejects an order Dropline forwarded to it and has not shipped. Dropline "
                          "refunds the retailer the order's share of the payment. One rejection per order: a "
                          "repeated report answers 200 with the first. 409 when the order was not forwarded to "
                          "this supplier yet (not_forwarded), has tracking (already_shipped) or is closed "
                          "(already_closed); 404 for an order that is not this supplier's."),
             responses={200: {"model": RejectionAccepted, "description": "Reported already: the first report"}})
async def supplier_reject_order(request: Request, order_id: Id, body: RejectionIn,
                                supplier: Annotated[Supplier, Depends(current_supplier)]):
    out = await use_cases(request).orders.supplier_rejects(supplier.supplier_id, order_id, body.reason,
                                                           body.supplier_order_id)
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if out.status == "accepted" else 200)
