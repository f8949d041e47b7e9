"""Engine set-up per database: SQLite in WAL mode with safe write transactions.

SQLite: pysqlite's own transaction handling lost concurrent updates and raised "database
is locked" even with a busy timeout, so the driver is put in autocommit mode and we emit
BEGIN ourselves (SQLAlchemy's "pysqlite serializable" recipe). A use case's transaction
(`services.atomic()`) starts with BEGIN IMMEDIATE: it takes the write lock up front and
waits for it under the busy timeout, so read-modify-write cannot lose updates. Reads
use a plain BEGIN and, in WAL mode, never block or wait for writers.
"""
from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from erp.collation import register_sqlite
from erp.extensions import db

WRITE_OPTION = "erp_write_transaction"


def conflict_insert(model):
    """INSERT for `model` with ON CONFLICT DO NOTHING / DO UPDATE, in the session's dialect."""
    dialect = db.session.get_bind().dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(model)


def begin_write(session: Session) -> None:
    """Start the session's transaction as a write transaction.

    On SQLite a read transaction that is already open (the view loaded the user and the
    record) is ended first: upgrading it to a writer could fail at once with "database
    is locked" if another writer committed since its snapshot; BEGIN IMMEDIATE waits.
    """
    if session.get_bind().dialect.name != "sqlite":
        return
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={WRITE_OPTION: True})


def configure_engines(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")  # ms: writers wait for the lock
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        register_sqlite(dbapi_connection)  # Turkish search folding and sort order

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        if connection.get_execution_options().get(WRITE_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")
