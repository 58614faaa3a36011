from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from dropline_infra.settings import ServiceSettings

from .adapters.paypal import PayPalSettings
from .adapters.stripe import StripeSettings
from .ecb import HIST_90D_URL as ECB_HIST_90D_URL


class Settings(ServiceSettings, StripeSettings, PayPalSettings):
    """checkout: env prefix CHECKOUT_ (e.g. CHECKOUT_DATABASE_URL). Each payment provider brings its
    own settings as a mixin (CHECKOUT_STRIPE_*, CHECKOUT_PAYPAL_*)."""

    model_config = SettingsConfigDict(env_prefix="CHECKOUT_", extra="ignore")
    service_name: ClassVar[str] = "checkout"
    default_port: ClassVar[int] = 8002

    internal_token: SecretStr | None = Field(
        default=None, description="When set, every /internal route requires this value in the X-Internal-Token header.")
    payment_recovery_after_seconds: float = Field(
        default=30.0, ge=0,
        description="A payment still 'created' or 'processing' this long after its last change is finished by the "
                    "recovery loop (crash or network error in the middle of a checkout).")
    payment_recovery_interval_seconds: float = Field(
        default=5.0, gt=0, description="How often the recovery loop looks for stuck payments.")
    payment_abandon_after_seconds: float = Field(
        default=3600.0, gt=0,
        description="A checkout waiting for the buyer (PayPal approval, 3-D Secure) this long is abandoned: its "
                    "orders return to unpaid. A provider success that comes later is still honoured (the orders "
                    "are paid if still unpaid, else the money is refunded).")
    max_orders_per_payment: int = Field(default=200, ge=1, description="Upper bound of a bulk payment.")
    ecb_rates_url: str = Field(
        default=ECB_HIST_90D_URL,
        description="Where the ECB euro reference rates are fetched (the ECB's eurofxref XML: daily or hist-90d).")
    ecb_rates_refresh_interval_seconds: float = Field(
        default=3600.0, gt=0, description="How often the reference rates are fetched (ECB publishes ~16:00 CET).")
    ecb_rates_retry_seconds: float = Field(
        default=300.0, gt=0, description="After a failed fetch (unreachable, 5xx, malformed), try again this soon.")
    ecb_rates_timeout_seconds: float = Field(default=20.0, gt=0, description="Timeout of one rates fetch.")
    fx_max_age_days: int = Field(
        default=5, ge=0,
        description="A rate dated more than this many days before today is refused (fx_rate_stale) instead of "
                    "charged. 5 covers the longest regular gap between ECB publications: on Easter Tuesday "
                    "before ~16:00 CET the newest rate is Thursday's (Good Friday and Easter Monday are TARGET "
                    "holidays), also when 25 Dec is a Monday (Wednesday morning: Friday's rate).")

