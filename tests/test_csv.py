"""CSV: the streamed export, the formula guard, round trips, bad files, and the CLI import."""
import csv
import io
import tracemalloc
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

from erp import cli_data
from erp.csv_io import CHUNK, csv_lines, read_csv, safe_cell, stream_csv, unescape_cell
from erp.extensions import db
from erp.models import AuditEntry, Category, Product, Supplier
from erp.services import imports as import_service
from tests.conftest import login
from tests.factories.catalog import CategoryFactory, ProductFactory, SupplierFactory


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------- export helpers

@pytest.mark.dialect_independent
@pytest.mark.parametrize("value,cell", [
    ("=1+1", "'=1+1"), ("+33 1 23", "'+33 1 23"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("plain", "plain"), ("a=b", "a=b"), (None, ""), (True, "yes"),
    (Decimal("-1.50"), Decimal("-1.50")), (3, 3),
])
def test_formula_injection_guard(value, cell):
    assert safe_cell(value) == cell


@pytest.mark.dialect_independent
@pytest.mark.parametrize("text", ["=1+1", "-x", "'quoted", "'", "plain", "@"])
def test_unescape_undoes_the_guard(text):
    assert unescape_cell(str(safe_cell(text))) == text


@pytest.mark.dialect_independent
def test_csv_lines_yield_one_line_per_row_with_quoting():
    lines = list(csv_lines(["a", "b"], [["x,y", 'say "hi"'], ["multi\nline", None]], bom=False))
    assert lines[0] == "a,b\r\n"
    assert len(lines) == 3
    assert parse("".join(lines)) == [["a", "b"], ["x,y", 'say "hi"'], ["multi\nline", ""]]


@pytest.mark.dialect_independent
def test_stream_csv_is_a_streamed_attachment_with_a_safe_name(app):
    with app.test_request_context():
        response = stream_csv('../../etc/"passwd', ["a"], iter([[1], [2]]))
        assert response.is_streamed
        assert response.headers["Content-Disposition"] == 'attachment; filename="etc-passwd.csv"'
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert b"".join(response.iter_encoded()).decode("utf-8-sig") == "a\r\n1\r\n2\r\n"



@pytest.mark.dialect_independent
def test_stream_csv_sends_many_rows_in_a_few_big_pieces_not_a_piece_per_row(app):
    """A piece is a socket write and an HTTP chunk: a piece per row made a form's CSV of
    thousands of rows take half a second to arrive for 40 ms of server work (#17)."""
    rows = [[n, f"row {n}", "x" * 40] for n in range(20_000)]
    with app.test_request_context():
        pieces = list(stream_csv("big", ["n", "text", "pad"], iter(rows)).iter_encoded())
    text = b"".join(pieces).decode("utf-8-sig")
    assert parse(text)[1:] == [[str(n), f"row {n}", "x" * 40] for n in range(20_000)]
    assert len(text) // CHUNK <= len(pieces) <= len(text) // CHUNK + 1
    assert all(len(piece) >= CHUNK for piece in pieces[:-1])

def _bulk_products(company_id: int, n: int, *, text: str = "", start: int = 0) -> None:
    db.session.execute(insert(Product), [
        {"company_id": company_id, "sku": f"BULK-{i:06d}", "name": f"Bulk product {i}",
         "kind": "component", "unit": "pcs", "sale_price": Decimal("1.00"),
         "cost_price": Decimal("0.50"), "min_stock": Decimal("0"), "barcode": "",
         "description": text, "active": True} for i in range(start, start + n)])
    db.session.commit()


def _export_peak(client) -> tuple[int, int, int]:
    """(peak traced bytes, bytes of CSV, lines) of one streamed products export."""
    response = client.get("/admin/export/products")
    assert response.status_code == 200 and response.is_streamed
    total = lines = 0
    tracemalloc.start()
    try:
        for chunk in response.response:  # consumed as it is produced, as a server would
            data = chunk.encode() if isinstance(chunk, str) else chunk
            total += len(data)
            lines += data.count(b"\r\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, total, lines


def test_a_large_export_streams_with_bounded_memory(app, company, make_user):
    client = login(app.test_client(), make_user("manager").email)
    _bulk_products(company.id, 2000, text="x" * 2000)  # a few batches (csv_io.BATCH)
    _export_peak(client)  # the first export's one-time allocations (caches) apart
    small_peak, _, _ = _export_peak(client)
    _bulk_products(company.id, 4000, text="y" * 2000, start=2000)
    peak, total, lines = _export_peak(client)
    assert lines == 6001 and total > 12_000_000
    # memory is a batch or two of rows, not the file: 3x the rows, about the same peak
    assert peak < small_peak * 1.5, (small_peak, peak)
    assert peak < total / 3, f"peak {peak:,} bytes for {total:,} bytes of CSV"


# ---------------------------------------------------------------- round trips

TRICKY = ["=HYPERLINK(\"http://evil\")", "Comma, quote \" and\nnew line", "Ünïcødé ✓", "-minus",
          "@at", "+plus", ""]


def _export(kind: str, company_id: int) -> str:
    return "".join(csv_lines(import_service.export_header(kind),
                             import_service.export_rows(kind, company_id)))


def test_products_round_trip(app, company, other_company, make_user):
    tools = CategoryFactory(company=company, name="Tools")
    CategoryFactory(company=other_company, name="tools")  # matched case-insensitively
    for n, text in enumerate(TRICKY):
        ProductFactory(company=company, sku=f"RT-{n}", name=f"Name {text}".strip(),
                       description=text, category_id=tools.id if n % 2 else None,
                       kind=["raw_material", "component", "finished_good", "service"][n % 4],
                       unit=["pcs", "kg", "m"][n % 3], sale_price=Decimal("1234567.89"),
                       cost_price=Decimal("0.01"), min_stock=Decimal("2.125"),
                       barcode=f"40{n:011d}", active=bool(n % 3))
    first = _export("products", company.id)
    user = make_user("manager", company=other_company)
    report = import_service.run_import("products", company_id=other_company.id, user=user,
                                       data=first.encode("utf-8"))
    assert report.imported == len(TRICKY)
    second = _export("products", other_company.id)
    assert second.replace(",tools,", ",Tools,") == first
    assert "'=HYPERLINK" in first  # guarded in the file, exact in the database
    db.session.rollback()
    imported = db.session.scalar(select(Product).where(Product.company_id == other_company.id,
                                                       Product.sku == "RT-0"))
    assert imported.description == TRICKY[0]


def test_suppliers_round_trip_through_the_web_pages(app, company, other_company, make_user):
    for n, text in enumerate(TRICKY):
        SupplierFactory(company=company, name=f"Supplier {n} {text}".strip(), contact_person=text,
                        email=f"s{n}@example.com", phone="+49 30 1234", address=text,
                        tax_number=f"DE{n}", active=n != 2)
    exporter = login(app.test_client(), make_user("manager").email)
    first = exporter.get("/admin/export/suppliers").data
    importer = login(app.test_client(), make_user("manager", company=other_company).email)
    preview = importer.post("/admin/import/suppliers",
                            data={"file": (io.BytesIO(first), "suppliers.csv")},
                            content_type="multipart/form-data").headers["Location"]
    assert importer.post(preview + "/confirm").status_code == 303
    second = importer.get("/admin/export/suppliers").data
    assert second == first
    assert count(Supplier) == 2 * len(TRICKY)


# ---------------------------------------------------------------- bad files in the service

def test_malformed_file_is_reported_and_nothing_is_imported(company, make_user):
    user = make_user("manager")
    CategoryFactory(company=company, name="Tools")
    text = ("sku,name,category,unit,sale_price,cost_price,min_stock,kind,active\n"
            "OK-1,Fine,Tools,pcs,1,1,1,component,yes\n"
            "OK-2,Bad price,Tools,pcs,12abc,1,1,component,yes\n"
            "OK-3,Bad unit,Tools,parsecs,1,1,1,gizmo,maybe\n"
            "OK-4,Too many,Tools,pcs,1,1,1,component,yes,extra\n"
            "ok-1,Duplicate sku case,,,,,,,\n"
            "OK-5,Huge," + "x" * 121 + ",pcs,9999999999999,1,1,component,yes\n")
    with pytest.raises(import_service.ImportFailed) as caught:
        import_service.run_import("products", company_id=company.id, user=user,
                                  data=text.encode())
    report = caught.value.report
    by_line = {line: [str(e) for e in errors] for line, errors in report.errors_by_line().items()}
    assert set(by_line) == {3, 4, 5, 6, 7}
    assert any("not a number" in e for e in by_line[3])
    assert len(by_line[4]) == 3  # unit, kind and active, all at once
    assert "cells" in by_line[5][0]
    assert "repeated (first on line 2)" in by_line[6][0]
    assert any("longer than 120" in e for e in by_line[7])
    assert any("at most" in e for e in by_line[7])
    assert count(Product) == 0
    assert count(AuditEntry) == 0


@pytest.mark.dialect_independent
def test_read_csv_accepts_a_bom_and_any_column_order():
    header, rows = read_csv("\ufeffName,SKU\r\nA,1\r\n\r\n".encode("utf-8"),
                            import_service.IMPORTERS["products"].columns)
    assert header == ["name", "sku"]
    assert rows == [(2, {"name": "A", "sku": "1"})]


@pytest.mark.dialect_independent
def test_importers_are_a_registry_that_pages_and_cli_share():
    assert set(import_service.IMPORTERS) >= {"products", "suppliers"}
    for importer in import_service.IMPORTERS.values():
        assert importer.column_names[0] in ("sku", "name")


# ---------------------------------------------------------------- the CLI

@pytest.fixture
def cli(app, runner):
    cli_data.register(app)  # the lead wires it into erp/cli.py; registering twice is harmless
    return runner


def test_cli_imports_a_file_with_a_progress_bar(cli, company, tmp_path):
    CategoryFactory(company=company, name="Tools")
    path = tmp_path / "products.csv"
    path.write_text("sku,name,category\n" + "".join(f"C-{i},Item {i},Tools\n" for i in range(1200)))
    result = cli.invoke(args=["import-csv", "products", str(path), "--company", "acme manufacturing"])
    assert result.exit_code == 0, result.output
    assert "Importing products" in result.output
    assert "Imported 1200 products into 'Acme Manufacturing'." in result.output
    assert count(Product) == 1200


def test_cli_reports_every_error_exits_non_zero_and_imports_nothing(cli, company, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("sku,name,sale_price\nA,Fine,1\nB,,x\nA,Dup,1\n")
    result = cli.invoke(args=["import-csv", "products", str(path), "--company", company.name])
    assert result.exit_code == 1
    assert "line 3, name: is required." in result.output
    assert "line 3, sale_price: 'x' is not a number." in result.output
    assert "line 4, sku: 'A' is repeated" in result.output
    assert "3 errors; nothing was imported." in result.output
    assert count(Product) == 0


def test_cli_refuses_bad_encoding_unknown_company_and_kind(cli, company, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("name\nSociété\n".encode("latin-1"))
    result = cli.invoke(args=["import-csv", "suppliers", str(path), "--company", company.name])
    assert result.exit_code == 1 and "not UTF-8" in result.output
    result = cli.invoke(args=["import-csv", "suppliers", str(path), "--company", "Nope"])
    assert result.exit_code == 1 and "No company named 'Nope'" in result.output
    result = cli.invoke(args=["import-csv", "planets", str(path), "--company", company.name])
    assert result.exit_code == 2
    result = cli.invoke(args=["import-csv", "suppliers", str(tmp_path / "missing.csv"),
                              "--company", company.name])
    assert result.exit_code == 2
    assert count(Supplier) == 0


def test_cli_dry_run_and_audit_user(cli, company, make_user, tmp_path):
    user = make_user("manager", email="importer@example.com")
    path = tmp_path / "suppliers.csv"
    path.write_text("name,email\nAcme Parts,parts@acme.example\n")
    result = cli.invoke(args=["import-csv", "suppliers", str(path), "--company", company.name,
                              "--dry-run"])
    assert result.exit_code == 0 and "would be imported" in result.output
    assert count(Supplier) == 0
    result = cli.invoke(args=["import-csv", "suppliers", str(path), "--company", company.name,
                              "--user", user.email])
    assert result.exit_code == 0, result.output
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "import"))
    assert entry.user_name == "importer@example.com" and entry.record_type == "supplier"
    assert count(Category) == 0
