"""Quality inspections: what they may name, who may write them, the audit trail."""
from datetime import date

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import AuditEntry
from erp.models.quality import QualityInspection
from erp.services import (InvalidTransition, NotFound, PermissionDenied, ValidationError,
                          quality)
from tests.factories.catalog import ProductFactory


def test_an_inspection_records_its_inspector_and_is_audited(app, company, make_user):
    user = make_user("staff", name="Ivy Inspector")
    product = ProductFactory(company=company)
    inspection = quality.create_inspection(company_id=company.id, user=user, result="fail",
                                           inspected_on=date(2026, 1, 5), product_id=product.id,
                                           receipt_reference="GR-1", notes="Dented")
    assert (inspection.inspector_id, inspection.inspector_name) == (user.id, "Ivy Inspector")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.record_type == "quality_inspection")) == 1


def test_a_recorded_result_is_superseded_by_a_new_inspection_not_edited(app, company,
                                                                        make_user):
    finder, checker = make_user("staff", name="Ivy"), make_user("staff", name="Rex")
    product = ProductFactory(company=company)
    first = quality.create_inspection(company_id=company.id, user=finder, result="fail",
                                      inspected_on=date(2026, 1, 5), product_id=product.id,
                                      receipt_reference="GR-1", notes="Dented")
    assert not hasattr(quality, "update_inspection")
    second = quality.supersede_inspection(company_id=company.id, inspection_id=first.id,
                                          user=checker, result="pass",
                                          inspected_on=date(2026, 1, 6), notes="Reworked")
    db.session.rollback()
    first, second = (db.session.get(QualityInspection, i) for i in (first.id, second.id))
    # the earlier result stays as it was recorded; the new one names it and its subject
    assert (first.result, first.inspector_name, first.notes) == ("fail", "Ivy", "Dented")
    assert (second.result, second.inspector_name, second.supersedes_id) == ("pass", "Rex",
                                                                            first.id)
    assert (second.product_id, second.receipt_reference) == (product.id, "GR-1")
    assert first.superseded_by.id == second.id
    trail = {(e.record_id, e.action, e.user_id) for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.record_type == "quality_inspection"))}
    assert trail == {(first.id, "create", finder.id), (first.id, "supersede", checker.id),
                     (second.id, "create", checker.id)}
    # only the latest of a chain is superseded; anything else is refused, nothing written
    with pytest.raises(InvalidTransition, match=f"already superseded by #{second.id}"):
        quality.supersede_inspection(company_id=company.id, inspection_id=first.id,
                                     user=checker, result="pass", inspected_on=date.today())
    with pytest.raises(ValidationError):
        quality.supersede_inspection(company_id=company.id, inspection_id=second.id,
                                     user=checker, result="maybe", inspected_on=None)
    with pytest.raises(PermissionDenied):
        quality.supersede_inspection(company_id=company.id, inspection_id=second.id,
                                     user=make_user("viewer"), result="pass",
                                     inspected_on=date.today())
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(QualityInspection)) == 2


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
        quality.supersede_inspection(company_id=company.id, inspection_id=999999, user=user,
                                     result="pass", inspected_on=date.today())
    theirs = quality.create_inspection(company_id=other_company.id, user=make_user(
        "staff", company=other_company), result="fail", inspected_on=date.today(),
        product_id=foreign.id)
    with pytest.raises(NotFound):
        quality.supersede_inspection(company_id=company.id, inspection_id=theirs.id, user=user,
                                     result="pass", inspected_on=date.today())
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(QualityInspection).where(
        QualityInspection.company_id == company.id)) == 0
