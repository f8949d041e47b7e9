"""Money: invoices (a document with a line editor, print page and PDF), and the settings
they take: tax codes and payment terms, each a `Resource` (erp/crud.py) whose create and
edit are for managers (they change what every new line and invoice takes). The company's
defaults of both are chosen in the company settings (/admin/company)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, request, url_for
from flask_login import current_user
from sqlalchemy import select

from erp.auth import require_role
from erp.blueprints.money.forms import (AllocateForm, CreditNoteForm, InvoiceForm,
                                       PaymentForm, PaymentTermsForm, TaxCodeForm)
from erp.blueprints.sales.forms import LineEditForm, LineForm
from erp.crud import Resource
from erp.csv_io import export_limited
from erp.documents import register_actions
from erp.extensions import db
from erp.lines import LineEditor, Pick, register_line_routes
from erp.lists import ARCHIVE_CHOICES
from erp.models.core import company_today
from erp.models.invoices import (CREDIT_NOTE_STATUSES, INVOICE_STATUSES,
                                 OPEN_INVOICE_STATUSES, PAYMENT_STATUSES, CreditNote, Invoice,
                                 InvoiceLine, Payment)
from erp.models.money import TERMS_KINDS, PaymentTerms, TaxCode
from erp.models.sales import Customer, IssuedDocument
from erp.parsing import parse_date
from erp.pdf import register_printout
from erp.queries import company_select
from erp.queries import invoices as invoice_queries
from erp.queries import money as queries
from erp.queries import receivables as receivables_queries
from erp.services import DomainError, ValidationError
from erp.services import credit_notes as credit_service
from erp.services import invoices as invoice_service
from erp.services import money as money_service
from erp.services import payments as payment_service
from erp.services import sales as sales_service
from erp.web import form_status, redirect_after_post, render, split_line_errors, submit_form
from erp.i18n import _, _l

bp = Blueprint("money", __name__, url_prefix="/money")


def _list_context(page, params) -> dict:
    return {"statuses": ARCHIVE_CHOICES, "kinds": list(TERMS_KINDS.items())}


tax_codes = Resource(
    name="tax_code", plural="tax-codes", model=TaxCode, label=_l("Tax code"), form=TaxCodeForm,
    fields=("name", "rate"), templates="money/tax_code", nav="money/_nav.html",
    list_spec=queries.TAX_CODES, list_context=_list_context,
    create=money_service.create_tax_code, update=money_service.update_tax_code,
    set_active=money_service.set_tax_code_active, delete=money_service.delete_tax_code,
    in_use=money_service.tax_code_in_use, title=lambda code: code.name,
    edit_role="manager",
).register(bp)

payment_terms = Resource(
    name="payment_terms", plural="payment-terms", model=PaymentTerms, label=_l("Payment terms"),
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
        "money/documents.html", statuses=list(INVOICE_STATUSES.items()),
        today=company_today(current_user.company_id), side=RECEIVABLE)


@dataclass(frozen=True)
class Side:
    """One side of the money pages, for the views and templates both serve: its documents
    (invoices of customers, bills of suppliers) and its payments; `payable` is the
    supplier side. Endpoints are `money.<document>_<page>` and `money.<payment>_<page>`."""

    payable: bool
    document: str          # "invoice"
    party: str             # "customer": the form's field, the picker
    party_detail: str      # the party's page
    party_options: str     # the party picker's options
    payment: str           # "payment"
    number_hint: str
    payment_hint: str
    find: Callable[[int, str], Any]          # the party a picker value names
    open_documents: Callable[[int, int], list]
    record: Callable[..., Any]               # the payment services
    allocate: Callable[..., Any]
    load_payment: Callable[[int], Any]

    def document_url(self, document, page: str = "detail") -> str:
        return url_for(f"money.{self.document}_{page}", **{f"{self.document}_id": document.id})

    def party_url(self, party_id: int) -> str:
        return url_for(self.party_detail, **{f"{self.party}_id": party_id})

    def payment_url(self, page: str, **values) -> str:
        return url_for(f"money.{self.payment}_{page}", **values)


RECEIVABLE = Side(
    payable=False, document="invoice", party="customer", party_detail="sales.customer_detail",
    party_options="sales.customer_options", payment="payment", number_hint="INV-…",
    payment_hint="PAY-…", find=sales_service.find_customer,
    open_documents=payment_service.open_invoices, record=payment_service.record_payment,
    allocate=payment_service.allocate_payment, load_payment=invoice_queries.payment_page)


def party_from_args(side: Side, party_model):
    """The party a list's "New" link names (`<party>_id`), for the form's picker."""
    party_id = request.args.get(f"{side.party}_id", type=int)
    if party_id and 0 < party_id < 2**31:
        party = db.session.scalar(company_select(party_model).where(party_model.id == party_id))
        return party.picker_label if party is not None else None
    return None


def document_create(side: Side, form, template: str, party_model, create):
    """A direct draft (an invoice, a bill) of a party: its header here (`create(party_id,
    form)` saves it), its lines on its page."""
    if request.method == "GET":
        form[side.party].data = party_from_args(side, party_model)

    def save():
        party = side.find(current_user.company_id, form[side.party].data)
        return create(party.id if party else None)

    def done(document):
        flash(_("%(number)s created. Add its lines.", number=document.number), "success")
        return redirect_after_post(side.document_url(document))

    return submit_form(form, save, done) or render(
        template, form=form, side=side, status=form_status(form))


@bp.route("/invoices/new", methods=["GET", "POST"])
@require_role("staff")
def invoice_create():
    """A direct invoice for a customer."""
    form = InvoiceForm()
    return document_create(
        RECEIVABLE, form, "money/document_form.html", Customer,
        lambda customer_id: invoice_service.create_invoice(
            company_id=current_user.company_id, user=current_user, customer_id=customer_id,
            notes=form.notes.data or ""))


INVOICE_LINES = LineEditor(
    model=Invoice, line_model=InvoiceLine, doc_name="document", doc_key="invoice_id",
    line_key="line_id", detail="money.invoice_detail", template="money/document_detail.html",
    endpoints=("money.invoice_line_add", "money.invoice_line_update",
               "money.invoice_line_remove"),
    load=invoice_queries.invoice_page, add_form=LineForm, edit_form=LineEditForm,
    add=invoice_service.add_line, update=invoice_service.update_line,
    remove=invoice_service.remove_line, pick=Pick("product", "product_id"),
    section="invoice-{id}-lines", role=Invoice.workflow.edit_role,
    editable=lambda invoice: invoice.order_id is None,
    oob=("money/_document_totals.html",),
    context=lambda invoice: {"today": company_today(invoice.company_id), "side": RECEIVABLE,
                             **invoice_queries.invoice_settlements(invoice)},
    not_added="The line was not added: see the errors.",
    not_saved="The line was not saved: see the errors.")


def register_document_pages(side: Side, editor: LineEditor, *, name: str, url: str,
                            model: type, service, load) -> None:
    """A side's document pages under `url` (`/invoices`): a document's page
    (`<name>_detail`; viewer) with its line editor's routes, its actions, and its print page
    and PDF (frozen once issued or posted, live as a draft; named by its number)."""
    id_arg = f"{name}_id"
    record = f"{url}/<int:{id_arg}>"

    def detail(**ids):
        return render("money/document_detail.html", block="lines",
                      **editor.page_context(load(ids[id_arg])))

    detail.__name__ = detail.__qualname__ = f"{name}_detail"
    bp.add_url_rule(record, detail.__name__, require_role("viewer")(detail))
    register_line_routes(bp, editor, url=f"{record}/lines",
                         line_url=f"{record}/lines/<int:line_id>")
    register_actions(bp, model, service, detail=f"money.{name}_detail", url=record)

    def printed(**ids) -> dict:
        document = load(ids[id_arg])
        return {"document": document, "side": side,
                "doc": IssuedDocument.of(document, current_user.company)}

    register_printout(bp, name, record, "money/document_print.html", printed,
                      lambda document: document["document"].number)


register_document_pages(RECEIVABLE, INVOICE_LINES, name="invoice", url="/invoices",
                        model=Invoice, service=invoice_service,
                        load=invoice_queries.invoice_page)


# --- credit notes -----------------------------------------------------------------------

def _quantities(prefix: str) -> dict[str, str]:
    """The `<prefix><id>` inputs of a document form ({id text: value}), bounded."""
    return {key[len(prefix):]: request.form.get(key, "")[:40] for key in request.form
            if key.startswith(prefix)}


@bp.route("/invoices/<int:invoice_id>/credit", methods=["GET", "POST"])
@require_role("staff")
def invoice_credit(invoice_id: int):
    """GET: a credit note form, each line's creditable quantity prefilled (a full credit);
    POST: the draft credit note."""
    invoice = invoice_queries.invoice_page(invoice_id)
    back = ("money.invoice_detail", {"invoice_id": invoice.id})
    if invoice.status not in OPEN_INVOICE_STATUSES:
        flash(_('%(number)s is %(value)s: there is nothing to credit.', number=invoice.number, value=invoice.status_label.lower()), "warning")
        return redirect_after_post(back[0], **back[1])
    form = CreditNoteForm()
    values = credit_service.prefill(invoice)
    line_errors: dict[str, list[str]] = {}
    if request.method == "POST":
        submitted = _quantities("qty-")
        values.update({f"qty-{key}": value for key, value in submitted.items()})
        if form.validate_on_submit():
            try:
                note = credit_service.create_credit_note(
                    company_id=current_user.company_id, invoice_id=invoice.id,
                    user=current_user, quantities=submitted, reason=form.reason.data or "")
            except ValidationError as error:
                line_errors = split_line_errors(form, error, set(values))
            except DomainError as error:
                flash(str(error), "danger")
                return redirect_after_post(back[0], **back[1])
            else:
                flash(_('%(number)s saved: a manager issues it.', number=note.number), "success")
                return redirect_after_post("money.credit_note_detail", credit_note_id=note.id)
    status = 422 if (form.errors or line_errors) else 200
    return render("money/credit_form.html", form=form, invoice=invoice, values=values,
                  line_errors=line_errors, status=status)


@bp.route("/credit-notes")
@require_role("viewer")
@export_limited
def credit_note_list():
    return invoice_queries.CREDIT_NOTES.response(
        "money/credit_notes.html", statuses=list(CREDIT_NOTE_STATUSES.items()))


@bp.route("/credit-notes/<int:credit_note_id>")
@require_role("viewer")
def credit_note_detail(credit_note_id: int):
    return render("money/credit_note_detail.html",
                  note=invoice_queries.credit_note_page(credit_note_id))


register_actions(bp, CreditNote, credit_service, detail="money.credit_note_detail",
                 url="/credit-notes/<int:credit_note_id>")


def _credit_document(credit_note_id: int) -> dict:
    note = invoice_queries.credit_note_page(credit_note_id)
    return {"note": note, "order": note, "doc": IssuedDocument.of(note, current_user.company)}


register_printout(bp, "credit_note", "/credit-notes/<int:credit_note_id>",
                  "money/credit_note_print.html", _credit_document,
                  lambda document: document["note"].number)


# --- payments ---------------------------------------------------------------------------

def payment_create_page(side: Side, form):
    """A payment of a party: the picker first (a GET of this page with `<party>`), then
    the amount and what goes to each of the party's open documents (`alloc-<id>`)."""
    field = form[side.party]
    party = side.find(current_user.company_id,
                      (field.data if request.method == "POST"
                       else request.args.get(side.party)) or "")
    if party is None and request.method == "GET":
        party_id = request.args.get(f"{side.party}_id", "")
        if party_id.isascii() and party_id.isdigit() and len(party_id) < 12:
            party = side.find(current_user.company_id, f"[#{party_id}]")
    values: dict[str, str] = {}
    line_errors: dict[str, list[str]] = {}
    if request.method == "GET":
        form.payment_date.data = company_today(current_user.company_id)
        if party is not None:
            field.data = party.picker_label
            document_id = request.args.get(side.document, "")
            for document in side.open_documents(current_user.company_id, party.id):
                if str(document.id) == document_id:  # "Record payment" on a document
                    values[f"alloc-{document.id}"] = f"{document.balance:.2f}"
                    form.amount.data = f"{document.balance:.2f}"
    else:
        values = {f"alloc-{key}": value for key, value in _quantities("alloc-").items()}
        if form.validate_on_submit():
            try:
                payment = side.record(
                    company_id=current_user.company_id, user=current_user,
                    **{f"{side.party}_id": party.id if party else None},
                    amount=form.amount.data, payment_date=form.payment_date.data,
                    method=form.method.data, reference=form.reference.data or "",
                    allocations={key[6:]: value for key, value in values.items()})
            except ValidationError as error:
                line_errors = split_line_errors(form, error, {
                    key for key in error.field_errors if key.startswith("alloc-")})
            else:
                flash(_("%(number)s recorded.", number=payment.number), "success")
                return redirect_after_post(side.payment_url("detail", payment_id=payment.id))
    documents = (side.open_documents(current_user.company_id, party.id)
                 if party is not None else [])
    status = 422 if (form.errors or line_errors) else 200
    return render("money/payment_form.html", form=form, party=party, documents=documents,
                  values=values, line_errors=line_errors, side=side, status=status)


