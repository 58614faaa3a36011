"""PayPal (Orders v2 with a buyer approval, then a capture), behind the payment port."""

from .provider import PROVIDER_PAYPAL, PayPalProvider
from .settings import PayPalSettings

__all__ = ["PROVIDER_PAYPAL", "PayPalProvider", "PayPalSettings"]
