"""The stand-in's state and rules: OAuth tokens, orders, captures, refunds, PayPal-Request-Id replays, the
decline switch, forced failures, and the JSON PayPal answers with (Orders v2, Payments v2)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import datetime as dt
import hashlib
import hmac
import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import httpx

from .errors import (
    PAYMENTS_INFO,
    authentication_failure,
    invalid_request,
    not_found,
    unprocessable,
)
from .validation import OrderRequest, decimals, format_value, money, parse_money, unit_path
from .webhooks import SigningKey, WebhookConfig, WebhookSender, iso_seconds

DEFAULT_CLIENT_ID = "dropline_local_paypal_client_id"
DEFAULT_CLIENT_SECRET = "dropline_local_paypal_client_secret"
DEFAULT_WEBHOOK_ID = "DROPLINELOCALWEBHOOK"
TOKEN_TTL_SECONDS = 32400  # what PayPal's token endpoint answers in expires_in
APP_ID = "APP-80W284485P519543T"
MERCHANT_EMAIL = "merchant@business.example.com"  # the API caller's own account (no payee given)
FEE_RATE = Decimal("0.0349")  # PayPal checkout fee used for seller_receivable_breakdown (UNCONFIRMED figures)
FEE_FIXED = Decimal("0.49")
_ID_ALPHABET = string.ascii_uppercase + string.digits
_MERCHANT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # [2-9A-HJ-NP-Z]

Funding = Literal["OK", "INSTRUMENT_DECLINED", "CAPTURE_DECLINED", "CAPTURE_PENDING"]
REFUNDABLE = ("COMPLETED", "PARTIALLY_REFUNDED")
SELLER_PROTECTION = {"status": "ELIGIBLE", "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"]}


def paypal_id() -> str:
    """17 upper-case letters and digits (``5O190127TN364715T``): orders, captures, refunds."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))


def merchant_id_for(email: str) -> str:
    digest = hashlib.sha256(email.lower().encode()).digest()
    return "".join(_MERCHANT_ALPHABET[b % len(_MERCHANT_ALPHABET)] for b in digest[:13])


def resolve_payee(payee: dict[str, str] | None) -> dict[str, str]:
    if not payee:
        return {"email_address": MERCHANT_EMAIL, "merchant_id": merchant_id_for(MERCHANT_EMAIL)}
    email = payee.get("email_address")
    merchant = payee.get("merchant_id")
    if email and not merchant:
        merchant = merchant_id_for(email)
    if merchant and not email:
        email = f"{merchant.lower()}@business.example.com"
    return {"email_address": email, "merchant_id": merchant}


def _quantize(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-decimals(currency)), rounding=ROUND_HALF_UP)


def paypal_fee(amount: Decimal, currency: str) -> Decimal:
    fixed = FEE_FIXED * 100 if decimals(currency) == 0 else FEE_FIXED
    return min(amount, _quantize(amount * FEE_RATE + fixed, currency))


@dataclass
class Capture:
    id: str
    order_id: str
    reference_id: str
    status: str  # COMPLETED | DECLINED | PENDING | PARTIALLY_REFUNDED | REFUNDED | FAILED
    currency: str
    amount: Decimal
    payee: dict[str, str]
    invoice_id: str | None
    custom_id: str | None
    create_time: dt.datetime
    update_time: dt.datetime
    reason: str | None = None  # status_details.reason
    refund_ids: list[str] = field(default_factory=list)


@dataclass
class Refund:
    id: str
    capture_id: str
    status: str  # COMPLETED
    currency: str
    amount: Decimal
    fee: Decimal
    invoice_id: str | None
    custom_id: str | None
    note_to_payer: str | None
    create_time: dt.datetime
    update_time: dt.datetime


@dataclass
class Order:
    id: str
    request: OrderRequest
    status: str  # CREATED | PAYER_ACTION_REQUIRED | APPROVED | COMPLETED | VOIDED
    create_time: dt.datetime
    update_time: dt.datetime | None = None
    payer: dict[str, Any] | None = None
    wallet: dict[str, Any] | None = None  # payment_source.paypal once approved
    funding: Funding = "OK"
    capture_ids: list[str] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)  # PayPal-Request-Ids seen for this order (any call)
    cancelled_by_buyer: bool = False

    @property
    def intent(self) -> str:
        return self.request.intent


