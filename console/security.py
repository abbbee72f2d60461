"""What keeps the console safe in a browser: response headers that forbid framing, sniffing and
any script or style not served from our own files, and CSRF protection on every form.

CSRF: a random per-browser cookie plus a form field holding an HMAC of that cookie and the session
token, so a token lifted from one browser or one session is useless in another. A foreign Origin
is refused outright. SameSite=Strict cookies are the first line; this is the second, for browsers
or proxies that do not honour it."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from aiohttp import web

CSRF_COOKIE = "hailong_csrf"
CSRF_FIELD = "csrf_token"
# no inline script or style anywhere; charts are SVG images (data: URIs) drawn on the server
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "same-origin", "Cross-Origin-Opener-Policy": "same-origin",
           "Cross-Origin-Resource-Policy": "same-origin",
           "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()"}
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_NEW_CSRF = web.RequestKey("console_new_csrf", str)


class CsrfRejected(Exception):
    """A state-changing request without a valid CSRF token, or from another site."""


def cookie_options(secure: bool, max_age: int | None = None) -> dict[str, object]:
    """HttpOnly and SameSite=Strict always; Secure when browsers reach us over https."""
    opts: dict[str, object] = {"path": "/console", "httponly": True, "samesite": "Strict", "secure": secure}
    if max_age is not None:
        opts["max_age"] = max_age
    return opts


def csrf_cookie(request: web.Request) -> str:
    """This browser's CSRF secret, made on its first visit (set on the response by ``headers``)."""
    if _NEW_CSRF in request:
        return request[_NEW_CSRF]
    value = request.cookies.get(CSRF_COOKIE, "")
    if not 20 <= len(value) <= 100:
        value = secrets.token_urlsafe(32)
        request[_NEW_CSRF] = value
    return value


def rotate_csrf(request: web.Request) -> None:
    """A fresh secret at login and logout, so a value planted before login is worthless after."""
    request[_NEW_CSRF] = secrets.token_urlsafe(32)


def csrf_token(request: web.Request, key: str, session: str | None) -> str:
    message = f"{csrf_cookie(request)}|{session or ''}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def check_origin(request: web.Request, public_url: str) -> None:
    """Browsers send Origin on form posts; one that is not this site is a cross-site request."""
    origin = request.headers.get("Origin")
    if origin is None:
        return
    allowed = {request.host} | ({urlsplit(public_url).netloc} if public_url else set())
    if origin == "null" or urlsplit(origin).netloc not in allowed:
        raise CsrfRejected("origin")


def check_csrf(request: web.Request, submitted: str, key: str, session: str | None) -> None:
    if CSRF_COOKIE not in request.cookies or _NEW_CSRF in request:
        raise CsrfRejected("no cookie")
    if not submitted or not hmac.compare_digest(submitted, csrf_token(request, key, session)):
        raise CsrfRejected("bad token")


def add_headers(response: web.StreamResponse) -> None:
    """Every console response, streamed downloads and static files included: the security headers,
    and never cached unless said otherwise."""
    response.headers.update(HEADERS)
    response.headers.setdefault("Cache-Control", "no-store")


def set_csrf_cookie(request: web.Request, response: web.StreamResponse, secure: bool) -> None:
    """The CSRF secret made for this request, if one was (before the response is prepared)."""
    if _NEW_CSRF in request and not response.prepared:
        response.set_cookie(CSRF_COOKIE, request[_NEW_CSRF], **cookie_options(secure))  # type: ignore[arg-type]
