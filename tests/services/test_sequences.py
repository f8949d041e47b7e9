"""Document numbers: per company, per series and year, unique under concurrency."""
import threading
from datetime import date

import pytest

from erp.extensions import db
from erp.services import atomic
from erp.services.sequences import next_number
from tests.factories.core import CompanyFactory


def test_numbers_count_up_per_company_and_series(app, company, other_company):
    with atomic():
        assert next_number(company.id, "SO", on=date(2026, 3, 1)) == "SO-2026-000001"
        assert next_number(company.id, "SO", on=date(2026, 3, 1)) == "SO-2026-000002"
        assert next_number(company.id, "PO", on=date(2026, 3, 1)) == "PO-2026-000001"
        assert next_number(other_company.id, "SO", on=date(2026, 3, 1)) == "SO-2026-000001"
        assert next_number(company.id, "SO", on=date(2027, 1, 1)) == "SO-2027-000001"


def test_a_rolled_back_transaction_gives_its_number_back(app, company):
    with pytest.raises(RuntimeError):
        with atomic():
            next_number(company.id, "SO", on=date(2026, 1, 1))
            raise RuntimeError("boom")
    with atomic():
        assert next_number(company.id, "SO", on=date(2026, 1, 1)) == "SO-2026-000001"


def test_concurrent_numbers_are_unique(app):
    company = CompanyFactory()
    company_id = company.id
    results, errors = [], []

    def work():
        with app.app_context():
            try:
                for _ in range(25):
                    with atomic():
                        results.append(next_number(company_id, "SO", on=date(2026, 5, 5)))
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 200 and len(set(results)) == 200
    assert max(results) == "SO-2026-000200"
