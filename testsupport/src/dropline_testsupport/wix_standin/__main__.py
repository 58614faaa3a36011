"""``python -m dropline_testsupport.wix_standin --port 8107 [--instance-id … --app-id … --app-secret …
--webhook-url …]``"""

from __future__ import annotations

import argparse

from .._server import add_server_arguments, serve
from .app import DEFAULT_APP_ID, DEFAULT_APP_SECRET, WEBHOOK_TIMEOUT_SECONDS, SiteConfig, create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dropline_testsupport.wix_standin",
                                     description="Wix (eCommerce) stand-in for Dropline tests and demos.")
    add_server_arguments(parser, default_port=8107)
    parser.add_argument("--instance-id", help="create this app instance (site) at start")
    parser.add_argument("--app-id", default=DEFAULT_APP_ID, help=f"the app's id (default {DEFAULT_APP_ID})")
    parser.add_argument("--app-secret", default=DEFAULT_APP_SECRET,
                        help=f"the app's secret (default {DEFAULT_APP_SECRET})")
    parser.add_argument("--site-id", help="the site id for the API-key flow (default: a new GUID)")
    parser.add_argument("--api-key", help="enable the API-key flow for the site with this key")
    parser.add_argument("--webhook-url", help="where the instance's webhooks go")
    parser.add_argument("--requests-per-minute", type=int, default=200, help="per-instance limit (Wix: 200)")
    parser.add_argument("--webhook-timeout", type=float, default=WEBHOOK_TIMEOUT_SECONDS,
                        help="webhook delivery timeout in seconds (Wix: 1.25)")
    args = parser.parse_args(argv)
    sites = []
    if args.instance_id:
        extra = {"site_id": args.site_id} if args.site_id else {}
        sites.append(SiteConfig(instance_id=args.instance_id, app_id=args.app_id, app_secret=args.app_secret,
                                webhook_url=args.webhook_url, api_key=args.api_key,
                                requests_per_minute=args.requests_per_minute, **extra))
    serve(create_app(sites=sites, webhook_timeout_seconds=args.webhook_timeout), args)


if __name__ == "__main__":
    main()
