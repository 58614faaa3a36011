"""``python -m dropline_testsupport.ecwid_standin --port 8105 [--store-id 1003 --secret-token ... ]``"""

from __future__ import annotations

import argparse

from .._server import add_server_arguments, serve
from .app import DEFAULT_REQUESTS_PER_MINUTE, StoreConfig, create_app
from .webhooks import TOTAL_TIMEOUT_SECONDS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dropline_testsupport.ecwid_standin",
                                     description="Ecwid by Lightspeed stand-in for Dropline tests and demos.")
    add_server_arguments(parser, default_port=8105)
    parser.add_argument("--store-id", help="create this store at start (digits, e.g. 1003)")
    parser.add_argument("--secret-token", default="secret_standin_token", help="the store's REST API token")
    parser.add_argument("--client-secret", default="standin_client_secret",
                        help="the app's client_secret: key of the webhook signatures")
    parser.add_argument("--currency", default="USD", help="the store's currency (profile formatsAndUnits)")
    parser.add_argument("--webhook-url", help="where the app's webhooks go (?eventtype= is appended)")
    parser.add_argument("--requests-per-minute", type=int, default=DEFAULT_REQUESTS_PER_MINUTE,
                        help="REST requests per minute per token (Ecwid: 600)")
    parser.add_argument("--webhook-timeout", type=float, default=TOTAL_TIMEOUT_SECONDS,
                        help="total webhook delivery timeout in seconds (Ecwid: 10)")
    args = parser.parse_args(argv)
    stores = []
    if args.store_id:
        stores.append(StoreConfig(store_id=args.store_id, secret_token=args.secret_token,
                                  client_secret=args.client_secret, currency=args.currency,
                                  webhook_url=args.webhook_url))
    serve(create_app(stores=stores, requests_per_minute=args.requests_per_minute,
                     webhook_timeout_seconds=args.webhook_timeout), args)


if __name__ == "__main__":
    main()
