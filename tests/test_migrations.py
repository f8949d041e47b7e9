"""The migrations build the schema the models describe, on SQLite and on PostgreSQL."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import PrimaryKeyConstraint, UniqueConstraint

from erp import create_app
from erp.extensions import db
from erp.models.base import leads_an_index
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
        for index in table.indexes:
            if len(index.columns) != 1:
                continue
            column = index.columns[0].name
            wider = [other.name for other in table.indexes
                     if len(other.columns) > 1 and other.columns[0].name == column
                     and not any(other.dialect_options[d].get("where") is not None
                                 for d in ("sqlite", "postgresql"))]
            wider += [constraint.name for constraint in table.constraints
                      if isinstance(constraint, (UniqueConstraint, PrimaryKeyConstraint))
                      and len(constraint.columns) > 1 and constraint.columns[0].name == column]
            if wider:
                redundant.append(f"{index.name} (served by {', '.join(map(str, wider))})")
    assert redundant == []
