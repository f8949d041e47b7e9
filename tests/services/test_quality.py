"""Quality inspections: what they may name, who may write them, the audit trail."""
from datetime import date

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import AuditEntry
from erp.models.quality import QualityInspection
from erp.services import NotFound, PermissionDenied, ValidationError, quality
from tests.factories.catalog import ProductFactory


def test_an_inspection_records_its_inspector_and_is_audited(app, company, make_user):
    user = make_user("staff", name="Ivy Inspector")
    product = ProductFactory(company=company)
    inspection = quality.create_inspection(company_id=company.id, user=user, result="fail",
                                           inspected_on=date(2026, 1, 5), product_id=product.id,
                                           receipt_reference="GR-1", notes="Dented")
    assert (inspection.inspector_id, inspection.inspector_name) == (user.id, "Ivy Inspector")
    quality.update_inspection(company_id=company.id, inspection_id=inspection.id, user=user,
                              result="pass",
                              inspected_on=date(2026, 1, 6), product_id=product.id)
    db.session.rollback()
    assert db.session.get(QualityInspection, inspection.id).result == "pass"
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.record_type == "quality_inspection")) == 2


def test_bad_inspections_are_refused_with_every_error(app, company, other_company, make_user):
    user = make_user("staff")
    foreign = ProductFactory(company=other_company)
    with pytest.raises(ValidationError) as error:
        quality.create_inspection(company_id=company.id, user=user, result="maybe",
                                  inspected_on=None,
                                  product_id=foreign.id, receipt_reference="r" * 61,
                                  notes="n" * 2001)
    assert set(error.value.field_errors) == {"product", "result", "inspected_on",
                                             "receipt_reference", "notes"}
    with pytest.raises(ValidationError) as error:
        quality.create_inspection(company_id=company.id, user=user, result="pass",
                                  inspected_on=date.today())
    assert "Name what was inspected" in error.value.field_errors["product"][0]
    with pytest.raises(ValidationError):
        quality.create_inspection(company_id=company.id, user=user, result="pass",
                                  inspected_on=date.today(), production_order_id=999999)
    with pytest.raises(PermissionDenied):
        quality.create_inspection(company_id=company.id, user=make_user("viewer"), result="pass",
                                  inspected_on=date.today(), receipt_reference="GR-2")
    with pytest.raises(NotFound):
        quality.update_inspection(company_id=company.id, inspection_id=999999, user=user,
                                  result="pass",
                                  inspected_on=date.today(), receipt_reference="GR-2")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(QualityInspection)) == 0
