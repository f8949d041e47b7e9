"""The per-request savings (bench/profile.py, #8) keep behaviour: memoised template URLs,
the session cookie written only when it changes, buffered monitoring figures, NUL checks."""
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from flask import render_template_string, url_for
from markupsafe import escape

from erp import create_app
from erp.extensions import db
from erp.monitoring import get_monitor
from erp.monitoring.recorder import Recorder, Sample
from erp.monitoring.store import SQLiteStore
from tests.conftest import login

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.dialect_independent
def test_template_urls_are_the_urls_flask_builds(app):
    calls = [("main.dashboard", {}), ("sales.order_detail", {"order_id": 7}),
             ("sales.order_list", {"status": "draft", "page": 2}),
             ("sales.order_list", {"page": True}), ("static", {"filename": "css/app.css"}),
             ("sales.order_list", {"tag": ["a", "b"]}),  # unhashable: not memoised
             ("main.dashboard", {"_external": True}), ("main.dashboard", {"_anchor": "x y"})]
    template = "{{ url_for(endpoint, **values) }}"
    for base_url in ("http://localhost", "https://erp.example.com/prefix"):
        with app.test_request_context("/", base_url=base_url):
            for endpoint, values in calls * 2:  # the second round comes from the memo
                expected = url_for(endpoint, **values)
                assert render_template_string(template, endpoint=endpoint,
                                              values=values) == escape(expected)
            assert "?v=" in render_template_string("{{ url_for('static', filename='x.css') "
                                                   "}} {{ url_for('static', filename='css/app.css') }}")


@pytest.mark.dialect_independent
def test_a_list_filters_options_are_escaped_translated_and_selected(app):
    """select_filter's options, made in one call (erp.templating.select_options)."""
    template = ('{% from "_macros.html" import select_filter %}'
                '{{ select_filter("f", "Filter", options, current) }}')
    options = [(1, "A & <b>"), ("yes", "Yes"), (None, "")]
    with app.test_request_context("/"):
        html = render_template_string(template, options=options, current="1")
        assert '<option value="1" selected>A &amp; &lt;b&gt;</option>' in html
        assert '<option value="yes">Yes</option>' in html
        assert '<option value="None"></option>' in html
        assert "selected" not in render_template_string(template, options=options,
                                                        current=None)
        # each text as `|translate` shows it (a marked text in the reader's language)
        shown = render_template_string("{{ 'Yes'|translate }}")
        html = render_template_string(template, options=options, current="yes")
        assert f'<option value="yes" selected>{shown}</option>' in html


def test_the_kept_navigation_follows_the_readers_role_language_and_page(app, make_user,
                                                                          monkeypatch):
    """The navigation bar's links are rendered once per language, role and page and kept,
    as the scripts' texts are per language (erp.templating `kept`, #17): a kept one is
    never shown to another role, language or page, and a kept one is not rendered again."""
    clients = {name: login(app.test_client(), make_user(role, **options).email)
               for name, role, options in [("viewer", "viewer", {}), ("admin", "admin", {}),
                                           ("turkish", "admin", {"language": "tr"}),
                                           ("install", "admin", {"is_superuser": True})]}

    def nav(name: str, path: str = "/") -> str:
        page = clients[name].get(path).get_data(as_text=True)
        return page[page.index('id="main-nav"'):page.index('id="user-menu"')]

    def check() -> None:
        assert 'href="/admin/users"' not in nav("viewer")
        admin = nav("admin")
        assert 'href="/admin/users">Users</a>' in admin and 'href="/admin/monitoring"' not in admin
        assert 'href="/admin/monitoring">Monitoring</a>' in nav("install")
        turkish = nav("turkish")
        assert ">Pano</a>" in turkish and ">Dashboard</a>" not in turkish
        assert ">Dashboard</a>" in nav("viewer")
        texts = clients["turkish"].get("/").get_data(as_text=True)
        assert '"net_sales": "Net sat\\u0131\\u015f"' in texts  # "Net satış" (JSON)
        assert '"net_sales": "Net sales"' in clients["admin"].get("/").get_data(as_text=True)
        for path in ("/", "/sales/orders"):
            assert re.findall(r'aria-current="page"\s+href="([^"]+)"', nav("viewer", path)) == [path]

    check()
    rendered = []
    get_template = app.jinja_env.get_template
    monkeypatch.setattr(app.jinja_env, "get_template",
                        lambda name, *a, **k: rendered.append(name) or get_template(name, *a, **k))
    check()  # the same answers from the kept links ...
    assert not {"_navigation.html", "_js_texts.html", "_assets.html"} & set(rendered)  # ... kept


