"""The application factory: config, extensions, blueprints, error handlers, CLI.

`create_app()` has no side effects beyond building the app: it never migrates, seeds,
prompts or sleeps.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask

from erp.config import (INSTANCE_PATH, Config, check_production, from_environment,
                        secret_key_from_file)


def create_app(config: dict | None = None) -> Flask:
    """Build the app. Config order: class defaults, environment, instance/config.py, `config`."""
    app = Flask(__name__, instance_path=str(INSTANCE_PATH), instance_relative_config=True)
    # Flask re-signs and re-sends the session cookie on every response by default. The
    # cookie is written when the session changes instead, which is at least once a minute
    # for an active user (erp.auth writes last_seen); the idle and absolute lifetimes are
    # enforced on the server from the session's own timestamps either way.
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    app.config.from_object(Config)
    app.config.update(from_environment())
    app.config.from_pyfile("config.py", silent=True)
    if config:
        app.config.update(config)
    derive_settings(app)
    check_production(app.config)

    configure_logging(app)
    register_extensions(app)
    register_security(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def derive_settings(app: Flask) -> None:
    """Settings computed from others (database engine options, cache, rate-limit storage)."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    config = app.config
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not config.get("SECRET_KEY") and config.get("ERP_ENV") != "production":
        config["SECRET_KEY"] = secret_key_from_file(
            config.get("SECRET_KEY_FILE") or os.path.join(app.instance_path, "secret_key"))
    uri = config["SQLALCHEMY_DATABASE_URI"]
    options: dict = {"pool_pre_ping": True, "pool_recycle": 1800}
    if uri.startswith("postgresql"):
        from erp.monitoring.database import MeasuredQueuePool  # counts the pool waits

        options.update(pool_size=config["DB_POOL_SIZE"], max_overflow=config["DB_MAX_OVERFLOW"],
                       pool_timeout=config["DB_POOL_TIMEOUT_MS"] / 1000,
                       connect_args={"connect_timeout": 5},
                       poolclass=MeasuredQueuePool)
    elif uri.startswith("sqlite"):
        options["connect_args"] = {"check_same_thread": False}
    options.update(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    config["SQLALCHEMY_ENGINE_OPTIONS"] = options

    redis_url = config.get("REDIS_URL")
    # Short timeouts and no retries: with Redis down a call fails in 0.2 s, not 3-4 s.
    redis_options = {"socket_timeout": 0.2, "socket_connect_timeout": 0.2,
                     "retry": Retry(NoBackoff(), 0)}
    if redis_url:
        config.setdefault("CACHE_TYPE", "RedisCache")
        config.setdefault("CACHE_REDIS_URL", redis_url)
        config.setdefault("CACHE_OPTIONS", redis_options)
        config.setdefault("RATELIMIT_STORAGE_URI", redis_url)
        config.setdefault("RATELIMIT_STORAGE_OPTIONS", redis_options)
    else:
        config.setdefault("CACHE_TYPE", "FileSystemCache")
        config.setdefault("CACHE_DIR", os.path.join(app.instance_path, "cache"))
        config.setdefault("CACHE_THRESHOLD", 5000)
        config.setdefault("RATELIMIT_STORAGE_URI", "erp-memory://")  # MemoryLimits
    if not config.get("IMPORT_UPLOAD_DIR"):
        config["IMPORT_UPLOAD_DIR"] = os.path.join(app.instance_path, "imports")
    config.setdefault("CACHE_KEY_PREFIX", "erp:")
    config.setdefault("CACHE_DEFAULT_TIMEOUT", 300)
    config.setdefault("RATELIMIT_KEY_PREFIX", "erp-limit")
    config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = True
    config["RATELIMIT_SWALLOW_ERRORS"] = True


def configure_logging(app: Flask) -> None:
    level = getattr(logging, str(app.config.get("LOG_LEVEL", "INFO")).upper(), logging.INFO)
    app.logger.setLevel(level)


def register_extensions(app: Flask) -> None:
    from werkzeug.middleware.proxy_fix import ProxyFix

    from erp import (auth, cache_versions, database, i18n, jobs, login_throttle, monitoring,
                     overload, replicas)
    from erp.extensions import cache, csrf, db, limiter, mail, migrate, talisman

    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)
    db.init_app(app)
    database.configure_engines(app)
    replicas.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"),
                     render_as_batch=True, compare_type=True)
    cache.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_throttle.init_app(app)
    auth.init_login(app)
    i18n.init_app(app)
    talisman.init_app(
        app,
        force_https=app.config["FORCE_HTTPS"],
        strict_transport_security=app.config["FORCE_HTTPS"],
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=True,
        content_security_policy=CONTENT_SECURITY_POLICY,
        referrer_policy="strict-origin-when-cross-origin",
        frame_options="DENY",
        permissions_policy=PERMISSIONS_POLICY,
    )
    monitoring.init_app(app)
    cache_versions.init_app(app)
    jobs.init_app(app)
    mail.init_app(app)
    overload.init_app(app)  # the outermost layer: a shed request costs nothing else


# No 'unsafe-inline' or 'unsafe-eval': templates hold no inline script or style.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
PERMISSIONS_POLICY = {"geolocation": "()", "camera": "()", "microphone": "()", "payment": "()"}


def register_security(app: Flask) -> None:
    """The bounded int converter (before any rule is added) and the extra headers."""
    from erp.security import register

    register(app)


def register_blueprints(app: Flask) -> None:
    from erp.blueprints import load_blueprints

    for blueprint in load_blueprints():
        app.register_blueprint(blueprint)
    from erp import api

    api.init_app(app)  # the JSON API (/api/v1) and its OpenAPI document


def register_errorhandlers(app: Flask) -> None:
    from erp.errors import register
    from erp.web import reject_nul_bytes

    app.before_request(reject_nul_bytes)
    register(app)


def register_template_helpers(app: Flask) -> None:
    from erp.templating import register

    register(app)


def register_commands(app: Flask) -> None:
    from erp.cli import register

    register(app)
