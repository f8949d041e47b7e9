"""Schemathesis against the API's own OpenAPI document: every operation, a bounded number
of generated requests each, with no server error and no answer that breaks the document."""
from __future__ import annotations

from decimal import Decimal

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from erp.extensions import db
from erp.services import api_tokens
from tests.conftest import TEST_DB
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.inventory_helpers import put_stock
from tests.factories.sales import CustomerFactory

# per operation: the whole run stays within a few seconds; the PostgreSQL pass (which runs
# the API for its SQL, not for the generator) calls every operation with fewer of them
EXAMPLES = 5 if TEST_DB == "sqlite" else 2


def test_no_operation_answers_a_server_error_or_breaks_its_schema(app, company, make_user):
    manager = make_user("manager")
    warehouse = WarehouseFactory(company=company)
    product = ProductFactory(company=company)
    CustomerFactory(company=company)
    put_stock(product, warehouse, Decimal("5"), manager)
    db.session.commit()
    _token, secret = api_tokens.create_token(company_id=company.id, user=manager, name="fuzz")
    headers = {"Authorization": f"Bearer {secret}"}
    app.config["RATELIMIT_API"] = "100000 per minute"
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=headers)
    checked = check_operations(schema, headers)
    assert len(checked) >= 20, checked


def check_operations(schema, headers: dict) -> list[str]:
    """Schemathesis over each operation of `schema` with `headers`: EXAMPLES generated
    requests, no server error and no answer outside the document; their labels."""
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def call(case):
            db.session.commit()  # end the test's transaction: the request writes
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error,
                                                     response_schema_conformance])

        call()
        checked.append(operation.label)
    return checked
