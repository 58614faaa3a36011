"""Web sign-in: an HttpOnly session cookie (Secure outside local development, SameSite=Lax) and a
CSRF token the page sends back on every state-changing request."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from ..errors import GatewayError
from ..views import SessionOut
from .common import ERRORS, Retailer, settings, use_cases

router = APIRouter(prefix="/api/v1", tags=["web session"])


class SignIn(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1000)


def _same_origin(request: Request) -> None:
    """Login CSRF: a sign-in posted from another site's page is refused (browsers send Origin)."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise GatewayError(403, "cross_origin", "sign-in is only accepted from Dropline's own pages")


@router.post("/session", response_model=SessionOut, responses=ERRORS, summary="Sign in (sets the session cookie)")
async def sign_in(request: Request, response: Response, body: SignIn) -> SessionOut:
    _same_origin(request)
    st = settings(request)
    client = request.client.host if request.client else "unknown"
    token, session = await use_cases(request).accounts.sign_in(body.email, body.password, client)
    response.set_cookie(st.session_cookie_name, token, max_age=int(st.session_ttl_hours * 3600), path="/",
                        httponly=True, secure=st.cookie_secure, samesite="lax")
    response.headers["Cache-Control"] = "no-store"
    return session


@router.get("/session", response_model=SessionOut, responses=ERRORS, summary="The signed-in user and CSRF token")
async def current_session(request: Request, response: Response, who: Retailer) -> SessionOut:
    if who.via != "session":
        raise GatewayError(401, "unauthorized", "not signed in (API keys have no session)")
    response.headers["Cache-Control"] = "no-store"
    return await use_cases(request).accounts.session_body(who)


@router.delete("/session", status_code=204, responses=ERRORS, summary="Sign out")
async def sign_out(request: Request, who: Retailer) -> Response:
    st = settings(request)
    token = request.cookies.get(st.session_cookie_name)
    if who.via == "session" and token:
        await use_cases(request).accounts.sign_out(token)
    response = Response(status_code=204)
    response.delete_cookie(st.session_cookie_name, path="/", httponly=True, secure=st.cookie_secure, samesite="lax")
    return response
