"""Ecwid samples shared by the Ecwid adapter tests."""

from __future__ import annotations

import copy
from typing import Any

import pytest

# platforms.md §3.2 "Minimal example" (composed from the legacy docs example + the DTO names), verbatim.
SAMPLE_ORDER: dict[str, Any] = {
    "id": "XJ12H", "internalId": 103878161, "email": "michael@example.com",
    "paymentStatus": "PAID", "fulfillmentStatus": "AWAITING_PROCESSING",
    "subtotal": 40.0, "tax": 3.2, "total": 53.2, "pricesIncludeTax": False,
    "items": [{"id": 1000001, "productId": 667251253, "combinationId": 0, "sku": "TSHIRT-RED-M",
               "name": "T-shirt", "quantity": 2, "price": 20.0}],
    "shippingPerson": {"name": "Michael Scott", "companyName": "", "street": "555 Lackawanna Ave",
                       "city": "Scranton", "countryCode": "US", "postalCode": "18508",
                       "stateOrProvinceCode": "PA", "phone": ""},
    "shippingOption": {"shippingCarrierName": "USPS", "shippingMethodName": "USPS Priority Mail",
                       "shippingRate": 10.0, "isPickup": False},
    "taxesOnShipping": [{"name": "State tax", "value": 6, "total": 0.6}],
    "trackingNumber": None,
}


@pytest.fixture
def sample_order() -> dict[str, Any]:
    return copy.deepcopy(SAMPLE_ORDER)
