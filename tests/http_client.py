"""A tiny HTTP client for the tests that drive a real server (gunicorn, nginx) over HTTP."""
from __future__ import annotations

import http.client
import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

CSRF = (re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"'),
        re.compile(r'"X-CSRFToken": "([^"]+)"'))


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Cookies (a jar that browsers on other addresses may share: a cookie names no port)
    and the CSRF token of the last page read. `follow_redirects=False` returns a 303 as
    such (a POST's answer, not the page it leads to)."""

    def __init__(self, base: str, *, jar: http.cookiejar.CookieJar | None = None,
                 follow_redirects: bool = True) -> None:
        self.base = base
        self.jar = jar if jar is not None else http.cookiejar.CookieJar()
        handlers = [urllib.request.HTTPCookieProcessor(self.jar)]
        if not follow_redirects:
            handlers.append(NoRedirect())
        self.opener = urllib.request.build_opener(*handlers)
        self.token = ""

    def open(self, path: str, data: dict | None = None, headers: dict | None = None,
             timeout: float = 30) -> tuple[int, str]:
        """The status and body; a POST when `data` is given (with the CSRF token). Status 0:
        the connection dropped without an answer."""
        body = None
        headers = dict(headers or {})
        if data is not None:
            body = urllib.parse.urlencode({**data, "csrf_token": self.token}).encode()
            headers.setdefault("Referer", self.base + path)
        request = urllib.request.Request(self.base + path, data=body, headers=headers)
        try:
            with self.opener.open(request, timeout=timeout) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode(errors="replace")
        except (ConnectionError, urllib.error.URLError, http.client.HTTPException, TimeoutError):
            return 0, ""
        for pattern in CSRF:
            match = pattern.search(text)
            if match:
                self.token = match.group(1)
                break
        return status, text

    def get(self, path: str, **kwargs) -> str:
        status, text = self.open(path, **kwargs)
        assert status == 200, f"GET {path}: {status}"
        return text

    def post(self, path: str, data: dict, **kwargs) -> int:
        return self.open(path, data, **kwargs)[0]
