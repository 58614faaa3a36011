"""``python -m dropline_testsupport.bigcommerce_standin --port 8106 [--store-hash ... --access-token ...
--client-secret ... --webhook-url ... --header-secret ...]``"""

from __future__ import annotations

import argparse

from .._server import add_server_arguments, serve
from .app import StoreConfig, create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dropline_testsupport.bigcommerce_standin",
                                     description="BigCommerce stand-in for Dropline tests and demos.")
    add_server_arguments(parser, default_port=8106)
    parser.add_argument("--store-hash", help="create this store at start (e.g. abc123)")
    parser.add_argument("--store-id", help="its numeric store_id (default: generated)")
    parser.add_argument("--access-token", default="bc_standin_token", help="the store's X-Auth-Token")
    parser.add_argument("--client-id", default="standin_client_id", help="the app's client id")
    parser.add_argument("--client-secret", default="standin_client_secret",
                        help="the app's client secret: the Standard Webhooks signing key")
    parser.add_argument("--webhook-url", help="register hooks for store/order/created, updated, statusUpdated here")
    parser.add_argument("--header-name", default="X-Dropline-Webhook-Secret",
                        help="custom header set on those hooks (default X-Dropline-Webhook-Secret)")
    parser.add_argument("--header-secret", help="value of that custom header")
    parser.add_argument("--quota", type=int, default=150, help="requests per window (Standard: 150)")
    parser.add_argument("--window-seconds", type=float, default=30.0, help="quota window (30 s)")
    parser.add_argument("--strict-destinations", action="store_true",
                        help="refuse hook destinations that are not https on port 443 (as BigCommerce does)")
    parser.add_argument("--webhook-timeout", type=float, default=10.0, help="webhook delivery timeout (s)")
    args = parser.parse_args(argv)
    stores = []
    if args.store_hash:
        stores.append(StoreConfig(
            store_hash=args.store_hash, store_id=args.store_id, access_token=args.access_token,
            client_id=args.client_id, client_secret=args.client_secret, quota=args.quota,
            window_seconds=args.window_seconds, strict_destinations=args.strict_destinations,
            webhook_url=args.webhook_url, header_name=args.header_name, header_secret=args.header_secret))
    serve(create_app(stores=stores, webhook_timeout_seconds=args.webhook_timeout), args)


if __name__ == "__main__":
    main()
