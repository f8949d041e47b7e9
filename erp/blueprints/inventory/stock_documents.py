"""Count sheet and transfer pages (part of the inventory blueprint): lists, the new-document
forms, record pages with the line editor, the workflow's buttons, print pages and PDFs.
The rules are in erp/services/stock_documents.py."""
from __future__ import annotations

from flask import flash, request
from flask_login import current_user

from erp.auth import require_role
from erp.blueprints.inventory.document_forms import (CountForm, CountLineAddForm, CountLineForm,
                                                    TransferForm, TransferLineAddForm,
                                                    TransferLineForm)
from erp.blueprints.inventory.views import bp
from erp.csv_io import export_limited
from erp.documents import register_actions
from erp.forms import choices
from erp.lines import LineEditor, Pick, register_line_routes
from erp.models.core import company_today
from erp.models.sales import Seller
from erp.models.stock_documents import (STOCK_DOC_STATUSES, StockCount, StockCountLine,
                                        StockTransfer, StockTransferLine)
from erp.parsing import parse_id
from erp.pdf import register_printout
from erp.queries import inventory as inventory_queries
from erp.queries import scoped_get_or_404
from erp.queries import stock_documents as queries
from erp.queries.catalog import category_choices
from erp.services import DomainError
from erp.services import stock_documents as service
from erp.web import form_status, redirect_after_post, render, submit_form
from erp.i18n import N_, _

STATUSES = list(STOCK_DOC_STATUSES.items())
NO_PRODUCT = "No product with this barcode or SKU; pick one from the list."


def register_document(name: str, model, lines: LineEditor, load, spec) -> None:
    """A stock document's routes: its list `<name>_list` (`/<name>s`, `spec` on
    `inventory/<name>s.html`), its page `<name>_detail` (`/<name>s/<<name>_id>`, the line
    editor's block for htmx), the line routes, the workflow's actions and the print page
    and PDF (`inventory/<name>_print.html`)."""
    url, key = f"/{name}s/<int:{name}_id>", f"{name}_id"

    def listing():
        return spec.response(f"inventory/{name}s.html", statuses=STATUSES,
                             warehouses=inventory_queries.warehouse_choices())

    listing.__name__ = f"{name}_list"
    bp.add_url_rule(f"/{name}s", listing.__name__, require_role("viewer")(export_limited(listing)))

    def detail(**ids):
        return render(lines.template, block="lines", **lines.page_context(load(ids[key])))

    detail.__name__ = f"{name}_detail"
    bp.add_url_rule(url, detail.__name__, require_role("viewer")(detail))
    register_line_routes(bp, lines, url=f"{url}/lines", line_url=f"{url}/lines/<int:line_id>")
    register_actions(bp, model, service, detail=f"inventory.{name}_detail", url=url)
    register_printout(
        bp, name, url, f"inventory/{name}_print.html",
        lambda **ids: {name: load(ids[key]), "seller": Seller.of(current_user.company)},
        lambda document: document[name].number)


def _user():
    return current_user._get_current_object()


def _warehouses():
    return inventory_queries.warehouse_choices(active_only=True)


def _save(form, template: str, save, detail: str, key: str, saved, **context):
    """POST a valid form to `save()`: its errors next to the fields, else the document's
    page with `saved(document)` flashed; else the form again (422 with errors)."""
    def done(document):
        flash(saved(document), "success")
        return redirect_after_post(detail, **{key: document.id})

    return (submit_form(form, save, done, form_errors=(DomainError,))
            or render(template, form=form, status=form_status(form), **context))


# --- count sheets ---------------------------------------------------------------------------

@bp.route("/counts/new", methods=["GET", "POST"])
@require_role("staff")
def count_create():
    form = CountForm()
    form.warehouse_id.choices = choices(_warehouses())
    form.category_id.choices = choices([("", N_("All categories"))] + category_choices())
    if request.method == "GET":
        form.count_date.data = company_today(current_user.company)
        warehouse = parse_id(request.args.get("warehouse", ""))
        form.warehouse_id.data = str(warehouse) if warehouse else \
            str(inventory_queries.chosen_default_warehouse_id() or "")
    return _save(
        form, "inventory/count_form.html",
        lambda: service.create_count(
            company_id=current_user.company_id, user=_user(),
            warehouse_id=form.warehouse_id.data, category_id=form.category_id.data or None,
            count_date=form.count_date.data, notes=form.notes.data or ""),
        "inventory.count_detail", "count_id",
        lambda count: f"{count.number} made: {len(count.lines)} products to count.")


