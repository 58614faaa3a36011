"""Which provider takes which payment method: one line per provider. A provider package offers a
Settings mixin (part of checkout's Settings) and a `from_settings` constructor."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from dropline_schemas.events import PaymentMethod

from .paypal import PayPalProvider
from .port import PaymentProvider
from .stripe import StripeProvider

PROVIDERS: Mapping[PaymentMethod, Callable[..., PaymentProvider]] = {
    PaymentMethod.CARD: StripeProvider.from_settings,
    PaymentMethod.PAYPAL: PayPalProvider.from_settings,
}


def build_providers(settings) -> dict[PaymentMethod, PaymentProvider]:
    return {method: make(settings) for method, make in PROVIDERS.items()}
