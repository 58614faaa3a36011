"""Test kit for forwarder's unit and integration tests: event factories, a scripted supplier behind
httpx.MockTransport, and a harness around the real composition root (`build`). conftest.py puts this
folder on sys.path (tests are imported with --import-mode=importlib)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from sqlmodel import select

from dropline_infra.db import utcnow
from dropline_infra.jobs import JobWorker
from dropline_infra.migrations import upgrade
from dropline_infra.models import Job, OutboxMessage
from dropline_infra.runtime import Service
from dropline_infra.secrets import SecretBox
from dropline_schemas import topics as T
from dropline_schemas.events import (
    Address,
    Customer,
    DroplineOrder,
    FxRecord,
    Money,
    OrderLine,
    OrderPaidData,
    OrderPaidV1,
    OrderStatus,
    Platform,
    StoreTotals,
    SupplierRegisteredData,
    SupplierRegisteredV1,
    SupplierTerms,
)
from forwarder import handlers
from forwarder.app import MIGRATIONS, build
from forwarder.settings import Settings

SUPPLIER_URL = "https://orders.acme-supplies.example"
API_KEY = "sk_live_acme_0123456789abcdef"
TENANT = "retailer-1"


def make_order(order_id: str = "order-1", supplier_id: str = "sup-1", *, auto_order: bool = True) -> DroplineOrder:
    return DroplineOrder(
        order_id=order_id, order_number="D100001", retailer_id=TENANT, store_id="store-1", platform=Platform.SHOPIFY,
        platform_order_id="450789469", platform_order_number="#1001", status=OrderStatus.UNPAID,
        supplier=SupplierTerms(supplier_id=supplier_id, name="Acme Supplies", currency="EUR", auto_order=auto_order),
        lines=[
            OrderLine(line_id="l-1", platform_line_id="466157049", sku="IPOD-GREEN", title="iPod Nano - green",
                      quantity=2, unit_price=Decimal("199.00"), supplier_sku="ACME-IPOD-G", unit_cost=Decimal(80)),
            OrderLine(line_id="l-2", platform_line_id="518995019", sku="CASE", title="Case", quantity=1,
                      unit_price=Decimal("9.00"), supplier_sku="ACME-CASE", unit_cost=Decimal(2)),
        ],
        shipping_address=Address(name="Bob Norman", first_name="Bob", last_name="Norman",
                                 address1="Chestnut Street 92", address2="Apt 1", city="Louisville",
                                 province="Kentucky", province_code="KY", zip="40202", country="United States",
                                 country_code="US", phone="555-625-1199"),
        customer=Customer(name="Bob Norman", email="bob.norman@example.com", phone="+15556251199"),
        store_totals=StoreTotals(currency="USD", total=Decimal("407.00")),
    )


def order_paid(order: DroplineOrder | None = None, **overrides) -> OrderPaidV1:
    order = order or make_order()
    money = Money(product_cost=Decimal(162), shipping=Decimal(5), vat=Decimal(0), total=Decimal(167))
    data = OrderPaidData(order_id=order.order_id, payment_id="pay-1", method="card", provider="stripe",
                         provider_reference="pi_123", supplier_currency_amounts=money, usd_amounts=money,
                         fx=FxRecord(from_currency="EUR", rate=Decimal("1.08"), rate_date="2026-01-02", source="ECB"),
                         paid_at=utcnow(), order=order)
    return OrderPaidV1.create(data=data, producer="checkout", tenant_id=TENANT,
                              correlation_id=overrides.pop("correlation_id", "store-order-450789469"),
                              causation_id="checkout-request-1", **overrides)


def supplier_registered(secrets_key: str, supplier_id: str = "sup-1", *, auto_order: bool = True,
                        url: str | None = SUPPLIER_URL, api_key: str | None = API_KEY, **envelope) -> SupplierRegisteredV1:
    sealed = SecretBox(secrets_key).seal(api_key) if api_key else None
    return SupplierRegisteredV1.create(
        data=SupplierRegisteredData(
            terms=SupplierTerms(supplier_id=supplier_id, name="Acme Supplies", currency="EUR", auto_order=auto_order),
            order_api_url=url, order_api_key_encrypted=sealed),
        producer="gateway", tenant_id="platform", correlation_id=f"supplier-{supplier_id}", **envelope)


Responder = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeSupplier:
    """A scripted supplier order API: answers from `script` first, then like a well-behaved supplier
    (201 with a new order, 200 with the same order for a repeated Idempotency-Key)."""

    script: list[Responder | int | Exception] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    orders: dict[str, str] = field(default_factory=dict)  # idempotency key -> supplier order id

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.script:
            step = self.script.pop(0)
            if isinstance(step, Exception):
                raise step
            if isinstance(step, int):
                return httpx.Response(step, json={"error": {"code": "scripted", "message": f"scripted {step}"}})
            return step(request)
        return self.accept(request)

    def accept(self, request: httpx.Request) -> httpx.Response:
        key = request.headers["Idempotency-Key"]
        if key in self.orders:
            return httpx.Response(200, json={"id": self.orders[key], "status": "accepted"})
        self.orders[key] = f"SO-{len(self.orders) + 1:05d}"
        return httpx.Response(201, json={"id": self.orders[key], "status": "accepted"})

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


class Harness:
    """The real service wiring (build) on a test database, with the supplier behind MockTransport."""

    def __init__(self, settings: Settings, supplier: FakeSupplier | httpx.AsyncBaseTransport):
        """`supplier`: a FakeSupplier (served through MockTransport) or any transport, e.g. the supplier
        stand-in through httpx.ASGITransport."""
        self.settings = settings
        self.supplier = supplier
        transport = httpx.MockTransport(supplier) if isinstance(supplier, FakeSupplier) else supplier
        self.http = httpx.AsyncClient(transport=transport)
        self.svc: Service = build(settings, http=self.http)
        self.db = self.svc.db
        self.worker = JobWorker(self.db, self.svc.job_kinds, concurrency=1, poll_interval=0.01)

    async def start(self) -> Harness:
        await asyncio.to_thread(upgrade, "forwarder", self.settings.database_url, MIGRATIONS)
        return self

    async def close(self) -> None:
        await self.http.aclose()
        await self.db.dispose()

    async def deliver(self, event, handler=None) -> str:
        if handler is None:
            handler = handlers.on_order_paid if isinstance(event, OrderPaidV1) else handlers.on_catalog
        name = handler.__name__.removeprefix("on_")
        topic = T.ORDER_PAID if handler is handlers.on_order_paid else T.CATALOG
        event_type = OrderPaidV1 if handler is handlers.on_order_paid else None
        return await self.svc.consumers.process(f"forwarder.{name}", topic, event.model_dump_json().encode(),
                                                handler, event_type)

    async def run_jobs(self, timeout: float = 5.0) -> None:
        """Run due jobs until none is pending (waiting out short backoffs)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if await self.worker.run_one():
                continue
            if not await self.jobs(status="pending"):
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("jobs still pending after timeout")
            await asyncio.sleep(0.005)

    async def jobs(self, status: str | None = None) -> list[Job]:
        async with self.db.uow() as uow:
            stmt = select(Job)
            if status:
                stmt = stmt.where(Job.status == status)
            return list((await uow.session.exec(stmt)).all())

    async def outbox(self, topic: T.Topic | None = None) -> list[dict[str, Any]]:
        async with self.db.uow() as uow:
            rows = (await uow.session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all()
        return [dict(json.loads(r.payload), _key=r.key, _topic=r.topic) for r in rows
                if topic is None or r.topic == topic.name]

    async def get(self, model, key):
        async with self.db.uow() as uow:
            return await uow.session.get(model, key)


def fast_settings(database_url: str, **overrides) -> Settings:
    values = {"database_url": database_url, "environment": "test", "job_max_attempts": 3, "job_base_delay_seconds": 0.001,
                  "job_max_delay_seconds": 0.01, "consumer_max_attempts": 1, "consumer_retry_later_seconds": 0.2,
                  "log_format": "json"}
    values.update(overrides)
    return Settings(**values)
