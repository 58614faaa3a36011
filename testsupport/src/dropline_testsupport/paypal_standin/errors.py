"""PayPal's REST error bodies: ``{name, message, debug_id, details: [{field?, value?, location?, issue,
description}], links: [{href, rel: "information_link", method: "GET"}]}`` (Orders v2, Payments v2), and the
OAuth / v1 variants. A handler raises :class:`PayPalError`; the app turns it into the JSON answer with a
``Paypal-Debug-Id`` header."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import JSONResponse

MESSAGES = {
    "INVALID_REQUEST": "Request is not well-formed, syntactically incorrect, or violates schema.",
    "UNPROCESSABLE_ENTITY": "The requested action could not be performed, semantically incorrect, or failed "
                            "business validation.",
    "RESOURCE_NOT_FOUND": "The specified resource does not exist.",
    "AUTHENTICATION_FAILURE": "Authentication failed due to invalid authentication credentials or a missing "
                              "Authorization header.",
    "NOT_AUTHORIZED": "Authorization failed due to insufficient permissions.",
    "INTERNAL_SERVER_ERROR": "An internal server error has occurred.",
    "SERVICE_UNAVAILABLE": "Service Unavailable.",
    "RATE_LIMIT_REACHED": "Too many requests. Blocked due to rate limiting.",
    "VALIDATION_ERROR": "Invalid request - see details",
}

# Descriptions as PayPal words them (Orders v2 / Payments v2 error pages; clients must not depend on them).
DESCRIPTIONS = {
    "MISSING_REQUIRED_PARAMETER": "A required field / parameter is missing.",
    "INVALID_PARAMETER_VALUE": "The value of a field is invalid.",
    "INVALID_PARAMETER_SYNTAX": "The value of a field does not conform to the expected format.",
    "INVALID_STRING_LENGTH": "The value of a field is either too short or too long.",
    "INVALID_STRING_MAX_LENGTH": "The value of a field is too long.",
    "INVALID_ARRAY_MAX_ITEMS": "The number of items in an array parameter is too large.",
    "INVALID_ARRAY_MIN_ITEMS": "The number of items in an array parameter is too small.",
    "MALFORMED_REQUEST_JSON": "The request JSON is not well formed.",
    "AMOUNT_MISMATCH": "Should equal item_total + tax_total + shipping + handling + insurance - shipping_discount "
                       "- discount.",
    "ITEM_TOTAL_MISMATCH": "Should equal sum of (unit_amount * quantity) across all items for a given purchase_unit",
    "ITEM_TOTAL_REQUIRED": "If item details are specified (items.unit_amount and items.quantity) corresponding "
                           "amount.breakdown.item_total is required.",
    "TAX_TOTAL_MISMATCH": "Should equal sum of (tax * quantity) across all items for a given purchase_unit",
    "TAX_TOTAL_REQUIRED": "If item details are specified (items.tax and items.quantity) corresponding "
                          "amount.breakdown.tax_total is required.",
    "CURRENCY_MISMATCH": "Currency code should be the same for all amounts of a purchase unit.",
    "CURRENCY_NOT_SUPPORTED": "Currency code is unknown or is not supported. Please refer to "
                              "https://developer.paypal.com/docs/api/reference/currency-codes/ for list of "
                              "supported currency codes.",
    "DECIMAL_PRECISION": "If the currency supports decimals, only two decimal place precision is supported.",
    "DECIMALS_NOT_SUPPORTED": "Currency code does not support decimals.",
    "CANNOT_BE_ZERO_OR_NEGATIVE": "Must be greater than zero. If the currency supports decimals, only two decimal "
                                  "place precision is supported.",
    "CANNOT_BE_NEGATIVE": "Must be greater than or equal to 0. If the currency supports decimals, only two "
                          "decimal place precision is supported.",
    "DUPLICATE_REFERENCE_ID": "`reference_id` must be unique if multiple `purchase_unit` are provided.",
    "REFERENCE_ID_REQUIRED": "'reference_id' is required for each 'purchase_unit' if multiple 'purchase_unit' "
                             "are provided.",
    "INVALID_RESOURCE_ID": "Specified resource ID does not exist. Please check the resource ID and try again.",
    "ORDER_NOT_APPROVED": "Payer has not yet approved the Order for payment. Please redirect the payer to the "
                          "'rel':'approve' url returned as part of the HATEOAS links within the Create Order call "
                          "or provide a valid `payment_source` in the request.",
    "ORDER_ALREADY_CAPTURED": "Order already captured.If 'intent=CAPTURE' only one capture per order is allowed.",
    "ORDER_ALREADY_AUTHORIZED": "Order already authorized.If 'intent=AUTHORIZE' only one authorization per order "
                                "is allowed.",
    "ACTION_DOES_NOT_MATCH_INTENT": "Order was created with an intent to 'AUTHORIZE'. Please use "
                                    "v2/checkout/orders/order_id/authorize to complete the transaction or "
                                    "alternately create an order with an intent of 'CAPTURE'.",
    "INSTRUMENT_DECLINED": "The instrument presented  was either declined by the processor or bank, or it can't "
                           "be used for this payment.",
    "DUPLICATE_INVOICE_ID": "Duplicate Invoice ID detected. To avoid a potential duplicate transaction your "
                            "account setting requires that Invoice Id be unique for each transaction.",
    "REFUND_AMOUNT_EXCEEDED": "The refund amount must be less than or equal to the capture amount that has not "
                              "yet been refunded.",
    "CAPTURE_FULLY_REFUNDED": "The capture has already been fully refunded",
    "REFUND_CAPTURE_CURRENCY_MISMATCH": "Refund must be in the same currency as the capture.",
    "TRANSACTION_REFUSED": "The request was refused.",
    "PAYMENT_SOURCE_NOT_SUPPORTED": "The stand-in implements the PayPal wallet only (payment_source.paypal).",
}

ORDERS_INFO = "https://developer.paypal.com/api/rest/reference/orders/v2/errors/#{issue}"
PAYMENTS_INFO = "https://developer.paypal.com/docs/api/payments/v2/#error-{issue}"
OVERVIEW_INFO = "https://developer.paypal.com/docs/api/overview/#error"


def debug_id() -> str:
    """PayPal's debug ids: 13 lowercase hex characters (``ca19ccaf4b939``)."""
    return secrets.token_hex(7)[:13]