COUNT_LINES = LineEditor(
    model=StockCount, line_model=StockCountLine, doc_name="count", doc_key="count_id",
    line_key="line_id", detail="inventory.count_detail",
    template="inventory/count_detail.html",
    endpoints=("inventory.count_line_add", "inventory.count_line_update",
               "inventory.count_line_remove"),
    load=queries.count_page, add_form=CountLineAddForm, edit_form=CountLineForm,
    add=service.add_count_line, update=service.update_count_line,
    remove=service.remove_count_line, pick=Pick("product", "product_id", NO_PRODUCT),
    section="count-{id}-lines", role=StockCount.workflow.edit_role,
    added=lambda line: f"{line.product.sku} counted: {line.inputs['counted']}.",
    saved="Count saved.", not_added="Please correct the count.",
    not_saved="Not saved: {errors}")


register_document("count", StockCount, COUNT_LINES, queries.count_page, queries.COUNTS)


# --- transfers ------------------------------------------------------------------------------

def _transfer_form() -> TransferForm:
    form = TransferForm()
    warehouses = _warehouses()
    form.from_warehouse_id.choices = choices(warehouses)
    form.to_warehouse_id.choices = choices(warehouses)
    return form


def _transfer_values(form: TransferForm) -> dict:
    return dict(from_warehouse_id=form.from_warehouse_id.data,
                to_warehouse_id=form.to_warehouse_id.data,
                transfer_date=form.transfer_date.data, notes=form.notes.data or "")


@bp.route("/transfers/new", methods=["GET", "POST"])
@require_role("staff")
def transfer_create():
    form = _transfer_form()
    if request.method == "GET":
        form.transfer_date.data = company_today(current_user.company)
        form.from_warehouse_id.data = str(inventory_queries.chosen_default_warehouse_id() or "")
    return _save(
        form, "inventory/transfer_form.html",
        lambda: service.create_transfer(company_id=current_user.company_id, user=_user(),
                                        **_transfer_values(form)),
        "inventory.transfer_detail", "transfer_id",
        lambda transfer: f"{transfer.number} made. Add what moves.", transfer=None)


@bp.route("/transfers/<int:transfer_id>/edit", methods=["GET", "POST"])
@require_role("staff")
def transfer_edit(transfer_id: int):
    transfer = scoped_get_or_404(StockTransfer, transfer_id)
    if not transfer.is_draft:
        flash(_('%(number)s is %(value)s; only a draft can be changed.', number=transfer.number, value=transfer.status_label.lower()), "warning")
        return redirect_after_post("inventory.transfer_detail", transfer_id=transfer.id)
    form = _transfer_form()
    if request.method == "GET":
        form.from_warehouse_id.data = str(transfer.from_warehouse_id)
        form.to_warehouse_id.data = str(transfer.to_warehouse_id)
        form.transfer_date.data = transfer.transfer_date
        form.notes.data = transfer.notes
    return _save(
        form, "inventory/transfer_form.html",
        lambda: service.update_transfer(company_id=current_user.company_id, user=_user(),
                                        transfer_id=transfer.id, **_transfer_values(form)),
        "inventory.transfer_detail", "transfer_id",
        lambda _: f"{transfer.number} saved.", transfer=transfer)


TRANSFER_LINES = LineEditor(
    model=StockTransfer, line_model=StockTransferLine, doc_name="transfer",
    doc_key="transfer_id", line_key="line_id", detail="inventory.transfer_detail",
    template="inventory/transfer_detail.html",
    endpoints=("inventory.transfer_line_add", "inventory.transfer_line_update",
               "inventory.transfer_line_remove"),
    load=queries.transfer_page, add_form=TransferLineAddForm, edit_form=TransferLineForm,
    add=service.add_transfer_line, update=service.update_transfer_line,
    remove=service.remove_transfer_line, pick=Pick("product", "product_id", NO_PRODUCT),
    section="transfer-{id}-lines", role=StockTransfer.workflow.edit_role,
    added=lambda line: f"{line.product.sku}: {line.inputs['quantity']} on the transfer.",
    not_added="Please correct the line.", not_saved="Not saved: {errors}")


register_document("transfer", StockTransfer, TRANSFER_LINES, queries.transfer_page,
                  queries.TRANSFERS)
