"""Backups, restores and copying from SQLite to PostgreSQL, on real databases."""
import hashlib
import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, select

from erp import create_app
from erp.extensions import db
from erp.models import Company, User
from erp.ops.backup import rotate
from tests.conftest import (app_config, clean_database, fresh_database_url,
                            migrated_database_url)
from tests.factories.core import CompanyFactory, UserFactory


def snapshot(engine) -> dict:
    """Every row of every table, in primary-key order, as plain text."""
    with engine.connect() as conn:
        return {table.name: [tuple(str(v) for v in row) for row in
                             conn.execute(select(table).order_by(*table.primary_key.columns))]
                for table in db.metadata.sorted_tables}


def checksum(rows: list) -> str:
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()


def test_backup_change_restore_gives_the_first_state_back(app, runner, tmp_path):
    company = CompanyFactory(name="Before Ltd")
    UserFactory(company=company, name="Original")
    db.session.commit()
    before = snapshot(db.engine)
    result = runner.invoke(args=["backup", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    backup_file = result.output.strip().rsplit(" ", 1)[-1]

    user = db.session.scalar(select(User))
    user.name = "Changed"
    CompanyFactory(name="After Ltd")
    db.session.commit()
    assert snapshot(db.engine) != before

    refused = runner.invoke(args=["restore", backup_file], input="n\n")
    assert refused.exit_code != 0
    result = runner.invoke(args=["restore", backup_file, "--yes"])
    assert result.exit_code == 0, result.output
    assert snapshot(db.engine) == before


def test_restore_of_a_missing_or_foreign_file_is_refused(app, runner, tmp_path):
    result = runner.invoke(args=["restore", str(tmp_path / "nope.sqlite3"), "--yes"])
    assert result.exit_code == 1 and "No backup file" in result.output
    wrong = tmp_path / "erp-backup-x.txt"
    wrong.write_text("not a backup")
    result = runner.invoke(args=["restore", str(wrong), "--yes"])
    assert result.exit_code == 1 and "This is not a" in result.output


def test_backups_rotate(tmp_path):
    for n in range(5):
        (tmp_path / f"erp-backup-2026010{n}T000000Z.sqlite3").write_text("x")
    deleted = rotate(tmp_path, 2)
    assert len(deleted) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "erp-backup-20260103T000000Z.sqlite3", "erp-backup-20260104T000000Z.sqlite3"]


def test_backup_keep_option_rotates(app, runner, tmp_path):
    for _ in range(3):
        assert runner.invoke(args=["backup", "--dir", str(tmp_path), "--keep", "2"]).exit_code == 0
    assert len(list(tmp_path.glob("erp-backup-*"))) == 2


@pytest.mark.postgresql_only
def test_copy_from_sqlite_to_postgresql_keeps_every_row(tmp_path, redis_url, monkeypatch):
    """The demo and a small bench company in one source (every table has rows), copied in
    batches smaller than the bench tables so that several batches run per table."""
    from erp.ops import copy as copy_module

    monkeypatch.setattr(copy_module, "BATCH", 300)
    source_url = f"sqlite:///{tmp_path / 'source.sqlite3'}"
    source = create_app(app_config(source_url, redis_url, tmp_path / "s"))
    with source.app_context():
        db.create_all()
        for args in (["seed-demo"], ["seed-bench", "--size", "xs"]):
            result = source.test_cli_runner().invoke(args=args)
            assert result.exit_code == 0, result.output
        expected = snapshot(db.engine)
        assert len(expected["stock_movements"]) > 3 * copy_module.BATCH

        target_url = migrated_database_url(tmp_path, "erp_copy")
        target = create_app(app_config(target_url, redis_url, tmp_path / "t"))

        runner = source.test_cli_runner()
        result = runner.invoke(args=["copy-data", "--to", target_url])
        assert result.exit_code == 0, result.output
        again = runner.invoke(args=["copy-data", "--to", target_url])
        assert again.exit_code == 1 and "not empty" in again.output
        db.engine.dispose()

    target_engine = create_engine(target_url)
    copied = snapshot(target_engine)
    for table, rows in expected.items():
        assert len(copied[table]) == len(rows), table
        assert checksum(_normalized(copied[table])) == checksum(_normalized(rows)), table
    # the sequences moved on: a new company gets a fresh id
    with target.app_context():
        company = Company(name="New after copy")
        db.session.add(company)
        db.session.commit()
        assert company.id > max(int(r[0]) for r in expected["companies"])
        db.session.remove()
        db.engine.dispose()
    target_engine.dispose()


def _normalized(rows):
    """Timestamps print differently on the two databases; compare them as UTC instants."""
    out = []
    for row in rows:
        values = []
        for value in row:
            try:
                parsed = datetime.fromisoformat(value)
                if parsed.tzinfo is None:
                    parsed = parsed.replace(tzinfo=timezone.utc)
                value = parsed.astimezone(timezone.utc).isoformat()
            except ValueError:
                pass
            values.append(value)
        out.append(values)
    return out


def test_copy_into_an_unmigrated_database_is_refused(app, runner, tmp_path):
    target_url = fresh_database_url(tmp_path, "erp_copy_empty")
    result = runner.invoke(args=["copy-data", "--to", target_url])
    assert result.exit_code == 1 and "not migrated" in result.output
