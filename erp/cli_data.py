"""`flask --app wsgi import-csv KIND FILE --company NAME`: the CSV import from the shell.

The same checks and the same all-or-nothing transaction as the web import
(`erp.services.imports`). A file with errors prints every error and exits with status 1;
nothing is imported. Wire it with `erp.cli_data.register(app)`.
"""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import Company, User
from erp.services import imports as import_service


@click.command("import-csv")
@click.argument("kind", type=click.Choice(sorted(import_service.IMPORTERS)))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--company", "company_name", required=True, help="Name of an existing company.")
@click.option("--user", "user_email", default="",
              help="Email of the user the audit trail names (default: the command line).")
@click.option("--dry-run", is_flag=True, help="Check the file and report; import nothing.")
def import_csv(kind: str, file: Path, company_name: str, user_email: str, dry_run: bool) -> None:
    """Import products or suppliers from a UTF-8 CSV file, all or nothing."""
    company = db.session.scalar(
        select(Company).where(func.lower(Company.name) == company_name.strip().lower()))
    if company is None:
        raise click.ClickException(f"No company named {company_name!r}.")
    user = None
    if user_email:
        user = db.session.scalar(select(User).where(
            func.lower(User.email) == user_email.strip().lower(), User.company_id == company.id))
        if user is None:
            raise click.ClickException(f"No user {user_email!r} in {company.name!r}.")
    data = file.read_bytes()
    report = import_service.preview_import(kind, company.id, data)
    if not report.ok:
        click.echo(report.text(limit=10_000), err=True)
        count = len(report.errors) + len(report.file_errors)
        raise click.ClickException(
            f"{file.name}: {count} error{'s' if count != 1 else ''}; nothing was imported.")
    if dry_run:
        click.echo(f"{file.name}: {report.row_count} {kind} would be imported (dry run).")
        return
    with click.progressbar(length=report.row_count, label=f"Importing {kind}") as bar:
        try:
            result = import_service.run_import(kind, company_id=company.id, user=user, data=data,
                                               progress=bar.update)
        except import_service.ImportFailed as error:  # the data changed since the check
            click.echo(error.report.text(limit=10_000), err=True)
            raise click.ClickException(f"{error} ") from None
    click.echo(f"Imported {result.imported} {kind} into {company.name!r}.")


def register(app: Flask) -> None:
    app.cli.add_command(import_csv)
