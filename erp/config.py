"""Settings: class defaults, then the environment, then `instance/config.py`, then overrides.

Development needs no variable at all: it runs on SQLite in `instance/` with a file cache
and, without SECRET_KEY, a random key generated once into `instance/secret_key`.
`ERP_ENV=production` switches on the secure settings and `check_production()` refuses
to start with a missing or default secret key or debug on.
"""
from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path
from erp.i18n import _

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The folder of this host's own files (SQLite database, file cache, secret key, uploads);
# INSTANCE_DIR moves it, e.g. for several app hosts on one machine.
INSTANCE_PATH = Path(os.environ.get("INSTANCE_DIR") or PROJECT_ROOT / "instance").absolute()

# Secret keys that ship with the code or are commonly used as placeholders; production
# refuses every one of them.
KNOWN_DEFAULT_SECRETS = {
    "",
    "dev",
    "dev-insecure-secret-key",
    "secret",
    "changeme",
    "change-me",
    "your-secret-key-here",
    "test",
}


class ConfigError(RuntimeError):
    """The configuration is unsafe or invalid; the message says what to change."""


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(_('%(name)s must be a whole number, not %(value)s', name=name, value=repr(value))) from exc


def default_database_url() -> str:
    return f"sqlite:///{INSTANCE_PATH / 'erp.sqlite3'}"


def from_environment() -> dict:
    """Read every setting the app takes from the environment (all documented in README)."""
    env = os.environ.get("ERP_ENV", "development").strip().lower()
    if env not in {"development", "production"}:
        raise ConfigError(_("ERP_ENV must be 'development' or 'production', not %(value)s", value=repr(env)))
    production = env == "production"
    database_url = os.environ.get("DATABASE_URL") or default_database_url()
    if database_url.startswith("postgres://"):  # Heroku-style alias
        database_url = "postgresql://" + database_url[len("postgres://"):]
    hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    return {
        "ERP_ENV": env,
        "DEBUG": _env_bool("FLASK_DEBUG", False),
        # Unset: production refuses to start; development generates one (secret_key_from_file).
        **({"SECRET_KEY": os.environ["SECRET_KEY"]} if os.environ.get("SECRET_KEY") else {}),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO").upper(),
        "TRUSTED_HOSTS": hosts or None,
        "PROXY_COUNT": _env_int("PROXY_COUNT", 1 if production else 0),
        "DB_POOL_SIZE": _env_int("DB_POOL_SIZE", 5),
        "DB_MAX_OVERFLOW": _env_int("DB_MAX_OVERFLOW", 10),
        "FORCE_HTTPS": _env_bool("FORCE_HTTPS", production),
        "SESSION_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", production),
        **({"CACHE_DIR": os.environ["CACHE_DIR"]} if os.environ.get("CACHE_DIR") else {}),
        **{name: _env_int(name, getattr(Config, name)) for name in (
            "IMPORT_UPLOAD_USER_BYTES", "IMPORT_UPLOAD_USER_FILES", "IMPORT_UPLOAD_TOTAL_BYTES",
            "IMPORT_UPLOAD_TOTAL_FILES", "REQUEST_QUEUE_BUDGET_MS", "FORM_UPLOAD_MAX_BYTES",
            "DB_POOL_TIMEOUT_MS")},
        **({"RATELIMIT_API": os.environ["RATELIMIT_API"]} if os.environ.get("RATELIMIT_API")
           else {}),
        **({"JOBS_DB": os.environ["JOBS_DB"]} if os.environ.get("JOBS_DB") else {}),
        **{name: _env_int(name, getattr(Config, name)) for name in (
            "JOBS_SWEEP_SECONDS", "JOBS_LEASE_SECONDS", "JOBS_MAX_ATTEMPTS", "EXPORT_JOB_ROWS",
            "IMPORT_JOB_ROWS", "WEBHOOK_MAX_ATTEMPTS", "WEBHOOK_PAUSE_AFTER", "MAIL_PORT")},
        **({"JOBS_BACKUP_HOUR": _env_int("JOBS_BACKUP_HOUR", 2)}
           if os.environ.get("JOBS_BACKUP_HOUR") else {}),
        **({"JOBS_REORDER_HOUR": _env_int("JOBS_REORDER_HOUR", 4)}
           if os.environ.get("JOBS_REORDER_HOUR") else {}),
        **({"ALERT_EMAIL_TO": os.environ["ALERT_EMAIL_TO"]}
           if os.environ.get("ALERT_EMAIL_TO") else {}),
        "WEBHOOK_ALLOW_PRIVATE": _env_bool("WEBHOOK_ALLOW_PRIVATE", False),
        **{name: os.environ[name] for name in (
            "MAIL_SERVER", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_DEFAULT_SENDER")
           if os.environ.get(name)},
        **{name: _env_bool(name, False) for name in ("MAIL_USE_TLS", "MAIL_USE_SSL")},
        # a folder instead of SMTP: development without MAIL_SERVER keeps what it "sends"
        "MAIL_FILE_PATH": os.environ.get("MAIL_FILE_PATH") or (
            None if production or os.environ.get("MAIL_SERVER")
            else str(INSTANCE_PATH / "mail")),
    }


