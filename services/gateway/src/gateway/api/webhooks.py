"""Platform webhooks: signed by the platform, stored before the 200."""

from __future__ import annotations

from fastapi import APIRouter, Request

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


@router.post("/shopify", response_model=WebhookAck, responses=ERRORS,
             summary="Shopify webhook (orders/create), X-Shopify-Hmac-Sha256 over the raw body")
async def shopify_webhook(request: Request) -> WebhookAck:
    raw = await _body(request)
    h = request.headers
    signature = h.get("x-shopify-hmac-sha256")
    if not signature:
        raise GatewayError(401, "missing_signature", "X-Shopify-Hmac-Sha256 header is required")
    shop, topic, webhook_id = h.get("x-shopify-shop-domain"), h.get("x-shopify-topic"), h.get("x-shopify-webhook-id")
    missing = [n for n, v in (("X-Shopify-Shop-Domain", shop), ("X-Shopify-Topic", topic),
                              ("X-Shopify-Webhook-Id", webhook_id)) if not v]
    if missing:
        raise GatewayError(400, "missing_header", f"required header(s) missing: {', '.join(missing)}")
    return await use_cases(request).webhooks.shopify(
        raw, signature=signature, shop=shop, topic=topic, webhook_id=webhook_id,
        event_id=h.get("x-shopify-event-id"), triggered_at=h.get("x-shopify-triggered-at"))
