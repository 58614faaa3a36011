"""Master data, registered by operators: retailers, their store connections, suppliers, listings.
Each change is published on dropline.catalog.v1 so the other services keep their own copies."""

from __future__ import annotations

import re
import secrets as pysecrets
from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from dropline_infra.db import Database, utcnow
from dropline_infra.secrets import SecretBox
from dropline_integrations.port import StorePlatform
from dropline_schemas import topics as T
from dropline_schemas.events import (
    ListingUpsertedData,
    ListingUpsertedV1,
    PaymentMethod,
    Platform,
    StoreConnectedData,
    StoreConnectedV1,
    SupplierRegisteredData,
    SupplierRegisteredV1,
    SupplierTerms,
)

from ..errors import GatewayError
from ..models import Listing, Retailer, Store, Supplier
from ..repository import Repository
from ..views import ListingOut, RetailerCreated, SupplierCreated, WebhookHeader
from .accounts import key_hash

PRODUCER = "gateway"


class Catalog:
    def __init__(self, db: Database, secret_box: SecretBox, platforms: Mapping[Platform, StorePlatform]):
        self.db = db
        self.secret_box = secret_box
        self.platforms = platforms

    async def create_retailer(self, name: str) -> RetailerCreated:
        api_key = "dlr_" + pysecrets.token_urlsafe(32)
        retailer_id = "ret_" + pysecrets.token_hex(8)
        async with self.db.uow() as uow:
            uow.session.add(Retailer(retailer_id=retailer_id, name=name, api_key_hash=key_hash(api_key),
                                     created_at=utcnow()))
            await uow.commit()
        return RetailerCreated(retailer_id=retailer_id, name=name, api_key=api_key)

    async def connect_store(self, retailer_id: str, *, platform: Platform, shop: str, api_base_url: str | None,
                            webhook_secret: str, credentials: dict[str, str]) -> tuple[Store, WebhookHeader | None]:
        """Returns the store and, for platforms that carry a Dropline header secret on their hooks
        (BigCommerce), that header: shown once, to configure on the platform side."""
        adapter = self.platforms.get(platform)
        if adapter is None:
            raise GatewayError(501, "platform_not_supported", f"{platform.value} is not supported")
        spec = adapter.connection
        if not re.fullmatch(spec.store_key_pattern, shop):
            raise GatewayError(422, "invalid_shop", f"a {platform.value} store is given by its {spec.store_key_label}",
                               details={"pattern": spec.store_key_pattern})
        missing = spec.missing_credentials(credentials)
        if missing:
            raise GatewayError(422, "missing_credentials",
                               f"{platform.value} credentials need: {', '.join(spec.credential_keys)}",
                               details={"missing": missing})
        base = api_base_url.rstrip("/") if api_base_url else spec.base_url(shop)
        store_id = "sto_" + pysecrets.token_hex(8)
        sealed = self.secret_box.seal({k: credentials[k] for k in sorted(credentials)})
        header_secret = ("dlh_" + pysecrets.token_urlsafe(32)) if spec.header_secret else None
        store = Store(store_id=store_id, retailer_id=retailer_id, platform=platform.value, shop=shop,
                      api_base_url=base, webhook_secret_encrypted=self.secret_box.seal(webhook_secret),
                      header_secret_encrypted=self.secret_box.seal(header_secret) if header_secret else None,
                      credentials_encrypted=sealed, created_at=utcnow())
        try:
            async with self.db.uow() as uow:
                repo = Repository(uow.session)
                if await repo.retailer(retailer_id) is None:
                    raise GatewayError(404, "not_found", "no such retailer")
                repo.add(store)
                ev = StoreConnectedV1.create(
                    data=StoreConnectedData(store_id=store_id, retailer_id=retailer_id, platform=platform,
                                            shop=shop, api_base_url=base, credentials_encrypted=sealed),
                    producer=PRODUCER, tenant_id=retailer_id, correlation_id=f"store:{store_id}")
                uow.publish(ev, T.CATALOG, key=store_id)
                await uow.commit()
        except IntegrityError as exc:
            raise GatewayError(409, "already_connected", f"{platform.value} store {shop} is already connected") from exc
        return store, WebhookHeader(name=spec.header_secret, value=header_secret) if header_secret else None

    async def create_supplier(self, *, name: str, currency: str, auto_order: bool, website_url: str | None,
                              payment_methods: list[PaymentMethod], vat_rate: Decimal, shipping_first_item: Decimal,
                              shipping_additional_item: Decimal, handling_days: int | None,
                              order_api_url: str | None, order_api_key: str | None,
                              paypal_email: str | None = None, paypal_merchant_id: str | None = None
                              ) -> SupplierCreated:
        if auto_order and not (order_api_url and order_api_key and payment_methods):
            raise GatewayError(422, "incomplete_auto_order",
                               "an auto-order supplier needs order_api_url, order_api_key and payment_methods")
        supplier_id = "sup_" + pysecrets.token_hex(8)
        api_key = "dls_" + pysecrets.token_urlsafe(32)
        terms = SupplierTerms(supplier_id=supplier_id, name=name, currency=currency, auto_order=auto_order,
                              website_url=website_url, payment_methods=payment_methods, vat_rate=vat_rate,
                              shipping_first_item=shipping_first_item,
                              shipping_additional_item=shipping_additional_item, handling_days=handling_days,
                              paypal_email=paypal_email, paypal_merchant_id=paypal_merchant_id)
        order_api_url = order_api_url.rstrip("/") if order_api_url else None
        key_sealed = self.secret_box.seal(order_api_key) if order_api_key else None
        async with self.db.uow() as uow:
            uow.session.add(Supplier(supplier_id=supplier_id, name=name, terms_json=terms.model_dump_json(),
                                     api_key_hash=key_hash(api_key), order_api_url=order_api_url,
                                     order_api_key_encrypted=key_sealed, created_at=utcnow()))
            ev = SupplierRegisteredV1.create(
                data=SupplierRegisteredData(terms=terms, order_api_url=order_api_url,
                                            order_api_key_encrypted=key_sealed),
                producer=PRODUCER, tenant_id="marketplace", correlation_id=f"supplier:{supplier_id}")
            uow.publish(ev, T.CATALOG, key=supplier_id)
            await uow.commit()
        return SupplierCreated(supplier_id=supplier_id, api_key=api_key, terms=terms.model_dump(mode="json"),
                               order_api_url=order_api_url)

    async def upsert_listing(self, retailer_id: str, *, store_id: str, sku: str, variant_id: str | None,
                             supplier_id: str, supplier_sku: str, unit_cost: Decimal, active: bool) -> ListingOut:
        async with self.db.uow() as uow:
            repo = Repository(uow.session)
            store = await repo.store(store_id)
            if store is None or store.retailer_id != retailer_id:
                raise GatewayError(404, "not_found", "no such store for this retailer")
            if await repo.supplier(supplier_id) is None:
                raise GatewayError(404, "not_found", "no such supplier")
            listing = await repo.listing(store_id, sku)
            if listing is None:
                listing = Listing(listing_id="lst_" + pysecrets.token_hex(8), retailer_id=retailer_id,
                                  store_id=store_id, sku=sku, supplier_id=supplier_id, supplier_sku=supplier_sku,
                                  unit_cost=unit_cost, updated_at=utcnow())
            listing.variant_id, listing.supplier_id, listing.supplier_sku = variant_id, supplier_id, supplier_sku
            listing.unit_cost, listing.active, listing.updated_at = unit_cost, active, utcnow()
            repo.add(listing)
            ev = ListingUpsertedV1.create(
                data=ListingUpsertedData(listing_id=listing.listing_id, retailer_id=retailer_id, store_id=store_id,
                                         sku=sku, variant_id=variant_id, supplier_id=supplier_id,
                                         supplier_sku=supplier_sku, unit_cost=unit_cost, active=active),
                producer=PRODUCER, tenant_id=retailer_id, correlation_id=f"listing:{listing.listing_id}")
            uow.publish(ev, T.CATALOG, key=listing.listing_id)
            await uow.commit()
        return ListingOut(listing_id=listing.listing_id, store_id=store_id, sku=sku, variant_id=variant_id,
                          supplier_id=supplier_id, supplier_sku=supplier_sku, unit_cost=unit_cost, active=active)
