"""Platform webhooks, one route per platform (/webhooks/{platform}): signed by the platform, stored before the 200."""

from __future__ import annotations

from fastapi import APIRouter, Request

from dropline_schemas.events import Platform

from ..errors import GatewayError
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
