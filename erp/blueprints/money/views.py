"""Money: invoices (a document with a line editor, print page and PDF), and the settings
they take: tax codes and payment terms, each a `Resource` (erp/crud.py) whose create and
edit are for managers (they change what every new line and invoice takes). The company's
defaults of both are chosen in the company settings (/admin/company)."""
from __future__ import annotations

from flask import Blueprint, flash, render_template, request
from flask_login import current_user

from erp.auth import require_role
from erp.blueprints.money.forms import InvoiceForm, PaymentTermsForm, TaxCodeForm
from erp.blueprints.sales.forms import LineEditForm, LineForm
from erp.crud import Resource
from erp.csv_io import export_limited
from erp.documents import register_actions
from erp.extensions import db
from erp.lines import LineEditor, Pick, register_line_routes
from erp.lists import ARCHIVE_CHOICES
from erp.models.core import company_today
from erp.models.invoices import INVOICE_STATUSES, Invoice, InvoiceLine
from erp.models.money import TERMS_KINDS, PaymentTerms, TaxCode
from erp.models.sales import Customer, IssuedDocument
from erp.pdf import pdf_response
from erp.queries import company_select
from erp.queries import invoices as invoice_queries
from erp.queries import money as queries
from erp.services import invoices as invoice_service
from erp.services import money as money_service
from erp.services import sales as sales_service
from erp.web import form_status, redirect_after_post, render, submit_form

bp = Blueprint("money", __name__, url_prefix="/money")


def _list_context(page, params) -> dict:
    return {"statuses": ARCHIVE_CHOICES, "kinds": list(TERMS_KINDS.items())}


tax_codes = Resource(
    name="tax_code", plural="tax-codes", model=TaxCode, label="Tax code", form=TaxCodeForm,
    fields=("name", "rate"), templates="money/tax_code", nav="money/_nav.html",
    list_spec=queries.TAX_CODES, list_context=_list_context,
    create=money_service.create_tax_code, update=money_service.update_tax_code,
    set_active=money_service.set_tax_code_active, delete=money_service.delete_tax_code,
    in_use=money_service.tax_code_in_use, title=lambda code: code.name,
    edit_role="manager",
).register(bp)

payment_terms = Resource(
    name="payment_terms", plural="payment-terms", model=PaymentTerms, label="Payment terms",
    form=PaymentTermsForm, fields=("name", "kind", "days"), templates="money/payment_terms",
    nav="money/_nav.html", list_spec=queries.PAYMENT_TERMS, list_context=_list_context,
    list_template="money/payment_terms_list.html",
    create=money_service.create_payment_terms, update=money_service.update_payment_terms,
    set_active=money_service.set_payment_terms_active,
    delete=money_service.delete_payment_terms, in_use=money_service.payment_terms_in_use,
    title=lambda terms: terms.name, edit_role="manager",
).register(bp)


# --- invoices ---------------------------------------------------------------------------

@bp.route("/invoices")
@require_role("viewer")
@export_limited
def invoice_list():
    return invoice_queries.INVOICES.response(
        "money/invoices.html", statuses=list(INVOICE_STATUSES.items()),
        today=company_today(current_user.company_id))


@bp.route("/invoices/new", methods=["GET", "POST"])
@require_role("staff")
def invoice_create():
    """A direct invoice for a customer: its header here, its lines on its page."""
    form = InvoiceForm()
    if request.method == "GET":
        customer_id = request.args.get("customer_id", type=int)
        if customer_id and 0 < customer_id < 2**31:
            customer = db.session.scalar(
                company_select(Customer).where(Customer.id == customer_id))
            if customer is not None:
                form.customer.data = customer.picker_label

    def save():
        customer = sales_service.find_customer(current_user.company_id, form.customer.data)
        return invoice_service.create_invoice(
            company_id=current_user.company_id, user=current_user,
            customer_id=customer.id if customer else None, notes=form.notes.data or "")

    def done(invoice):
        flash(f"{invoice.number} created. Add its lines.", "success")
        return redirect_after_post("money.invoice_detail", invoice_id=invoice.id)

    return submit_form(form, save, done) or render(
        "money/invoice_form.html", form=form, status=form_status(form))


INVOICE_LINES = LineEditor(
    model=Invoice, line_model=InvoiceLine, doc_name="invoice", doc_key="invoice_id",
    line_key="line_id", detail="money.invoice_detail", template="money/invoice_detail.html",
    endpoints=("money.invoice_line_add", "money.invoice_line_update",
               "money.invoice_line_remove"),
    load=invoice_queries.invoice_page, add_form=LineForm, edit_form=LineEditForm,
    add=invoice_service.add_line, update=invoice_service.update_line,
    remove=invoice_service.remove_line, pick=Pick("product", "product_id"),
    section="invoice-{id}-lines", role=Invoice.workflow.edit_role,
    editable=lambda invoice: invoice.order_id is None,
    oob=("money/_invoice_totals.html",),
    context=lambda invoice: {"today": company_today(invoice.company_id)},
    not_added="The line was not added: see the errors.",
    not_saved="The line was not saved: see the errors.")


@bp.route("/invoices/<int:invoice_id>")
@require_role("viewer")
def invoice_detail(invoice_id: int):
    invoice = invoice_queries.invoice_page(invoice_id)
    return render("money/invoice_detail.html", block="lines",
                  **INVOICE_LINES.page_context(invoice))


register_line_routes(bp, INVOICE_LINES, url="/invoices/<int:invoice_id>/lines",
                     line_url="/invoices/<int:invoice_id>/lines/<int:line_id>")
register_actions(bp, Invoice, invoice_service, detail="money.invoice_detail",
                 url="/invoices/<int:invoice_id>")


def _invoice_document(invoice_id: int) -> dict:
    """What an invoice's print page and PDF show: frozen once issued, live as a draft."""
    invoice = invoice_queries.invoice_page(invoice_id)
    return {"invoice": invoice, "order": invoice,
            "doc": IssuedDocument.of(invoice, current_user.company)}


@bp.route("/invoices/<int:invoice_id>/print")
@require_role("viewer")
def invoice_print(invoice_id: int):
    return render_template("money/invoice_print.html", **_invoice_document(invoice_id))


@bp.route("/invoices/<int:invoice_id>/pdf")
@require_role("viewer")
def invoice_pdf(invoice_id: int):
    document = _invoice_document(invoice_id)
    return pdf_response("money/invoice_print.html", filename=document["invoice"].number,
                        **document)
