"""Platform webhooks, one route per platform (/webhooks/{platform}): signed by the platform, stored before the 200.
Payment-provider webhooks (/webhooks/payments/{provider}): passed to checkout unchanged, which verifies and stores them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from dropline_schemas.events import Platform

from ..errors import GatewayError
from ..services.payments import ProviderWebhookAck
from ..views import WebhookAck
from .common import ERRORS, settings, use_cases

router = APIRouter(prefix="/webhooks", tags=["platform webhooks"])


async def _body(request: Request) -> bytes:
    limit = settings(request).max_webhook_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise GatewayError(413, "too_large", f"body over {limit} bytes")
    raw = await request.body()
    if len(raw) > limit:
        raise GatewayError(413, "too_large", f"body over {limit} bytes")
    return raw


@router.post("/{platform}", name="platform_webhook", response_model=WebhookAck, responses=ERRORS,
             summary="A store platform's webhook, verified exactly as that platform signs it",
             description="Shopify: X-Shopify-Hmac-Sha256 over the raw body. Ecwid: X-Ecwid-Webhook-Signature over "
                         "'{eventCreated}.{eventId}'. BigCommerce: Standard Webhooks signature plus the header secret "
                         "Dropline set on the hook. Wix: the body is an RS256 JWT. Tampered or stale: 401, nothing stored.")
async def platform_webhook(request: Request, platform: Platform) -> WebhookAck:
    raw = await _body(request)
    return await use_cases(request).webhooks.receive(platform, raw, request.headers)


Provider = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$",
                               description="stripe | paypal", examples=["stripe"])]


@router.post("/payments/{provider}", name="payment_provider_webhook", response_model=ProviderWebhookAck,
             responses=ERRORS, tags=["payment webhooks"],
             summary="A payment provider's webhook (Stripe, PayPal), passed to checkout exactly as it came",
             description="The raw body and the headers go to checkout unchanged; it verifies the delivery as the "
                         "provider signs it (Stripe-Signature over the raw body; PayPal's transmission headers) and "
                         "stores each provider event once. 400 webhook_rejected: not genuine, nothing stored; 404: "
                         "no such provider; 413: body too large; 503: checkout is not answering, deliver again.")
async def payment_provider_webhook(request: Request, provider: Provider) -> ProviderWebhookAck:
    raw = await _body(request)
    return await use_cases(request).payments.provider_webhook(provider, raw, request.headers)
