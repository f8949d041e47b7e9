"""Request hardening shared by every route: the bounded `int` URL converter, the local
redirect check, and the response headers Flask-Talisman does not set.

Wired by `create_app()` (`register(app)`, before the blueprints are registered: a rule
picks its converter when it is added). Also the session cookie's interface, whose
signature check is made once per process and cookie.
"""
from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature
from werkzeug.routing import IntegerConverter as WerkzeugIntegerConverter

# The largest id a route accepts: a signed 64-bit integer, what SQLite and PostgreSQL's
# bigint hold. A larger number in an address is no record of ours: 404, not an overflow
# in the database driver (a 500 on SQLite).
MAX_ID = 2**63 - 1

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


class IntegerConverter(WerkzeugIntegerConverter):
    """Flask's `<int:...>` with an upper bound (MAX_ID unless the rule gives `max=`).

    It keeps Werkzeug's class name, so code that asks a rule for its "IntegerConverter"
    arguments still finds them.
    """

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = None, signed: bool = False) -> None:
        bound = MAX_ID if max is None or max > MAX_ID else max
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=bound, signed=signed)


def safe_next(target: str | None) -> str | None:
    """Only a local path is a safe place to go after login (no open redirect, and no
    control character: a CR or LF in a Location header is a 500 or a split response)."""
    if not target or CONTROL_CHARACTERS.search(target):
        return None
    target = target.replace("\\", "/").strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


# Responses whose caching is decided elsewhere: static files (fingerprinted ones are cached
# for good by erp.templating).
CACHEABLE_ENDPOINTS = {"static"}


def security_headers(response):
    """after_request: isolation headers on every response, and no caching of app pages.

    Pages show company data and carry the CSRF token: `no-store` keeps them out of the
    browser's disk cache and out of shared proxies (the back button after logout shows
    nothing). A view that chose its own Cache-Control keeps it.
    """
    headers = response.headers
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    if request.endpoint not in CACHEABLE_ENDPOINTS and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
        headers.pop("Expires", None)
    return response


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with the signature of each cookie checked once per
    process (#17): a browser sends the same cookie on every request until the session
    changes, and checking it (deriving the HMAC key, the HMAC, the serializer built anew)
    cost about as much as decoding it. A cookie is remembered only after its signature
    verified under the app's current keys (the key of the memo names the serializer, which
    names the keys); its age is checked on every request as itsdangerous checks it
    (PERMANENT_SESSION_LIFETIME), and its content is decoded anew each time, so every
    request gets a session of its own. Logout and the idle lifetime are enforced on the
    server as before (the session version in erp.auth, `enforce_session_lifetime`)."""

    MEMO_SIZE = 4096  # cookies remembered per process; then the memo starts again

    def __init__(self) -> None:
        self._serializers: dict = {}
        self._verified: dict = {}  # (serializer, cookie) -> (payload, signed at)

    def get_signing_serializer(self, app: Flask):
        if not app.secret_key:
            return None
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
        return serializer

    def open_session(self, app: Flask, request):
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        key = (serializer, value)
        verified = self._verified.get(key)
        try:
            if verified is None:
                data, signed_at = serializer.loads(value, max_age=max_age,
                                                   return_timestamp=True)
                if len(self._verified) >= self.MEMO_SIZE:
                    self._verified.clear()
                # the cookie is "payload.timestamp.signature" (itsdangerous)
                self._verified[key] = (value.rsplit(".", 2)[0].encode(),
                                       int(signed_at.timestamp()))
                return self.session_class(data)
            payload, signed_at = verified
            age = int(time.time()) - signed_at
            if age > max_age or age < 0:  # as itsdangerous' SignatureExpired
                self._verified.pop(key, None)
                return self.session_class()
            return self.session_class(serializer.load_payload(payload))
        except BadSignature:
            return self.session_class()


def register(app: Flask) -> None:
    app.url_map.converters["int"] = IntegerConverter
    app.session_interface = SessionCookies()
    app.after_request(security_headers)
