"""The app's key pair and Wix-shaped webhook JWTs (platforms.md §4.1).

Wix signs every webhook with the app's private key (RS256, a ``kid`` in the header); the app verifies with
the public key from its dashboard ("Get Public Key"). Claims: ``data`` (a JSON *string* of
``{eventType, instanceId, data: <JSON string of the event>, identity: <JSON string>}``), ``iat``, ``exp``.
Wix's sample token lives 300,000 s, which the stand-in copies by default.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

WEBHOOK_TTL_SECONDS = 300_000


@dataclass
class AppKeys:
    """One app's RSA key pair, made when the app is first seen."""

    kid: str = field(default_factory=lambda: secrets.token_urlsafe(6))
    private_key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), repr=False)

    @property
    def public_key_pem(self) -> str:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid})


def webhook_claims(*, event_type: str, instance_id: str, event: dict[str, Any], app_id: str, now: datetime,
                   ttl_seconds: int = WEBHOOK_TTL_SECONDS) -> dict[str, Any]:
    iat = int(now.timestamp())
    outer = {"data": json.dumps(event, separators=(",", ":")), "instanceId": instance_id,
             "eventType": event_type,
             "identity": json.dumps({"identityType": "APP", "appId": app_id}, separators=(",", ":"))}
    return {"data": json.dumps(outer, separators=(",", ":")), "iat": iat, "exp": iat + ttl_seconds}
