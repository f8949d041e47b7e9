"""The migrations build the schema the models describe, on SQLite and on PostgreSQL, and
carry the data of a database that holds orders."""
from datetime import datetime, timezone
from decimal import Decimal
from types import SimpleNamespace

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from erp import create_app
from erp.extensions import db
from erp.models.base import column_lists, leads_an_index
from erp.models.invoices import Invoice
from erp.models.sales import IssuedDocument
from erp.models.search import include_object
from erp.services import sales, sales_totals
from tests.conftest import app_config, fresh_database_url, migrated_database_url
from tests.factories.catalog import ProductFactory, WarehouseFactory
from tests.factories.core import CompanyFactory
from tests.factories.sales import CustomerFactory


# SQLite's reflection skips the expression index on lower(sku) (erp/models/search.py)
SKIPPED_INDEX = "ignore:Skipped unsupported reflection of expression-based index"


def _migrated_app(tmp_path, redis_url, name: str):
    """An app on a database of the kind under test (TEST_DB) at the migrations' head: a copy
    of the session's migrated one (the test below migrates from empty)."""
    return create_app(app_config(migrated_database_url(tmp_path, name), redis_url, tmp_path))


@pytest.mark.filterwarnings(SKIPPED_INDEX)
def test_migrations_match_the_models(tmp_path, redis_url):
    """From an empty database to the head, down to nothing and up again."""
    app = create_app(app_config(fresh_database_url(tmp_path, "erp_migrations"), redis_url,
                                tmp_path))
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


@pytest.mark.filterwarnings(SKIPPED_INDEX)
def test_a_migrated_database_has_the_search_ddls_indexes(tmp_path, redis_url):
    """The search DDL's expression indexes are outside the models (the drift test leaves
    them out), and SQLite's batch rebuild of a table does not carry them over: each must
    still be there after every migration."""
    from erp.models.search import SEARCH_INDEXES

    app = _migrated_app(tmp_path, redis_url, "erp_migrations_search")
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            names = set(db.session.scalars(text(
                "SELECT name FROM sqlite_master WHERE type = 'index'")))
            expected = {"ix_products_company_lower_sku", "ix_products_company_sku_tr",
                        "ix_products_company_name_tr", "ix_customers_company_name_tr"}
        else:
            names = set(db.session.scalars(text("SELECT indexname FROM pg_indexes")))
            expected = {name for name in SEARCH_INDEXES if not name.endswith("_tr")}
        db.session.remove()
        db.engine.dispose()
    assert expected - names == set()


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


@pytest.mark.filterwarnings(SKIPPED_INDEX)
def test_migrating_down_and_up_keeps_every_companys_rows(tmp_path, redis_url):
    """SQLite rebuilds a table to alter it (batch mode): with foreign keys on, dropping the
    old `companies` would cascade into every child table. The rows must survive."""
    app = _migrated_app(tmp_path, redis_url, "erp_migrations_rows")
    with app.app_context():
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


@pytest.mark.filterwarnings(SKIPPED_INDEX)
def test_a_table_rebuilt_by_a_migration_keeps_its_planner_statistics(tmp_path, redis_url):
    """SQLite: a batch migration rebuilds a table and drops its sqlite_stat1 rows; without
    them the stock list sorted every stock level (45 ms instead of 5 at size m). The
    migrations run ANALYZE again (migrations/env.py)."""
    app = _migrated_app(tmp_path, redis_url, "erp_migrations_stats")
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL keeps its statistics through ALTER TABLE")
        ProductFactory()
        db.session.remove()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        downgrade(revision="0012_default_warehouse")  # 0013 rebuilds products
        upgrade()
        with db.engine.connect() as conn:
            analysed = set(conn.scalars(text("SELECT DISTINCT tbl FROM sqlite_stat1")))
        assert "products" in analysed
        db.engine.dispose()


# --- migrations that change data --------------------------------------------------------

D = Decimal
BEFORE = "0008_sales_rules-1"  # the revision this one follows, however the chain is ordered


def _totals():
    with db.engine.connect() as conn:
        month = conn.execute(text("SELECT orders, total FROM sales_month_totals")).one()
        product = conn.execute(text("SELECT quantity, revenue FROM sales_product_totals")).one()
    return (int(month[0]), D(str(month[1])).quantize(D("0.01")),
            D(str(product[1])).quantize(D("0.01")))


