"""`flask --app wsgi ...` commands. Bad arguments get a clear message and a non-zero exit."""
from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import ROLES, Company
from erp.services import ValidationError
from erp.services import users as user_service


def _fail(error: ValidationError) -> None:
    details = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.field_errors.items())
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
def create_user(email: str, password: str, role: str, company_name: str, name: str) -> None:
    """Create a user in a company."""
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
    click.echo(f"Created {user.role} {user.email} in {company.name!r}.")


@click.command("seed-demo")
def seed_demo() -> None:
    """Create the demo company and its data; re-running keeps what exists."""
    from erp.seeds import seed_demo as run

    for line in run():
        click.echo(line)


def register(app: Flask) -> None:
    for command in (create_company, create_user, seed_demo):
        app.cli.add_command(command)
