"""The company's default warehouse (#16 item 20c): chosen in the company settings, new
orders start in it; without one, the only or first active warehouse by name."""
import re

import pytest
from sqlalchemy import select

from erp.extensions import db
from erp.models import AuditEntry, Warehouse
from erp.services import ValidationError, inventory
from erp.services import users as user_service
from tests.factories.catalog import WarehouseFactory


def settings(company, **extra) -> dict:
    return {"name": company.name, "currency": company.currency,
            "timezone": company.timezone, **extra}


def selected(page: str, value) -> bool:
    return re.search(rf'<option selected value="{value}">|<option value="{value}" selected>',
                     page) is not None


def test_an_admin_chooses_the_default_warehouse_and_new_orders_start_there(
        admin_client, staff_client, company):
    WarehouseFactory(company=company, code="A", name="Annex")
    back = WarehouseFactory(company=company, code="B", name="Back store")
    assert inventory.default_warehouse_of(company.id).name == "Annex"  # first by name
    page = admin_client.get("/admin/company").get_data(as_text=True)
    assert selected(page, "") and "Back store" in page  # automatic until chosen
    response = admin_client.post("/admin/company",
                                 data=settings(company, default_warehouse_id=str(back.id)))
    assert response.status_code == 303
    assert selected(admin_client.get("/admin/company").get_data(as_text=True), back.id)
    assert selected(staff_client.get("/sales/orders/new").get_data(as_text=True), back.id)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.record_type == "Company"))
    assert entry.changes["default_warehouse"] == [None, "B"]
    # back to automatic
    admin_client.post("/admin/company", data=settings(company, default_warehouse_id=""))
    db.session.expire_all()
    assert inventory.default_warehouse_of(company.id).name == "Annex"


def test_another_companys_or_an_archived_warehouse_is_refused(admin_client, company,
                                                             other_company):
    mine = WarehouseFactory(company=company, code="MAIN")
    user_service.update_company(company_id=company.id, user=None, name=company.name,
                                currency="EUR", timezone="UTC", default_warehouse_id=mine.id)
    foreign = WarehouseFactory(company=other_company)
    archived = WarehouseFactory(company=company, active=False)
    for bad in (foreign.id, archived.id, "99999999999999999999", "-1", "x"):
        response = admin_client.post("/admin/company",
                                     data=settings(company, default_warehouse_id=str(bad)))
        assert response.status_code == 422
        assert "Choose an active warehouse of this company." in response.get_data(as_text=True)
    with pytest.raises(ValidationError):
        user_service.update_company(company_id=company.id, user=None, name=company.name,
                                    currency="EUR", timezone="UTC",
                                    default_warehouse_id=foreign.id)
    db.session.expire_all()
    assert db.session.get(Warehouse, mine.id).is_default is True
    assert db.session.get(Warehouse, foreign.id).is_default is False


def test_archiving_the_default_warehouse_leaves_no_default(company):
    first = WarehouseFactory(company=company, name="A first")
    chosen = WarehouseFactory(company=company, name="Z chosen")
    user_service.update_company(company_id=company.id, user=None, name=company.name,
                                currency="EUR", timezone="UTC", default_warehouse_id=chosen.id)
    assert inventory.default_warehouse_of(company.id).id == chosen.id
    inventory.set_warehouse_active(company_id=company.id, warehouse_id=chosen.id,
                                   active=False, user=None)
    db.session.expire_all()
    assert db.session.get(Warehouse, chosen.id).is_default is False
    assert inventory.default_warehouse_of(company.id).id == first.id


def test_a_settings_form_without_the_field_keeps_the_default(admin_client, company):
    chosen = WarehouseFactory(company=company)
    user_service.update_company(company_id=company.id, user=None, name=company.name,
                                currency="EUR", timezone="UTC", default_warehouse_id=chosen.id)
    assert admin_client.post("/admin/company", data=settings(company)).status_code == 303
    db.session.expire_all()
    assert db.session.get(Warehouse, chosen.id).is_default is True
