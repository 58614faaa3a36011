"""The documented Wix samples (platforms.md §4.2), shared by the Wix tests."""

from __future__ import annotations

import copy
import json
from typing import Any

# platforms.md §4.2 "Minimal example of the decoded Order Approved event", verbatim.
APPROVED_EVENT: dict[str, Any] = json.loads("""
{
  "id": "6c4e4a8e-0a3e-4a5b-9f2a-7a1a0d1e2b3c",
  "entityFqdn": "wix.ecom.v1.order", "slug": "approved",
  "entityId": "58c9a790-27b7-463f-a865-c7cb494f7c29", "eventTime": "2025-05-01T10:00:00Z",
  "actionEvent": { "body": { "order": {
    "id": "58c9a790-27b7-463f-a865-c7cb494f7c29", "number": "10001", "status": "APPROVED",
    "paymentStatus": "PAID", "fulfillmentStatus": "NOT_FULFILLED", "currency": "USD",
    "buyerInfo": { "email": "jane@example.com" },
    "lineItems": [ { "id": "00000000-0000-0000-0000-000000000001",
      "productName": { "original": "T-shirt" },
      "catalogReference": { "catalogItemId": "df19c1f7-07d8-a265-42f8-e8dfa824cc6e",
                            "appId": "<wix-stores-app-id>", "options": { "variantId": "00000000-0000-0020-0005-ad9cdc10d3b8" } },
      "quantity": 2, "physicalProperties": { "sku": "TS-RED-M", "shippable": true },
      "price": { "amount": "20.00" }, "taxDetails": { "taxRate": "0.08", "totalTax": { "amount": "3.20" } } } ],
    "shippingInfo": { "code": "standard", "title": "Standard",
      "logistics": { "shippingDestination": {
        "address": { "country": "US", "subdivision": "US-NY", "city": "New York", "postalCode": "10001",
                     "addressLine": "1 Main St", "addressLine2": "Apt 2" },
        "contactDetails": { "firstName": "Jane", "lastName": "Doe", "phone": "+1 555 0100" } } },
      "cost": { "price": { "amount": "5.00" } } },
    "taxSummary": { "totalTax": { "amount": "3.20" } },
    "priceSummary": { "subtotal": { "amount": "40.00" }, "shipping": { "amount": "5.00" },
                      "tax": { "amount": "3.20" }, "total": { "amount": "48.20" } } } } }
}
""")
ORDER_ID = "58c9a790-27b7-463f-a865-c7cb494f7c29"
LINE_ID = "00000000-0000-0000-0000-000000000001"


def sample_order(**changes: Any) -> dict[str, Any]:
    order = copy.deepcopy(APPROVED_EVENT["actionEvent"]["body"]["order"])
    order.update(changes)
    return order