def payment_page(side: Side, payment_id: int):
    payment = side.load_payment(payment_id)
    return render("money/payment_detail.html", payment=payment, form=AllocateForm(),
                  **_allocation_context(side, payment))


def _allocation_context(side: Side, payment, values=None, line_errors=None) -> dict:
    party_id = getattr(payment, f"{side.party}_id")
    documents = (side.open_documents(payment.company_id, party_id)
                 if payment.unallocated > 0 else [])
    return {"documents": documents, "values": values or {}, "line_errors": line_errors or {},
            "side": side, "party": getattr(payment, side.party)}


def payment_allocate_page(side: Side, payment_id: int):
    """Allocate what the payment has left to the party's open documents."""
    payment = side.load_payment(payment_id)
    form = AllocateForm()
    values = {f"alloc-{key}": value for key, value in _quantities("alloc-").items()}
    line_errors: dict[str, list[str]] = {}
    back = side.payment_url("detail", payment_id=payment.id)
    if form.validate_on_submit():
        try:
            side.allocate(company_id=current_user.company_id, payment_id=payment.id,
                          user=current_user,
                          allocations={key[6:]: value for key, value in values.items()})
        except ValidationError as error:
            line_errors = split_line_errors(form, error, {
                key for key in error.field_errors if key.startswith("alloc-")})
        except DomainError as error:
            flash(str(error), "danger")
            return redirect_after_post(back)
        else:
            flash(_("%(number)s allocated.", number=payment.number), "success")
            return redirect_after_post(back)
    db.session.rollback()
    payment = side.load_payment(payment_id)
    return render("money/payment_detail.html", payment=payment, form=form, status=422,
                  **_allocation_context(side, payment, values, line_errors))


