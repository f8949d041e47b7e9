"""Money, the supplier side: supplier bills (a document with a line editor, print page and
PDF, drafted from a purchase order's received goods or directly), supplier payments and
the payables aging report. Declared on the same shapes as the customer side (`Side`,
`LineEditor`, `register_actions`, `register_printout`, the list specs); the routes hang on
the money blueprint."""
from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user

from erp.auth import require_role
from erp.blueprints.money.forms import BillForm, SupplierPaymentForm
from erp.blueprints.money.views import (Side, bp, document_create, register_document_pages,
                                        register_payment_pages)
from erp.blueprints.sales.forms import LineEditForm, LineForm
from erp.csv_io import export_limited, stream_csv, wants_csv
from erp.i18n import _
from erp.lines import LineEditor, Pick
from erp.models.bills import BILL_STATUSES, Bill, BillLine, SupplierPayment
from erp.models.catalog import Supplier
from erp.models.core import company_today
from erp.models.purchasing import PurchaseOrder
from erp.parsing import parse_date, parse_id, picked_id
from erp.queries import bills as queries
from erp.queries import scoped_get_or_404
from erp.services import DomainError
from erp.services import bills as bill_service
from erp.services.catalog import find_supplier
from erp.web import confirmation, redirect_after_post, render

PAYABLE = Side(
    payable=True, document="bill", party="supplier", party_detail="catalog.supplier_detail",
    party_options="catalog.supplier_options", payment="supplier_payment",
    number_hint="BILL-…", payment_hint="SPAY-…", find=find_supplier,
    open_documents=bill_service.open_bills, record=bill_service.record_supplier_payment,
    allocate=bill_service.allocate_supplier_payment,
    load_payment=queries.supplier_payment_page)


# --- bills --------------------------------------------------------------------------------

@bp.route("/bills")
@require_role("viewer")
@export_limited
def bill_list():
    return queries.BILLS.response(
        "money/documents.html", statuses=list(BILL_STATUSES.items()),
        today=company_today(current_user.company_id), side=PAYABLE)


@bp.route("/bills/new", methods=["GET", "POST"])
@require_role("staff")
def bill_create():
    """A direct bill of a supplier."""
    form = BillForm()
    return document_create(
        PAYABLE, form, "money/document_form.html", Supplier,
        lambda supplier_id: bill_service.create_bill(
            company_id=current_user.company_id, user=current_user, supplier_id=supplier_id,
            notes=form.notes.data or "", supplier_reference=form.supplier_reference.data or ""))


BILL_LINES = LineEditor(
    model=Bill, line_model=BillLine, doc_name="document", doc_key="bill_id",
    line_key="line_id", detail="money.bill_detail", template="money/document_detail.html",
    endpoints=("money.bill_line_add", "money.bill_line_update", "money.bill_line_remove"),
    load=queries.bill_page, add_form=LineForm, edit_form=LineEditForm,
    add=bill_service.add_line, update=bill_service.update_line,
    remove=bill_service.remove_line, pick=Pick("product", "product_id"),
    section="bill-{id}-lines", role=Bill.workflow.edit_role,
    oob=("money/_document_totals.html",),
    context=lambda bill: {"today": company_today(bill.company_id), "side": PAYABLE,
                          "allocations": queries.bill_allocations(bill)},
    added=lambda line: _("Line added."), saved=_("Line saved."),
    not_added=_("The line was not added: see the errors."),
    not_saved=_("The line was not saved: see the errors."))


register_document_pages(PAYABLE, BILL_LINES, name="bill", url="/bills", model=Bill,
                        service=bill_service, load=queries.bill_page)


@bp.route("/purchase-orders/<int:order_id>/bill", methods=["GET", "POST"])
@require_role("staff")
def order_bill(order_id: int):
    """A purchase order's "Create bill": GET asks first, POST drafts the bill of what the
    order received and no bill takes yet, and opens it."""
    order = scoped_get_or_404(PurchaseOrder, order_id)
    back = url_for("purchasing.order_detail", order_id=order.id)
    if request.method == "GET":
        return confirmation(_("Create a draft bill of what %(number)s received and is not "
                              "billed yet?", number=order.number),
                            url=url_for("money.order_bill", order_id=order.id),
                            button=_("Create bill"), style="btn btn-success", back=back,
                            nav="money/_nav.html")
    try:
        bill = bill_service.create_bill_from_order(
            company_id=current_user.company_id, order_id=order.id, user=current_user)
    except DomainError as error:
        flash(str(error), "danger")
        return redirect_after_post(back)
    flash(_("%(bill)s created for %(order)s: check it, then a manager posts it.",
            bill=bill.number, order=order.number), "success")
    return redirect_after_post("money.bill_detail", bill_id=bill.id)


# --- supplier payments --------------------------------------------------------------------

register_payment_pages(PAYABLE, url="/supplier-payments", name="supplier_payment",
                       form=SupplierPaymentForm, model=SupplierPayment, service=bill_service,
                       listed=queries.SUPPLIER_PAYMENTS)


# --- payables aging -----------------------------------------------------------------------

AGING_PER_PAGE = 50


@bp.route("/payables-aging")
@require_role("viewer")
def payables_aging():
    """What we owe each supplier by days past due, as of today (the company's) or
    `as_of`; `supplier` narrows it to one; `?format=csv` exports every supplier's row."""
    company_id = current_user.company_id
    as_of = parse_date(request.args.get("as_of", "")) or company_today(company_id)
    text = request.args.get("supplier", "")[:250].strip()
    supplier = None
    if text:
        supplier = find_supplier(company_id, text)
        if supplier is None and picked_id(text) is None:
            flash(_("No supplier is named %(name)s.", name=text), "warning")
    page = parse_id(request.args.get("page", "")) or 1
    party_id = supplier.id if supplier else (-1 if text else None)
    if wants_csv():
        report = queries.aging(bill_service.SUPPLIERS, company_id, as_of=as_of,
                               party_id=party_id, per_page=None)
        return stream_csv(f"payables-aging-{as_of.isoformat()}.csv",
                               ["supplier", "supplier_id", *queries.BUCKETS, "total"],
                               [[row.name, row.party_id,
                                 *(row.amounts[b] for b in queries.BUCKETS), row.total]
                                for row in report.rows])
    report = queries.payables_aging(company_id, as_of=as_of, party_id=party_id, page=page,
                                    per_page=AGING_PER_PAGE)
    return render("money/payables_aging.html", report=report, buckets=queries.BUCKETS,
                  supplier_text=text, page=page, as_of=as_of,
                  today=company_today(company_id))