class Config:
    """Defaults shared by every environment."""

    ERP_ENV = "development"
    DEBUG = False
    TESTING = False
    SECRET_KEY: str | None = None  # see from_environment and secret_key_from_file
    SECRET_KEY_FILE: str | None = None  # default: instance/secret_key
    SQLALCHEMY_DATABASE_URI = default_database_url()
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    REDIS_URL: str | None = None
    LOG_LEVEL = "INFO"
    TRUSTED_HOSTS: list[str] | None = None
    PROXY_COUNT = 0
    DB_POOL_SIZE = 5
    DB_MAX_OVERFLOW = 10
    # A request waits this long at most for a pooled connection, then answers 503 with
    # Retry-After (erp.errors): bounded, never a pile of requests each waiting its turn.
    DB_POOL_TIMEOUT_MS = 3000
    FORCE_HTTPS = False

    # Werkzeug's default scrypt (N=2**15) is below OWASP ASVS; tests lower it for speed.
    PASSWORD_HASH_METHOD = "scrypt:65536:8:1"

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = 12 * 3600  # absolute lifetime of a login, seconds
    SESSION_IDLE_TIMEOUT = 2 * 3600  # logged out after this long without a request

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    WTF_CSRF_HEADERS = ["X-CSRFToken"]
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    # a photo or file answer of a custom form (kept in the database); a request above
    # MAX_CONTENT_LENGTH is refused whole (413), so keep this below it
    FORM_UPLOAD_MAX_BYTES = 5 * 1024 * 1024

    RATELIMIT_ENABLED = True
    RATELIMIT_DEFAULT = "600 per minute"
    # Login throttle (erp/login_throttle.py, a store all workers share): login POSTs per
    # client address; then, per account and address, failures allowed before the waits
    # (1 s, doubling, at most 15 min) and how long failures are remembered; and how long
    # an address the account logged in from passes the account-wide lock.
    RATELIMIT_LOGIN = "10 per minute"
    LOGIN_FREE_FAILURES = 5
    LOGIN_FIRST_DELAY_SECONDS = 1.0
    LOGIN_MAX_DELAY_SECONDS = 900.0
    LOGIN_REMEMBER_FAILURES_SECONDS = 24 * 3600
    LOGIN_KNOWN_CLIENT_DAYS = 90
    LOGIN_THROTTLE_DB: str | None = None  # default: login-throttle.sqlite3 beside the file cache
    RATELIMIT_PASSWORD = "5 per minute"
    RATELIMIT_EXPORT = "10 per minute"
    # Per API token (erp/api); API answers carry RateLimit-* headers, pages do not.
    RATELIMIT_API = "300 per minute"
    # No X-RateLimit-* headers on pages: they cost two more round trips to the limiter's
    # store on every request (#17); a 429 still says Retry-After (erp.errors).
    RATELIMIT_HEADERS_ENABLED = False

    # A request that waited longer than this in the queue (gunicorn's, or since nginx got it)
    # is answered 503 with Retry-After at once (erp/overload.py); 0 turns shedding off.
    REQUEST_QUEUE_BUDGET_MS = 3000

    PER_PAGE_DEFAULT = 20
    PER_PAGE_MAX = 100

    # CSV import uploads wait (an hour at most) between preview and confirm in
    # IMPORT_UPLOAD_DIR (default instance/imports); what may wait, per user and in total:
    IMPORT_UPLOAD_DIR: str | None = None
    IMPORT_UPLOAD_USER_BYTES = 64 * 1024 * 1024
    IMPORT_UPLOAD_USER_FILES = 10
    IMPORT_UPLOAD_TOTAL_BYTES = 1024 * 1024 * 1024
    IMPORT_UPLOAD_TOTAL_FILES = 500

    # Background jobs (erp/jobs.py): Huey's SQLite file (default instance/jobs.sqlite3;
    # Redis instead when REDIS_URL is set) and the queue's name in it; how often a worker
    # looks for work a killed worker left behind, and after how long without a heartbeat
    # a running job counts as left behind; attempts before a job is failed.
    JOBS_DB: str | None = None
    JOBS_QUEUE_NAME = "erp"
    JOBS_SWEEP_SECONDS = 30
    JOBS_LEASE_SECONDS = 120
    JOBS_MAX_ATTEMPTS = 3
    JOBS_RETRY_SECONDS = 30   # the wait before attempt n+1 is n times this
    JOBS_BACKUP_HOUR: int | None = None  # set: a nightly `backup` at that hour (UTC)
    JOBS_BACKUP_KEEP = 14
    JOBS_REORDER_HOUR = 4  # the nightly reorder suggestions (and drafts) at 04:20 UTC
    # The worker's monitoring check e-mails critical alerts to these (comma-separated
    # addresses, or "install-admins"); None: no e-mail.
    ALERT_EMAIL_TO: str | None = None
    # A list's CSV export of more rows than this, and an import of more lines, run as jobs.
    EXPORT_JOB_ROWS = 5000
    IMPORT_JOB_ROWS = 2000
    # Webhooks: attempts per delivery (waits of WEBHOOK_RETRY_SECONDS x 4^n between them),
    # failed attempts in a row after which an endpoint is paused, the request's timeout,
    # and whether loopback, private and link-local addresses may be called (never in
    # production unless you mean it: it lets a company admin reach your internal network).
    WEBHOOK_MAX_ATTEMPTS = 6
    WEBHOOK_RETRY_SECONDS = 30.0
    WEBHOOK_PAUSE_AFTER = 15
    WEBHOOK_TIMEOUT_SECONDS = 10.0
    WEBHOOK_ALLOW_PRIVATE = False
    # E-mail (Flask-Mailman, SMTP): documents sent as PDF attachments by a job.
    MAIL_SERVER = "localhost"
    MAIL_PORT = 25
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_DEFAULT_SENDER = "erp@localhost"
    MAIL_TIMEOUT = 10
    MAIL_FILE_PATH: str | None = None  # set: messages are written there, not sent