def test_an_unchanged_session_is_not_rewritten_on_every_response(client_as):
    client = client_as("viewer")
    client.get("/")  # the login's redirect target: last_seen is fresh
    response = client.get("/sales/orders")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


@pytest.mark.dialect_independent
def test_a_session_cookie_checked_once_is_still_checked_for_age_and_content(app, monkeypatch):
    """The session interface remembers a cookie whose signature verified (#17): each request
    still gets a session of its own, an aged cookie is refused as itsdangerous refuses it,
    and a cookie signed with another key or changed by a byte is no session at all."""
    from flask import request
    from itsdangerous import URLSafeTimedSerializer

    interface = app.session_interface
    cookie = interface.get_signing_serializer(app).dumps({"_user_id": "1:0", "n": [1, 2]})
    name = app.config.get("SESSION_COOKIE_NAME", "session")

    def opened(value):
        with app.test_request_context("/", headers={"Cookie": f"{name}={value}"}):
            return interface.open_session(app, request)

    first = opened(cookie)
    assert dict(first) == {"_user_id": "1:0", "n": [1, 2]}
    first["n"].append(3)  # a request changing its session ...
    second = opened(cookie)  # ... from the memo: a session of its own, as sent
    assert dict(second) == {"_user_id": "1:0", "n": [1, 2]} and second is not first
    forged = URLSafeTimedSerializer("another-key" * 4, salt="cookie-session").dumps(
        {"_user_id": "1:0"})
    assert dict(opened(forged)) == {}
    changed = cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]
    assert dict(opened(changed)) == {}
    monkeypatch.setitem(app.config, "PERMANENT_SESSION_LIFETIME", 1)
    time.sleep(2.1)
    assert dict(opened(cookie)) == {}  # too old, though remembered


@pytest.mark.dialect_independent
def test_buffered_figures_reach_the_store_on_flush_and_before_a_summary(tmp_path):
    path = str(tmp_path / "monitoring.sqlite3")
    worker = Recorder(SQLiteStore(path), flush_seconds=60)
    other = Recorder(SQLiteStore(path))  # another worker's view of the shared figures
    now = time.time()
    worker.record(Sample("sales.order_list", 200, 40.0, db_ms=5, db_count=3, at=now))
    worker.record(Sample("sales.order_list", 200, 90.0, db_ms=5, db_count=3, at=now))
    assert other.summary(now)["figures"]["requests"] == 0  # not flushed yet
    assert worker.summary(now)["figures"]["requests"] == 2  # its own read flushes
    figures = other.summary(now)
    assert figures["figures"]["requests"] == 2 and figures["figures"]["queries"] == 6
    assert figures["slowest"][0]["max_ms"] == 90.0


@pytest.mark.dialect_independent
def test_the_flusher_thread_writes_without_a_read_and_stops_when_idle(tmp_path):
    path = str(tmp_path / "monitoring.sqlite3")
    worker = Recorder(SQLiteStore(path), flush_seconds=0.05)
    other = Recorder(SQLiteStore(path))
    worker.record(Sample("a.page", 200, 10.0))
    deadline = time.time() + 5
    while other.summary()["figures"]["requests"] == 0 and time.time() < deadline:
        time.sleep(0.02)
    assert other.summary()["figures"]["requests"] == 1
    while worker._flusher_pid and time.time() < deadline:
        time.sleep(0.02)
    assert worker._flusher_pid == 0  # no thread left behind by an idle process
    worker.record(Sample("a.page", 200, 10.0))  # a new request starts a new flusher
    while other.summary()["figures"]["requests"] < 2 and time.time() < deadline:
        time.sleep(0.02)
    assert other.summary()["figures"]["requests"] == 2


