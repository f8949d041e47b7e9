"""The migrations build the schema the models describe, on SQLite and on PostgreSQL."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from erp import create_app
from erp.extensions import db
from erp.models.base import column_lists, leads_an_index
from erp.models.search import include_object
from tests.conftest import app_config, fresh_database_url


# SQLite's reflection skips the expression index on lower(sku) (erp/models/search.py)
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_migrations_match_the_models(tmp_path, redis_url):
    url = fresh_database_url(tmp_path, "erp_migrations")
    app = create_app(app_config(url, redis_url, tmp_path))
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": include_object})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations drift apart: {diff}"
        downgrade(revision="base")
        upgrade()
        db.engine.dispose()


def test_every_foreign_key_column_leads_an_index():
    """DESIGN: every foreign key column is indexed (a composite index counts when it leads
    with the column), so deleting the referred row never scans the referencing table."""
    missing = [f"{table.name}.{fk.parent.name}" for table in db.metadata.tables.values()
               for fk in table.foreign_keys if not leads_an_index(table, fk.parent.name)]
    assert missing == []


def test_no_single_column_index_repeats_the_lead_of_a_wider_one():
    redundant = []
    for table in db.metadata.tables.values():
        lists = column_lists(table)
        for name, columns in lists:
            wider = [other for other, more in lists if len(more) > 1 and more[0] == columns[0]]
            if len(columns) == 1 and wider:
                redundant.append(f"{name} (served by {', '.join(wider)})")
    assert redundant == []


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_migrating_down_and_up_keeps_every_companys_rows(tmp_path, redis_url):
    """SQLite rebuilds a table to alter it (batch mode): with foreign keys on, dropping the
    old `companies` would cascade into every child table. The rows must survive."""
    from sqlalchemy import text

    from tests.factories.catalog import ProductFactory, WarehouseFactory

    url = fresh_database_url(tmp_path, "erp_migrations_rows")
    app = create_app(app_config(url, redis_url, tmp_path))
    with app.app_context():
        upgrade()
        ProductFactory()
        WarehouseFactory()
        db.session.remove()
        downgrade(revision="0005_indexes")
        upgrade()
        counts = {table: db.session.scalar(text(f"SELECT count(*) FROM {table}"))
                  for table in ("companies", "products", "warehouses")}
        assert counts == {"companies": 2, "products": 1, "warehouses": 1}
        db.session.remove()
        db.engine.dispose()
