"""Test kit for tracking-sync's unit and integration tests: event factories, a small stateful Shopify
Admin GraphQL fake behind httpx.MockTransport, and a harness around the real composition root (`build`).
conftest.py puts this folder on sys.path (tests are imported with --import-mode=importlib)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from sqlmodel import select

from dropline_infra.jobs import JobWorker, Permanent, Retryable
from dropline_infra.migrations import upgrade
from dropline_infra.models import Job, OutboxMessage
from dropline_infra.runtime import Service
from dropline_infra.secrets import SecretBox
from dropline_integrations.port import (
    CorrectionResult,
    FulfilmentRequest,
    FulfilmentResult,
    StoreAccess,
    TrackingCorrection,
)
from dropline_schemas import topics as T
from dropline_schemas.events import (
    DeliveryKind,
    DroplineOrder,
    OrderLine,
    OrderReceivedV1,
    OrderStatus,
    Platform,
    ShippedLine,
    StoreConnectedData,
    StoreConnectedV1,
    StoreTotals,
    StoreWebhookReceivedData,
    StoreWebhookReceivedV1,
    SupplierTerms,
    TrackingAddedData,
    TrackingAddedV1,
    TrackingCorrectedData,
    TrackingCorrectedV1,
)
from tracking_sync import handlers
from tracking_sync.app import MIGRATIONS, build
from tracking_sync.settings import Settings

SHOP = "demo-store.myshopify.com"
SHOP_URL = f"https://{SHOP}"
TOKEN = "shpat_0123456789abcdef0123456789abcdef"
TENANT = "retailer-1"
PLATFORM_ORDER_ID = "450789469"
ORDER_GID = f"gid://shopify/Order/{PLATFORM_ORDER_ID}"
# The store order has three line items; the first two belong to this Dropline order (supplier A),
# the third to another supplier's Dropline order.
OUR_LINES = [("l-1", "466157049", "IPOD-GREEN", 2), ("l-2", "466157050", "CASE", 1)]
OTHER_LINE = ("x-1", "518995019", "CHARGER", 1)
UPS_NUMBER = "1Z999AA10123456784"
UPS_URL = f"https://www.ups.com/track?tracknum={UPS_NUMBER}"
RIGHT_NUMBER = "1Z999AA10123456795"  # what a correction replaces UPS_NUMBER with
RIGHT_URL = f"https://www.ups.com/track?tracknum={RIGHT_NUMBER}"


def store_connected(secrets_key: str, *, store_id: str = "store-1", platform: Platform = Platform.SHOPIFY,
                    api_base_url: str = SHOP_URL, token: str = TOKEN, shop: str = SHOP, **envelope) -> StoreConnectedV1:
    return StoreConnectedV1.create(
        data=StoreConnectedData(store_id=store_id, retailer_id=TENANT, platform=platform, shop=shop,
                                api_base_url=api_base_url,
                                credentials_encrypted=SecretBox(secrets_key).seal({"access_token": token})),
        producer="gateway", tenant_id=TENANT, correlation_id=f"store-{store_id}", **envelope)


def order_received(order_id: str = "order-1", *, lines=OUR_LINES, platform: Platform = Platform.SHOPIFY,
                   platform_order_id: str = PLATFORM_ORDER_ID, store_id: str = "store-1") -> OrderReceivedV1:
    order = DroplineOrder(
        order_id=order_id, order_number="D100001", retailer_id=TENANT, store_id=store_id, platform=platform,
        platform_order_id=platform_order_id, platform_order_number="#1001", status=OrderStatus.UNPAID,
        supplier=SupplierTerms(supplier_id="sup-a", name="Supplier A", currency="USD", auto_order=True),
        lines=[OrderLine(line_id=lid, platform_line_id=plid, sku=sku, title=sku.title(), quantity=qty,
                         unit_price=Decimal(10), supplier_sku=f"A-{sku}") for lid, plid, sku, qty in lines],
        store_totals=StoreTotals(currency="USD"))
    return OrderReceivedV1.create(data=order, producer="order-ingest", tenant_id=TENANT,
                                  correlation_id=f"store-order-{platform_order_id}")


def tracking_added(order_id: str = "order-1", tracking_id: str = "trk-1", *, number: str = UPS_NUMBER,
                   carrier: str | None = "UPS", url: str | None = UPS_URL,
                   line_ids: list[str] | None = None,
                   lines: dict[str, int] | None = None) -> TrackingAddedV1:
    """`lines`: line id → quantity shipped (the event's `lines`); None leaves it out (older events)."""
    shipped = None if lines is None else [ShippedLine(line_id=i, quantity=q) for i, q in lines.items()]
    return TrackingAddedV1.create(
        data=TrackingAddedData(order_id=order_id, tracking_id=tracking_id, tracking_number=number, carrier=carrier,
                               tracking_url=url, source="supplier", line_ids=line_ids, lines=shipped),
        producer="gateway", tenant_id=TENANT, correlation_id=f"store-order-{PLATFORM_ORDER_ID}",
        causation_id="supplier-report-1")


def tracking_corrected(order_id: str = "order-1", tracking_id: str = "trk-2", corrects: str = "trk-1", *,
                       previous: str = UPS_NUMBER, number: str = RIGHT_NUMBER, carrier: str | None = "UPS",
                       url: str | None = RIGHT_URL, lines: dict[str, int] | None = None) -> TrackingCorrectedV1:
    """What the gateway publishes for a correction (`lines`: line id → quantity; None = every line)."""
    shipped = None if lines is None else [ShippedLine(line_id=i, quantity=q) for i, q in lines.items()]
    return TrackingCorrectedV1.create(
        data=TrackingCorrectedData(order_id=order_id, tracking_id=tracking_id, corrects_tracking_id=corrects,
                                   previous_tracking_number=previous, tracking_number=number, carrier=carrier,
                                   tracking_url=url, lines=shipped, source="retailer", changed_by="retailer:user-1",
                                   reason="typo in the number"),
        producer="gateway", tenant_id=TENANT, correlation_id=f"store-order-{PLATFORM_ORDER_ID}",
        causation_id="correction-1")


@dataclass
class FakeStorePlatform:
    """A store platform adapter in memory: fulfilments by id with their number; both calls look first
    (a number already there is already_present). `fail_fulfil` / `fail_correct` make the next calls
    Retryable; `gone` makes correct_tracking Permanent; `crash_after_write` raises once right after a
    write (the worker dies before its commit)."""

    fulfilments: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    writes: int = 0
    fail_fulfil: int = 0
    fail_correct: int = 0
    gone: bool = False
    crash_after_write: bool = False

    def _crash(self) -> None:
        if self.crash_after_write:
            self.crash_after_write = False
            raise RuntimeError("worker killed before commit")

    async def fulfil(self, store: StoreAccess, request: FulfilmentRequest) -> FulfilmentResult:
        self.calls.append(("fulfil", request))
        if self.fail_fulfil:
            self.fail_fulfil -= 1
            raise Retryable("HTTP 503 from the store")
        for fid, f in self.fulfilments.items():
            if f["number"] == request.tracking.number:
                return FulfilmentResult(platform_fulfillment_id=fid, already_present=True)
        fid = f"F{len(self.fulfilments) + 1}"
        self.fulfilments[fid] = {"number": request.tracking.number, "lines": request.lines}
        self.writes += 1
        self._crash()
        return FulfilmentResult(platform_fulfillment_id=fid)

    async def correct_tracking(self, store: StoreAccess, correction: TrackingCorrection) -> CorrectionResult:
        self.calls.append(("correct", correction))
        if self.fail_correct:
            self.fail_correct -= 1
            raise Retryable("HTTP 503 from the store")
        fulfilment = self.fulfilments.get(correction.platform_fulfillment_id)
        if self.gone or fulfilment is None:
            raise Permanent(f"fulfilment {correction.platform_fulfillment_id} is gone from the store")
        if fulfilment["number"] == correction.tracking.number:
            return CorrectionResult(platform_fulfillment_id=correction.platform_fulfillment_id, already_present=True)
        fulfilment["number"] = correction.tracking.number
        self.writes += 1
        self._crash()
        return CorrectionResult(platform_fulfillment_id=correction.platform_fulfillment_id)

    def of(self, kind: str) -> list[Any]:
        return [c for k, c in self.calls if k == kind]


def store_webhook(body: dict[str, Any], *, delivery_id: str = "dlv-1", store_id: str = "store-1",
                  kind: DeliveryKind = DeliveryKind.FULFILMENT_REQUESTED, shop: str = SHOP,
                  topic: str = "fulfillment_orders/fulfillment_request_submitted",
                  platform_order_id: str | None = None) -> StoreWebhookReceivedV1:
    """What the gateway publishes for a verified delivery (the body as the store sent it)."""
    return StoreWebhookReceivedV1.create(
        data=StoreWebhookReceivedData(delivery_id=delivery_id, platform=Platform.SHOPIFY, store_id=store_id, shop=shop,
                                      topic=topic, platform_delivery_id=f"wh-{delivery_id}", payload=body, kind=kind,
                                      platform_order_id=platform_order_id, carries_order=False),
        producer="gateway", tenant_id=TENANT, correlation_id=f"delivery-{delivery_id}")


def fo_line(foli_id: int, platform_line_id: str, sku: str, remaining: int, total: int | None = None) -> dict[str, Any]:
    return {"id": f"gid://shopify/FulfillmentOrderLineItem/{foli_id}", "remainingQuantity": remaining,
            "totalQuantity": total if total is not None else remaining,
            "lineItem": {"id": f"gid://shopify/LineItem/{platform_line_id}", "sku": sku}}


def fulfillment_order(fo_id: int, lines: list[dict[str, Any]], *, status: str = "OPEN",
                      location: int = 1) -> dict[str, Any]:
    return {"id": f"gid://shopify/FulfillmentOrder/{fo_id}", "status": status, "requestStatus": "UNSUBMITTED",
            "assignedLocation": {"location": {"id": f"gid://shopify/Location/{location}"}},
            "lineItems": {"pageInfo": {"hasNextPage": False}, "nodes": lines}}


def default_fulfillment_orders() -> list[dict[str, Any]]:
    return [fulfillment_order(1001, [fo_line(11, "466157049", "IPOD-GREEN", 2),
                                     fo_line(12, "466157050", "CASE", 1),
                                     fo_line(13, "518995019", "CHARGER", 1)])]


Step = Callable[[httpx.Request], httpx.Response] | int | Exception | dict


@dataclass
class FakeShopify:
    """One shop's Admin GraphQL endpoint: answers the state query from `fulfillment_orders` /
    `fulfillments` and applies fulfillmentCreate to them (no validation beyond what tests need; the
    stand-in in dropline_testsupport is the strict one). `script` answers the next calls first."""

    fulfillment_orders: list[dict[str, Any]] = field(default_factory=default_fulfillment_orders)
    fulfillments: list[dict[str, Any]] = field(default_factory=list)
    throttle: dict[str, float] = field(default_factory=lambda: {
        "maximumAvailable": 2000.0, "currentlyAvailable": 1990.0, "restoreRate": 100.0})
    script: list[Step] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    next_id: int = 5000

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.script:
            step = self.script.pop(0)
            if isinstance(step, Exception):
                raise step
            if isinstance(step, int):
                return httpx.Response(step, json={"errors": f"scripted {step}"})
            if isinstance(step, dict):
                return httpx.Response(200, json=step)
            return step(request)
        body = json.loads(request.content)
        if "fulfillmentCreate" in body["query"]:
            return self.create(body["variables"])
        return self.state(body["variables"])

    def cost(self, requested: int) -> dict[str, Any]:
        return {"cost": {"requestedQueryCost": requested, "actualQueryCost": requested,
                         "throttleStatus": dict(self.throttle)}}

    def state(self, variables: dict[str, Any]) -> httpx.Response:
        order = None
        if variables["id"] == ORDER_GID:
            order = {"id": ORDER_GID,
                     "fulfillmentOrders": {"pageInfo": {"hasNextPage": False}, "nodes": self.fulfillment_orders},
                     "fulfillments": self.fulfillments}
        return httpx.Response(200, json={"data": {"order": order}, "extensions": self.cost(600)})

    def create(self, variables: dict[str, Any]) -> httpx.Response:
        fulfillment = variables["fulfillment"]
        for group in fulfillment["lineItemsByFulfillmentOrder"]:
            fo = next(f for f in self.fulfillment_orders if f["id"] == group["fulfillmentOrderId"])
            for item in group["fulfillmentOrderLineItems"]:
                node = next(n for n in fo["lineItems"]["nodes"] if n["id"] == item["id"])
                node["remainingQuantity"] -= item["quantity"]
        self.next_id += 1
        tracking = fulfillment.get("trackingInfo") or {}
        created = {"id": f"gid://shopify/Fulfillment/{self.next_id}", "status": "SUCCESS",
                   "trackingInfo": [{"company": tracking.get("company"), "number": tracking.get("number"),
                                     "url": tracking.get("url")}]}
        self.fulfillments.append(created)
        return httpx.Response(200, json={"data": {"fulfillmentCreate": {"fulfillment": created, "userErrors": []}},
                                         "extensions": self.cost(10)})

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    def mutations(self) -> list[dict[str, Any]]:
        return [b["variables"] for b in self.bodies() if "fulfillmentCreate" in b["query"]]


class Harness:
    """The real service wiring (build) on a test database, with the store behind `transport`."""

    def __init__(self, settings: Settings, shopify: FakeShopify | httpx.AsyncBaseTransport, **build_overrides):
        self.settings = settings
        self.shopify = shopify
        transport = httpx.MockTransport(shopify) if isinstance(shopify, FakeShopify) else shopify
        self.http = httpx.AsyncClient(transport=transport)
        self.svc: Service = build(settings, http=self.http, **build_overrides)
        self.db = self.svc.db
        self.worker = JobWorker(self.db, self.svc.job_kinds, concurrency=1, poll_interval=0.01)

    async def start(self) -> Harness:
        await asyncio.to_thread(upgrade, "tracking-sync", self.settings.database_url, MIGRATIONS)
        return self

    async def close(self) -> None:
        await self.http.aclose()
        await self.db.dispose()

    async def deliver(self, event) -> str:
        if isinstance(event, OrderReceivedV1):
            handler, topic, event_type = handlers.on_order_received, T.ORDER_RECEIVED, OrderReceivedV1
        elif isinstance(event, TrackingAddedV1):
            handler, topic, event_type = handlers.on_tracking_added, T.TRACKING_ADDED, TrackingAddedV1
        elif isinstance(event, TrackingCorrectedV1):
            handler, topic, event_type = handlers.on_tracking_corrected, T.TRACKING_CORRECTED, TrackingCorrectedV1
        elif isinstance(event, StoreWebhookReceivedV1):
            handler, topic, event_type = handlers.on_store_webhook, T.STORE_WEBHOOK_RECEIVED, StoreWebhookReceivedV1
        else:
            handler, topic, event_type = handlers.on_catalog, T.CATALOG, None
        name = handler.__name__.removeprefix("on_")
        return await self.svc.consumers.process(f"tracking-sync.{name}", topic, event.model_dump_json().encode(),
                                                handler, event_type)

    async def connect_store(self, **kwargs) -> None:
        await self.deliver(store_connected(self.settings.secrets_key.get_secret_value(), **kwargs))

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
                  "job_max_delay_seconds": 0.01, "consumer_max_attempts": 1, "log_format": "json"}
    values.update(overrides)
    return Settings(**values)