def _issued(order_id: int):
    """What the order's invoice says (0019 makes the invoice of an order invoiced before)."""
    with db.engine.connect() as conn:
        return conn.execute(select(Invoice.issued).where(Invoice.order_id == order_id)).scalar()


@pytest.mark.filterwarnings(SKIPPED_INDEX)
def test_0008_turns_the_stored_sales_totals_net_and_freezes_issued_invoices(tmp_path,
                                                                          redis_url):
    """The dashboard's running totals held amounts with their tax: migrated, they are net,
    the tax apart (and back on downgrade). An order invoiced before the migration gets the
    snapshot the invoicing would have frozen."""
    app = _migrated_app(tmp_path, redis_url, "erp_sales_rules")
    with app.app_context():
        company = CompanyFactory()
        warehouse = WarehouseFactory(company=company)
        service = ProductFactory(company=company, kind="service", sale_price=D("10"))
        customer = CustomerFactory(company=company)
        company_id = company.id
        kw = {"company_id": company_id, "user": None}
        order = sales.create_order(customer_id=customer.id, warehouse_id=warehouse.id, **kw)
        sales.add_line(order_id=order.id, product_id=service.id, quantity="2", unit_price="10",
                       discount_percent="10", tax_rate="20", **kw)  # net 18.00, tax 3.60
        for step in (sales.confirm_order, sales.ship_order, sales.invoice_order):
            step(order_id=order.id, **kw)
        assert _totals() == (1, D("18.00"), D("18.00"))
        order_id, issued = order.id, _issued(order.id)
        assert issued["customer"]["name"] == customer.name
        db.session.remove()

        downgrade(revision=BEFORE)  # the earlier revisions kept the totals with their tax
        with db.engine.connect() as conn:  # and nothing else is lost on the way down
            assert conn.execute(text("SELECT COUNT(*) FROM sales_order_items")).scalar() == 1
        assert _totals() == (1, D("21.60"), D("21.60"))
        upgrade()
        assert _totals() == (1, D("18.00"), D("18.00"))
        with db.engine.connect() as conn:
            assert D(str(conn.execute(text("SELECT tax FROM sales_month_totals")).scalar())) \
                == D("3.60")
        assert sales_totals.mismatches(company_id) == []
        # what the document says is the same (the seller's fields added by 0013 are blank
        # for this company, and a snapshot without them reads them as blank)
        assert IssuedDocument.from_json(_issued(order_id)) == IssuedDocument.from_json(issued)
        db.session.remove()
        db.engine.dispose()


@pytest.mark.filterwarnings(SKIPPED_INDEX)
def test_0014_gives_orders_shipped_before_it_their_shipped_quantities(tmp_path, redis_url):
    """Orders shipped before delivery notes shipped every line whole: upgraded, their lines
    are shipped; downgraded, a partly shipped order is confirmed again and the delivery
    notes are gone."""
    app = _migrated_app(tmp_path, redis_url, "erp_deliveries")
    with app.app_context():
        company = CompanyFactory()
        warehouse = WarehouseFactory(company=company)
        service = ProductFactory(company=company, kind="service", sale_price=D("10"))
        customer = CustomerFactory(company=company)
        kw = {"company_id": company.id, "user": None}
        ids = []
        for step in ("ship", "deliver"):
            order = sales.create_order(customer_id=customer.id, warehouse_id=warehouse.id, **kw)
            item = sales.add_line(order_id=order.id, product_id=service.id, quantity="3", **kw)
            sales.confirm_order(order_id=order.id, **kw)
            if step == "ship":
                sales.ship_order(order_id=order.id, **kw)
            else:
                sales.create_delivery(order_id=order.id, quantities={item.id: "1"}, post=True,
                                      **kw)
            ids.append(order.id)
        db.session.remove()

        downgrade(revision="0014_deliveries-1")
        with db.engine.connect() as conn:
            statuses = conn.execute(text(
                "SELECT status FROM sales_orders ORDER BY id")).scalars().all()
            assert statuses == ["shipped", "confirmed"]
        upgrade()
        with db.engine.connect() as conn:
            shipped = conn.execute(text(
                "SELECT order_id, shipped_quantity FROM sales_order_items ORDER BY id")).all()
            assert [(o, D(str(q))) for o, q in shipped] == [(ids[0], D(3)), (ids[1], D(0))]
            assert conn.execute(text("SELECT COUNT(*) FROM delivery_notes")).scalar() == 0
        db.session.remove()
        db.engine.dispose()


