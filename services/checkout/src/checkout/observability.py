"""checkout's logger (structured; bound context such as payment_id travels with every line)."""

from dropline_infra.observability import get_logger

log = get_logger("checkout")
