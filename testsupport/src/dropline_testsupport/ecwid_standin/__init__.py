"""Ecwid by Lightspeed stand-in: REST API v3 (orders, profile) of many stores, thin signed webhooks.

Follows /work/shared/spec/platforms.md §3. Run it with
``python -m dropline_testsupport.ecwid_standin --port 8105 [--store-id 1003 ...]`` or build it in-process
with :func:`create_app`. Dropline's ``api_base_url`` for a store is ``http://HOST:PORT/api/v3/{storeId}``
(against Ecwid: ``https://app.ecwid.com/api/v3/{storeId}``).

Control API (JSON; test and demo only):
    POST   /_control/stores                        {store_id, secret_token, client_secret, currency="USD",
                                                   webhook_url=null, store_name} → 201 (200 if replaced)
    GET    /_control/stores | /_control/stores/{id}
    POST   /_control/stores/{id}/orders[?webhook=false]
                                                   body: an order in Ecwid's own JSON (as GET /orders/{id}
                                                   returns it); missing id/internalId/orderNumber/
                                                   vendorOrderNumber/dates are assigned, paymentStatus
                                                   defaults to PAID, fulfillmentStatus to AWAITING_PROCESSING
                                                   → 201 {"order": stored, "webhook": sent | null}
                                                   (sends order.created)
    GET    /_control/stores/{id}/orders            {"orders": [...]}
    GET    /_control/stores/{id}/orders/{orderId}  {"order": as stored, "writes": [{"at", "body"}]} (API PUTs),
                                                   "tracking_number" (now), "tracking_history": [{"at",
                                                   "previous", "trackingNumber", "trackingUrl"}] (every
                                                   change of the number)
    POST   /_control/stores/{id}/orders/{orderId}/status  {paymentStatus?, fulfillmentStatus?}
                                                   → {"order", "webhook"} (sends order.updated)
    DELETE /_control/stores/{id}/orders/{orderId}  → {"deleted", "webhook"} (sends order.deleted)
    POST   /_control/stores/{id}/failures          {status: 500|5xx|429, seconds, retry_after=1}: every API
                                                   call of the store answers that status for that long
    DELETE /_control/stores/{id}/failures
    GET    /_control/webhooks[?store_id=]          {"drop_next", "webhooks": [{id, event, url, headers, body,
                                                   dropped, attempts: [{at, status_code, response_body,
                                                   error, duration_ms}]}]}
    POST   /_control/webhooks/drop                 {count}: the next N webhooks are recorded, never sent
    POST   /_control/webhooks/{webhookId}/redeliver → the webhook with its attempts, plus "ok"
    POST   /_control/rate-limit                    {requests, window_seconds} per token (Ecwid: 600 / 60)
    POST   /_control/reset
"""

from .app import EcwidStandin, StoreConfig, create_app, ecwid_date
from .webhooks import SIGNATURE_HEADER, SUCCESS_CODES, sign_webhook, with_event_type

__all__ = ["SIGNATURE_HEADER", "SUCCESS_CODES", "EcwidStandin", "StoreConfig", "create_app", "ecwid_date",
           "sign_webhook", "with_event_type"]
