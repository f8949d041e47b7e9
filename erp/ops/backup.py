"""Consistent backups while the app runs, rotation, and restore.

SQLite: the online backup API copies a consistent snapshot page by page while writers
go on. PostgreSQL: `pg_dump --format=custom` (a consistent snapshot in one transaction),
restored with `pg_restore --clean`.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.engine import make_url
from erp.i18n import _

PREFIX = "erp-backup-"


class BackupError(RuntimeError):
    """The backup or restore could not be done; the message says why."""


def _sqlite_path(url) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError(_("An in-memory SQLite database cannot be backed up."))
    return Path(url.database)


def _pg_args(url) -> tuple[list[str], dict]:
    args = ["--host", url.host or "localhost", "--port", str(url.port or 5432),
            "--username", url.username or "postgres", "--dbname", url.database]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    return args, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
        if not candidates:
            raise BackupError(_('%(name)s is not installed (apt-get install postgresql-client).', name=name))
        path = str(candidates[-1])
    return path


def backup(database_url: str, directory: str | Path, *, keep: int | None = None,
           now: datetime | None = None) -> Path:
    """Write a backup file named by time into `directory`; keep the newest `keep` files."""
    url = make_url(database_url)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%S%fZ")
    if url.get_backend_name() == "sqlite":
        target = directory / f"{PREFIX}{stamp}.sqlite3"
        source = sqlite3.connect(_sqlite_path(url))
        destination = sqlite3.connect(target)
        try:
            source.backup(destination)
        finally:
            destination.close()
            source.close()
    elif url.get_backend_name() == "postgresql":
        target = directory / f"{PREFIX}{stamp}.pgdump"
        args, env = _pg_args(url)
        result = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner",
                                 "--file", str(target), *args],
                                env=env, capture_output=True, text=True)
        if result.returncode != 0:
            target.unlink(missing_ok=True)
            raise BackupError(_('pg_dump failed: %(value)s', value=result.stderr.strip()))
    else:
        raise BackupError(_('Backups of %(value)s are not supported.', value=url.get_backend_name()))
    if keep is not None:
        rotate(directory, keep)
    return target


def rotate(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups in `directory`; return what was deleted."""
    if keep < 1:
        raise BackupError(_("--keep must be at least 1."))
    backups = sorted(p for p in Path(directory).glob(f"{PREFIX}*") if p.is_file())
    old = backups[:-keep]
    for path in old:
        path.unlink()
    return old


def restore(database_url: str, file: str | Path) -> None:
    """Replace the database's content with the backup's. The app should be stopped."""
    url = make_url(database_url)
    file = Path(file)
    if not file.is_file():
        raise BackupError(_('No backup file at %(file)s.', file=file))
    if url.get_backend_name() == "sqlite":
        if file.suffix != ".sqlite3":
            raise BackupError(_("This is not a SQLite backup (.sqlite3)."))
        source = sqlite3.connect(file)
        destination = sqlite3.connect(_sqlite_path(url))
        try:
            source.backup(destination)
        finally:
            destination.close()
            source.close()
    elif url.get_backend_name() == "postgresql":
        if file.suffix != ".pgdump":
            raise BackupError(_("This is not a PostgreSQL backup (.pgdump)."))
        args, env = _pg_args(url)
        result = subprocess.run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
                                 "--single-transaction", "--exit-on-error", *args, str(file)],
                                env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise BackupError(_('pg_restore failed: %(value)s', value=result.stderr.strip()))
    else:
        raise BackupError(_('Restores of %(value)s are not supported.', value=url.get_backend_name()))
