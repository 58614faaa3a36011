"""The operator API: register retailers, their users and stores, suppliers, listings."""

from __future__ import annotations

import secrets as pysecrets
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field, HttpUrl, field_validator

from dropline_schemas.events import PaymentMethod, Platform

from ..errors import GatewayError
from ..views import ListingOut, RetailerCreated, StoreConnectedOut, SupplierCreated, UserCreated
from .common import ERRORS, Id, bearer, settings, use_cases


async def operator(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    key = bearer(authorization) or ""
    expected = settings(request).admin_token.get_secret_value()
    if not pysecrets.compare_digest(key.encode(), expected.encode()):
        raise GatewayError(401, "unauthorized", "operator token required: 'Authorization: Bearer <GATEWAY_ADMIN_TOKEN>'")


router = APIRouter(prefix="/admin/v1", tags=["operator API"], dependencies=[Depends(operator)], responses=ERRORS)


class RetailerIn(BaseModel):
    name: str = Field(min_length=1, max_length=255)


@router.post("/retailers", status_code=201, response_model=RetailerCreated,
             summary="Register a retailer; returns its API key once")
async def create_retailer(request: Request, body: RetailerIn) -> RetailerCreated:
    return await use_cases(request).catalog.create_retailer(body.name)


class UserIn(BaseModel):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    password: str = Field(min_length=10, max_length=1000, description="At least 10 characters; stored as argon2id.")


@router.post("/retailers/{retailer_id}/users", status_code=201, response_model=UserCreated,
             summary="Give a person a web sign-in for this retailer")
async def create_user(request: Request, retailer_id: Id, body: UserIn) -> UserCreated:
    return await use_cases(request).accounts.create_user(retailer_id, body.email, body.password)


class StoreIn(BaseModel):
    platform: Platform
    shop: str = Field(min_length=3, max_length=255,
                      description="The store's key: Shopify its myshopify.com domain, BigCommerce its store hash, "
                                  "Ecwid its store id, Wix the app instance id")
    api_base_url: HttpUrl | None = Field(default=None, description="API base; default: the platform's for this store")
    webhook_secret: str = Field(min_length=8, max_length=5000,
                                description="What the platform signs webhooks with: the app's client secret "
                                            "(Shopify, Ecwid, BigCommerce) or the app's public key PEM (Wix)")
    access_token: str | None = Field(default=None, min_length=8, max_length=500,
                                     description="Admin API token (Shopify, BigCommerce: access_token; "
                                                 "Ecwid: its secret_… token)")
    credentials: dict[str, Annotated[str, Field(max_length=2000)]] | None = Field(
        default=None, max_length=10,
        description="Other API credentials, by the platform's names (Wix: app_id, app_secret, instance_id)")

    @field_validator("shop")
    @classmethod
    def _shop(cls, v: str) -> str:
        return v.strip().lower()


@router.post("/retailers/{retailer_id}/stores", status_code=201, response_model=StoreConnectedOut,
             summary="Connect a store (secrets are never returned); answers what to configure on the platform")
async def connect_store(request: Request, retailer_id: Id, body: StoreIn) -> StoreConnectedOut:
    credentials = dict(body.credentials or {})
    if body.access_token:
        credentials.setdefault("secret_token" if body.platform is Platform.ECWID else "access_token",
                               body.access_token)
    store, header = await use_cases(request).catalog.connect_store(
        retailer_id, platform=body.platform, shop=body.shop,
        api_base_url=str(body.api_base_url) if body.api_base_url else None,
        webhook_secret=body.webhook_secret, credentials=credentials)
    return StoreConnectedOut(store_id=store.store_id, retailer_id=retailer_id, platform=store.platform,
                             shop=store.shop, api_base_url=store.api_base_url,
                             webhook_url=str(request.url_for("platform_webhook", platform=store.platform)),
                             webhook_header=header)


class SupplierIn(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    auto_order: bool
    website_url: HttpUrl | None = None
    payment_methods: list[PaymentMethod] = Field(default_factory=list)
    vat_rate: Decimal = Field(default=Decimal("0"), ge=0, le=1)
    shipping_first_item: Decimal = Field(default=Decimal("0"), ge=0)
    shipping_additional_item: Decimal = Field(default=Decimal("0"), ge=0)
    handling_days: int | None = Field(default=None, ge=0, le=365)
    order_api_url: HttpUrl | None = None
    order_api_key: str | None = Field(default=None, min_length=8, max_length=500)
    paypal_email: str | None = Field(default=None, max_length=127, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                                     description="The supplier's PayPal account: where PayPal payments go (payee).")
    paypal_merchant_id: str | None = Field(default=None, pattern=r"^[A-Z0-9]{13}$",
                                           description="PayPal merchant id (13 characters); preferred over the email.")


@router.post("/suppliers", status_code=201, response_model=SupplierCreated,
             summary="Register a supplier; returns its supplier-API key once")
async def create_supplier(request: Request, body: SupplierIn) -> SupplierCreated:
    return await use_cases(request).catalog.create_supplier(
        name=body.name, currency=body.currency, auto_order=body.auto_order,
        website_url=str(body.website_url) if body.website_url else None, payment_methods=body.payment_methods,
        vat_rate=body.vat_rate, shipping_first_item=body.shipping_first_item,
        shipping_additional_item=body.shipping_additional_item, handling_days=body.handling_days,
        order_api_url=str(body.order_api_url) if body.order_api_url else None, order_api_key=body.order_api_key,
        paypal_email=str(body.paypal_email) if body.paypal_email else None, paypal_merchant_id=body.paypal_merchant_id)


class ListingIn(BaseModel):
    store_id: str = Field(min_length=1, max_length=64)
    sku: str = Field(min_length=1, max_length=255)
    variant_id: str | None = Field(default=None, max_length=255)
    supplier_id: str = Field(min_length=1, max_length=64)
    supplier_sku: str = Field(min_length=1, max_length=255)
    unit_cost: Decimal = Field(ge=0, max_digits=14, decimal_places=4)
    active: bool = True


@router.put("/retailers/{retailer_id}/listings", response_model=ListingOut,
            summary="Create or update a listing (store SKU → supplier product)")
async def upsert_listing(request: Request, retailer_id: Id, body: ListingIn) -> ListingOut:
    return await use_cases(request).catalog.upsert_listing(
        retailer_id, store_id=body.store_id, sku=body.sku, variant_id=body.variant_id, supplier_id=body.supplier_id,
        supplier_sku=body.supplier_sku, unit_cost=body.unit_cost, active=body.active)
