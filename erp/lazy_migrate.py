"""Flask-Migrate, bound on first use (#17: worker memory).

Flask-Migrate imports Alembic, which imports Mako and Pygments: 8.8 MB per process that a
web worker never uses (it never migrates). `LazyMigrate.init_app` registers the same `db`
command group and the same `app.extensions["migrate"]` that Flask-Migrate's own would,
but imports it only when one of them is used (`flask db upgrade`, `flask_migrate.upgrade()`
in the tests): then the real `Migrate.init_app` replaces both with its own.
"""
from __future__ import annotations

import click


class LazyMigrate:
    def __init__(self) -> None:
        self.app = self.db = None
        self.options: dict = {}

    def init_app(self, app, db, **options) -> None:
        self.app, self.db, self.options = app, db, options
        app.extensions["migrate"] = _LazyConfig(self)
        app.cli.add_command(_LazyGroup(self, name="db"), name="db")

    def bind(self):
        """The real Flask-Migrate, bound now (once): its config and its command group."""
        config = self.app.extensions.get("migrate")
        if isinstance(config, _LazyConfig):
            from flask_migrate import Migrate

            Migrate().init_app(self.app, self.db, **self.options)
            config = self.app.extensions["migrate"]
        return config


class _LazyConfig:
    """Stands in `app.extensions["migrate"]` until Flask-Migrate reads it."""

    def __init__(self, owner: LazyMigrate) -> None:
        self._owner = owner

    @property
    def directory(self) -> str:  # the readiness check's (erp.monitoring.health): no binding
        return self._owner.options["directory"]

    def __getattr__(self, name: str):
        return getattr(self._owner.bind(), name)


class _LazyGroup(click.Group):
    """`flask db ...`: Flask-Migrate's command group, imported when it is run or listed."""

    def __init__(self, owner: LazyMigrate, **kwargs) -> None:
        super().__init__(help="Perform database migrations.", **kwargs)
        self._owner = owner

    def _real(self) -> click.Group:
        self._owner.bind()
        from flask_migrate.cli import db as group

        return group

    def make_context(self, info_name, args, parent=None, **extra):
        # the real group parses its options (-d, -x) and runs its subcommand
        return self._real().make_context(info_name, args, parent=parent, **extra)

    def list_commands(self, ctx):
        return self._real().list_commands(ctx)

    def get_command(self, ctx, name):
        return self._real().get_command(ctx, name)