@pytest.fixture
def buffered_app(database_url, redis_url, _schema, tmp_path):
    """The app with the production default of MONITORING_FLUSH_SECONDS (the other tests
    write figures at once)."""
    from tests.conftest import app_config
    config = app_config(database_url, redis_url, tmp_path)
    config.pop("MONITORING_FLUSH_SECONDS")
    app = create_app(config)
    with app.app_context():
        yield app
        get_monitor(app).recorder.flush()
        db.session.remove()
        db.engine.dispose()


def test_the_app_buffers_its_requests_figures(buffered_app):
    recorder = get_monitor(buffered_app).recorder
    assert recorder.flush_seconds == 1.0
    buffered_app.test_client().get("/login")
    assert recorder.summary()["figures"]["requests"] >= 1  # a summary flushes first


@pytest.mark.dialect_independent
def test_a_web_process_imports_no_migration_tooling():
    """Alembic (with Mako and Pygments: 8.8 MB per worker) is imported by a migration, not
    by the app a gunicorn worker serves (erp/lazy_migrate.py), nor by its readiness check."""
    code = ("import sys; from erp import create_app; app = create_app(); "
            "app.test_client().get('/health/ready'); "  # the migration check reads the heads
            "print(sorted(m for m in ('alembic', 'mako', 'pygments', 'flask_migrate') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "DATABASE_URL": "sqlite://"}, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.dialect_independent
def test_nul_bytes_are_refused_in_forms_and_query_strings(client):
    assert client.get("/login?next=%00").status_code == 400
    assert client.post("/login", data={"email": "a\x00@example.com",
                                       "password": "x"}).status_code == 400
    assert client.post("/login", data={"email": "a\x00@example.com", "password": "x"},
                       content_type="multipart/form-data").status_code == 400
    # a body that is not a form is not parsed as one (and holds no form field)
    assert client.post("/login", data=b"email=a\x00b", content_type="text/plain").status_code != 400


@pytest.fixture
def redis_app(database_url, redis_url, _schema, tmp_path):
    """The app as deployed: cache, cache versions and rate limits in Redis, monitoring
    figures buffered (the other tests of the SQLite pass use the file cache)."""
    import redis as redis_lib

    from tests.conftest import IsolatedClient, app_config, clean_database
    config = app_config(database_url, redis_url, tmp_path) | {"REDIS_URL": redis_url}
    config.pop("MONITORING_FLUSH_SECONDS")
    app = create_app(config)
    app.test_client_class = IsolatedClient  # each request in its own app context, as served
    redis_lib.Redis.from_url(redis_url).flushdb()
    with app.app_context():
        clean_database()
        yield app
        get_monitor(app).recorder.flush()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def redis_round_trips(monkeypatch):
    """Counts the commands (or pipelines) this process sends to Redis: each is a round trip."""
    from redis.connection import AbstractConnection

    sent = []
    send = AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):
        packed = b"".join(command) if isinstance(command, (list, tuple)) else command
        # not the monitoring figures' flush: its own thread, once a second whatever the page
        if threading.current_thread().name != "erp-monitoring-flush":
            sent.append(packed.split(b"\r\n")[2].decode())  # the command's name
        return send(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)
    return sent


def test_a_warm_page_costs_one_redis_round_trip_and_the_dashboard_two(redis_app,
                                                                       redis_round_trips):
    """The rate limit is one round trip (no header reads); the dashboard adds one for all
    its cached parts with all its company's cache versions, the agings one for their
    cached page with the versions (#17)."""
    from tests.conftest import login
    from tests.factories.core import UserFactory

    client = login(redis_app.test_client(), UserFactory(role="viewer").email)
    for path, round_trips in (("/", 2), ("/sales/orders", 1), ("/catalog/products", 1),
                              ("/money/receivables-aging", 2),  # its cached page too
                              ("/money/payables-aging", 2)):
        assert client.get(path).status_code == 200  # warm: versions and parts cached
        redis_round_trips.clear()
        assert client.get(path).status_code == 200
        assert len(redis_round_trips) == round_trips, (path, redis_round_trips)
