"""The gateway's public API fuzzed from its own OpenAPI schema (schemathesis): for a bounded number of
generated requests per operation, valid and invalid, no answer is a 5xx and every documented answer
matches its schema. Against the running system (every service a process), with a retailer and a supplier
of the fuzz's own, so what it creates or refuses touches nobody else's orders.

Left out: the operator API (`/admin/v1`, an operator's own tool, behind the admin token), the live feed
(`/api/v1/orders/events`, a stream that never ends) and sign-in (`POST /api/v1/session`: its throttle
would lock the fuzz out, and the web tests cover it)."""

from __future__ import annotations

import secrets
from collections import Counter

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import Failure, FailureGroup, not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from dropline_testsupport.devstack import ADMIN_TOKEN

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION = 25



@pytest.fixture(scope="module")
def fuzz_keys(stack) -> dict[str, str]:
    """A retailer and a supplier that exist only for the fuzz; their API keys."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=stack.url("gateway"), headers=admin, timeout=30) as gw:
        retailer = gw.post("/admin/v1/retailers", json={"name": "Fuzz Retailer"})
        supplier = gw.post("/admin/v1/suppliers", json={
            "name": "Fuzz Supplier", "currency": "EUR", "auto_order": True, "payment_methods": ["card"],
            "website_url": "https://fuzz.example", "vat_rate": "0.19", "shipping_first_item": "1.00",
            "order_api_url": stack.url("supplier"), "order_api_key": "sk_fuzz_" + secrets.token_hex(8)})
        assert retailer.status_code == 201 and supplier.status_code == 201, (retailer.text, supplier.text)
    return {"retailer": retailer.json()["api_key"], "supplier": supplier.json()["api_key"]}


def _fuzz(operation, generation_mode, base_url: str, headers: dict[str, str], statuses: Counter) -> list[str]:
    """Generated requests for one operation; what went wrong, one line each (empty: nothing). `statuses`
    counts the answers by class (2xx, 4xx, …)."""
    failures: list[str] = []

    @given(case=operation.as_strategy(generation_mode=generation_mode))
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    def run(case) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        statuses[f"{response.status_code // 100}xx"] += 1
        try:
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance,
                                                     content_type_conformance])
        except (Failure, FailureGroup) as exc:
            found = exc.exceptions if isinstance(exc, FailureGroup) else (exc,)
            failures.extend(f"{operation.label} [{generation_mode.value}] {response.status_code}: "
                            f"{getattr(f, 'title', type(f).__name__)}: {str(f).strip()[:300]}" for f in found)

    try:
        run()
    except Unsatisfiable:
        # Nothing in this operation can be made invalid (no parameters, no body): no negative case exists.
        assert generation_mode is GenerationMode.NEGATIVE, operation.label
    return failures


def test_no_request_gets_a_server_error_or_an_answer_off_its_schema(stack, fuzz_keys):
    schema = (schemathesis.openapi.from_url(stack.url("gateway") + "/openapi.json")
              .exclude(path_regex="^(/admin/|/api/v1/orders/events$)").exclude(method="POST", path="/api/v1/session"))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25, [op.label for op in operations]  # the whole public API, not a handful
    failures: list[str] = []
    statuses: Counter = Counter()
    for operation in operations:
        key = fuzz_keys["supplier"] if operation.path.startswith("/supplier/") else fuzz_keys["retailer"]
        headers = {} if operation.path.startswith("/webhooks/") else {"Authorization": f"Bearer {key}"}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += _fuzz(operation, mode, stack.url("gateway"), headers, statuses)
    assert failures == []
    # Requests got through (authenticated, some accepted) and bad ones were told so; none crashed anything.
    print(f"fuzzed {len(operations)} operations: {dict(statuses)}")
    assert statuses["2xx"] > 0 and statuses["4xx"] > 0 and statuses["5xx"] == 0, statuses
