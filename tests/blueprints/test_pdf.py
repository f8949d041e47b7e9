"""Documents as PDF (erp/pdf.py): each document's PDF says what its print page says (read
back with poppler's pdftotext), Turkish letters survive, a viewer may download one, another
company gets 404, and WeasyPrint fetches nothing but our static files.

A render takes about 0.1-0.2 s here: one PDF per document kind, no more."""
import subprocess
from decimal import Decimal

import pytest
from sqlalchemy import select

from erp.extensions import db
from erp.models.invoices import Invoice
from erp.pdf import static_fetcher
from erp.services import purchasing, sales, stock
from tests.factories.catalog import ProductFactory, SupplierFactory, WarehouseFactory
from tests.factories.sales import CustomerFactory

D = Decimal


def pdf_text(response) -> str:
    """The text of a PDF download, checked to be one."""
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    result = subprocess.run(["pdftotext", "-layout", "-", "-"], input=response.data,
                            capture_output=True, check=True, timeout=30)
    return result.stdout.decode()


def attachment_name(response) -> str:
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    return disposition.split("filename=", 1)[1].strip('"')


@pytest.fixture
def turkish(app, company, make_user):
    """A company, customer, supplier and products named with Turkish letters."""
    company.name = "Öz Şahin Makina İmalat"
    db.session.commit()
    manager = make_user("manager")
    kw = {"company_id": company.id, "user": manager}
    warehouse = WarehouseFactory(company=company, code="MAIN", name="Ana Depo")
    customer = CustomerFactory(company=company, name="Işıklı Ağaç Ticaret",
                               billing_address="Çiçek Sokak 5\nİzmir", tax_number="VKN-123")
    shaft = ProductFactory(company=company, sku="SAFT-1", name="Çelik şaft ğ",
                           sale_price=D("12.50"), cost_price=D("4.00"))
    gear = ProductFactory(company=company, sku="DISLI-2", name="Dişli İğne",
                          sale_price=D("3.20"), cost_price=D("1.10"))
    for product in (shaft, gear):
        stock.receive(product_id=product.id, warehouse_id=warehouse.id, quantity=50, **kw)
    order = sales.create_order(customer_id=customer.id, warehouse_id=warehouse.id, **kw)
    sales.add_line(order_id=order.id, product_id=shaft.id, quantity="2", **kw)
    sales.add_line(order_id=order.id, product_id=gear.id, quantity="5", **kw)
    supplier = SupplierFactory(company=company, name="Güneş Döküm Şirketi")
    po = purchasing.create_order(supplier_id=supplier.id, warehouse_id=warehouse.id, **kw)
    purchasing.add_line(order_id=po.id, product_id=shaft.id, quantity="7", unit_cost="4.25",
                        **kw)
    purchasing.place_order(order_id=po.id, **kw)
    return {"kw": kw, "order": order, "po": po}


def test_the_order_confirmation_pdf_says_what_its_print_page_says(client_as, turkish):
    order = turkish["order"]
    sales.confirm_order(order_id=order.id, **turkish["kw"])
    response = client_as("viewer").get(f"/sales/orders/{order.id}/pdf")
    text = pdf_text(response)
    assert attachment_name(response) == f"{order.number}.pdf"
    assert response.headers["Cache-Control"].startswith("no-cache") or \
        "max-age=0" in response.headers["Cache-Control"]
    for said in ("Öz Şahin Makina İmalat", "ORDER CONFIRMATION", order.number,
                 "Işıklı Ağaç Ticaret", "Çiçek Sokak 5", "İzmir", "VKN-123",
                 "Çelik şaft ğ", "SAFT-1", "Dişli İğne", "DISLI-2", "12.50", "3.20",
                 "25.00", "16.00", "41.00"):
        assert said in text, said
    assert "Page 1 of 1" in text  # the PDF-only footer
    page = client_as("viewer").get(f"/sales/orders/{order.id}/print").data.decode()
    assert "Page 1 of 1" not in page and f'href="/sales/orders/{order.id}/pdf"' in page


def test_the_invoice_pdf_is_named_by_the_invoice_number(client_as, turkish):
    order = turkish["order"]
    viewer = client_as("viewer")
    for step in (sales.confirm_order, sales.ship_order, sales.invoice_order):
        step(order_id=order.id, **turkish["kw"])
    db.session.refresh(order)
    invoice_id = db.session.scalar(select(Invoice.id).where(Invoice.order_id == order.id))
    response = viewer.get(f"/money/invoices/{invoice_id}/pdf")
    text = pdf_text(response)
    assert attachment_name(response) == f"{order.invoice_number}.pdf"
    for said in ("INVOICE", order.invoice_number, order.number, "Işıklı Ağaç Ticaret",
                 "Çelik şaft ğ", "Dişli İğne", "41.00", "Thank you for your business."):
        assert said in text, said
    detail = viewer.get(f"/sales/orders/{order.id}").data.decode()
    assert f'href="/money/invoices/{invoice_id}"' in detail
    detail = viewer.get(f"/money/invoices/{invoice_id}").data.decode()
    assert f'href="/money/invoices/{invoice_id}/pdf"' in detail


def test_the_purchase_order_pdf_names_the_supplier_lines_and_totals(client_as, turkish):
    po = turkish["po"]
    response = client_as("viewer").get(f"/purchasing/orders/{po.id}/pdf")
    text = pdf_text(response)
    assert attachment_name(response) == f"{po.number}.pdf"
    for said in ("Öz Şahin Makina İmalat", "PURCHASE ORDER", po.number, "Güneş Döküm Şirketi",
                 "Ana Depo", "Çelik şaft ğ", "SAFT-1", "7 pcs", "4.25", "29.75"):
        assert said in text, said


def test_another_companys_user_gets_404_for_every_pdf(other_company_client, turkish):
    order, po = turkish["order"], turkish["po"]
    for url in (f"/sales/orders/{order.id}/pdf", f"/sales/orders/{order.id}/pdf/invoice",
                f"/purchasing/orders/{po.id}/pdf"):
        assert other_company_client.get(url).status_code == 404, url


@pytest.mark.dialect_independent
def test_the_pdf_fetcher_reads_only_our_static_files(app):
    fetcher = static_fetcher(app.static_folder, "/static")
    css = fetcher("http://localhost/static/css/print.css")
    assert b".doc-header" in css.read() and css.content_type == "text/css"
    assert fetcher("data:text/plain,hi").read() == b"hi"
    for url in ("http://127.0.0.1:9/secret", "https://example.com/logo.png",
                "http://localhost/static/../../etc/passwd",
                "http://localhost/static/%2e%2e/%2e%2e/etc/passwd",
                "file:///etc/passwd", "ftp://example.com/x"):
        with pytest.raises(ValueError):
            fetcher(url)


def test_a_host_without_weasyprint_answers_pdfs_503_and_serves_the_print_page(
        client_as, turkish, monkeypatch):
    import sys

    import erp.pdf
    monkeypatch.setattr(erp.pdf, "_weasyprint", None)
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # `import weasyprint` fails
    viewer = client_as("viewer")
    po = turkish["po"]
    assert viewer.get(f"/purchasing/orders/{po.id}/pdf").status_code == 503
    assert viewer.get(f"/purchasing/orders/{po.id}/print").status_code == 200
