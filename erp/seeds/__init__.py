"""The demo data set behind `flask seed-demo`.

Each module has a step `erp/seeds/<module>.py` with `seed(company, admin) -> str | None`,
run in the order of STEPS. A step checks whether its data exists and does nothing if
so, so re-running keeps what is there and adds only what a newly landed module brings.
"""
from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from erp.extensions import db
from erp.models import Company, User
from erp.seeds import (bills, catalog, forms, inventory, invoices, jobs, lots, money,
                       production, purchasing, quality, returns, sales, stock_documents, tasks)
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


def seed_demo() -> Iterator[str]:
    company = db.session.scalar(select(Company).where(Company.name == DEMO_COMPANY))
    if company is None:
        company = user_service.create_company(DEMO_COMPANY, timezone=DEMO_TIMEZONE)
        yield f"Created company {DEMO_COMPANY!r}."
    for email, password, role, name in DEMO_USERS:
        if db.session.scalar(select(User.id).where(User.email == email)) is None:
            user_service.create_user(company=company, email=email, password=password, role=role,
                                     name=name, check_password=False)
            yield f"Created {role} {email} (password: {password})."
    admin = db.session.scalar(select(User).where(User.email == DEMO_USERS[0][0]))
    if admin.role == "admin" and not admin.is_superuser:  # the demo's monitoring page
        admin = user_service.set_install_admin(admin.email)
        yield f"{admin.email} is an installation administrator (monitoring)."
    yield from seed_company(company, admin)
    yield "Demo login: admin@example.com / admin"


def seed_company(company: Company, admin: User) -> Iterator[str]:
    """Run every module's seed step for `company` (the demo, or a second one in tests)."""
    for step in STEPS:
        result = step.seed(company, admin)
        if result:
            yield f"{step.__name__.rpartition('.')[2]}: {result}"
