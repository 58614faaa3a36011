"""``python -m dropline_testsupport.paypal_standin --port 8109 [--webhook-url URL --webhook-id ID]``"""

from __future__ import annotations

import argparse

from .._server import add_server_arguments, serve
from .app import create_app
from .state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_WEBHOOK_ID
from .webhooks import DEFAULT_MAX_ATTEMPTS, DEFAULT_RETRY_DELAY_SECONDS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dropline_testsupport.paypal_standin",
                                     description="PayPal (Orders v2, refunds, webhooks) stand-in for Dropline tests "
                                                 "and demos.")
    add_server_arguments(parser, default_port=8109)
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID, help="the REST app's client id")
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET, help="the REST app's client secret")
    parser.add_argument("--webhook-url", help="the listener webhooks are POSTed to (none: events are not sent)")
    parser.add_argument("--webhook-id", default=DEFAULT_WEBHOOK_ID,
                        help="the webhook's id (part of every signature; give the same to verify-webhook-signature)")
    parser.add_argument("--public-url",
                        help="base URL written into links, the approval URL and PAYPAL-CERT-URL (default: the URL "
                             "each request came in on)")
    parser.add_argument("--webhook-attempts", type=int, default=DEFAULT_MAX_ATTEMPTS,
                        help=f"delivery attempts per transmission (default {DEFAULT_MAX_ATTEMPTS})")
    parser.add_argument("--webhook-retry-delay", type=float, default=DEFAULT_RETRY_DELAY_SECONDS,
                        help=f"seconds before the first retry, doubling after (default {DEFAULT_RETRY_DELAY_SECONDS})")
    args = parser.parse_args(argv)
    serve(create_app(client_id=args.client_id, client_secret=args.client_secret, webhook_url=args.webhook_url,
                     webhook_id=args.webhook_id, public_url=args.public_url,
                     webhook_max_attempts=args.webhook_attempts,
                     webhook_retry_delay_seconds=args.webhook_retry_delay), args)


if __name__ == "__main__":
    main()
