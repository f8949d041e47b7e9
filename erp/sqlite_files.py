"""SQLite files of the app's own beside the file cache (the monitoring figures, the login
throttle), shared by the workers of one host: one WAL connection per thread and process."""
from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path


class LocalSQLite:
    """A store on one SQLite file; `schema` is created on each new connection."""

    kind = "sqlite"
    schema = ""
    isolation_level: str | None = ""  # sqlite3's default; None: autocommit

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._last_prune = 0.0

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():  # a forked worker opens its own
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=2, isolation_level=self.isolation_level,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            with conn:
                conn.executescript(self.schema)
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn


def beside_cache(config: dict, instance_path: str, setting: str, name: str) -> str:
    """The file `config[setting]` names, else `name` beside the file cache's folder (or in
    the instance folder)."""
    if config.get(setting):
        return config[setting]
    cache_dir = config.get("CACHE_DIR")
    return str((Path(cache_dir).parent if cache_dir else Path(instance_path)) / name)
