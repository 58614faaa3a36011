from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from dropline_infra.settings import JobSettingsMixin, SecretsKeyMixin, ServiceSettings


class Settings(ServiceSettings, SecretsKeyMixin, JobSettingsMixin):
    """tracking-sync: env prefix TRACKING_SYNC_ (e.g. TRACKING_SYNC_DATABASE_URL, TRACKING_SYNC_SECRETS_KEY)."""

    model_config = SettingsConfigDict(env_prefix="TRACKING_SYNC_", extra="ignore")
    service_name: ClassVar[str] = "tracking-sync"
    default_port: ClassVar[int] = 8004

    # Late-shipment alerts (alerts.py): a paid order without tracking after the supplier's handling days
    # (business days) is late; suppliers without handling days get the default. A write-back failing for
    # longer than not_synced_after_seconds flags the order not synced. The scan runs every interval.
    late_default_handling_days: int = Field(default=3, ge=0, le=60)
    not_synced_after_seconds: float = Field(default=7200.0, gt=0)
    alert_scan_interval_seconds: float = Field(default=60.0, gt=0)
    # A correction waits (no attempt spent) for the write-back of the record it corrects; when that
    # record's TrackingAdded has not reached tracking-sync this long after the correction was queued, the
    # correction gives up (OrderSyncFailed, not synced) instead of waiting for ever.
    correction_wait_max_seconds: float = Field(default=3600.0, gt=0)
    # A TrackingAdded whose order (OrderReceived, another topic) has not reached tracking-sync is parked as
    # its write-back job, which waits for the order (no attempt spent) this long before it gives up
    # (OrderSyncFailed) — rather than the consumer retrying it for consumer_retry_later_seconds, holding up
    # its partition, then dead-lettering it.
    order_wait_max_seconds: float = Field(default=3600.0, gt=0)
    # A store's fulfilment request (accept_fulfilment_request) is answered once every line of the
    # fulfillment order is in a Dropline order tracking-sync knows (one store order becomes one Dropline
    # order per supplier, and their OrderReceived events may come apart); after this long from the request
    # it is answered for the orders known, and the lines still missing are logged.
    fulfilment_request_wait_seconds: float = Field(default=120.0, ge=0)
