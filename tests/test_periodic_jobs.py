"""The worker's periodic tasks: the nightly reorder suggestions (drafted as purchase
orders when the company enables it, never twice) and the monitoring check that fires
critical alerts and e-mails them (to a real local SMTP server)."""
from __future__ import annotations

import time
from decimal import Decimal

from sqlalchemy import func, select

from erp.extensions import db
from erp.jobs import JobQueue
from erp.models.core import Company
from erp.models.jobs import Job
from erp.models.purchasing import PurchaseOrder, PurchaseOrderItem
from erp.monitoring import get_monitor
from erp.services import jobs as job_service
from tests.factories.catalog import ProductFactory, SupplierFactory, WarehouseFactory
from tests.factories.inventory_helpers import put_stock
from tests.test_default_warehouse import settings
from tests.test_mail import smtp  # noqa: F401  (the fixture)
from tests.test_monitoring import force_slow_minute


def low_stock(company, user):
    """Two products below their minimum: one from an active supplier (suggests 8: minimum
    10, 2 on hand), one with no supplier; and a third that is not low."""
    warehouse = WarehouseFactory(company=company, code="MAIN")
    supplier = SupplierFactory(company=company, name="Bolts Inc")
    bolt = ProductFactory(company=company, sku="BOLT", min_stock=Decimal("10"),
                          preferred_supplier=supplier)
    ProductFactory(company=company, sku="NUT", min_stock=Decimal("5"))
    plenty = ProductFactory(company=company, sku="WASHER", min_stock=Decimal("1"),
                            preferred_supplier=supplier)
    put_stock(bolt, warehouse, Decimal("2"), user)
    put_stock(plenty, warehouse, Decimal("9"), user)
    db.session.commit()
    return bolt, supplier, warehouse


def reorder_jobs(company):
    return db.session.scalars(select(Job).where(Job.company_id == company.id,
                                                Job.kind == "reorder").order_by(Job.id)).all()


def test_the_nightly_reorder_drafts_one_order_per_supplier_once(app, company, make_user):
    bolt, supplier, warehouse = low_stock(company, make_user("manager"))
    company.auto_reorder = True
    db.session.commit()
    assert job_service.nightly_reorder() == 1
    [order] = db.session.scalars(select(PurchaseOrder)).all()
    assert (order.status, order.supplier_id, order.warehouse_id) == ("draft", supplier.id,
                                                                     warehouse.id)
    [line] = db.session.scalars(select(PurchaseOrderItem)).all()
    assert (line.product_id, line.quantity) == (bolt.id, Decimal("8"))
    # a second night (or a worker that ran it again): the draft counts as on order
    assert job_service.nightly_reorder() == 0
    assert db.session.scalar(select(func.count()).select_from(PurchaseOrder)) == 1
    first, second = reorder_jobs(company)
    assert first.status == "done" and first.user_id is None
    assert "2 products below their minimum stock, 1 to order" in first.title
    assert first.result_name == f"Drafted {order.number}."
    assert second.result_name == "Nothing new to draft."


def test_without_the_setting_the_night_only_reports_the_suggestions(app, company, make_user,
                                                                    admin_client):
    low_stock(company, make_user("manager"))
    assert job_service.nightly_reorder() == 0
    assert db.session.scalar(select(func.count()).select_from(PurchaseOrder)) == 0
    [job] = reorder_jobs(company)
    assert job.result_name == "Drafting is off in the company settings."
    page = admin_client.get("/admin/jobs?kind=reorder")
    assert page.status_code == 200 and job.title.encode() in page.data
    assert admin_client.get(f"/jobs/{job.id}").status_code == 200


def test_an_admin_turns_the_nightly_drafts_on_in_the_company_settings(app, company,
                                                                      admin_client,
                                                                      client_as):
    assert b'name="auto_reorder"' in admin_client.get("/admin/company").data
    response = admin_client.post("/admin/company", data=settings(company, auto_reorder="y"))
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Company, company.id).auto_reorder is True
    admin_client.post("/admin/company", data=settings(company))  # unticked
    db.session.expire_all()
    assert db.session.get(Company, company.id).auto_reorder is False
    assert client_as("manager").post("/admin/company", data=settings(
        company, auto_reorder="y")).status_code == 403


def test_one_companys_setting_drafts_nothing_for_another(app, company, other_company,
                                                          make_user):
    low_stock(company, make_user("manager"))
    low_stock(other_company, make_user("manager", company=other_company))
    other_company.auto_reorder = True
    db.session.commit()
    assert job_service.nightly_reorder() == 1
    assert db.session.scalars(select(PurchaseOrder.company_id)).all() == [other_company.id]


def test_the_monitoring_check_e_mails_a_critical_alert_once(app, make_user, smtp):  # noqa: F811
    admin = make_user("admin", is_superuser=True)
    make_user("admin")  # a company admin only: no monitoring, no alert e-mail
    app.config["ALERT_EMAIL_TO"] = "install-admins"
    monitor = get_monitor(app)
    force_slow_minute(monitor.recorder, time.time())
    fired = job_service.monitoring_alerts()
    assert [alert["figure"] for alert in fired] == ["p95_ms"]
    recipients, message = smtp.messages[0]
    assert recipients == [admin.email]
    assert message["Subject"].startswith("ERP alert: Response time (p95) is critical")
    assert "/admin/monitoring" in message.get_body(("plain",)).get_content()
    # still critical a minute later: no second alert within ten minutes
    assert job_service.monitoring_alerts() == []
    assert len(smtp.messages) == 1
    assert [a["figure"] for a in monitor.recorder.alerts()] == ["p95_ms"]


def test_alert_e_mails_go_to_the_listed_addresses_or_nobody(app, make_user):
    from erp.services import mail

    make_user("admin", is_superuser=True)
    assert mail.alert_recipients() == []  # unset: nobody
    app.config["ALERT_EMAIL_TO"] = "ops@example.com, oncall@example.com"
    assert mail.alert_recipients() == ["ops@example.com", "oncall@example.com"]


def test_the_worker_runs_the_new_periodic_tasks(app):
    names = {task.__name__ for task in JobQueue(app).huey._registry._periodic_tasks}
    assert {"monitoring_alerts", "nightly_reorder"} <= names
