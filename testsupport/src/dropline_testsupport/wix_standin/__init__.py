"""Wix stand-in: app instances (sites), OAuth client-credentials tokens, eCom orders, search, order
fulfillments, RS256-JWT webhooks and a control API. Follows /work/shared/spec/platforms.md §4.

Run it with ``python -m dropline_testsupport.wix_standin --port 8107`` or build it in-process with
:func:`create_app`. See README.md in this package for the control API.
"""

from .app import SiteConfig, WixStandin, create_app
from .signing import AppKeys, webhook_claims

__all__ = ["AppKeys", "SiteConfig", "WixStandin", "create_app", "webhook_claims"]