@dataclass
class PayPalError(Exception):
    status: int
    name: str
    details: list[dict[str, Any]] = field(default_factory=list)
    info: str = ORDERS_INFO
    message: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def body(self, debug: str) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "message": self.message or MESSAGES.get(self.name, self.name),
                                "debug_id": debug}
        if self.details:
            body["details"] = self.details
        topic = self.details[0]["issue"] if self.details else self.name
        body["links"] = [{"href": self.info.format(issue=topic), "rel": "information_link", "method": "GET"}]
        return body

    def response(self) -> JSONResponse:
        debug = debug_id()
        return JSONResponse(self.body(debug), status_code=self.status,
                            headers={"Paypal-Debug-Id": debug, **self.headers})


def issue(name: str, *, field_path: str | None = None, value: Any = None, location: str | None = "body",
          description: str | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = {}
    if field_path is not None:
        detail["field"] = field_path
    if value is not None:
        detail["value"] = str(value)
    if location is not None and field_path is not None:
        detail["location"] = location
    detail["issue"] = name
    detail["description"] = description or DESCRIPTIONS.get(name, name)
    return detail


def invalid_request(name: str, field_path: str | None = None, value: Any = None, location: str = "body",
                    description: str | None = None) -> PayPalError:
    return PayPalError(400, "INVALID_REQUEST", [issue(name, field_path=field_path, value=value, location=location,
                                                      description=description)])


def unprocessable(name: str, field_path: str | None = None, value: Any = None, *, info: str = ORDERS_INFO,
                  location: str = "body") -> PayPalError:
    return PayPalError(422, "UNPROCESSABLE_ENTITY",
                       [issue(name, field_path=field_path, value=value, location=location)], info=info)


def not_found(field_name: str, value: str, *, info: str = ORDERS_INFO) -> PayPalError:
    return PayPalError(404, "RESOURCE_NOT_FOUND",
                       [issue("INVALID_RESOURCE_ID", field_path=field_name, value=value, location="path")], info=info)


def authentication_failure() -> PayPalError:
    return PayPalError(401, "AUTHENTICATION_FAILURE", info=OVERVIEW_INFO)


def forced(status: int) -> PayPalError:
    """What the control API's forced failures answer (5xx or 429), in PayPal's shape."""
    if status == 429:
        return PayPalError(429, "RATE_LIMIT_REACHED", info=OVERVIEW_INFO, headers={"Retry-After": "1"})
    if status == 500:
        return PayPalError(500, "INTERNAL_SERVER_ERROR", info=OVERVIEW_INFO)
    if 500 <= status <= 599:
        return PayPalError(status, "SERVICE_UNAVAILABLE", info=OVERVIEW_INFO)
    return PayPalError(status, "INVALID_REQUEST", info=OVERVIEW_INFO)
