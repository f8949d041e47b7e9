"""The sample nginx config in front of gunicorn, on loopback ports, with real servers."""
import gzip
import time
import urllib.error
import urllib.request

import pytest

from erp import create_app
from erp.extensions import db
from tests.conftest import app_config
from tests.servers import GunicornServer, NginxServer, deploy_site, free_port, wait_for_http

pytestmark = pytest.mark.dialect_independent  # same on every database: SQLite pass only


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url, headers=None):
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def stack(tmp_path, redis_url):
    database = f"sqlite:///{tmp_path / 'deploy.sqlite3'}"
    app = create_app(app_config(database, redis_url, tmp_path))
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    gunicorn = GunicornServer(
        {"DATABASE_URL": database, "ERP_ENV": "development", "PROXY_COUNT": "1",
         "SECRET_KEY": "deploy-test-" + "k" * 40, "WEB_CONCURRENCY": "2", "REDIS_URL": "",
         "INSTANCE_DIR": str(tmp_path / "instance")},
        tmp_path / "gunicorn.log")
    web_port = free_port()
    nginx = NginxServer(deploy_site(tmp_path, web_port, [gunicorn.port]), tmp_path)
    try:
        gunicorn.start()
        nginx.start()
        gunicorn.wait_ready()
        wait_for_http(f"http://127.0.0.1:{web_port}/health", 10, nginx.process)
        yield f"http://127.0.0.1:{web_port}", tmp_path, gunicorn.url
    finally:
        nginx.stop()
        gunicorn.stop()


def test_nginx_serves_pages_static_files_and_health(stack):
    base, logs, _ = stack
    status, headers, _ = fetch(base + "/")
    assert status == 302 and headers["Location"].endswith("/login?next=%2F")
    status, headers, body = fetch(base + "/login")
    assert status == 200 and b'name="email"' in body
    assert "default-src 'self'" in headers["Content-Security-Policy"]

    status, headers, body = fetch(base + "/static/vendor/htmx/htmx-2.0.11.min.js",
                                  {"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers.get("Content-Encoding") == "gzip" and b"htmx" in gzip.decompress(body)
    assert "immutable" in headers["Cache-Control"]

    status, headers, body = fetch(base + "/health/ready")
    assert status == 200 and b'"status"' in body and b'"database"' not in body

    time.sleep(0.2)  # nginx writes the access log line after the response
    log = (logs / "access.log").read_text()
    assert "GET /login" in log and "/health" not in log


def test_nginx_stamps_when_it_got_the_request_over_what_a_client_sent(stack):
    """The app sheds a request whose X-Request-Start is older than REQUEST_QUEUE_BUDGET_MS
    and trusts the header behind a proxy (PROXY_COUNT=1): the sample's nginx must replace
    a client's stamp with its own."""
    base, _, app = stack
    old = {"X-Request-Start": "t=1000000000.000"}  # 2001
    assert fetch(app + "/login", old)[0] == 503  # straight to gunicorn: shed
    assert fetch(base + "/login", old)[0] == 200  # through nginx: stamped anew
