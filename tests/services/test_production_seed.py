"""`flask seed-demo` adds employees, BOMs, orders in every state and inspections; twice is once."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import Company
from erp.models.production import BomLine, Employee, ProductionOrder
from erp.models.quality import QualityInspection
from erp.seeds import DEMO_COMPANY
from erp.services import stock
from erp.services import users as user_service

# Seeding calls the services, whose SQL is tested on both databases (tests/services/): the
# seed's own rules (every state, twice is once) are the same on each, SQLite pass only.
pytestmark = pytest.mark.dialect_independent
from tests.factories.catalog import ProductFactory, WarehouseFactory


def test_seed_demo_builds_production_and_quality_data_once(app, runner):
    company = db.session.scalar(select(Company).where(Company.name == DEMO_COMPANY)) \
        or user_service.create_company(DEMO_COMPANY)
    for kind, n in (("finished_good", 3), ("component", 2), ("raw_material", 4)):
        for _ in range(n):
            ProductFactory(company=company, kind=kind, cost_price=Decimal("1.50"))
    WarehouseFactory(company=company, code="DEMO")
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "production:" in result.output and "quality:" in result.output
    db.session.rollback()
    statuses = set(db.session.scalars(select(ProductionOrder.status)))
    assert statuses == {"planned", "in_progress", "done", "cancelled"}
    admin_employee = db.session.scalar(select(Employee).where(Employee.user_id.is_not(None)))
    assert admin_employee.user.email == "admin@example.com"
    assert db.session.scalar(select(func.count()).select_from(BomLine)) > 3
    results = list(db.session.scalars(select(QualityInspection.result)))
    assert "fail" in results and "pass" in results
    assert stock.ledger_mismatches(company.id) == []
    counts = [db.session.scalar(select(func.count()).select_from(m))
              for m in (Employee, BomLine, ProductionOrder, QualityInspection)]
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0, again.output
    db.session.rollback()
    assert counts == [db.session.scalar(select(func.count()).select_from(m))
                      for m in (Employee, BomLine, ProductionOrder, QualityInspection)]


def test_seed_without_products_does_nothing(app, seeded_demo):
    result = seeded_demo
    assert result.exit_code == 0, result.output
    db.session.rollback()
    if not db.session.scalar(select(func.count()).select_from(ProductionOrder)):
        assert "production:" not in result.output
