"""The forward_order job: send one paid order to its supplier, then record the outcome and its event
in the worker's transaction.

Safe to run again: the worker holds the job's row lock during the attempt and commits the outcome
with the event, but a crash after the supplier accepted and before that commit makes the job run
once more. The Idempotency-Key makes the supplier answer that second call with the same order.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from dropline_infra.db import UnitOfWork, utcnow
from dropline_infra.jobs import JobKind, Permanent
from dropline_infra.observability import get_logger
from dropline_infra.secrets import SecretBox
from dropline_schemas import topics as T
from dropline_schemas.events import (
    DroplineOrder,
    OrderForwardedData,
    OrderForwardedV1,
    OrderForwardingFailedData,
    OrderForwardingFailedV1,
    OrderPaidV1,
)

from .adapters.supplier import HttpSupplierOrders, SupplierOrders
from .domain import (
    NotForwardable,
    Route,
    rejected_by_supplier,
    route,
    status_code_from_reason,
    supplier_order_request,
)
from .models import ForwarderForward
from .repository import Repository, config_of
from .settings import Settings

log = get_logger(__name__)
PRODUCER = "forwarder"
FORWARD_ORDER = "forward_order"


def forward_payload(event: OrderPaidV1) -> dict[str, Any]:
    """Everything the job needs, frozen at payment time. The supplier's URL and key are read when the
    job runs (a key rotated in between is then used), and stay out of the jobs table."""
    order = event.data.order
    return {
        "order_id": order.order_id,
        "supplier_id": order.supplier.supplier_id if order.supplier else None,
        "tenant_id": event.tenant_id,
        "correlation_id": event.correlation_id,
        "causation_id": str(event.event_id),
        "order": order.model_dump(mode="json"),
    }


def _event_context(payload: dict[str, Any]) -> dict[str, str]:
    return {"tenant_id": payload["tenant_id"], "correlation_id": payload["correlation_id"],
            "causation_id": payload["causation_id"]}


def failure_event(payload: dict[str, Any], reason: str) -> OrderForwardingFailedV1:
    """rejected_by_supplier when the supplier refused the order (checkout refunds it), not when Dropline
    could not forward it (no order API, a wrong key or URL, attempts used up on outages)."""
    return OrderForwardingFailedV1.create(
        data=OrderForwardingFailedData(order_id=payload["order_id"], supplier_id=payload["supplier_id"] or "",
                                       reason=reason, status_code=status_code_from_reason(reason),
                                       rejected_by_supplier=rejected_by_supplier(reason)),
        producer=PRODUCER, **_event_context(payload))


def api_key_from(secret: str) -> str:
    """The sealed value is the key itself, or a JSON object holding it under "api_key"."""
    if secret.lstrip().startswith("{"):
        try:
            value = json.loads(secret)
        except ValueError:
            return secret
        if isinstance(value, dict) and isinstance(value.get("api_key"), str):
            return value["api_key"]
    return secret


class ForwardOrder:
    def __init__(self, supplier_orders: SupplierOrders, secrets: SecretBox):
        self.supplier_orders = supplier_orders
        self.secrets = secrets

    async def run(self, uow: UnitOfWork, payload: dict[str, Any]) -> None:
        repo = Repository(uow.session)
        order_id = payload["order_id"]
        if await repo.forward(order_id):
            log.info("order already forwarded; nothing to do")
            return
        supplier = await repo.supplier(payload["supplier_id"] or "")
        decision = route(config_of(supplier))
        if decision is not Route.FORWARD or supplier is None:
            raise Permanent(f"supplier {payload['supplier_id']} has no order API to forward to ({decision.value})")
        try:
            body = supplier_order_request(DroplineOrder.read(payload["order"]))
        except NotForwardable as exc:
            raise Permanent(f"order cannot be forwarded: {exc}") from exc
        try:
            api_key = api_key_from(self.secrets.open(supplier.order_api_key_encrypted or ""))
        except ValueError as exc:
            raise Permanent(f"supplier {supplier.supplier_id}: {exc}") from exc

        placed = await self.supplier_orders.place(order_api_url=supplier.order_api_url or "", api_key=api_key,
                                                  order_id=order_id, body=body)

        now = utcnow()
        attempts = await repo.finished_attempts(FORWARD_ORDER, order_id) + 1
        repo.add_forward(ForwarderForward(order_id=order_id, supplier_id=supplier.supplier_id,
                                          supplier_order_id=placed.supplier_order_id, forwarded_at=now,
                                          attempts=attempts))
        event = OrderForwardedV1.create(
            data=OrderForwardedData(order_id=order_id, supplier_id=supplier.supplier_id,
                                    supplier_order_id=placed.supplier_order_id, forwarded_at=now, attempts=attempts),
            producer=PRODUCER, **_event_context(payload))
        uow.publish(event, T.ORDER_FORWARDED, key=order_id)
        log.info("order forwarded", supplier_id=supplier.supplier_id, supplier_order_id=placed.supplier_order_id,
                 replayed=placed.status_code == 200, attempts=attempts)

    async def give_up(self, uow: UnitOfWork, payload: dict[str, Any], reason: str) -> None:
        uow.publish(failure_event(payload, reason), T.ORDER_FORWARDING_FAILED, key=payload["order_id"])


def forward_order_kind(settings: Settings, http: httpx.AsyncClient,
                       supplier_orders: SupplierOrders | None = None) -> JobKind:
    job = ForwardOrder(supplier_orders or HttpSupplierOrders(http, timeout=settings.supplier_timeout_seconds),
                       SecretBox(settings.secrets_key.get_secret_value()))
    return JobKind(FORWARD_ORDER, handler=job.run, on_give_up=job.give_up, max_attempts=settings.job_max_attempts,
                   base_delay=settings.job_base_delay_seconds, max_delay=settings.job_max_delay_seconds)
