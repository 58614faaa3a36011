"""Who is calling: retailer users (email + argon2 password), web sessions, sign-in throttling,
and the API keys of machine clients (retailers, suppliers).

Sign-in answers the same for an unknown email and a wrong password (and takes as long: an unknown
email is checked against a dummy hash). Failed attempts are counted per account and per client
address in the database, so every gateway replica sees the same count; over the limit the answer is
429 with Retry-After until the oldest failure in the window has aged out."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError

from dropline_infra.db import Database, utcnow

from ..errors import GatewayError
from ..models import RetailerUser, Supplier, WebSession
from ..repository import Repository
from ..settings import Settings
from ..views import RetailerOut, SessionOut, UserCreated, UserOut

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("dropline-dummy-password-for-timing")
INVALID_CREDENTIALS = "Email or password is incorrect."


def key_hash(api_key: str) -> str:
    """API keys and session tokens are stored as SHA-256 digests: they are long and random, so no
    salt or KDF is needed (passwords, which are not, get argon2)."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True)
class Principal:
    """The retailer a request acts for, and how it proved it."""

    retailer_id: str
    retailer_name: str
    via: str  # "api_key" | "session"
    user_id: str | None = None
    csrf_token: str | None = None


class Accounts:
    def __init__(self, db: Database, settings: Settings, *, supplier_cache_seconds: float = 5.0,
                 clock: Callable[[], float] = time.monotonic):
        self.db = db
        self.settings = settings
        self.supplier_cache_seconds = supplier_cache_seconds
        self.clock = clock
        self._suppliers: dict[str, tuple[Supplier, float]] = {}  # key hash -> (supplier, kept until)

    # ------------------------------------------------------------------ operator: users

    async def create_user(self, retailer_id: str, email: str, password: str) -> UserCreated:
        email = normalise_email(email)
        password_hash = await asyncio.to_thread(_hasher.hash, password)
        user_id = "usr_" + secrets.token_hex(8)
        try:
            async with self.db.uow() as uow:
                repo = Repository(uow.session)
                if await repo.retailer(retailer_id) is None:
                    raise GatewayError(404, "not_found", "no such retailer")
                repo.add(RetailerUser(user_id=user_id, retailer_id=retailer_id, email=email,
                                      password_hash=password_hash, created_at=utcnow()))
                await uow.commit()
        except IntegrityError as exc:
            raise GatewayError(409, "email_taken", f"a user with email {email} already exists") from exc
        return UserCreated(user_id=user_id, retailer_id=retailer_id, email=email)

    # ------------------------------------------------------------------ sign in / out

    async def sign_in(self, email: str, password: str, client_address: str) -> tuple[str, SessionOut]:
        """Returns (session token for the cookie, session body). Raises 401 or 429."""
        email = normalise_email(email)
        s = self.settings
        now = utcnow()
        keys = ((f"email:{email}", s.signin_max_failures_per_account),
                (f"ip:{client_address}", s.signin_max_failures_per_address))
        since = now - timedelta(seconds=s.signin_window_seconds)
        async with self.db.uow() as uow:
            repo = Repository(uow.session)
            for key, limit in keys:
                failures = await repo.failures_since(key, since)
                if len(failures) >= limit:
                    retry = max(1, int((failures[-limit] - since).total_seconds()) + 1)
                    raise GatewayError(429, "too_many_attempts",
                                       f"Too many attempts, try again in {retry} seconds.",
                                       headers={"Retry-After": str(retry)}, retry_after_seconds=retry)
            user = await repo.user_by_email(email)
        ok = await asyncio.to_thread(_verify, user.password_hash if user else _DUMMY_HASH, password)
        if not ok or user is None:
            async with self.db.uow() as uow:
                repo = Repository(uow.session)
                for key, _ in keys:
                    repo.add_failure(key, now)
                await repo.forget_old_failures(since)
                await uow.commit()
            raise GatewayError(401, "invalid_credentials", INVALID_CREDENTIALS)
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        async with self.db.uow() as uow:
            repo = Repository(uow.session)
            retailer = await repo.retailer(user.retailer_id)
            assert retailer is not None
            repo.add(WebSession(token_hash=key_hash(token), user_id=user.user_id, retailer_id=user.retailer_id,
                                csrf_token=csrf, created_at=now,
                                expires_at=now + timedelta(hours=s.session_ttl_hours)))
            await repo.clear_failures(keys[0][0])
            await repo.delete_expired_sessions(now)
            await uow.commit()
        return token, SessionOut(user=UserOut(user_id=user.user_id, email=user.email),
                                 retailer=RetailerOut(retailer_id=retailer.retailer_id, name=retailer.name),
                                 csrf_token=csrf)

    async def sign_out(self, token: str) -> None:
        async with self.db.uow() as uow:
            await Repository(uow.session).delete_web_session(key_hash(token))
            await uow.commit()

    async def session_body(self, principal: Principal) -> SessionOut:
        async with self.db.uow() as uow:
            user = await Repository(uow.session).user(principal.user_id or "")
        if user is None or principal.csrf_token is None:
            raise GatewayError(401, "unauthorized", "not signed in")
        return SessionOut(user=UserOut(user_id=user.user_id, email=user.email),
                          retailer=RetailerOut(retailer_id=principal.retailer_id, name=principal.retailer_name),
                          csrf_token=principal.csrf_token)

    # ------------------------------------------------------------------ who is calling

    async def by_session(self, token: str, now: datetime | None = None) -> Principal | None:
        async with self.db.uow() as uow:
            repo = Repository(uow.session)
            session = await repo.web_session(key_hash(token))
            if session is None or session.expires_at <= (now or utcnow()):
                return None
            retailer = await repo.retailer(session.retailer_id)
        if retailer is None:
            return None
        return Principal(retailer_id=retailer.retailer_id, retailer_name=retailer.name, via="session",
                         user_id=session.user_id, csrf_token=session.csrf_token)

    async def by_api_key(self, api_key: str) -> Principal | None:
        async with self.db.uow() as uow:
            retailer = await Repository(uow.session).retailer_by_key_hash(key_hash(api_key))
        if retailer is None:
            return None
        return Principal(retailer_id=retailer.retailer_id, retailer_name=retailer.name, via="api_key")

    async def supplier_by_api_key(self, api_key: str):
        """The supplier whose API key this is. A known key is kept in memory for `supplier_cache_seconds`
        (every tracking report of a supplier is one request: no query for each); an unknown key is
        looked up every time, so nothing an outsider sends fills the memory."""
        h = key_hash(api_key)
        now = self.clock()
        kept = self._suppliers.get(h)
        if kept is not None and kept[1] > now:
            return kept[0]
        async with self.db.uow() as uow:
            supplier = await Repository(uow.session).supplier_by_key_hash(h)
        if supplier is None:
            self._suppliers.pop(h, None)
        elif self.supplier_cache_seconds > 0:
            self._suppliers[h] = (supplier, now + self.supplier_cache_seconds)
        return supplier


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
