"""Kafka handlers: parse, open one unit of work (done by the consumer wrapper), call the use case."""

from __future__ import annotations

from dropline_infra.db import UnitOfWork
from dropline_infra.observability import get_logger
from dropline_schemas.events import (
    ListingUpsertedV1,
    StoreConnectedV1,
    StoreWebhookReceivedV1,
    SupplierRegisteredV1,
)

from .models import IngestListing, IngestStore, IngestSupplier
from .repository import Repository
from .services import OrderIntake, schedule_reconciliation

log = get_logger(__name__)


def store_webhook_handler(intake: OrderIntake):
    async def on_store_webhook(uow: UnitOfWork, event: StoreWebhookReceivedV1) -> None:
        await intake.on_delivery(uow, event)
    return on_store_webhook


async def on_catalog(uow: UnitOfWork, event) -> None:
    repo = Repository(uow.session)
    if isinstance(event, StoreConnectedV1):
        d = event.data
        existing = await repo.store(d.store_id)
        await repo.upsert(IngestStore(store_id=d.store_id, retailer_id=d.retailer_id, platform=d.platform.value,
                                      shop=d.shop, api_base_url=d.api_base_url,
                                      credentials_encrypted=d.credentials_encrypted,
                                      watermark=existing.watermark if existing else None))
        await schedule_reconciliation(uow, d.store_id, d.retailer_id)
    elif isinstance(event, SupplierRegisteredV1):
        await repo.upsert(IngestSupplier(supplier_id=event.data.terms.supplier_id,
                                         terms_json=event.data.terms.model_dump_json()))
    elif isinstance(event, ListingUpsertedV1):
        d = event.data
        await repo.upsert(IngestListing(listing_id=d.listing_id, retailer_id=d.retailer_id, store_id=d.store_id,
                                        sku=d.sku, variant_id=d.variant_id, supplier_id=d.supplier_id,
                                        supplier_sku=d.supplier_sku, unit_cost=d.unit_cost, active=d.active))
