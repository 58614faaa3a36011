"""Platform webhook verification (pure functions, no I/O)."""

from __future__ import annotations

import base64
import hashlib
import hmac


def shopify_signature(raw_body: bytes, secret: str) -> str:
    """base64(HMAC-SHA256(secret, raw body)) — platforms.md §1.1 "Signature verification"."""
    return base64.b64encode(hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()).decode()


def shopify_signature_ok(raw_body: bytes, header_value: str | None, secret: str) -> bool:
    """Constant-time comparison over the raw bytes exactly as received (never re-serialised JSON)."""
    if not header_value:
        return False
    return hmac.compare_digest(shopify_signature(raw_body, secret).encode(), header_value.strip().encode())
