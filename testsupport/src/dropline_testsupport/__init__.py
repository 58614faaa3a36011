"""Test support for Dropline: honest local stand-ins for the outside systems Dropline talks to.

- ``dropline_testsupport.shopify_standin``: a multi-shop Shopify (orders/create webhooks, Admin GraphQL
  fulfilment write-back, calculated-cost rate limiting), following /work/shared/spec/platforms.md §1.
- ``dropline_testsupport.supplier_standin``: an auto-order supplier implementing the order API contract that
  Dropline publishes for suppliers (see docs/supplier-api.md).

Both are FastAPI apps built by ``create_app(...)`` (usable in-process through ``httpx.ASGITransport``) and
runnable with ``python -m <module> --host 127.0.0.1 --port N``.
"""
