"""`python -m gateway.openapi` prints the gateway's OpenAPI schema (the web app's client is
generated from it: `make openapi`)."""

import json

from .app import create_app
from .settings import Settings


def schema() -> dict:
    return create_app(Settings(environment="test", web_dir=None)).openapi()


if __name__ == "__main__":
    print(json.dumps(schema(), indent=2, sort_keys=True))
