"""Unbound extension objects; `create_app()` binds them. Nothing here imports the app."""
from __future__ import annotations

import time

from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mailman import Mail
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf import CSRFProtect
from limits.storage import MemoryStorage
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from erp.lazy_migrate import LazyMigrate
from erp.replicas import RoutingSession

# Predictable constraint names, so that Alembic can alter and drop them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
migrate = LazyMigrate()  # Flask-Migrate (Alembic) imported when a migration runs
cache = Cache()
login_manager = LoginManager()
csrf = CSRFProtect()
talisman = Talisman()
mail = Mail()  # SMTP from MAIL_* settings (erp/services/mail.py)


def user_or_ip() -> str:
    """Rate-limit key: the logged-in user, else the client address (after ProxyFix)."""
    from flask_login import current_user

    if current_user and current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"ip:{get_remote_address()}"


class MemoryLimits(MemoryStorage):
    """limits' in-memory store (the rate limits without Redis), minus a thread per request:
    the original starts a 10 ms timer thread on every hit to drop expired counters, which
    cost more than the rest of the limiter (bench/profile.py --layers). Here the expired
    counters are dropped inline, at most every PURGE_SECONDS; a counter read after its
    window is reset by `get` either way. URL scheme `erp-memory://`."""

    STORAGE_SCHEME = ["erp-memory"]
    PURGE_SECONDS = 10.0
    _next_purge = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # the base class's private hook
        now = time.time()
        if now >= self._next_purge:
            self._next_purge = now + self.PURGE_SECONDS
            self._MemoryStorage__expire_events()


def default_limit() -> str:
    """RATELIMIT_DEFAULT of the app serving the request: read per request, because the
    limiter object keeps the default limits of the first app it was set up with."""
    from flask import current_app

    return current_app.config["RATELIMIT_DEFAULT"]


limiter = Limiter(key_func=user_or_ip, default_limits=[default_limit])
