"""Cards, through Stripe."""

from .provider import PROVIDER_STRIPE, StripeProvider
from .settings import StripeSettings

__all__ = ["PROVIDER_STRIPE", "StripeProvider", "StripeSettings"]
