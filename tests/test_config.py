"""Configuration: development needs nothing; production refuses unsafe settings."""
import pytest

from erp import create_app
from erp.config import ConfigError

pytestmark = pytest.mark.dialect_independent  # same on every database: SQLite pass only


def test_development_runs_with_no_settings(monkeypatch, tmp_path):
    import erp

    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ERP_ENV", "LOG_LEVEL", "JOBS_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(erp, "INSTANCE_PATH", tmp_path)
    monkeypatch.setattr("erp.config.INSTANCE_PATH", tmp_path)
    for name in ("MAIL_SERVER", "MAIL_FILE_PATH"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}"})
    assert app.config["ERP_ENV"] == "development"
    # no mail server: what the demo e-mails is kept in a folder (tests/test_mail.py)
    assert app.config["MAIL_FILE_PATH"] == str(tmp_path / "mail")
    # a random key of this installation, not one that ships with the code
    assert app.config["SECRET_KEY"] == (tmp_path / "secret_key").read_text().strip()
    assert app.config["CACHE_TYPE"] == "FileSystemCache"
    assert app.config["RATELIMIT_STORAGE_URI"] == "erp-memory://"
    # the job queue in a SQLite file of the instance (`make run` starts its worker)
    assert app.extensions["erp_jobs"].huey.storage.filename == str(tmp_path / "jobs.sqlite3")


@pytest.mark.parametrize("secret", [None, "dev-insecure-secret-key", "changeme", "short-but-unique"])
def test_production_refuses_a_missing_default_or_short_secret_key(monkeypatch, secret):
    monkeypatch.setenv("ERP_ENV", "production")
    if secret is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_production_refuses_debug(monkeypatch):
    monkeypatch.setenv("ERP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a" * 64)
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(ConfigError, match="debug"):
        create_app()


def test_production_starts_with_a_strong_secret_and_secure_cookies(monkeypatch, tmp_path):
    monkeypatch.setenv("ERP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "b" * 64)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["FORCE_HTTPS"] is True


def test_unknown_environment_name_is_refused(monkeypatch):
    monkeypatch.setenv("ERP_ENV", "staging")
    with pytest.raises(ConfigError, match="ERP_ENV"):
        create_app()


def test_instance_config_file_overrides_environment(tmp_path, monkeypatch):
    import erp

    monkeypatch.setattr(erp, "INSTANCE_PATH", tmp_path)
    (tmp_path / "config.py").write_text("LOG_LEVEL = 'DEBUG'\n")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'c.sqlite3'}"})
    assert app.config["LOG_LEVEL"] == "DEBUG"
