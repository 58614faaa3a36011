"""PayPal stand-in: Orders v2, Payments v2 refunds, OAuth client credentials, the buyer's approval page and
signed webhooks with online verification (``/work/shared/spec/payments.md`` §3). Details: ``README.md`` here.

Run it with ``python -m dropline_testsupport.paypal_standin --port 8109`` (options: ``--client-id``,
``--client-secret``, ``--webhook-url``, ``--webhook-id``, ``--public-url``, ``--webhook-attempts``,
``--webhook-retry-delay``) or build it in-process with :func:`create_app` (``app.state.standin`` is the
:class:`PayPalStandin`; ``await standin.webhooks.drain()`` waits for deliveries in flight).

API (Bearer token from ``POST /v1/oauth2/token`` on every call but the token and certificate endpoints):
    POST /v1/oauth2/token                               Basic client_id:secret, grant_type=client_credentials
    POST /v2/checkout/orders                            PayPal-Request-Id, Prefer: return=minimal|representation
    GET  /v2/checkout/orders/{id}
    POST /v2/checkout/orders/{id}/capture               PayPal-Request-Id, Prefer
    POST /v2/payments/captures/{capture_id}/refund      PayPal-Request-Id, Prefer; amount optional (= what is left)
    GET  /v2/payments/captures/{capture_id}
    GET  /v2/payments/refunds/{refund_id}
    GET  /v1/notifications/certs/{cert_id}              the webhook signing certificate (PEM, no auth)
    POST /v1/notifications/verify-webhook-signature     → {"verification_status": "SUCCESS" | "FAILURE"}
    GET  /checkoutnow?token={order_id}                  the buyer's approval page (HTML); POST /checkoutnow decides

Control API (JSON; test and demo only):
    GET    /_control/state | /_control/counts          counts: orders_created, orders_approved, captures_made,
                                                       captures_completed, refunds_made, tokens_issued
    POST   /_control/reset                             everything but issued tokens and start-up config
    POST   /_control/decline-next                      {mode: INSTRUMENT_DECLINED|CAPTURE_DECLINED|CAPTURE_PENDING,
                                                       count: 1}: what the next approvals' captures do
    DELETE /_control/decline-next
    GET    /_control/orders | /_control/orders/{id}    order JSON plus funding, request ids, return/cancel URLs
    POST   /_control/orders/{id}/approve               {payer_email?}: what the approval page's button does
    POST   /_control/orders/{id}/expire                → VOIDED (CHECKOUT.PAYMENT-APPROVAL.REVERSED if approved)
    POST   /_control/captures/{id}/resolve             {status: COMPLETED|DECLINED} for a PENDING capture
    POST   /_control/fail-next                         {status: 503, count: 1, apply: before|after, path?, method?}
    DELETE /_control/fail-next
    POST   /_control/hold-next                         {seconds, count: 1, path? (regex), method?}: the call takes
                                                       effect, then its answer is held (state: holds, held_now)
    DELETE /_control/hold-next                         pending holds dropped; held answers go back now
    GET    /_control/requests                          every /v1 and /v2 call (method, path, PayPal-Request-Id,
                                                       Prefer, body, status_code, forced_failure)
    POST   /_control/revoke-tokens                     every issued token stops working (401)
    GET    /_control/webhooks                          config, cert_id and every event with its transmissions
    PUT    /_control/webhooks                          {url?, webhook_id?, event_types?, hold?, max_attempts?,
                                                       retry_delay_seconds?} (partial update)
    POST   /_control/webhooks/release                  hold off; send every queued transmission
    POST   /_control/webhooks/duplicate-next           {count}: the next N events are delivered twice
    POST   /_control/webhooks/events/{event_id}/redeliver  {same_transmission: false}: resend (new transmission)
"""

from .app import create_app
from .state import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_WEBHOOK_ID,
    Capture,
    Order,
    PayPalStandin,
    Refund,
)
from .webhooks import AUTH_ALGO, SigningKey, WebhookConfig, canonical_body, signed_message

__all__ = ["AUTH_ALGO", "DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "DEFAULT_WEBHOOK_ID", "Capture", "Order",
           "PayPalStandin", "Refund", "SigningKey", "WebhookConfig", "canonical_body", "create_app",
           "signed_message"]
