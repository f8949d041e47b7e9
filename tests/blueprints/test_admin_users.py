"""User administration: admins only, company-scoped, validated, constant query count."""
import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import User
from tests.factories.core import UserFactory


@pytest.mark.parametrize("role,status", [("viewer", 403), ("staff", 403), ("manager", 403),
                                         ("admin", 200)])
def test_only_admins_see_users(client_as, role, status):
    assert client_as(role).get("/admin/users").status_code == status


def test_user_list_shows_only_own_company(admin_client, make_user, other_company):
    mine = make_user("staff")
    theirs = UserFactory(company=other_company)
    page = admin_client.get("/admin/users").data
    assert mine.email.encode() in page
    assert theirs.email.encode() not in page


@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_user_list_searches_filters_sorts_and_pages(admin_client, make_user):
    for n in range(25):
        make_user("viewer", email=f"zz{n:02d}@example.com")
    page = admin_client.get("/admin/users?q=zz0&sort=-email").data.decode()
    assert "zz09@example.com" in page and "zz10@example.com" not in page
    assert page.index("zz09@") < page.index("zz00@")
    first = admin_client.get("/admin/users?role=viewer&per_page=10").data.decode()
    assert "Rows 1–10 of 25" in first and 'rel="next"' in first
    third = admin_client.get("/admin/users?role=viewer&per_page=10&page=3").data.decode()
    assert "Rows 21–25 of 25" in third and 'rel="next"' not in third


@pytest.mark.parametrize("query", ["page=abc", "page=-4", "per_page=100000", "sort=password_hash",
                                   "sort=-;drop table users", "role=superuser", "q=" + "x" * 5000,
                                   "page=99999"])
def test_user_list_survives_bad_query_parameters(admin_client, query):
    assert admin_client.get(f"/admin/users?{query}").status_code == 200


def test_user_list_htmx_returns_only_the_results_block(admin_client):
    response = admin_client.get("/admin/users?q=a", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.data.lstrip().startswith(b'<div id="results">')
    assert b"<nav class=\"navbar" not in response.data
    assert "HX-Request" in response.headers["Vary"]


def test_user_list_query_count_does_not_grow_with_rows(admin_client, make_user, queries_for):
    for _ in range(5):
        make_user("staff")
    few = queries_for(admin_client, "/admin/users?per_page=100")
    for _ in range(55):
        make_user("staff")
    many = queries_for(admin_client, "/admin/users?per_page=100")
    assert few == many


def test_user_detail_query_count_is_constant(admin_client, make_user, queries_for):
    user = make_user()
    assert queries_for(admin_client, f"/admin/users/{user.id}") <= 3


def test_admin_creates_a_user(admin_client, company):
    response = admin_client.post("/admin/users/new", data={
        "email": "New.Person@Example.com", "name": "New Person", "role": "manager",
        "password": "a long enough password"})
    assert response.status_code == 303
    user = db.session.scalar(select(User).where(User.email == "new.person@example.com"))
    assert user.role == "manager" and user.company_id == company.id
    assert user.password_hash.startswith("pbkdf2:sha256:1000")


def test_create_user_shows_all_errors_at_once_and_writes_nothing(admin_client, make_user):
    taken = make_user()
    before = db.session.scalar(select(func.count()).select_from(User))
    response = admin_client.post("/admin/users/new", data={
        "email": taken.email, "name": "x" * 4000, "role": "emperor", "password": "short"})
    assert response.status_code == 422
    body = response.data.decode()
    assert "Not a valid choice" in body  # role
    assert "Field cannot be longer than 200 characters" in body  # name
    db.session.rollback()  # end the snapshot: see what the requests wrote
    assert db.session.scalar(select(func.count()).select_from(User)) == before


def test_create_user_service_errors_are_shown_next_to_fields(admin_client, make_user):
    taken = make_user()
    response = admin_client.post("/admin/users/new", data={
        "email": taken.email, "role": "staff", "password": "1234567890"})
    assert response.status_code == 422
    assert b"A user with this email exists." in response.data
    assert b"This password is too common." in response.data


def test_admin_changes_a_role_and_deactivates(admin_client, make_user):
    user = make_user("viewer")
    assert admin_client.post(f"/admin/users/{user.id}/role", data={"role": "staff"}).status_code == 303
    assert admin_client.post(f"/admin/users/{user.id}/active", data={"active": "0"}).status_code == 303
    db.session.rollback()  # end the snapshot: see what the requests wrote
    user = db.session.get(User, user.id)
    assert (user.role, user.active) == ("staff", False)


def test_admin_cannot_deactivate_or_demote_themselves(app, make_user):
    from tests.conftest import login

    admin = make_user("admin")
    client = login(app.test_client(), admin.email)
    response = client.post(f"/admin/users/{admin.id}/active", data={"active": "0"},
                           follow_redirects=True)
    assert b"You cannot deactivate yourself." in response.data
    response = client.post(f"/admin/users/{admin.id}/role", data={"role": "viewer"},
                           follow_redirects=True)
    assert b"You cannot change your own role." in response.data
    db.session.rollback()  # end the snapshot: see what the requests wrote
    admin = db.session.get(User, admin.id)
    assert (admin.role, admin.active) == ("admin", True)


@pytest.mark.parametrize("method,path", [
    ("get", "/admin/users/{id}"),
    ("post", "/admin/users/{id}/role"),
    ("post", "/admin/users/{id}/active"),
    ("post", "/admin/users/{id}/unlock"),
])
def test_another_companys_admin_gets_404(other_company_client, make_user, method, path):
    user = make_user()
    response = getattr(other_company_client, method)(path.format(id=user.id), data={"role": "admin"})
    assert response.status_code == 404
    db.session.rollback()  # end the snapshot: see what the requests wrote
    assert db.session.get(User, user.id).role == "staff"


def test_nul_bytes_in_query_or_form_are_a_bad_request(admin_client):
    assert admin_client.get("/admin/users?q=a%00b").status_code == 400
    response = admin_client.post("/admin/users/new", data={"email": "x\x00@example.com"})
    assert response.status_code == 400
