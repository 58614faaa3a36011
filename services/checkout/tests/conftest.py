"""Fixtures shared by checkout's unit and integration tests: order factories and a fake provider."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from checkout.provider import Declined, Intent, NotFoundAtProvider, ProviderUnavailable, Rejected
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
    """An in-memory card provider with Stripe's PaymentIntent states.

    Payment methods: pm_card_visa succeeds; pm_card_chargeCustomerFail is declined at confirm;
    pm_card_authenticationRequired needs 3-D Secure; pm_unknown does not exist.
    `fail_next` makes the next call of that kind raise ProviderUnavailable (without doing anything);
    `crash_after_create` raises SimulatedCrash after the intent was created (a process dying)."""

    name: str = "stripe"
    intents: dict[str, dict] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    fail_next: set[str] = field(default_factory=set)
    crash_after_create: bool = False

    def _maybe_fail(self, kind: str) -> None:
        if kind in self.fail_next:
            self.fail_next.discard(kind)
            raise ProviderUnavailable(f"simulated network error on {kind}")

    def _view(self, pi: dict) -> Intent:
        return Intent(id=pi["id"], status=pi["status"], amount=pi["amount"], failure=pi.get("failure"))

    async def create_intent(self, *, payment_id, amount_cents, payment_method, metadata) -> Intent:
        self.calls.append(("create", payment_id))
        self._maybe_fail("create")
        if payment_method == "pm_unknown":
            raise NotFoundAtProvider("No such PaymentMethod")
        pi = {"id": f"pi_{uuid.uuid4().hex[:14]}", "status": "requires_confirmation", "amount": amount_cents,
              "pm": payment_method, "metadata": metadata}
        self.intents[pi["id"]] = pi
        if self.crash_after_create:
            raise SimulatedCrash("process died after creating the PaymentIntent")
        return self._view(pi)

    async def confirm_intent(self, *, payment_id, intent_id) -> Intent:
        self.calls.append(("confirm", intent_id))
        self._maybe_fail("confirm")
        pi = self.intents[intent_id]
        if pi["status"] != "requires_confirmation":
            raise Rejected("payment provider refused the request: unexpected state")
        if pi["pm"] == "pm_card_chargeCustomerFail":
            pi["status"], pi["failure"] = "requires_payment_method", "Your card was declined."
            raise Declined("Your card was declined. (card_declined)", intent_id)
        pi["status"] = "requires_action" if pi["pm"] == "pm_card_authenticationRequired" else "succeeded"
        return self._view(pi)

    async def retrieve_intent(self, intent_id) -> Intent:
        self.calls.append(("retrieve", intent_id))
        self._maybe_fail("retrieve")
        return self._view(self.intents[intent_id])

    async def cancel_intent(self, *, payment_id, intent_id) -> Intent:
        self.calls.append(("cancel", intent_id))
        self._maybe_fail("cancel")
        pi = self.intents[intent_id]
        if pi["status"] in ("succeeded", "canceled"):
            raise Rejected("payment provider refused the request: unexpected state")
        pi["status"] = "canceled"
        return self._view(pi)

    async def aclose(self) -> None:
        pass

    def count(self, kind: str) -> int:
        return sum(1 for k, _ in self.calls if k == kind)


class SimulatedCrash(Exception):
    pass


@pytest.fixture
def fake_provider() -> FakeProvider:
    return FakeProvider()