def register_payment_pages(side: Side, *, url: str, name: str, form: type, model: type,
                           service, listed) -> None:
    """A side's payment pages under `url`: the list (`<name>_list`, `listed` its ListSpec;
    viewer), a new payment (`_create`; manager), a payment (`_detail`; viewer), allocating
    its rest (`_allocate`; manager) and its actions (reverse)."""
    def listing():
        return listed.response("money/payments.html",
                               statuses=list(PAYMENT_STATUSES.items()), side=side)

    def create():
        return payment_create_page(side, form())

    def detail(payment_id: int):
        return payment_page(side, payment_id)

    def allocate(payment_id: int):
        return payment_allocate_page(side, payment_id)

    record = f"{url}/<int:payment_id>"
    for view, suffix, path, role, methods in (
            (listing, "list", url, "viewer", ["GET"]),
            (create, "create", f"{url}/new", "manager", ["GET", "POST"]),
            (detail, "detail", record, "viewer", ["GET"]),
            (allocate, "allocate", f"{record}/allocate", "manager", ["POST"])):
        # named first: the export limit is kept under the view's name
        view.__name__ = view.__qualname__ = f"{name}_{suffix}"
        if suffix == "list":
            view = export_limited(view)
        bp.add_url_rule(path, view.__name__, require_role(role)(view), methods=methods)
    register_actions(bp, model, service, detail=f"money.{name}_detail", url=record)


