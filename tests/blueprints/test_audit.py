"""The audit trail page, the History panel, and the CSV import pages."""
import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, func, select

from erp.extensions import db
from erp.models import AuditEntry, Product, User
from erp.services import audit
from erp.services import tasks as task_service
from erp.services import users as user_service
from tests.conftest import login
from tests.factories.catalog import CategoryFactory, ProductFactory
from tests.factories.core import UserFactory
from tests.factories.tasks import TodoFactory


def add_entry(company_id, user=None, *, action="update", record_type="Product", record_id=1,
              summary="", changes=None, when=None):
    entry = audit.record(company_id=company_id, user=user, action=action, record_type=record_type,
                         record_id=record_id, summary=summary, changes=changes)
    if when:
        entry.created_at = when
    db.session.commit()
    return entry


@pytest.fixture
def admin(make_user):
    return make_user("admin", name="Ada Admin")


@pytest.fixture
def admin_login(app, admin):
    return login(app.test_client(), admin.email)


# ---------------------------------------------------------------- audit list

@pytest.mark.parametrize("role,status", [("viewer", 403), ("staff", 403), ("manager", 403),
                                         ("admin", 200)])
def test_only_admins_see_the_audit_trail(client_as, role, status):
    assert client_as(role).get("/admin/audit").status_code == status
    assert client_as(role).get("/admin/audit?format=csv").status_code == status


def test_audit_list_shows_changes_newest_first_and_only_own_company(admin_login, company,
                                                                    other_company, admin):
    add_entry(company.id, admin, summary="Older", changes={"price": ("1.00", "2.00")},
              when=datetime.now(timezone.utc) - timedelta(hours=1))
    add_entry(company.id, admin, summary="Newer")
    add_entry(other_company.id, None, summary="Foreign")
    page = admin_login.get("/admin/audit").data.decode()
    assert page.index("Newer") < page.index("Older")
    assert "Foreign" not in page
    assert "1.00 → 2.00" in page


@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_audit_filters(admin_login, company, admin, make_user):
    bob = make_user("staff", email="bob@example.com")
    day = datetime(2030, 3, 10, 12, tzinfo=timezone.utc)
    add_entry(company.id, bob, action="create", record_type="Todo", record_id=7, summary="alpha",
              when=day)
    add_entry(company.id, admin, action="update", record_type="Product", record_id=8,
              summary="beta", when=day + timedelta(days=2))

    def shown(query):
        body = admin_login.get(f"/admin/audit?{query}").data.decode()
        return {s for s in ("alpha", "beta") if s in body}

    assert shown("user=BOB") == {"alpha"}
    assert shown("action=update") == {"beta"}
    assert shown("record_type=Todo") == {"alpha"}
    assert shown("record_id=8") == {"beta"}
    assert shown("date_from=2030-03-11") == {"beta"}
    assert shown("date_to=2030-03-10") == {"alpha"}
    assert shown("date_from=2030-03-10&date_to=2030-03-12") == {"alpha", "beta"}


@pytest.mark.parametrize("query", ["record_id=abc", "record_id=-5", "record_id=99999999999999",
                                   "date_from=yesterday", "date_to=2030-13-45", "page=x",
                                   "per_page=-1", "sort=user_id", "user=" + "%" * 4000,
                                   "action=" + "x" * 4000, "record_type=';--"])
def test_audit_list_survives_bad_query_parameters(admin_login, query):
    assert admin_login.get(f"/admin/audit?{query}").status_code == 200


def test_entries_survive_deactivation_and_deletion_of_their_user(admin_login, company, admin,
                                                                 make_user):
    leaver = make_user("staff", email="leaver@example.com")
    task = task_service.create_task(company_id=leaver.company_id, user=leaver, title="Left behind")
    user_service.set_active(leaver.id, False, actor=admin)
    assert "leaver@example.com" in admin_login.get("/admin/audit?record_type=Todo").data.decode()
    leaver_id = leaver.id
    db.session.execute(delete(User).where(User.id == leaver_id))
    db.session.commit()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.record_id == task.id,
                                                       AuditEntry.record_type == "Todo"))
    assert entry.user_id is None and entry.user_name == "leaver@example.com"
    page = admin_login.get("/admin/audit?user=leaver").data.decode()
    assert "Left behind" in page and "leaver@example.com" in page


def test_audit_list_htmx_returns_only_the_results_block(admin_login):
    response = admin_login.get("/admin/audit?action=x", headers={"HX-Request": "true"})
    assert response.data.lstrip().startswith(b'<div id="results">')


def test_audit_list_query_count_does_not_grow_with_rows(admin_login, company, admin, queries_for):
    for n in range(5):
        add_entry(company.id, admin, record_id=n)
    few = queries_for(admin_login, "/admin/audit?per_page=100")
    for n in range(55):
        add_entry(company.id, admin if n % 2 else None, record_id=n, changes={"a": (1, 2)})
    many = queries_for(admin_login, "/admin/audit?per_page=100")
    assert few == many


