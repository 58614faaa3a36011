"""``python -m dropline_testsupport.shopify_standin --host 127.0.0.1 --port 8101 [--shop ...]``"""

from __future__ import annotations

import argparse

from .._server import add_server_arguments, serve
from .app import ShopConfig, create_app
from .webhooks import TOTAL_TIMEOUT_SECONDS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dropline_testsupport.shopify_standin",
                                     description="Shopify stand-in for Dropline tests and demos.")
    add_server_arguments(parser, default_port=8101)
    parser.add_argument("--shop", help="create this shop at start (e.g. demo-store.myshopify.com)")
    parser.add_argument("--access-token", default="shpat_standin_token", help="the shop's Admin API token")
    parser.add_argument("--webhook-secret", default="standin_webhook_secret", help="HMAC key of webhooks")
    parser.add_argument("--webhook-url", help="where orders/create webhooks go")
    parser.add_argument("--maximum-available", type=float, default=2000.0, help="GraphQL bucket size")
    parser.add_argument("--restore-rate", type=float, default=100.0, help="GraphQL points restored per second")
    parser.add_argument("--throttled-status", type=int, default=200, choices=(200, 429),
                        help="HTTP status of a throttled GraphQL response (UNCONFIRMED on Shopify; default 200)")
    parser.add_argument("--webhook-timeout", type=float, default=TOTAL_TIMEOUT_SECONDS,
                        help="total webhook delivery timeout in seconds (Shopify: 5)")
    args = parser.parse_args(argv)
    shops = []
    if args.shop:
        shops.append(ShopConfig(
            shop_domain=args.shop, access_token=args.access_token, webhook_secret=args.webhook_secret,
            webhook_url=args.webhook_url, maximum_available=args.maximum_available,
            restore_rate=args.restore_rate, throttled_status_code=args.throttled_status,
        ))
    serve(create_app(shops=shops, webhook_timeout_seconds=args.webhook_timeout), args)


if __name__ == "__main__":
    main()
