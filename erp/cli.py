"""`flask --app wsgi ...` commands. Bad arguments get a clear message and a non-zero exit."""
from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import func, select

from erp.cli_bench import register as register_bench
from erp.cli_data import register as register_data
from erp.extensions import db
from erp.models import ROLES, Company
from erp.services import NotFound, ValidationError
from erp.services import users as user_service


def _fail(error: ValidationError) -> None:
    details = "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in error.field_errors.items())
    raise click.ClickException(details or str(error))


@click.command("create-company")
@click.argument("name")
def create_company(name: str) -> None:
    """Create a company (a tenant)."""
    try:
        company = user_service.create_company(name)
    except ValidationError as error:
        _fail(error)
    click.echo(f"Created company {company.name!r} (id {company.id}).")


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--company", "company_name", required=True, help="Name of an existing company.")
@click.option("--name", default="", help="Display name.")
@click.option("--install-admin", is_flag=True,
              help="Also an installation administrator (monitoring); needs --role admin.")
def create_user(email: str, password: str, role: str, company_name: str, name: str,
                install_admin: bool) -> None:
    """Create a user in a company."""
    if install_admin and role != "admin":
        raise click.ClickException("--install-admin needs --role admin.")
    company = db.session.scalar(
        select(Company).where(func.lower(Company.name) == company_name.strip().lower()))
    if company is None:
        raise click.ClickException(
            f"No company named {company_name!r}. Create it with: flask --app wsgi create-company NAME")
    try:
        user = user_service.create_user(company=company, email=email, password=password,
                                        role=role, name=name)
    except ValidationError as error:
        _fail(error)
    if install_admin:
        user_service.set_install_admin(user.email)
    click.echo(f"Created {user.role} {user.email} in {company.name!r}"
               f"{' (installation administrator)' if install_admin else ''}.")


@click.command("set-install-admin")
@click.argument("email")
@click.option("--revoke", is_flag=True, help="Take the right away instead.")
def set_install_admin(email: str, revoke: bool) -> None:
    """Let an admin see the system-wide pages (monitoring of every company), or stop it."""
    try:
        user = user_service.set_install_admin(email, not revoke)
    except NotFound as error:
        raise click.ClickException(str(error)) from error
    except ValidationError as error:
        _fail(error)
    state = "no longer" if revoke else "now"
    click.echo(f"{user.email} is {state} an installation administrator.")


@click.command("seed-demo")
@click.option("--locale", type=click.Choice(["en", "tr"]), default="en", show_default=True,
              help="tr: the Turkish demo company (Turkish names, language, TRY, Istanbul).")
def seed_demo(locale: str) -> None:
    """Create the demo company and its data; re-running keeps what exists."""
    from erp.seeds import seed_demo as run

    for line in run(locale):
        click.echo(line)


def deploy_problems(config, workers: int) -> list[str]:
    """Every insecure or fragile production setting, as sentences (empty when all is well)."""
    from erp.config import KNOWN_DEFAULT_SECRETS

    problems = []
    secret = config.get("SECRET_KEY") or ""
    if secret in KNOWN_DEFAULT_SECRETS or len(secret) < 32:
        problems.append("SECRET_KEY is a default or shorter than 32 characters.")
    if config.get("DEBUG"):
        problems.append("Debug mode is on (FLASK_DEBUG).")
    if config.get("ERP_ENV") != "production":
        problems.append("ERP_ENV is not 'production'.")
    if not config.get("SESSION_COOKIE_SECURE"):
        problems.append("The session cookie is sent over plain HTTP (SESSION_COOKIE_SECURE off).")
    if not config.get("SESSION_COOKIE_HTTPONLY"):
        problems.append("The session cookie is readable by scripts (SESSION_COOKIE_HTTPONLY off).")
    if not config.get("FORCE_HTTPS"):
        problems.append("HTTPS is not enforced (FORCE_HTTPS off).")
    if not config.get("WTF_CSRF_ENABLED", True):
        problems.append("CSRF protection is off.")
    if not config.get("TRUSTED_HOSTS"):
        problems.append("ALLOWED_HOSTS is not set: the app answers any Host header.")
    if not config.get("RATELIMIT_ENABLED", True):
        problems.append("Rate limiting is off.")
    if str(config.get("RATELIMIT_STORAGE_URI", "")).startswith(("memory://", "erp-memory://")) and workers > 1:
        problems.append(f"Rate limits (other than the login throttle, which shares a file) "
                        f"are kept in memory with {workers} workers: each worker counts alone. "
                        "Set REDIS_URL.")
    if str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("sqlite") and workers > 1:
        problems.append(f"SQLite with {workers} workers: writes queue on one file lock and "
                        "nothing can scale out. Use PostgreSQL (DATABASE_URL).")
    if not config.get("REDIS_URL"):
        problems.append("No REDIS_URL: the cache is per host and rate limits are not shared.")
    return problems


@click.command("check-deploy")
@click.option("--workers", type=int, default=None,
              help="gunicorn workers (default: WEB_CONCURRENCY or as gunicorn.conf.py computes).")
def check_deploy(workers: int | None) -> None:
    """List every insecure production setting; exit 1 when there is one."""
    import multiprocessing
    import os

    from flask import current_app

    if workers is None:
        workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
    problems = deploy_problems(current_app.config, workers)
    for problem in problems:
        click.echo(f"INSECURE: {problem}")
    if problems:
        raise click.exceptions.Exit(1)
    click.echo("No insecure setting found.")


@click.command("backup")
@click.option("--dir", "directory", default=None, help="Where to write (default: instance/backups).")
@click.option("--keep", type=click.IntRange(min=1), default=None, help="Keep only the newest N.")
def backup_command(directory: str | None, keep: int | None) -> None:
    """Back up the database while the app runs (SQLite backup API, or pg_dump)."""
    import os

    from flask import current_app

    from erp.ops.backup import BackupError, backup

    directory = directory or os.path.join(current_app.instance_path, "backups")
    try:
        path = backup(current_app.config["SQLALCHEMY_DATABASE_URI"], directory, keep=keep)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Backup written to {path}")


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(file: str, yes: bool) -> None:
    """Replace the database's content with a backup (stop the app first)."""
    from flask import current_app

    from erp.ops.backup import BackupError, restore

    if not yes:
        click.confirm("This replaces ALL data in the database with the backup. Continue?",
                      abort=True)
    db.session.remove()
    db.engine.dispose()
    try:
        restore(current_app.config["SQLALCHEMY_DATABASE_URI"], file)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Restored from {file}")


@click.command("copy-data")
@click.option("--to", "target_url", required=True,
              help="URL of an empty, migrated database, e.g. postgresql://erp@localhost/erp")
def copy_data_command(target_url: str) -> None:
    """Copy every table into another database, keeping ids (SQLite to PostgreSQL)."""
    from erp.ops.copy import CopyError, copy_data

    try:
        counts = copy_data(db.engine, target_url, db.metadata)
    except CopyError as error:
        raise click.ClickException(str(error)) from error
    except Exception as error:  # a connection or driver error: say it plainly
        raise click.ClickException(f"Copy failed, nothing was written: {error}") from error
    total = sum(counts.values())
    click.echo(f"Copied {total} rows in {len(counts)} tables.")


def register(app: Flask) -> None:
    for command in (create_company, create_user, set_install_admin, seed_demo, check_deploy,
                    backup_command, restore_command, copy_data_command):
        app.cli.add_command(command)
    register_data(app)
    register_bench(app)