@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_audit_export_csv_has_the_filters_and_is_streamed(admin_login, company, admin):
    add_entry(company.id, admin, action="create", summary="=cmd|' /C calc'!A0",
              changes={"name": ("a", "b")})
    add_entry(company.id, admin, action="delete", summary="gone")
    response = admin_login.get("/admin/audit?action=create&format=csv")
    assert response.is_streamed and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["id", "time", "user", "action"]
    assert len(rows) == 2
    assert rows[1][6] == "'=cmd|' /C calc'!A0" and rows[1][7] == "name: a -> b"


# ---------------------------------------------------------------- History panel

def test_history_panel_shows_changes_old_to_new(app, company, make_user):
    staff = make_user("staff")
    client = login(app.test_client(), staff.email)
    task = task_service.create_task(company_id=staff.company_id, user=staff,
                                    title="First", assignee_id=staff.id)
    task_service.update_task(company_id=staff.company_id, task_id=task.id, user=staff,
                             title="Second", assignee_id=staff.id)
    task_service.change_status(company_id=staff.company_id, task_id=task.id, user=staff,
                               status="done")
    response = client.get(f"/admin/audit/history/Todo/{task.id}", headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.data.decode()
    assert "<nav" not in body and "history-entries" in body
    assert body.index(">status<") < body.index(">update<") < body.index(">create<")  # newest first
    assert 'First <span aria-label="changed to">→</span> Second' in body
    assert staff.email in body
    full = client.get(f"/admin/audit/history/Todo/{task.id}").data.decode()  # without htmx
    assert "navbar" in full and "History of Todo" in full


def test_the_task_page_lazy_loads_its_history_panel(app, company, make_user):
    staff = make_user("staff")
    client = login(app.test_client(), staff.email)
    task = task_service.create_task(company_id=staff.company_id, user=staff,
                                    title="A", assignee_id=staff.id)
    page = client.get(f"/tasks/{task.id}").data.decode()
    assert f'hx-get="/admin/audit/history/Todo/{task.id}" hx-trigger="load"' in page


def test_history_of_another_companys_record_is_404(other_company_client, company, make_user):
    staff = make_user("staff")
    task = task_service.create_task(company_id=staff.company_id, user=staff, title="Secret plan")
    product = ProductFactory(company=company)
    add_entry(company.id, staff, record_type="Product", record_id=product.id, summary="Secret")
    for url in (f"/admin/audit/history/Todo/{task.id}", f"/admin/audit/history/Product/{product.id}"):
        response = other_company_client.get(url, headers={"HX-Request": "true"})
        # an admin of the other company: the record is not theirs, entries filtered by company
        assert response.status_code == 200
        assert b"Secret" not in response.data and b"No changes recorded" in response.data


def test_history_checks_the_record_belongs_to_the_company(client_as, company, other_company):
    theirs = ProductFactory(company=other_company)
    add_entry(other_company.id, None, record_type="Product", record_id=theirs.id, summary="Hidden")
    viewer = client_as("viewer")
    assert viewer.get(f"/admin/audit/history/Product/{theirs.id}").status_code == 404
    mine = ProductFactory(company=company)
    assert viewer.get(f"/admin/audit/history/Product/{mine.id}").status_code == 200


def test_history_of_tasks_follows_task_visibility_and_users_are_admin_only(client_as, company,
                                                                           make_user):
    other = make_user("staff")
    task = TodoFactory(company=company, assignee_id=other.id, created_by_id=other.id)
    staff = client_as("staff")
    assert staff.get(f"/admin/audit/history/Todo/{task.id}").status_code == 404
    assert staff.get(f"/admin/audit/history/User/{other.id}").status_code == 403
    assert client_as("admin").get(f"/admin/audit/history/User/{other.id}").status_code == 200


@pytest.mark.parametrize("path", ["/admin/audit/history/Todo/abc", "/admin/audit/history/x;y/1",
                                  "/admin/audit/history/Todo/99999999999",
                                  "/admin/audit/history/" + "A" * 300 + "/1"])
def test_history_bad_addresses_are_404(client_as, path):
    assert client_as("viewer").get(path).status_code == 404


def test_history_query_count_is_constant(admin_login, company, admin, queries_for):
    product = ProductFactory(company=company)
    url = f"/admin/audit/history/Product/{product.id}"
    add_entry(company.id, admin, record_id=product.id)
    few = queries_for(admin_login, url)
    for _ in range(30):
        add_entry(company.id, admin, record_id=product.id, changes={"x": (1, 2)})
    assert queries_for(admin_login, url) == few


# ---------------------------------------------------------------- import pages

PRODUCTS_CSV = ("sku,name,kind,category,unit,sale_price,cost_price,min_stock,barcode,description,active\r\n"
                "P-1,Widget,finished_good,Tools,pcs,12.50,7.00,5,123,'=not a formula,yes\r\n"
                "P-2,Gadget,component,,kg,1,0.5,0,,,no\r\n")


def upload(client, text, kind="products", name="products.csv"):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return client.post(f"/admin/import/{kind}", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


@pytest.mark.parametrize("role,status", [("viewer", 403), ("staff", 403), ("manager", 200),
                                         ("admin", 200)])
def test_import_pages_are_for_managers(client_as, role, status):
    client = client_as(role)
    assert client.get("/admin/import/products").status_code == status
    assert client.get("/admin/export/products").status_code == status
    assert upload(client, PRODUCTS_CSV).status_code == (303 if status == 200 else 403)


def test_upload_preview_confirm_imports_everything(app, company, make_user):
    manager = make_user("manager")
    client = login(app.test_client(), manager.email)
    CategoryFactory(company=company, name="Tools")
    response = upload(client, PRODUCTS_CSV)
    assert response.status_code == 303
    preview_url = response.headers["Location"]
    preview = client.get(preview_url).data.decode()
    assert "2 rows are ready to import." in preview and "Widget" in preview
    assert db.session.scalar(select(func.count()).select_from(Product)) == 0  # nothing yet
    confirm = client.post(preview_url + "/confirm")
    assert confirm.status_code == 303
    db.session.rollback()
    products = {p.sku: p for p in db.session.scalars(select(Product))}
    assert products["P-1"].category.name == "Tools"
    assert products["P-1"].description == "=not a formula"
    assert products["P-2"].active is False and str(products["P-2"].cost_price) == "0.50"
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "import")) == 2
    assert client.get(preview_url).status_code == 404  # the upload is gone after the import


