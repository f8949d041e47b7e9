"""The sample nginx config in front of gunicorn, on loopback ports, with real servers."""
import gzip
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from erp import create_app
from erp.extensions import db
from tests.conftest import app_config
from tests.servers import _wait_for_port, free_port

pytestmark = pytest.mark.dialect_independent  # same on every database: SQLite pass only

ROOT = Path(__file__).resolve().parent.parent


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
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.fail("nginx is not installed: apt-get install nginx-light (make test installs it)")
    database = f"sqlite:///{tmp_path / 'deploy.sqlite3'}"
    app = create_app(app_config(database, redis_url, tmp_path))
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    app_port, web_port = free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": database, "ERP_ENV": "development", "PROXY_COUNT": "1",
           "SECRET_KEY": "deploy-test-" + "k" * 40, "WEB_CONCURRENCY": "2", "REDIS_URL": ""}
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
         "--bind", f"127.0.0.1:{app_port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    site = (site.replace("listen 80;", f"listen 127.0.0.1:{web_port};")
                .replace("127.0.0.1:5000", f"127.0.0.1:{app_port}")
                .replace("/srv/erp/erp/static/", f"{ROOT}/erp/static/")
                .replace("/var/log/nginx/erp.access.log", str(tmp_path / "access.log")))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(f"""
user root;
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
daemon off;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    include {tmp_path}/site.conf;
}}
""")
    nginx = subprocess.Popen(["nginx", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_port(app_port, 30)
        _wait_for_port(web_port, 10)
        yield f"http://127.0.0.1:{web_port}", tmp_path
    finally:
        nginx.terminate()
        gunicorn.terminate()
        nginx.wait(10)
        gunicorn.wait(30)


def test_nginx_serves_pages_static_files_and_health(stack):
    base, logs = stack
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