def secret_key_from_file(path: str | os.PathLike) -> str:
    """The development secret key kept in `path`, generated (random, mode 0600) on first use.

    A key that ships with the code signs cookies anyone can forge (an admin's session
    included); this one is known only to the files of this installation. Workers starting
    together agree on one key: the file appears whole or not at all (a hard link of a
    finished temporary file), and a worker that loses the race reads the winner's key.
    """
    path = Path(path)
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        key = ""
    if key:
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret_key-")  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another worker wrote it first: use theirs
    finally:
        os.unlink(temporary)
    key = path.read_text().strip()
    if not key:
        raise ConfigError(_('%(path)s is empty: delete it to generate a new key, or set SECRET_KEY', path=path))
    return key


def check_production(config: dict) -> None:
    """Refuse an unsafe production configuration with a message that says what to fix."""
    if config.get("ERP_ENV") != "production":
        return
    problems = []
    secret = config.get("SECRET_KEY") or ""
    if secret in KNOWN_DEFAULT_SECRETS:
        problems.append(_("SECRET_KEY is missing or a known default: set a long random value "
                        "(python -c 'import secrets; print(secrets.token_hex(32))')"))
    elif len(secret) < 32:
        problems.append(_("SECRET_KEY is shorter than 32 characters"))
    if config.get("DEBUG"):
        problems.append(_("debug is on: unset FLASK_DEBUG"))
    if problems:
        raise ConfigError("Refusing to start in production: " + "; ".join(problems))
