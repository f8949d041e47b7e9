"""Count sheets and transfers over HTTP: making them, filling the lines (a scanned barcode
picks the product), posting through the stock service, the refusals next to the fields or
on the document, roles, company scope, lists, print pages and constant query counts."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from erp.extensions import db
from erp.models import StockLevel, StockMovement
from erp.models.stock_documents import StockCount, StockCountLine, StockTransfer
from erp.services import stock
from erp.services import stock_documents as service
from tests.blueprints.test_pdf import pdf_text
from tests.factories.catalog import CategoryFactory, ProductFactory, WarehouseFactory

D = Decimal
HX = {"HX-Request": "true"}


class Env:
    pass


@pytest.fixture
def env(app, company, make_user):
    e = Env()
    e.company = company
    e.user = make_user("manager")
    e.main = WarehouseFactory(company=company, code="MAIN")
    e.shop = WarehouseFactory(company=company, code="SHOP")
    e.tools = CategoryFactory(company=company, name="Tools")
    e.widget = ProductFactory(company=company, sku="WIDGET", barcode="4006381333931",
                              category=e.tools)
    e.gadget = ProductFactory(company=company, sku="GADGET", barcode="5901234123457")
    e.kw = {"company_id": company.id, "user": e.user}
    for product, quantity in ((e.widget, 10), (e.gadget, 4)):
        stock.receive(company_id=company.id, product_id=product.id, warehouse_id=e.main.id,
                      quantity=quantity, user=e.user)
    return e


def on_hand(product, warehouse) -> Decimal:
    db.session.rollback()
    return db.session.scalar(select(StockLevel.on_hand).where(
        StockLevel.product_id == product.id, StockLevel.warehouse_id == warehouse.id)) or D(0)


def make_count(env, **kwargs) -> StockCount:
    count = service.create_count(warehouse_id=env.main.id, **env.kw, **kwargs)
    db.session.rollback()
    return db.session.get(StockCount, count.id)


def line_of(count, product) -> StockCountLine:
    return next(line for line in count.lines if line.product_id == product.id)


# --- count sheets --------------------------------------------------------------------------

def test_a_count_sheet_is_made_filled_by_scanning_and_posted(client_as, env):
    staff, manager = client_as("staff"), client_as("manager")
    form = staff.get("/inventory/counts/new").get_data(as_text=True)
    assert "Tools" in form and "MAIN" in form
    response = staff.post("/inventory/counts/new", data={
        "warehouse_id": str(env.main.id), "category_id": "", "count_date": "2026-12-02"})
    assert response.status_code == 303
    count = db.session.scalar(select(StockCount))
    assert response.headers["Location"].endswith(f"/inventory/counts/{count.id}")
    assert {line.product.sku: line.expected for line in count.lines} == {
        "WIDGET": D(10), "GADGET": D(4)}
    page = staff.get(f"/inventory/counts/{count.id}").get_data(as_text=True)
    assert "0 of 2 counted" in page and 'data-scan-url="/catalog/products/scan"' in page
    # a scanned barcode counts its product; a line's count is changed in place
    response = staff.post(f"/inventory/counts/{count.id}/lines",
                          data={"product": "4006381333931", "counted": "8"}, headers=HX)
    assert response.status_code == 200 and "WIDGET counted: 8" in response.get_data(as_text=True)
    gadget = line_of(count, env.gadget)
    response = staff.post(f"/inventory/counts/{count.id}/lines/{gadget.id}",
                          data={"counted": "4"})
    assert response.status_code == 303
    page = staff.get(f"/inventory/counts/{count.id}").get_data(as_text=True)
    assert "2 of 2 counted" in page and f'id="line-{line_of(count, env.widget).id}-difference"' \
        in page
    # staff may not post; a manager posts every difference at once
    assert staff.post(f"/inventory/counts/{count.id}/post").status_code == 403
    assert manager.post(f"/inventory/counts/{count.id}/post").status_code == 303
    assert on_hand(env.widget, env.main) == D(8) and on_hand(env.gadget, env.main) == D(4)
    movements = db.session.scalars(select(StockMovement).where(
        StockMovement.source_type == "stock_count_line")).all()
    assert [(m.kind, m.quantity, m.reference) for m in movements] == [
        ("adjustment", D(-2), count.number)]
    page = manager.get(f"/inventory/counts/{count.id}").get_data(as_text=True)
    assert "Posted" in page and f'action="/inventory/counts/{count.id}/post"' not in page
    assert stock.ledger_mismatches(env.company.id) == []


def test_a_category_sheet_lists_only_that_category(client_as, env):
    count = make_count(env, category_id=str(env.tools.id))
    assert [line.product.sku for line in count.lines] == ["WIDGET"]


def test_bad_count_input_is_refused_next_to_the_field(client_as, env, other_company):
    staff = client_as("staff")
    foreign = WarehouseFactory(company=other_company)
    for data, message in (
            ({"warehouse_id": str(foreign.id)}, "Not a valid choice"),
            ({"warehouse_id": "x"}, "Not a valid choice"),
            ({"warehouse_id": str(env.main.id), "category_id": "99999999"}, "Not a valid choice"),
            ({"warehouse_id": str(env.main.id), "count_date": "garbage"}, "Enter a date."),
            ({"warehouse_id": ""}, "Choose a warehouse.")):
        response = staff.post("/inventory/counts/new", data={"count_date": "2026-12-02", **data})
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), re.findall(
            r'invalid-feedback[^>]*>([^<]*)<', response.get_data(as_text=True))
    empty = CategoryFactory(company=env.company, name="Empty")
    response = staff.post("/inventory/counts/new", data={
        "warehouse_id": str(env.main.id), "category_id": str(empty.id),
        "count_date": "2026-12-02"})
    assert response.status_code == 422
    assert "no stocked product to count" in response.get_data(as_text=True)
    assert db.session.scalar(select(StockCount.id)) is None
    count = make_count(env)
    line = line_of(count, env.widget)
    for value, message in (("-1", "Enter a count from 0"), ("abc", "Not a valid decimal"),
                           ("1e30", "Enter a count from 0"), ("1.23456", "decimals")):
        response = staff.post(f"/inventory/counts/{count.id}/lines/{line.id}",
                              data={"counted": value})
        assert response.status_code == 422, value
        assert message in response.get_data(as_text=True), re.findall(
            r'invalid-feedback[^>]*>([^<]*)<', response.get_data(as_text=True))
    response = staff.post(f"/inventory/counts/{count.id}/lines",
                          data={"product": "NOPE", "counted": "1"})
    assert response.status_code == 422 and "No product with this barcode or SKU" in \
        response.get_data(as_text=True)
    db.session.rollback()
    assert all(line.counted is None for line in db.session.get(StockCount, count.id).lines)


def test_stock_that_moved_since_the_sheet_was_made_is_named_and_nothing_is_adjusted(
        client_as, env):
    manager = client_as("manager")
    count = make_count(env)
    service.update_count_line(count_id=count.id, line_id=line_of(count, env.widget).id,
                              counted="7", **env.kw)
    stock.issue(company_id=env.company.id, product_id=env.widget.id, warehouse_id=env.main.id,
                quantity=1, user=env.user)  # a shipment while counting
    response = manager.post(f"/inventory/counts/{count.id}/post", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Stock moved in MAIN" in html and "WIDGET expected 10, now 9" in html
    assert on_hand(env.widget, env.main) == D(9)
    assert db.session.get(StockCount, count.id).status == "draft"
    # "Update expected" takes the stock now; the count stays; then it posts
    assert manager.post(f"/inventory/counts/{count.id}/refresh").status_code == 303
    db.session.rollback()
    line = line_of(db.session.get(StockCount, count.id), env.widget)
    assert (line.expected, line.counted) == (D(9), D(7))
    assert manager.post(f"/inventory/counts/{count.id}/post").status_code == 303
    assert on_hand(env.widget, env.main) == D(7)
    assert stock.ledger_mismatches(env.company.id) == []


def test_a_count_below_the_reserved_stock_is_refused(client_as, env):
    count = make_count(env)
    stock.reserve(company_id=env.company.id, product_id=env.widget.id,
                  warehouse_id=env.main.id, quantity=D(5))
    db.session.commit()
    service.update_count_line(count_id=count.id, line_id=line_of(count, env.widget).id,
                              counted="3", **env.kw)
    html = client_as("manager").post(f"/inventory/counts/{count.id}/post",
                                     follow_redirects=True).get_data(as_text=True)
    assert "WIDGET: 5 reserved, 3 counted" in html
    assert on_hand(env.widget, env.main) == D(10)


def test_a_sheet_with_nothing_counted_does_not_post_and_a_draft_cancels(client_as, env):
    count = make_count(env)
    manager = client_as("manager")
    html = manager.post(f"/inventory/counts/{count.id}/post",
                        follow_redirects=True).get_data(as_text=True)
    assert "enter a counted quantity on at least one line" in html
    assert client_as("staff").post(f"/inventory/counts/{count.id}/cancel").status_code == 303
    db.session.rollback()
    assert db.session.get(StockCount, count.id).status == "cancelled"
    # a cancelled sheet's lines no longer change
    line = line_of(count, env.widget)
    response = client_as("staff").post(f"/inventory/counts/{count.id}/lines/{line.id}",
                                       data={"counted": "1"})
    assert response.status_code == 303
    db.session.rollback()
    assert db.session.get(StockCountLine, line.id).counted is None


def test_count_print_page_and_pdf(client_as, env):
    count = make_count(env)
    viewer = client_as("viewer")
    html = viewer.get(f"/inventory/counts/{count.id}/print").get_data(as_text=True)
    assert "Count sheet" in html and count.number in html and "4006381333931" in html
    assert f'href="/inventory/counts/{count.id}/pdf"' in html
    text = pdf_text(viewer.get(f"/inventory/counts/{count.id}/pdf"))
    assert count.number in text and "WIDGET" in text and "GADGET" in text


# --- transfers -----------------------------------------------------------------------------

def make_transfer(env, lines=()) -> StockTransfer:
    transfer = service.create_transfer(from_warehouse_id=env.main.id,
                                       to_warehouse_id=env.shop.id, **env.kw)
    for product, quantity in lines:
        service.add_transfer_line(transfer_id=transfer.id, product_id=product.id,
                                  quantity=quantity, **env.kw)
    db.session.rollback()
    return db.session.get(StockTransfer, transfer.id)


def test_a_transfer_of_several_lines_is_made_and_posted(client_as, env):
    staff, manager = client_as("staff"), client_as("manager")
    response = staff.post("/inventory/transfers/new", data={
        "from_warehouse_id": str(env.main.id), "to_warehouse_id": str(env.shop.id),
        "transfer_date": "2026-12-02", "notes": "For the shop window"})
    assert response.status_code == 303
    transfer = db.session.scalar(select(StockTransfer))
    url = f"/inventory/transfers/{transfer.id}"
    # a barcode, a SKU, and the same barcode again (adds to its line)
    for code, quantity in (("4006381333931", "3"), ("gadget", "2"), ("4006381333931", "1")):
        assert staff.post(f"{url}/lines", data={"product": code, "quantity": quantity},
                          headers=HX).status_code == 200
    db.session.rollback()
    transfer = db.session.get(StockTransfer, transfer.id)
    assert [(line.product.sku, line.quantity) for line in transfer.lines] == [
        ("WIDGET", D(4)), ("GADGET", D(2))]
    assert staff.post(f"{url}/post").status_code == 403
    assert manager.post(f"{url}/post").status_code == 303
    assert (on_hand(env.widget, env.main), on_hand(env.widget, env.shop)) == (D(6), D(4))
    assert (on_hand(env.gadget, env.main), on_hand(env.gadget, env.shop)) == (D(2), D(2))
    kinds = db.session.scalars(select(StockMovement.kind).where(
        StockMovement.source_type == "stock_transfer_line")).all()
    assert sorted(kinds) == ["transfer_in"] * 2 + ["transfer_out"] * 2
    assert stock.ledger_mismatches(env.company.id) == []
    page = manager.get(url).get_data(as_text=True)
    assert "Posted" in page and f'action="{url}/lines"' not in page


def test_not_enough_stock_names_every_short_line_and_moves_nothing(client_as, env):
    transfer = make_transfer(env, [(env.widget, "5"), (env.gadget, "9")])
    response = client_as("manager").post(f"/inventory/transfers/{transfer.id}/post",
                                         follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Line 2 (GADGET): Not enough GADGET in MAIN: 9 needed, 4 available." in html, \
        re.findall(r'Line 2[^<]*', html)
    assert "Nothing was moved." in html
    assert on_hand(env.widget, env.main) == D(10) and on_hand(env.widget, env.shop) == D(0)
    assert db.session.get(StockTransfer, transfer.id).status == "draft"
    assert stock.ledger_mismatches(env.company.id) == []


def test_bad_transfer_input_is_refused_next_to_the_field(client_as, env, other_company):
    staff = client_as("staff")
    base = {"from_warehouse_id": str(env.main.id), "to_warehouse_id": str(env.shop.id),
            "transfer_date": "2026-12-02"}
    foreign = WarehouseFactory(company=other_company)
    for change, message in (({"to_warehouse_id": str(env.main.id)}, "Choose another warehouse"),
                            ({"to_warehouse_id": str(foreign.id)}, "Not a valid choice"),
                            ({"transfer_date": ""}, "Enter a date.")):
        response = staff.post("/inventory/transfers/new", data={**base, **change})
        assert response.status_code == 422, change
        assert message in response.get_data(as_text=True), change
    assert db.session.scalar(select(StockTransfer.id)) is None
    transfer = make_transfer(env)
    service_product = ProductFactory(company=env.company, sku="REPAIR", kind="service")
    foreign_product = ProductFactory(company=other_company, sku="THEIRS")
    for data, message in (({"product": "WIDGET", "quantity": "0"}, "Enter a quantity from"),
                          ({"product": "WIDGET", "quantity": "-2"}, "Enter a quantity from"),
                          ({"product": "WIDGET", "quantity": "x"}, "Not a valid decimal"),
                          ({"product": "WIDGET", "quantity": "1e99"}, "Enter a quantity from"),
                          ({"product": "REPAIR", "quantity": "1"}, "carries no stock"),
                          ({"product": f"X [#{foreign_product.id}]", "quantity": "1"},
                           "No product with this barcode or SKU"),
                          ({"product": "", "quantity": "1"}, "Scan or type")):
        response = staff.post(f"/inventory/transfers/{transfer.id}/lines", data=data)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), data
    assert service_product.id and not db.session.get(StockTransfer, transfer.id).lines


def test_transfer_edit_print_pdf_and_cancel(client_as, env):
    third = WarehouseFactory(company=env.company, code="THIRD")
    transfer = make_transfer(env, [(env.widget, "1")])
    staff = client_as("staff")
    response = staff.post(f"/inventory/transfers/{transfer.id}/edit", data={
        "from_warehouse_id": str(env.main.id), "to_warehouse_id": str(third.id),
        "transfer_date": "2026-12-03"})
    assert response.status_code == 303
    html = client_as("viewer").get(f"/inventory/transfers/{transfer.id}/print").get_data(
        as_text=True)
    assert "Stock transfer" in html and "THIRD" in html and "doc-draft" in html
    text = pdf_text(client_as("viewer").get(f"/inventory/transfers/{transfer.id}/pdf"))
    assert transfer.number in text and "WIDGET" in text
    assert staff.post(f"/inventory/transfers/{transfer.id}/cancel").status_code == 303
    response = staff.get(f"/inventory/transfers/{transfer.id}/edit")
    assert response.status_code == 303
    db.session.rollback()
    assert db.session.get(StockTransfer, transfer.id).status == "cancelled"


# --- roles, company scope, lists -----------------------------------------------------------

def test_roles(client_as, env):
    count, transfer = make_count(env), make_transfer(env, [(env.widget, "1")])
    viewer = client_as("viewer")
    for url in ("/inventory/counts", f"/inventory/counts/{count.id}",
                f"/inventory/counts/{count.id}/print", "/inventory/transfers",
                f"/inventory/transfers/{transfer.id}", f"/inventory/transfers/{transfer.id}/print"):
        assert viewer.get(url).status_code == 200, url
    for url in ("/inventory/counts/new", "/inventory/transfers/new",
                f"/inventory/counts/{count.id}/lines", f"/inventory/transfers/{transfer.id}/lines",
                f"/inventory/counts/{count.id}/cancel", f"/inventory/transfers/{transfer.id}/post"):
        assert viewer.post(url, data={}).status_code == 403, url
    page = viewer.get(f"/inventory/transfers/{transfer.id}").get_data(as_text=True)
    assert "/lines" not in page and "/post" not in page


def test_another_companys_documents_answer_404(env, other_company_client):
    count, transfer = make_count(env), make_transfer(env, [(env.widget, "1")])
    line, tline = count.lines[0], transfer.lines[0]
    for url in (f"/inventory/counts/{count.id}", f"/inventory/counts/{count.id}/print",
                f"/inventory/counts/{count.id}/pdf", f"/inventory/transfers/{transfer.id}",
                f"/inventory/transfers/{transfer.id}/print",
                f"/inventory/transfers/{transfer.id}/pdf",
                f"/inventory/transfers/{transfer.id}/edit"):
        assert other_company_client.get(url).status_code == 404, url
    for url in (f"/inventory/counts/{count.id}/post", f"/inventory/counts/{count.id}/cancel",
                f"/inventory/counts/{count.id}/refresh", f"/inventory/counts/{count.id}/lines",
                f"/inventory/counts/{count.id}/lines/{line.id}",
                f"/inventory/counts/{count.id}/lines/{line.id}/remove",
                f"/inventory/transfers/{transfer.id}/post",
                f"/inventory/transfers/{transfer.id}/cancel",
                f"/inventory/transfers/{transfer.id}/lines",
                f"/inventory/transfers/{transfer.id}/lines/{tline.id}",
                f"/inventory/transfers/{transfer.id}/lines/{tline.id}/remove"):
        assert other_company_client.post(url, data={"counted": "1", "quantity": "1",
                                                    "product": "WIDGET"}).status_code == 404, url
    for url in ("/inventory/counts", "/inventory/transfers"):
        html = other_company_client.get(url).get_data(as_text=True)
        assert count.number not in html and transfer.number not in html
    db.session.rollback()
    assert db.session.get(StockCount, count.id).status == "draft"
    assert db.session.get(StockTransfer, transfer.id).status == "draft"


@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_the_lists_filter_and_export(client_as, env):
    client = client_as("viewer")
    posted = make_transfer(env, [(env.widget, "1")])
    service.post_transfer(transfer_id=posted.id, **env.kw)
    draft = make_transfer(env)
    back = service.create_transfer(from_warehouse_id=env.shop.id, to_warehouse_id=env.main.id,
                                   **env.kw)

    def shown(query: str) -> set[str]:
        html = client.get(f"/inventory/transfers?{query}").get_data(as_text=True)
        return {t.number for t in (posted, draft, back) if t.number in html}

    assert shown("") == {posted.number, draft.number, back.number}
    assert shown("status=posted") == {posted.number}
    assert shown(f"from={env.shop.id}") == {back.number}
    assert shown(f"to={env.shop.id}&status=draft") == {draft.number}
    assert shown("status=nonsense&from=x&date_from=garbage") == {
        posted.number, draft.number, back.number}
    fragment = client.get("/inventory/transfers?status=draft", headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and draft.number in fragment
    csv = client.get("/inventory/transfers?format=csv&status=posted").get_data(as_text=True)
    assert csv.lstrip("\ufeff").startswith("number,transfer_date") and posted.number in csv
    count = make_count(env)
    html = client.get(f"/inventory/counts?warehouse={env.main.id}&status=draft").get_data(
        as_text=True)
    assert count.number in html
    assert count.number not in client.get("/inventory/counts?status=posted").get_data(
        as_text=True)
    csv = client.get("/inventory/counts?format=csv").get_data(as_text=True)
    assert count.number in csv and "MAIN" in csv


def test_list_and_record_query_counts_are_constant(client_as, env, queries_for):
    client = client_as("viewer")

    def add(n):
        for _ in range(n):
            count = make_count(env)
            transfer = make_transfer(env, [(env.widget, "1")])
        return count, transfer

    count, transfer = add(2)
    few = [queries_for(client, url) for url in (
        "/inventory/counts?per_page=100", "/inventory/transfers?per_page=100",
        f"/inventory/counts/{count.id}", f"/inventory/transfers/{transfer.id}")]
    for i in range(6):
        ProductFactory(company=env.company, sku=f"MORE-{i}")
    count, transfer = add(5)
    for product in (env.gadget,):
        service.add_transfer_line(transfer_id=transfer.id, product_id=product.id, quantity="1",
                                  **env.kw)
    many = [queries_for(client, url) for url in (
        "/inventory/counts?per_page=100", "/inventory/transfers?per_page=100",
        f"/inventory/counts/{count.id}", f"/inventory/transfers/{transfer.id}")]
    assert len(db.session.get(StockCount, count.id).lines) == 8
    assert many == few


def test_a_deep_page_of_the_transfers(client_as, env, queries_for):
    for i in range(125):
        service.create_transfer(from_warehouse_id=env.main.id, to_warehouse_id=env.shop.id,
                                transfer_date=date(2026, 1, 1) + timedelta(days=i % 9),
                                **env.kw)
    expected = db.session.scalars(
        select(StockTransfer.number).order_by(StockTransfer.transfer_date.desc(),
                                              StockTransfer.id.desc())).all()
    client = client_as("viewer")
    html = client.get("/inventory/transfers?per_page=20&page=6").get_data(as_text=True)
    assert re.findall(r">(TR-\d{4}-\d+)<", html) == expected[100:120]
    assert queries_for(client, "/inventory/transfers?per_page=20&page=6") == \
        queries_for(client, "/inventory/transfers?per_page=20&page=1") + 1


def test_the_demo_has_posted_and_draft_count_sheets_and_transfers(seeded_demo):
    assert seeded_demo.exit_code == 0, seeded_demo.output
    assert "stock_documents: 2 count sheets (one posted)" in seeded_demo.output
    db.session.rollback()
    for model in (StockCount, StockTransfer):
        statuses = db.session.scalars(select(model.status).order_by(model.id)).all()
        assert statuses == ["posted", "draft"], model
    posted = db.session.scalar(select(StockCount).where(StockCount.status == "posted"))
    assert any(line.adjusted for line in posted.lines)
    draft = db.session.scalar(select(StockTransfer).where(StockTransfer.status == "draft"))
    assert draft.lines
    assert stock.ledger_mismatches() == []
