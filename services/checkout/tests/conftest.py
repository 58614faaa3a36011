"""Fixtures shared by checkout's unit and integration tests: order factories and a fake provider."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from checkout.adapters.port import (
    BuyerAction,
    ChargeRequest,
    Declined,
    NotFoundAtProvider,
    Outcome,
    ProviderEvent,
    ProviderPayment,
    ProviderRefund,
    ProviderUnavailable,
    RefundRequest,
    Rejected,
    WebhookRejected,
)
from dropline_schemas.events import (
    DroplineOrder,
    OrderLine,
    OrderReceivedV1,
    OrderStatus,
    PaymentMethod,
    Platform,
    StoreTotals,
    SupplierTerms,
)


def terms(supplier_id: str = "sup-eu", *, currency: str = "EUR", methods=("card",), vat: str = "0.21",
          first: str = "5.00", additional: str = "1.50", auto_order: bool = True, name: str | None = None
          ) -> SupplierTerms:
    return SupplierTerms(supplier_id=supplier_id, name=name or f"Supplier {supplier_id}", currency=currency,
                         auto_order=auto_order, payment_methods=[PaymentMethod(m) for m in methods],
                         vat_rate=Decimal(vat), shipping_first_item=Decimal(first),
                         shipping_additional_item=Decimal(additional))


_numbers = itertools.count(100001)


def order(*lines: tuple[str, int], retailer_id: str = "ret-1", supplier: SupplierTerms | None = None,
          status: OrderStatus = OrderStatus.UNPAID, order_id: str | None = None) -> DroplineOrder:
    """An order with (unit_cost, quantity) lines; unit_cost None-able via 'none'."""
    supplier = supplier if supplier is not None or status == OrderStatus.UNMATCHED else terms()
    oid = order_id or str(uuid.uuid4())
    return DroplineOrder(
        order_id=oid, order_number=f"D{next(_numbers)}", retailer_id=retailer_id, store_id="store-1",
        platform=Platform.SHOPIFY, platform_order_id=str(uuid.uuid4().int % 10**12), status=status,
        supplier=supplier,
        lines=[OrderLine(line_id=f"{oid}-{i}", platform_line_id=str(i), sku=f"SKU{i}", title=f"Item {i}", quantity=q,
                         unit_price=Decimal("19.99"), matched=status != OrderStatus.UNMATCHED,
                         supplier_sku=f"S-SKU{i}", unit_cost=None if c == "none" else Decimal(c))
               for i, (c, q) in enumerate(lines or [("10.00", 1)])],
        store_totals=StoreTotals(currency="USD", total=Decimal("19.99")))


def received(o: DroplineOrder) -> OrderReceivedV1:
    return OrderReceivedV1.create(data=o, producer="order-ingest", tenant_id=o.retailer_id,
                                  correlation_id=f"store-order-{o.platform_order_id}")


@pytest.fixture
def make_order():
    return order


@pytest.fixture
def make_terms():
    return terms


@pytest.fixture
def make_received():
    return received


@dataclass
class FakeProvider:
    """An in-memory card provider with Stripe's PaymentIntent states, behind checkout's payment port.

    Payment methods: pm_card_visa succeeds; pm_card_chargeCustomerFail is declined at confirm;
    pm_card_authenticationRequired needs 3-D Secure (`authenticate` plays the buyer); pm_unknown
    does not exist. `fail_next` makes the next call of that kind ("create", "confirm", "retrieve",
    "cancel", "refund") raise ProviderUnavailable without doing anything; `crash_after_create`
    raises SimulatedCrash after the intent was created (a process dying)."""

    name: str = "stripe"
    method: PaymentMethod = PaymentMethod.CARD
    intents: dict[str, dict] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    fail_next: set[str] = field(default_factory=set)
    crash_after_create: bool = False
    crash_after_refund: bool = False

    def _maybe_fail(self, kind: str) -> None:
        if kind in self.fail_next:
            self.fail_next.discard(kind)
            raise ProviderUnavailable(f"simulated network error on {kind}")

    def _view(self, pi: dict) -> ProviderPayment:
        outcome = {"requires_confirmation": Outcome.READY, "requires_action": Outcome.ACTION_REQUIRED,
                   "succeeded": Outcome.SUCCEEDED, "canceled": Outcome.CANCELLED,
                   "requires_payment_method": Outcome.DECLINED, "processing": Outcome.PENDING}[pi["status"]]
        action = (BuyerAction(type="authenticate_card", client_secret=f"{pi['id']}_secret_x")
                  if outcome is Outcome.ACTION_REQUIRED else None)
        return ProviderPayment(reference=pi["id"], outcome=outcome, amount_minor=pi["amount"],
                               reason=pi.get("failure"), action=action)

    async def open(self, req: ChargeRequest) -> ProviderPayment:
        self.calls.append(("create", req.payment_id))
        self._maybe_fail("create")
        if req.payment_method == "pm_unknown":
            raise NotFoundAtProvider("No such PaymentMethod")
        pi = {"id": f"pi_{uuid.uuid4().hex[:14]}", "status": "requires_confirmation", "amount": req.amount_minor,
              "pm": req.payment_method, "metadata": dict(req.metadata)}
        self.intents[pi["id"]] = pi
        if self.crash_after_create:
            raise SimulatedCrash("process died after creating the PaymentIntent")
        return self._view(pi)

    async def charge(self, *, payment_id, reference) -> ProviderPayment:
        self.calls.append(("confirm", reference))
        self._maybe_fail("confirm")
        pi = self.intents[reference]
        if pi["status"] != "requires_confirmation":
            raise Rejected("payment provider refused the request: unexpected state")
        if pi["pm"] == "pm_card_chargeCustomerFail":
            pi["status"], pi["failure"] = "requires_payment_method", "Your card was declined."
            raise Declined("Your card was declined. (card_declined)", reference)
        pi["status"] = "requires_action" if pi["pm"] == "pm_card_authenticationRequired" else "succeeded"
        return self._view(pi)

    def authenticate(self, reference: str, success: bool) -> None:
        """The buyer answers the 3-D Secure dialog (what stripe.js does at Stripe)."""
        pi = self.intents[reference]
        assert pi["status"] == "requires_action"
        if success:
            pi["status"] = "succeeded"
        else:
            pi["status"], pi["failure"] = "requires_payment_method", "authentication failed"

    async def look_up(self, reference) -> ProviderPayment:
        self.calls.append(("retrieve", reference))
        self._maybe_fail("retrieve")
        return self._view(self.intents[reference])

    async def abandon(self, *, payment_id, reference) -> ProviderPayment:
        self.calls.append(("cancel", reference))
        self._maybe_fail("cancel")
        pi = self.intents[reference]
        if pi["status"] not in ("succeeded", "canceled"):
            pi["status"] = "canceled"
        return self._view(pi)

    async def refund(self, req: RefundRequest) -> ProviderRefund:
        self.calls.append(("refund", req.refund_id))
        self._maybe_fail("refund")
        existing = next((r for r in self.refunds.values() if r["refund_id"] == req.refund_id), None)
        if existing is None:
            pi = self.intents[req.reference]
            assert pi["status"] == "succeeded", "refund of a payment that did not succeed"
            left = pi["amount"] - sum(r["amount"] for r in self.refunds.values() if r["pi"] == req.reference)
            if req.amount_minor > left:
                raise Rejected(f"refund of {req.amount_minor} exceeds what is left ({left})")
            existing = {"id": f"re_{uuid.uuid4().hex[:14]}", "refund_id": req.refund_id, "pi": req.reference,
                        "amount": req.amount_minor}
            self.refunds[existing["id"]] = existing
            if self.crash_after_refund:
                raise SimulatedCrash("process died after the provider refunded")
        return ProviderRefund(reference=existing["id"], status="succeeded", amount_minor=existing["amount"])

    async def verify_webhook(self, headers, body) -> ProviderEvent:
        raise WebhookRejected("the fake provider takes no webhooks")

    async def aclose(self) -> None:
        pass

    def count(self, kind: str) -> int:
        return sum(1 for k, _ in self.calls if k == kind)


@dataclass
class FakePayPal:
    """An in-memory PayPal behind checkout's payment port: `open` creates an order the buyer must
    approve (redirect), `approve` plays the buyer, `charge` captures an approved order; `abandon`
    cannot cancel at PayPal (there is no such call): it answers CANCELLED unless captured already.
    Webhooks: `event(...)` builds a verified ProviderEvent delivered through `deliver_next`."""

    name: str = "paypal"
    method: PaymentMethod = PaymentMethod.PAYPAL
    orders: dict[str, dict] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    decline_capture: bool = False
    network_drops_at_capture: bool = False  # the capture is made; its answer and the next look-up are lost
    unreachable_look_ups: int = 0
    webhook_queue: list[ProviderEvent] = field(default_factory=list)

    def _view(self, o: dict) -> ProviderPayment:
        status = o["status"]
        if status == "CREATED":
            return ProviderPayment(reference=o["id"], outcome=Outcome.ACTION_REQUIRED, amount_minor=o["amount"],
                                   action=BuyerAction(type="redirect", url=f"https://paypal.test/checkoutnow?token={o['id']}"))
        if status == "APPROVED":
            return ProviderPayment(reference=o["id"], outcome=Outcome.READY, amount_minor=o["amount"])
        if status == "COMPLETED":
            return ProviderPayment(reference=o["id"], outcome=Outcome.SUCCEEDED, amount_minor=o["amount"],
                                   capture_reference=o["capture"])
        return ProviderPayment(reference=o["id"], outcome=Outcome.CANCELLED, amount_minor=o["amount"])

    async def open(self, req: ChargeRequest) -> ProviderPayment:
        self.calls.append(("create", req.payment_id))
        assert req.return_url and req.cancel_url and not req.payment_method
        o = {"id": uuid.uuid4().hex[:17].upper(), "status": "CREATED", "amount": req.amount_minor,
             "request": req}
        self.orders[o["id"]] = o
        return self._view(o)

    def approve(self, reference: str) -> None:
        assert self.orders[reference]["status"] == "CREATED"
        self.orders[reference]["status"] = "APPROVED"

    async def charge(self, *, payment_id, reference) -> ProviderPayment:
        o = self.orders[reference]
        if o["status"] == "COMPLETED":  # PayPal-Request-Id replay: the same capture
            return self._view(o)
        self.calls.append(("capture", reference))
        if o["status"] != "APPROVED":
            raise Rejected("ORDER_NOT_APPROVED")
        if self.decline_capture:
            raise Declined("the buyer's funding source was declined (INSTRUMENT_DECLINED)", reference)
        o["status"], o["capture"] = "COMPLETED", f"CAP-{reference}"
        if self.network_drops_at_capture:
            self.network_drops_at_capture, self.unreachable_look_ups = False, 1
            raise ProviderUnavailable("connection reset while reading the capture's answer")
        return self._view(o)

    async def look_up(self, reference) -> ProviderPayment:
        if self.unreachable_look_ups:
            self.unreachable_look_ups -= 1
            raise ProviderUnavailable("PayPal could not be reached")
        return self._view(self.orders[reference])

    async def abandon(self, *, payment_id, reference) -> ProviderPayment:
        self.calls.append(("abandon", reference))
        o = self.orders[reference]
        return self._view(o) if o["status"] == "COMPLETED" else ProviderPayment(
            reference=reference, outcome=Outcome.CANCELLED, amount_minor=o["amount"])

    async def refund(self, req: RefundRequest) -> ProviderRefund:
        existing = next((r for r in self.refunds.values() if r["refund_id"] == req.refund_id), None)
        if existing is None:
            self.calls.append(("refund", req.refund_id))
            assert req.capture_reference == self.orders[req.reference]["capture"]
            existing = {"id": f"RF-{uuid.uuid4().hex[:10]}", "refund_id": req.refund_id, "amount": req.amount_minor,
                        "order": req.reference}
            self.refunds[existing["id"]] = existing
        return ProviderRefund(reference=existing["id"], status="succeeded", amount_minor=existing["amount"])

    def event(self, kind, reference, event_id=None) -> ProviderEvent:
        from checkout.adapters.port import EventKind

        kind = EventKind(kind)
        return ProviderEvent(event_id=event_id or f"WH-{uuid.uuid4().hex[:12]}", type=f"fake.{kind.value}", kind=kind,
                             reference=reference, payload={"reference": reference})

    async def verify_webhook(self, headers, body) -> ProviderEvent:
        if headers.get("x-fake-signature") != "ok":
            raise WebhookRejected("signature does not verify")
        return self.webhook_queue.pop(0)

    async def aclose(self) -> None:
        pass

    def count(self, kind: str) -> int:
        return sum(1 for k, _ in self.calls if k == kind)


class SimulatedCrash(Exception):
    pass


@pytest.fixture
def fake_provider() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def fake_paypal() -> FakePayPal:
    return FakePayPal()
