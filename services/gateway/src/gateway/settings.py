from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from dropline_infra.settings import SecretsKeyMixin, ServiceSettings

DEVELOPMENT_ADMIN_TOKEN = "dev-admin-token"


class Settings(ServiceSettings, SecretsKeyMixin):
    """gateway: env prefix GATEWAY_ (e.g. GATEWAY_DATABASE_URL, GATEWAY_ADMIN_TOKEN)."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")
    service_name: ClassVar[str] = "gateway"
    default_port: ClassVar[int] = 8000

    admin_token: SecretStr = Field(default=SecretStr(DEVELOPMENT_ADMIN_TOKEN),
                                   description="Operator token for /admin (header Authorization: Bearer …).")
    checkout_url: str = Field(default="http://127.0.0.1:8002", description="checkout's internal API.")
    checkout_internal_token: SecretStr | None = Field(default=None, description="Sent as X-Internal-Token to checkout.")
    max_webhook_bytes: int = Field(default=768 * 1024, description=(
        "Larger webhook bodies are refused (413). Keep it under the Kafka producer's max request size "
        "(1 MiB by default): the body travels inside the StoreWebhookReceived event."))

    run_consumers: bool = Field(default=True, description=(
        "Run the orders projection consumer in this replica. false = an API-only replica (scale the HTTP tier "
        "apart from the projection); its live streams still see every change through the database."))
    web_dir: Path | None = Field(default=None, description=(
        "Built web app (index.html + assets) served at /. Unset = web/dist of this checkout when it exists."))
    session_cookie_name: str = "dropline_session"
    session_cookie_secure: bool | None = Field(default=None, description=(
        "Secure flag of the session cookie. Unset = on everywhere except environment=development (plain http "
        "on localhost)."))
    session_ttl_hours: float = Field(default=12.0, gt=0, description="A web session ends this long after sign-in.")
    signin_window_seconds: int = Field(default=900, ge=1, description="Failed sign-ins are counted over this window.")
    signin_max_failures_per_account: int = Field(default=5, ge=1)
    signin_max_failures_per_address: int = Field(default=20, ge=1)
    stripe_publishable_key: str = Field(default="pk_test_dropline_local", description=(
        "Stripe publishable key for Stripe.js on the checkout page (localstripe accepts any pk_test_…)."))
    stripe_js_url: str = Field(default="https://js.stripe.com/v3/", description=(
        "Where the checkout page loads Stripe.js from (make run: localstripe's stand-in)."))
    public_url: str | None = Field(default=None, pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$", description=(
        "The web app's public address, e.g. https://app.dropline.example: PayPal sends the retailer back to "
        "{public_url}/checkout/paypal/approved (or /cancelled). Unset = the address the request came to "
        "(make run: http://127.0.0.1:8000, the Vite dev server's own address behind its proxy). Set it wherever "
        "a proxy in front changes the address or the scheme."))
    live_poll_seconds: float = Field(default=5.0, gt=0, description=(
        "A live stream also looks for changes this often, in case a database notification was missed."))

    @property
    def cookie_secure(self) -> bool:
        if self.session_cookie_secure is not None:
            return self.session_cookie_secure
        return self.environment != "development"

    @property
    def web_root(self) -> Path | None:
        if self.web_dir is not None:
            return self.web_dir
        default = Path(__file__).resolve().parents[4] / "web" / "dist"
        return default if (default / "index.html").exists() else None

    @model_validator(mode="after")
    def _refuse_development_admin_token(self):
        if self.environment == "production" and self.admin_token.get_secret_value() == DEVELOPMENT_ADMIN_TOKEN:
            raise ValueError("admin_token is the development default; set GATEWAY_ADMIN_TOKEN in production")
        return self