@pytest.mark.filterwarnings(SKIPPED_INDEX)
def test_0017_returns_downgrade_and_upgrade_again(tmp_path, redis_url):
    """Downgraded, the returns and the returned quantities are gone (the ledger stays);
    upgraded again, every line has nothing returned and over-returning is refused by the
    database too."""
    from sqlalchemy.exc import IntegrityError

    from erp.services import deliveries, returns

    app = _migrated_app(tmp_path, redis_url, "erp_returns")
    with app.app_context():
        company = CompanyFactory()
        warehouse = WarehouseFactory(company=company)
        service = ProductFactory(company=company, kind="service", sale_price=D("10"))
        customer = CustomerFactory(company=company)
        kw = {"company_id": company.id, "user": None}
        order = sales.create_order(customer_id=customer.id, warehouse_id=warehouse.id, **kw)
        item = sales.add_line(order_id=order.id, product_id=service.id, quantity="3", **kw)
        sales.confirm_order(order_id=order.id, **kw)
        delivery = deliveries.create_delivery(order_id=order.id, quantities={item.id: "3"},
                                              post=True, **kw)
        line_id = delivery.lines[0].id
        returns.create_sales_return(delivery_id=delivery.id, quantities={line_id: "1"},
                                    warehouse_id=warehouse.id, reason="Damaged", post=True,
                                    **kw)
        db.session.remove()

        downgrade(revision="0017_returns-1")
        with db.engine.connect() as conn:
            tables = set(db.inspect(conn).get_table_names())
            assert not tables & {"sales_returns", "sales_return_lines", "purchase_returns",
                                 "purchase_return_lines"}
            columns = {c["name"] for c in db.inspect(conn).get_columns("delivery_note_lines")}
            assert "returned_quantity" not in columns
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(text(
                "SELECT returned_quantity FROM delivery_note_lines")).scalar() == 0
        with pytest.raises(IntegrityError):
            with db.engine.begin() as conn:
                conn.execute(text("UPDATE delivery_note_lines SET returned_quantity = 4"))
        db.session.remove()
        db.engine.dispose()


@pytest.mark.filterwarnings(SKIPPED_INDEX)
def test_0021_keeps_a_repeated_barcode_on_its_oldest_product_only(tmp_path, redis_url):
    """Before 0021 two products of a company could share a barcode (a scan picked neither):
    upgraded, the oldest keeps it, the others' is blanked, another company's stays; then
    the database refuses a repeat."""
    from sqlalchemy.exc import IntegrityError

    app = _migrated_app(tmp_path, redis_url, "erp_barcodes")
    with app.app_context():
        downgrade(revision="0021_stock_documents-1")
        # the companies as that revision has them (a later one adds columns the model has)
        company, other = (SimpleNamespace(id=db.session.execute(text(
            "INSERT INTO companies (name, currency, timezone, created_at, updated_at) "
            "VALUES (:name, 'EUR', 'UTC', :now, :now) RETURNING id"),
            {"name": name, "now": datetime.now(timezone.utc)}).scalar_one())
            for name in ("Barcodes one", "Barcodes two"))
        first, second = (ProductFactory(company=company, barcode="400") for _ in range(2))
        theirs = ProductFactory(company=other, barcode="400")
        blank = [ProductFactory(company=company, barcode="") for _ in range(2)]
        db.session.commit()
        ids = [first.id, second.id, theirs.id] + [p.id for p in blank]
        second_id = second.id
        db.session.remove()
        upgrade()
        with db.engine.connect() as conn:
            barcodes = dict(conn.execute(text("SELECT id, barcode FROM products")).all())
        assert [barcodes[i] for i in ids] == ["400", "", "400", "", ""]
        with pytest.raises(IntegrityError):
            with db.engine.begin() as conn:
                conn.execute(text("UPDATE products SET barcode = '400' WHERE id = :id"),
                             {"id": second_id})
        db.session.remove()
        db.engine.dispose()