@dataclass
class ForcedFailure:
    status: int
    count: int
    apply: Literal["before", "after"] = "before"
    path: str | None = None  # substring of the request path; None = every API call
    method: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.count > 0 and (self.path is None or self.path in path)
                and (self.method is None or self.method.upper() == method.upper()))

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "count": self.count, "apply": self.apply, "path": self.path,
                "method": self.method}


@dataclass
class HeldAnswer:
    """``/_control/hold-next``: the call takes effect, then its answer is held ``seconds`` (a client that dies
    meanwhile never learns that it happened)."""

    seconds: float
    count: int = 1
    path: str | None = None  # regular expression searched in the request path; None = every API call
    method: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.count > 0 and (self.path is None or re.search(self.path, path) is not None)
                and (self.method is None or self.method.upper() == method.upper()))

    def as_json(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "count": self.count, "path": self.path, "method": self.method}


class PayPalStandin:
    """Everything one stand-in process knows."""

    def __init__(self, *, client_id: str = DEFAULT_CLIENT_ID, client_secret: str = DEFAULT_CLIENT_SECRET,
                 webhook: WebhookConfig | None = None, public_url: str | None = None,
                 webhook_transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], dt.datetime] | None = None, signing_key: SigningKey | None = None):
        self.client_id = client_id
        self.client_secret = client_secret
        self.public_url = public_url.rstrip("/") if public_url else None
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._initial_webhook = copy.deepcopy(webhook or WebhookConfig(webhook_id=DEFAULT_WEBHOOK_ID))
        self.key = signing_key or SigningKey()
        self.webhooks = WebhookSender(key=self.key, config=copy.deepcopy(self._initial_webhook),
                                      transport=webhook_transport, clock=self.clock)
        self.tokens: dict[str, dt.datetime] = {}  # access token -> expiry (kept across reset, as PayPal's are)
        self.tokens_issued = 0
        self._clear()

    def _clear(self) -> None:
        self.orders: dict[str, Order] = {}
        self.captures: dict[str, Capture] = {}
        self.refunds: dict[str, Refund] = {}
        self.create_keys: dict[str, str] = {}  # PayPal-Request-Id -> order id
        self.capture_keys: dict[tuple[str, str], str] = {}  # (order id, PayPal-Request-Id) -> order id
        self.refund_keys: dict[tuple[str, str], str] = {}  # (capture id, PayPal-Request-Id) -> refund id
        self.counts = {"orders_created": 0, "orders_approved": 0, "captures_made": 0, "captures_completed": 0,
                       "refunds_made": 0}
        self.decline_next: list[Funding] = []
        self.failures: list[ForcedFailure] = []
        self.holds: list[HeldAnswer] = []
        self.held_now = 0  # answers being held right now
        self._release: asyncio.Event | None = None
        self.requests: list[dict[str, Any]] = []

    async def reset(self) -> None:
        """Orders, captures, refunds, keys, switches, failures, events gone; start-up webhook config back.
        Issued access tokens stay valid (a client keeps its cached token)."""
        self.release_held()
        self._clear()
        await self.webhooks.reset()
        self.webhooks.config = copy.deepcopy(self._initial_webhook)

    def base(self, request_base: str) -> str:
        return self.public_url or request_base.rstrip("/")

    # -- OAuth ----------------------------------------------------------------------------------------

    def issue_token(self, authorization: str | None) -> dict[str, Any] | None:
        """Client credentials in HTTP Basic → a bearer token (None: invalid_client)."""
        if not authorization or not authorization.lower().startswith("basic "):
            return None
        try:
            decoded = base64.b64decode(authorization.split(" ", 1)[1].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, _, secret = decoded.partition(":")
        if not (hmac.compare_digest(client_id, self.client_id) and hmac.compare_digest(secret, self.client_secret)):
            return None
        token = "A21AA" + secrets.token_urlsafe(66)
        now = self.clock()
        self.tokens[token] = now + dt.timedelta(seconds=TOKEN_TTL_SECONDS)
        self.tokens_issued += 1
        return {"scope": "https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/payments/"
                         "refund https://uri.paypal.com/services/applications/webhooks openid",
                "access_token": token, "token_type": "Bearer", "app_id": APP_ID, "expires_in": TOKEN_TTL_SECONDS,
                "nonce": iso_seconds(now) + secrets.token_urlsafe(32)}

    def authorize(self, authorization: str | None) -> None:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise authentication_failure()
        token = authorization.split(" ", 1)[1].strip()
        expiry = self.tokens.get(token)
        if expiry is None or expiry <= self.clock():
            raise authentication_failure()

    # -- orders ---------------------------------------------------------------------------------------

    def order(self, order_id: str) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise not_found("order_id", order_id)
        return order

    def create_order(self, req: OrderRequest, request_id: str | None) -> tuple[Order, bool]:
        if request_id and request_id in self.create_keys:
            return self.orders[self.create_keys[request_id]], False
        order_id = paypal_id()
        while order_id in self.orders:
            order_id = paypal_id()
        status = "PAYER_ACTION_REQUIRED" if req.payment_source is not None else "CREATED"
        order = Order(id=order_id, request=req, status=status, create_time=self.clock())
        self.orders[order_id] = order
        self.counts["orders_created"] += 1
        if request_id:
            self.create_keys[request_id] = order_id
            order.request_ids.append(request_id)
        return order, True

    def approve(self, order: Order, *, base: str, payer_email: str | None = None) -> Order:
        """The buyer approved on the approval page (or through the control API)."""
        re_approval = order.status == "APPROVED" and order.funding == "INSTRUMENT_DECLINED"
        if order.status not in ("CREATED", "PAYER_ACTION_REQUIRED") and not re_approval:
            raise ValueError(f"the order is {order.status}; only a CREATED or PAYER_ACTION_REQUIRED order can be "
                             "approved")
        order.funding = self.decline_next.pop(0) if self.decline_next else "OK"
        payer_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(13))
        email = payer_email or "buyer@personal.example.com"
        name = {"given_name": "Standin", "surname": "Buyer"}
        order.payer = {"name": name, "email_address": email, "payer_id": payer_id, "address": {"country_code": "US"}}
        order.wallet = {"email_address": email, "account_id": payer_id, "account_status": "VERIFIED", "name": name,
                        "address": {"country_code": "US"}}
        order.status = "APPROVED"
        order.update_time = self.clock()
        self.counts["orders_approved"] += 1
        self.webhooks.emit(base=base, event_type="CHECKOUT.ORDER.APPROVED", resource_type="checkout-order",
                           summary="An order has been approved by buyer", resource=self.order_json(order, base))
        return order

    def expire(self, order: Order, *, base: str) -> Order:
        """The approval window passed (3 h by default): the order is VOIDED and can never be captured."""
        if order.status == "COMPLETED":
            raise ValueError("a COMPLETED order does not expire")
        if order.status == "VOIDED":
            return order
        was_approved = order.status == "APPROVED"
        order.status = "VOIDED"
        order.update_time = self.clock()
        if was_approved:
            units = [{"reference_id": u["reference_id"], "amount": money(u["currency"], u["total"])}
                     for u in order.request.purchase_units]
            self.webhooks.emit(base=base, event_type="CHECKOUT.PAYMENT-APPROVAL.REVERSED",
                               resource_type="checkout-order", summary="A payment has been reversed after approval.",
                               resource={"order_id": order.id, "purchase_units": units})
        return order

    def capture_order(self, order: Order, request_id: str | None, *, base: str) -> tuple[Order, bool]:
        if request_id and (order.id, request_id) in self.capture_keys:
            return order, False  # the earlier capture, as it stands now
        if order.intent != "CAPTURE":
            raise unprocessable("ACTION_DOES_NOT_MATCH_INTENT")
        if order.status == "COMPLETED":
            raise unprocessable("ORDER_ALREADY_CAPTURED")
        if order.status != "APPROVED":
            # VOIDED (expired) orders also answer this: PayPal documents no separate issue (UNCONFIRMED).
            raise unprocessable("ORDER_NOT_APPROVED")
        if order.funding == "INSTRUMENT_DECLINED":
            raise unprocessable("INSTRUMENT_DECLINED")  # the order stays APPROVED: the buyer may pick another
        for unit in order.request.purchase_units:
            if unit["invoice_id"] and self._invoice_taken(unit["invoice_id"], resolve_payee(unit["payee"]), order.id):
                raise unprocessable("DUPLICATE_INVOICE_ID", f"{unit_path(unit['reference_id'])}/invoice_id",
                                    unit["invoice_id"])
        now = self.clock()
        status, reason = {"OK": ("COMPLETED", None), "CAPTURE_DECLINED": ("DECLINED", "DECLINED_BY_RISK_FRAUD_FILTERS"),
                          "CAPTURE_PENDING": ("PENDING", "PENDING_REVIEW")}[order.funding]
        for unit in order.request.purchase_units:
            capture = Capture(id=self._new_id(self.captures), order_id=order.id, reference_id=unit["reference_id"],
                              status=status, reason=reason, currency=unit["currency"], amount=unit["total"],
                              payee=resolve_payee(unit["payee"]), invoice_id=unit["invoice_id"],
                              custom_id=unit["custom_id"], create_time=now, update_time=now)
            self.captures[capture.id] = capture
            order.capture_ids.append(capture.id)
            self.counts["captures_made"] += 1
            if status == "COMPLETED":
                self.counts["captures_completed"] += 1
        order.status = "COMPLETED"
        order.update_time = now
        if request_id:
            self.capture_keys[(order.id, request_id)] = order.id
            order.request_ids.append(request_id)
        for capture_id in order.capture_ids:
            self._capture_event(self.captures[capture_id], base=base)
        return order, True

    def _invoice_taken(self, invoice_id: str, payee: dict[str, str], order_id: str) -> bool:
        return any(c.invoice_id == invoice_id and c.order_id != order_id and c.payee == payee
                   and c.status != "DECLINED" for c in self.captures.values())

    def _new_id(self, taken: dict[str, Any]) -> str:
        new = paypal_id()
        while new in taken:
            new = paypal_id()
        return new

    def _capture_event(self, capture: Capture, *, base: str, denied: bool = False) -> None:
        amount = f"{capture.currency} {format_value(capture.amount, capture.currency)} {capture.currency}"
        event_type, summary = {
            "COMPLETED": ("PAYMENT.CAPTURE.COMPLETED", f"Payment completed for {amount}"),
            "PENDING": ("PAYMENT.CAPTURE.PENDING", f"Payment pending for {amount}"),
            "DECLINED": ("PAYMENT.CAPTURE.DECLINED", f"A payment capture for {amount} was declined."),
        }[capture.status]
        if denied:
            event_type, summary = "PAYMENT.CAPTURE.DENIED", f"A {amount} capture payment was denied"
        self.webhooks.emit(base=base, event_type=event_type, resource_type="capture", summary=summary,
                           resource=self.capture_json(capture, base, standalone=True))

    def resolve_capture(self, capture: Capture, outcome: str, *, base: str) -> Capture:
        """A PENDING capture completes (PAYMENT.CAPTURE.COMPLETED) or is denied (PAYMENT.CAPTURE.DENIED)."""
        if capture.status != "PENDING":
            raise ValueError(f"the capture is {capture.status}; only a PENDING capture can be resolved")
        capture.status = "COMPLETED" if outcome == "COMPLETED" else "DECLINED"
        capture.reason = None if outcome == "COMPLETED" else capture.reason
        capture.update_time = self.clock()
        if capture.status == "COMPLETED":
            self.counts["captures_completed"] += 1
        self._capture_event(capture, base=base, denied=capture.status == "DECLINED")
        return capture

    # -- refunds --------------------------------------------------------------------------------------

    def capture(self, capture_id: str) -> Capture:
        capture = self.captures.get(capture_id)
        if capture is None:
            raise not_found("capture_id", capture_id, info=PAYMENTS_INFO)
        return capture

    def refund(self, refund_id: str) -> Refund:
        refund = self.refunds.get(refund_id)
        if refund is None:
            raise not_found("refund_id", refund_id, info=PAYMENTS_INFO)
        return refund

    def refunded(self, capture: Capture) -> Decimal:
        return sum((self.refunds[r].amount for r in capture.refund_ids), Decimal(0))

    def refund_capture(self, capture: Capture, body: dict[str, Any], request_id: str | None, *,
                       base: str) -> tuple[Refund, bool]:
        if request_id and (capture.id, request_id) in self.refund_keys:
            return self.refunds[self.refund_keys[(capture.id, request_id)]], False
        if capture.status == "REFUNDED":
            raise unprocessable("CAPTURE_FULLY_REFUNDED", info=PAYMENTS_INFO)
        if capture.status not in REFUNDABLE:
            # A PENDING or DECLINED capture holds no money to give back (the exact issue is UNCONFIRMED).
            raise unprocessable("TRANSACTION_REFUSED", info=PAYMENTS_INFO)
        remaining = capture.amount - self.refunded(capture)
        amount = remaining
        if body.get("amount") is not None:
            currency, amount = parse_money(body["amount"], "/amount", positive=True, info=PAYMENTS_INFO)
            if currency != capture.currency:
                raise unprocessable("REFUND_CAPTURE_CURRENCY_MISMATCH", "/amount/currency_code", currency,
                                    info=PAYMENTS_INFO)
            if amount > remaining:
                raise unprocessable("REFUND_AMOUNT_EXCEEDED", "/amount/value", body["amount"].get("value"),
                                    info=PAYMENTS_INFO)
        texts = {}
        for key, limit in (("note_to_payer", 255), ("invoice_id", 127), ("custom_id", 127)):
            value = body.get(key)
            if value is not None and (not isinstance(value, str) or not 1 <= len(value) <= limit):
                raise invalid_request("INVALID_STRING_LENGTH", f"/{key}", value)
            texts[key] = value
        now = self.clock()
        total_fee = paypal_fee(capture.amount, capture.currency)
        fee = _quantize(total_fee * amount / capture.amount, capture.currency)
        refund = Refund(id=self._new_id(self.refunds), capture_id=capture.id, status="COMPLETED",
                        currency=capture.currency, amount=amount, fee=min(fee, amount),
                        invoice_id=texts["invoice_id"] or capture.invoice_id,
                        custom_id=texts["custom_id"] or capture.custom_id, note_to_payer=texts["note_to_payer"],
                        create_time=now, update_time=now)
        self.refunds[refund.id] = refund
        capture.refund_ids.append(refund.id)
        capture.status = "REFUNDED" if amount == remaining else "PARTIALLY_REFUNDED"
        capture.update_time = now
        self.counts["refunds_made"] += 1
        if request_id:
            self.refund_keys[(capture.id, request_id)] = refund.id
        value = f"{refund.currency} {format_value(refund.amount, refund.currency)} {refund.currency}"
        self.webhooks.emit(base=base, event_type="PAYMENT.CAPTURE.REFUNDED", resource_type="refund",
                           summary=f"A {value} capture payment was refunded", resource=self.refund_json(refund, base))
        return refund, True

    # -- representations ------------------------------------------------------------------------------

    def order_links(self, order: Order, base: str) -> list[dict[str, str]]:
        href = f"{base}/v2/checkout/orders/{order.id}"
        links = [{"href": href, "rel": "self", "method": "GET"}]
        approve = {"href": f"{base}/checkoutnow?token={order.id}", "method": "GET"}
        action = "capture" if order.intent == "CAPTURE" else "authorize"
        if order.status == "CREATED":
            links += [{**approve, "rel": "approve"}, {"href": href, "rel": "update", "method": "PATCH"},
                      {"href": f"{href}/{action}", "rel": action, "method": "POST"}]
        elif order.status == "PAYER_ACTION_REQUIRED":
            links.append({**approve, "rel": "payer-action"})
        elif order.status == "APPROVED":
            links += [{"href": href, "rel": "update", "method": "PATCH"},
                      {"href": f"{href}/{action}", "rel": action, "method": "POST"}]
        return [{"href": link["href"], "rel": link["rel"], "method": link["method"]} for link in links]

    def unit_json(self, order: Order, unit: dict[str, Any], base: str, *, payments_only: bool = False
                  ) -> dict[str, Any]:
        out: dict[str, Any] = {"reference_id": unit["reference_id"]}
        if not payments_only:
            out["amount"] = copy.deepcopy(unit["amount"])
            out["payee"] = resolve_payee(unit["payee"])
            for key in ("description", "custom_id", "invoice_id", "soft_descriptor"):
                if unit[key] is not None:
                    out[key] = unit[key]
            if unit["items"] is not None:
                out["items"] = copy.deepcopy(unit["items"])
        if order.payer is not None and order.request.shipping_preference != "NO_SHIPPING":
            out["shipping"] = {"name": {"full_name": "Standin Buyer"},
                               "address": {"address_line_1": "1 Main St", "admin_area_2": "San Jose",
                                           "admin_area_1": "CA", "postal_code": "95131", "country_code": "US"}}
        captures = [self.captures[c] for c in order.capture_ids if self.captures[c].reference_id == unit["reference_id"]]
        if captures:
            payments: dict[str, Any] = {"captures": [self.capture_json(c, base) for c in captures]}
            refunds = [self.refunds[r] for c in captures for r in c.refund_ids]
            if refunds:
                payments["refunds"] = [self.refund_json(r, base) for r in refunds]
            out["payments"] = payments
        return out

    def order_json(self, order: Order, base: str, view: Literal["full", "minimal", "capture"] = "full"
                   ) -> dict[str, Any]:
        links = self.order_links(order, base)
        source = {"paypal": copy.deepcopy(order.wallet)} if order.wallet else (
            {"paypal": {}} if order.request.payment_source is not None else None)
        if view == "minimal":
            out: dict[str, Any] = {"id": order.id, "status": order.status}
            if source is not None:
                out["payment_source"] = source
            out["links"] = links
            return out
        if view == "capture":
            out = {"id": order.id, "status": order.status}
            if source is not None:
                out["payment_source"] = source
            out["purchase_units"] = [self.unit_json(order, u, base, payments_only=True)
                                     for u in order.request.purchase_units]
            if order.payer is not None:
                out["payer"] = copy.deepcopy(order.payer)
            out["links"] = links
            return out
        out = {"id": order.id, "intent": order.intent, "status": order.status}
        if source is not None:
            out["payment_source"] = source
        out["purchase_units"] = [self.unit_json(order, u, base) for u in order.request.purchase_units]
        if order.payer is not None:
            out["payer"] = copy.deepcopy(order.payer)
        out["create_time"] = iso_seconds(order.create_time)
        if order.update_time is not None:
            out["update_time"] = iso_seconds(order.update_time)
        out["links"] = links
        return out

    def capture_json(self, capture: Capture, base: str, *, standalone: bool = False) -> dict[str, Any]:
        href = f"{base}/v2/payments/captures/{capture.id}"
        out: dict[str, Any] = {"id": capture.id, "status": capture.status}
        if capture.reason:
            out["status_details"] = {"reason": capture.reason}
        out["amount"] = money(capture.currency, capture.amount)
        out["final_capture"] = True
        out["seller_protection"] = copy.deepcopy(SELLER_PROTECTION) if capture.status != "DECLINED" else {
            "status": "NOT_ELIGIBLE"}
        breakdown = {"gross_amount": money(capture.currency, capture.amount)}
        if capture.status != "DECLINED":
            fee = paypal_fee(capture.amount, capture.currency)
            breakdown["paypal_fee"] = money(capture.currency, fee)
            breakdown["net_amount"] = money(capture.currency, capture.amount - fee)
        else:
            breakdown["net_amount"] = money(capture.currency, capture.amount)
        out["seller_receivable_breakdown"] = breakdown
        if capture.invoice_id:
            out["invoice_id"] = capture.invoice_id
        if capture.custom_id:
            out["custom_id"] = capture.custom_id
        if standalone:
            out["supplementary_data"] = {"related_ids": {"order_id": capture.order_id}}
            out["payee"] = dict(capture.payee)
        links = [{"href": href, "rel": "self", "method": "GET"}]
        if capture.status in REFUNDABLE:
            links.append({"href": f"{href}/refund", "rel": "refund", "method": "POST"})
        links.append({"href": f"{base}/v2/checkout/orders/{capture.order_id}", "rel": "up", "method": "GET"})
        out["links"] = links
        out["create_time"] = iso_seconds(capture.create_time)
        out["update_time"] = iso_seconds(capture.update_time)
        return out

    def refund_json(self, refund: Refund, base: str, *, minimal: bool = False) -> dict[str, Any]:
        links = [{"href": f"{base}/v2/payments/refunds/{refund.id}", "rel": "self", "method": "GET"},
                 {"href": f"{base}/v2/payments/captures/{refund.capture_id}", "rel": "up", "method": "GET"}]
        if minimal:
            return {"id": refund.id, "status": refund.status, "links": links}
        capture = self.captures[refund.capture_id]
        total = sum((self.refunds[r].amount for r in capture.refund_ids[: capture.refund_ids.index(refund.id) + 1]),
                    Decimal(0))
        out: dict[str, Any] = {"id": refund.id, "amount": money(refund.currency, refund.amount)}
        if refund.invoice_id:
            out["invoice_id"] = refund.invoice_id
        if refund.custom_id:
            out["custom_id"] = refund.custom_id
        if refund.note_to_payer:
            out["note_to_payer"] = refund.note_to_payer
        out["seller_payable_breakdown"] = {
            "gross_amount": money(refund.currency, refund.amount),
            "paypal_fee": money(refund.currency, refund.fee),
            "net_amount": money(refund.currency, refund.amount - refund.fee),
            "total_refunded_amount": money(refund.currency, total),
        }
        out["status"] = refund.status
        out["create_time"] = iso_seconds(refund.create_time)
        out["update_time"] = iso_seconds(refund.update_time)
        out["links"] = links
        return out

    # -- forced failures ------------------------------------------------------------------------------

    def take_failure(self, method: str, path: str) -> ForcedFailure | None:
        for failure in self.failures:
            if failure.matches(method, path):
                failure.count -= 1
                if failure.count <= 0:
                    self.failures.remove(failure)
                return failure
        return None

    # -- held answers -------------------------------------------------------------------------------

    def take_hold(self, method: str, path: str) -> HeldAnswer | None:
        for hold in self.holds:
            if hold.matches(method, path):
                hold.count -= 1
                if hold.count <= 0:
                    self.holds.remove(hold)
                return hold
        return None

    async def hold_answer(self, seconds: float) -> None:
        """Wait ``seconds`` (or until :meth:`release_held`) before an answer goes back."""
        if self._release is None:
            self._release = asyncio.Event()
        release = self._release
        self.held_now += 1
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(release.wait(), timeout=seconds)
        finally:
            self.held_now -= 1

    def release_held(self) -> None:
        """Pending holds dropped; answers being held go back now."""
        self.holds.clear()
        if self._release is not None:
            self._release.set()
        self._release = None

    def counts_json(self) -> dict[str, int]:
        return {**self.counts, "tokens_issued": self.tokens_issued}

    def state_json(self) -> dict[str, Any]:
        return {"counts": self.counts_json(), "decline_next": list(self.decline_next),
                "failures": [f.as_json() for f in self.failures], "holds": [h.as_json() for h in self.holds],
                "held_now": self.held_now, "webhooks": self.webhooks.config.as_json(),
                "cert_id": self.key.cert_id, "client_id": self.client_id, "public_url": self.public_url}

    def order_debug_json(self, order: Order, base: str) -> dict[str, Any]:
        return {"order": self.order_json(order, base), "funding": order.funding, "request_ids": order.request_ids,
                "return_url": order.request.return_url, "cancel_url": order.request.cancel_url,
                "cancelled_by_buyer": order.cancelled_by_buyer}

