"""What the store-platform stand-ins share: webhook delivery with drop/redeliver controls, and the
request-window accounting behind their rate limits. Each stand-in keeps its platform's own shapes."""

from .limits import FixedWindow, WindowVerdict
from .webhooks import DeliveryAttempt, Outbox, OutgoingWebhook

__all__ = ["DeliveryAttempt", "FixedWindow", "Outbox", "OutgoingWebhook", "WindowVerdict"]
