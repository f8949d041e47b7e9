"""The demo data set behind `flask seed-demo`.

Each module has a step `erp/seeds/<module>.py` with `seed(company, admin) -> str | None`,
run in the order of STEPS. A step checks whether its data exists and does nothing if
so, so re-running keeps what is there and adds only what a newly landed module brings.

`seed_demo("tr")` makes the Turkish demo company instead ("Örnek Mobilya": Turkish names,
Turkish as its language, TRY, Europe/Istanbul; its users' words in erp/seeds/turkish.py);
both can live in one database.
"""
from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from erp.extensions import db
from erp.models import Company, User
from erp.seeds import (bills, catalog, forms, inventory, invoices, jobs, lots, money,
                       production, purchasing, quality, returns, sales, stock_documents, tasks,
                       turkish)
from erp.services import users as user_service

DEMO_COMPANY = "Demo Company"
DEMO_TIMEZONE = "Europe/Istanbul"  # shows times away from UTC (issue #16)
DEMO_USERS = [
    ("admin@example.com", "admin", "admin", "Ada Admin"),
    ("manager@example.com", "manager", "manager", "Max Manager"),
    ("staff@example.com", "staff", "staff", "Sam Staff"),
    ("viewer@example.com", "viewer", "viewer", "Vic Viewer"),
]

# Module steps, in dependency order.
STEPS = (catalog, money, inventory, sales, invoices, purchasing, bills, returns, lots,
         production, quality, tasks, forms, stock_documents, jobs)


LOCALES = ("en", "tr")


def seed_demo(locale: str = "en") -> Iterator[str]:
    """The demo company of `locale` (English, or Turkish: `turkish`) and its data."""
    if locale not in LOCALES:
        raise ValueError(f"locale must be one of {', '.join(LOCALES)}")
    name_, users = ((turkish.COMPANY, turkish.USERS) if locale == "tr"
                    else (DEMO_COMPANY, DEMO_USERS))
    company = db.session.scalar(select(Company).where(Company.name == name_))
    if company is None:
        company = user_service.create_company(name_, timezone=DEMO_TIMEZONE)
        if locale == "tr":
            company = user_service.update_company(
                company_id=company.id, user=None, name=company.name,
                currency=turkish.CURRENCY, timezone=turkish.TIMEZONE,
                default_language=turkish.LANGUAGE)
        yield f"Created company {name_!r}."
    for email, password, role, name in users:
        if db.session.scalar(select(User.id).where(User.email == email)) is None:
            user_service.create_user(company=company, email=email, password=password, role=role,
                                     name=name, check_password=False)
            yield f"Created {role} {email} (password: {password})."
    admin = db.session.scalar(select(User).where(User.email == users[0][0]))
    if admin.role == "admin" and not admin.is_superuser:  # the demo's monitoring page
        admin = user_service.set_install_admin(admin.email)
        yield f"{admin.email} is an installation administrator (monitoring)."
    yield from seed_company(company, admin)
    yield f"Demo login: {users[0][0]} / {users[0][1]}"


def seed_company(company: Company, admin: User) -> Iterator[str]:
    """Run every module's seed step for `company` (the demo, or a second one in tests)."""
    for step in STEPS:
        result = step.seed(company, admin)
        if result:
            yield f"{step.__name__.rpartition('.')[2]}: {result}"
