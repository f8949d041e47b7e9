"""The flask commands: clear messages and non-zero exits on bad arguments."""
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import Company, User


def test_create_company_and_user(runner):
    result = runner.invoke(args=["create-company", "Initech"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["create-user", "--email", "boss@initech.example", "--password",
                                 "a good long password", "--role", "manager", "--company", "initech"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "boss@initech.example"))
    assert user.role == "manager" and user.company.name == "Initech"


def test_duplicate_company_is_refused(runner):
    runner.invoke(args=["create-company", "Initech"])
    result = runner.invoke(args=["create-company", "INITECH"])
    assert result.exit_code != 0 and "exists" in result.output


def test_create_user_in_unknown_company_is_refused(runner):
    result = runner.invoke(args=["create-user", "--email", "a@b.example", "--password",
                                 "a good long password", "--role", "staff", "--company", "Nope"])
    assert result.exit_code != 0 and "No company named 'Nope'" in result.output


def test_create_user_with_bad_role_or_weak_password_is_refused(runner):
    runner.invoke(args=["create-company", "Initech"])
    result = runner.invoke(args=["create-user", "--email", "a@b.example", "--password",
                                 "a good long password", "--role", "god", "--company", "Initech"])
    assert result.exit_code == 2 and "god" in result.output
    result = runner.invoke(args=["create-user", "--email", "a@b.example", "--password", "short",
                                 "--role", "staff", "--company", "Initech"])
    assert result.exit_code == 1 and "at least 10 characters" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_seed_demo_is_idempotent(runner, seeded_demo):
    first = seeded_demo
    assert first.exit_code == 0, first.output
    assert "admin@example.com / admin" in first.output
    counts = {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in (Company, User)}
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert "Created" not in second.output
    db.session.rollback()  # end the snapshot: see what the requests wrote
    assert counts == {m.__name__: db.session.scalar(select(func.count()).select_from(m))
                      for m in (Company, User)}
    assert counts["User"] == 4


def test_demo_admin_can_log_in(app, seeded_demo):
    client = app.test_client()
    response = client.post("/login", data={"email": "admin@example.com", "password": "admin"})
    assert response.status_code == 303


def test_the_demo_has_invoices_in_every_state_that_add_up(seeded_demo):
    from erp.models.invoices import INVOICE_STATUSES, Invoice
    from erp.services import invoices

    company = db.session.scalar(select(Company).where(Company.name == "Demo Company"))
    states = set(db.session.scalars(select(Invoice.status).where(
        Invoice.company_id == company.id).distinct()))
    assert states == set(INVOICE_STATUSES)
    assert invoices.mismatches(company.id) == []