register_payment_pages(RECEIVABLE, url="/payments", name="payment", form=PaymentForm,
                       model=Payment, service=payment_service,
                       listed=invoice_queries.PAYMENTS)


# --- reports: receivables aging, sales analysis -------------------------------------------

@bp.route("/receivables-aging")
@require_role("viewer")
@export_limited
def receivables_aging():
    """Per customer, what its open invoices still ask for, by days past due as of today in
    the company's time zone (or `as_of`), with a totals row; CSV with `format=csv`."""
    company_id = current_user.company_id
    today = company_today(current_user.company)
    text = request.args.get("as_of", "").strip()[:20]
    as_of, problem = (parse_date(text) if text else today), None
    if as_of is None:
        as_of, problem = today, _("The date was not understood (YYYY-MM-DD): the aging is "
                                  "as of today.")
    spec = receivables_queries.AGING
    params = spec.params()
    base = receivables_queries.aging_select(company_id, as_of)
    chosen = (select(spec.select(params, base).subquery().c.id)
              if params.filters.get("customer") else None)
    return spec.response(
        "money/receivables_aging.html", base=base, as_of=as_of, problem=problem,
        buckets=receivables_queries.AGING_BUCKETS, cache_key=as_of.isoformat(),
        context=lambda page, params: {
            "totals": receivables_queries.aging_totals(company_id, as_of, chosen)})


@bp.route("/sales-analysis")
@require_role("viewer")
@export_limited
def sales_analysis():
    """Net sales (issued invoices less credit notes, before tax) of a period of months by
    customer, product, category or month (`by`), with a chart and CSV."""
    company_id = current_user.company_id
    by = request.args.get("by", "customer")
    if by not in receivables_queries.ANALYSIS_BY:
        by = "customer"
    first, last, problem = receivables_queries.analysis_period(
        company_today(current_user.company), request.args.get("start", "")[:20],
        request.args.get("end", "")[:20])
    spec = receivables_queries.ANALYSIS[by]
    return spec.response(
        "money/sales_analysis.html",
        base=receivables_queries.analysis_select(by, company_id, first, last),
        by=by, choices=list(receivables_queries.ANALYSIS_BY.items()), first=first,
        last=last, problem=problem, cache_key=f"{by}:{first}:{last}",
        context=lambda page, params: {
            "total": receivables_queries.analysis_total(company_id, first, last)})


from erp.blueprints.money import payables  # noqa: E402,F401  (the supplier side's routes)
