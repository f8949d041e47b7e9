"""Request hardening shared by every route: the bounded `int` URL converter, the local
redirect check, and the response headers Flask-Talisman does not set.

Wired by `create_app()` (`register(app)`, before the blueprints are registered: a rule
picks its converter when it is added).
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Flask, request
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


def register(app: Flask) -> None:
    app.url_map.converters["int"] = IntegerConverter
    app.after_request(security_headers)
