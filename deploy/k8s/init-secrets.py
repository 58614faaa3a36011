#!/usr/bin/env python3
"""Create the secret files an overlay's secretGenerator reads (deploy/k8s/overlays/<name>/secrets/).

    python3 deploy/k8s/init-secrets.py deploy/k8s/overlays/production

Generates the values Dropline itself owns (the Fernet key shared by gateway, forwarder and
tracking-sync; the operator token; the checkout internal token) when their file is missing,
never overwriting one. Lists the values only the operator can supply (database URLs, the Stripe
key, the Kafka cluster CA) and checks every file for a trailing newline, which would end up
inside the environment variable. Standard library only. Exits 1 while something is missing.
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
from pathlib import Path

SERVICES = ("gateway", "order-ingest", "checkout", "forwarder", "tracking-sync")

GENERATED = {
    # Fernet key: urlsafe base64 of 32 random bytes. The SAME value must reach all three services
    # that read store/supplier credentials, which is why it is one Secret (dropline-secrets-key).
    "secrets-key": lambda: base64.urlsafe_b64encode(os.urandom(32)).decode(),
    "gateway-admin-token": lambda: secrets.token_urlsafe(32),
    "checkout-internal-token": lambda: secrets.token_urlsafe(32),
}

SUPPLIED = {
    **{
        f"{s}-database-url": f"PostgreSQL URL of {s}'s own database, e.g. "
        f"postgresql://{s.replace('-', '_')}:PASSWORD@postgres.example:5432/dropline_{s.replace('-', '_')}"
        for s in SERVICES
    },
    "stripe-api-key": "Stripe secret key (sk_live_... in production, sk_test_... for a dev cluster)",
    "stripe-webhook-secret": "Signing secret of the Stripe webhook endpoint https://<gateway>/webhooks/payments/stripe "
    "(whsec_..., shown in the Stripe dashboard)",
    "paypal-client-id": "PayPal REST app client id (developer.paypal.com, Apps & Credentials)",
    "paypal-client-secret": "PayPal REST app secret",
    "paypal-webhook-id": "Id PayPal shows for the webhook https://<gateway>/webhooks/payments/paypal",
    "kafka-cluster-ca.crt": (
        "Strimzi cluster CA certificate: kubectl -n kafka get secret dropline-cluster-ca-cert "
        "-o jsonpath='{.data.ca\\.crt}' | base64 -d > <this file>"
    ),
}

# Files holding one-line values; a trailing newline would become part of the value.
ONE_LINE = set(GENERATED) | {k for k in SUPPLIED if not k.endswith(".crt")}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    secrets_dir = Path(argv[1]) / "secrets"
    if not (Path(argv[1]) / "kustomization.yaml").is_file():
        print(f"{argv[1]} is not an overlay (no kustomization.yaml)", file=sys.stderr)
        return 2
    secrets_dir.mkdir(exist_ok=True)
    missing = []
    for name, make in GENERATED.items():
        path = secrets_dir / name
        if not path.exists():
            path.write_text(make())  # no trailing newline
            path.chmod(0o600)
            print(f"generated  {path}")
    for name, what in SUPPLIED.items():
        if not (secrets_dir / name).exists():
            missing.append((secrets_dir / name, what))
    bad = [
        p
        for p in sorted(secrets_dir.iterdir())
        if p.name in ONE_LINE and p.read_bytes() != p.read_bytes().strip()
    ]
    for path in bad:
        print(f"WHITESPACE {path}: remove the trailing newline/spaces (write it with printf '%s' ...)")
    for path, what in missing:
        print(f"MISSING    {path}: {what}")
    return 1 if (missing or bad) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