def test_preview_lists_every_rows_errors_and_confirm_imports_nothing(app, company, make_user):
    client = login(app.test_client(), make_user("manager").email)
    ProductFactory(company=company, sku="TAKEN")
    text = ("sku,name,category,sale_price,min_stock\n"
            "A-1,Good,,1.00,1\n"
            "TAKEN,Dup in db,,1,1\n"
            "A-1,Dup in file,,1,1\n"
            "A-2,Bad,Nope,abc,-3\n"
            ",,,,\n"
            "A-3,,,1.234,1\n")
    preview_url = upload(client, text).headers["Location"]
    page = client.get(preview_url).data.decode()
    for message in ("already exists", "is repeated (first on line 2)", "Unknown category",
                    "is not a number", "must not be negative", "is required",
                    "more than 2 decimal places"):
        assert message in page, message
    assert 'id="confirm-import"' not in page
    response = client.post(preview_url + "/confirm")
    assert response.status_code == 422
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Product)) == 1


@pytest.mark.parametrize("content,message", [
    ("sku,name\nA,\xe9t\xe9\n".encode("latin-1"), "not UTF-8"),
    (b"sku,colour\nA,red\n", "Unknown columns: &#39;colour&#39;"),
    (b"name,kind\nA,component\n", "Missing required columns: sku"),
    (b"", "The file is empty"),
    (b"sku,name\n", "no rows"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
    (b'sku,name\n"A,unterminated\n', "not valid CSV"),
])
def test_malformed_files_get_a_report(app, make_user, content, message):
    client = login(app.test_client(), make_user("manager").email)
    page = client.get(upload(client, content).headers["Location"]).data.decode()
    assert message in page, page
    assert 'id="confirm-import"' not in page


def test_upload_without_a_file_or_with_an_unknown_kind(app, make_user):
    client = login(app.test_client(), make_user("manager").email)
    response = client.post("/admin/import/products", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and b"Choose a CSV file." in response.data
    assert client.get("/admin/import/customers-and-more").status_code == 404
    assert upload(client, PRODUCTS_CSV, kind="users").status_code == 404


def test_an_upload_belongs_to_its_uploader_and_company(app, company, make_user, other_company):
    owner = login(app.test_client(), make_user("manager").email)
    preview_url = upload(owner, PRODUCTS_CSV).headers["Location"]
    other_manager = login(app.test_client(), make_user("manager").email)
    foreign = login(app.test_client(), UserFactory(company=other_company, role="admin").email)
    for client in (other_manager, foreign):
        assert client.get(preview_url).status_code == 404
        assert client.post(preview_url + "/confirm").status_code == 404
    assert owner.get(preview_url.replace("/products/", "/suppliers/")).status_code == 404
    for token in ("../../etc/passwd", "x" * 32, "%2e%2e%2fconfig", "a" * 400):
        assert owner.get(f"/admin/import/products/{token}").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Product)) == 0


def test_export_in_the_import_format(app, company, make_user, other_company):
    client = login(app.test_client(), make_user("manager").email)
    ProductFactory(company=company, sku="MINE")
    ProductFactory(company=other_company, sku="THEIRS")
    response = client.get("/admin/export/products")
    assert response.is_streamed
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == ["sku", "name", "kind", "category", "unit", "sale_price", "cost_price",
                       "min_stock", "barcode", "description", "active"]
    assert [r[0] for r in rows[1:]] == ["MINE"]
