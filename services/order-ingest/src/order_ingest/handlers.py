"""Kafka handlers: parse, open one unit of work (done by the consumer wrapper), call domain code."""

from __future__ import annotations

import json

from dropline_infra.db import UnitOfWork, utcnow
from dropline_infra.messaging import PermanentError, RetryLater
from dropline_infra.observability import get_logger
from dropline_schemas import topics as T
from dropline_schemas.events import (
    ListingUpsertedV1,
    OrderReceivedV1,
    StoreConnectedV1,
    StoreWebhookReceivedV1,
    SupplierRegisteredV1,
)

from .domain import InvalidStoreOrder, normalise, split_by_supplier
from .models import IngestListing, IngestStore, IngestStoreOrder, IngestSupplier
from .repository import Repository

log = get_logger(__name__)
PRODUCER = "order-ingest"
ORDER_TOPICS = {"orders/create"}


async def on_store_webhook(uow: UnitOfWork, event: StoreWebhookReceivedV1) -> None:
    d = event.data
    if d.topic not in ORDER_TOPICS:
        log.info("webhook topic not handled", topic=d.topic)
        return
    repo = Repository(uow.session)
    store = await repo.store(d.store_id)
    if store is None:
        # The catalog event for this store may not have reached us yet.
        raise RetryLater(f"store {d.store_id} not known yet")
    try:
        store_order = normalise(d.platform, d.payload)
    except InvalidStoreOrder as exc:
        raise PermanentError(f"delivery {d.delivery_id}: {exc}") from exc

    if await repo.store_order(d.store_id, store_order.platform_order_id):
        # Same store order through another delivery (retry, duplicate, reconciliation): one Dropline order.
        log.info("store order already ingested", platform_order_id=store_order.platform_order_id)
        return

    listings = await repo.listings_for(d.store_id)
    suppliers = await repo.suppliers()
    split = split_by_supplier(store_order, retailer_id=store.retailer_id, store_id=d.store_id,
                              listings=listings, suppliers=suppliers)
    numbers = await repo.next_numbers(len(split))
    orders = [o.model_copy(update={"order_number": f"D{n}"}) for o, n in zip(split, numbers, strict=True)]
    uow.session.add(IngestStoreOrder(store_id=d.store_id, platform_order_id=store_order.platform_order_id,
                                     retailer_id=store.retailer_id, delivery_id=d.delivery_id,
                                     dropline_order_ids=json.dumps([o.order_id for o in orders]),
                                     received_at=utcnow()))
    for order in orders:
        ev = OrderReceivedV1.create(data=order, producer=PRODUCER, **event.caused())
        uow.publish(ev, T.ORDER_RECEIVED, key=order.order_id)
    log.info("store order split", platform_order_id=store_order.platform_order_id,
             dropline_orders=[(o.order_number, o.status.value) for o in orders])


async def on_catalog(uow: UnitOfWork, event) -> None:
    repo = Repository(uow.session)
    if isinstance(event, StoreConnectedV1):
        d = event.data
        await repo.upsert(IngestStore(store_id=d.store_id, retailer_id=d.retailer_id, platform=d.platform.value, shop=d.shop))
    elif isinstance(event, SupplierRegisteredV1):
        await repo.upsert(IngestSupplier(supplier_id=event.data.terms.supplier_id,
                                         terms_json=event.data.terms.model_dump_json()))
    elif isinstance(event, ListingUpsertedV1):
        d = event.data
        await repo.upsert(IngestListing(listing_id=d.listing_id, retailer_id=d.retailer_id, store_id=d.store_id,
                                        sku=d.sku, variant_id=d.variant_id, supplier_id=d.supplier_id,
                                        supplier_sku=d.supplier_sku, unit_cost=d.unit_cost, active=d.active))
