"""Sales: customers, sales orders with an htmx line editor, workflow buttons, print pages."""
from __future__ import annotations

from datetime import date
from functools import partial

from flask import Blueprint, flash, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from erp.auth import require_role
from erp.blueprints.money.statements import register_statement
from erp.crud import Resource
from erp.lists import ARCHIVE_CHOICES
from erp.blueprints.returns_pages import ReturnPages, register_return_pages
from erp.blueprints.sales.forms import (CustomerForm, DeliveryForm, LineEditForm, LineForm,
                                       OrderForm)
from erp.documents import header_form, register_actions
from erp.csv_io import export_limited
from erp.extensions import db
from erp.models.core import company_today
from erp.parsing import parse_id
from erp.pdf import register_printout
from erp.forms import choices
from erp.lines import LineEditor, Pick, register_line_routes
from erp.models import Warehouse
from erp.models.returns import SalesReturn
from erp.models.sales import (DELIVERY_STATUSES, ORDER_STATUSES, Customer, DeliveryNote,
                              IssuedDocument, SalesOrder, SalesOrderItem, Seller)
from erp.queries import invoices as invoice_queries
from erp.queries import receivables as receivables_queries
from erp.queries import returns as return_queries
from erp.queries import sales as queries
from erp.queries.money import party_terms_choices
from erp.queries import company_select, scoped_get, scoped_get_or_404
from erp.queries.inventory import line_availability
from erp.services import DomainError, ValidationError
from erp.services import deliveries as delivery_service
from erp.services import invoices as invoice_service
from erp.services import returns as return_service
from erp.services import sales as sales_service
from erp.services.inventory import default_warehouse_of
from erp.web import (by_line, confirmation, line_inputs, picker_response, redirect_after_post,
                     render, split_line_errors)
from erp.i18n import N_, _, _l

bp = Blueprint("sales", __name__, url_prefix="/sales")

ORDER_SORTS = {"date": SalesOrder.order_date, "number": SalesOrder.number,
               "total": SalesOrder.total}
STATUS_CHOICES = list(ORDER_STATUSES.items())
CUSTOMER_FIELDS = ("name", "email", "phone", "tax_number", "billing_address",
                   "shipping_address", "credit_limit", "payment_terms_id", "active")


def _company_id() -> int:
    return current_user.company_id


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


# --- customers --------------------------------------------------------------------------

def _customer_form(form: CustomerForm, customer: Customer | None) -> None:
    form.payment_terms_id.choices = choices(
        party_terms_choices(keep=customer.payment_terms_id if customer else None))


customers = Resource(
    name="customer", plural="customers", model=Customer, label=_l("Customer"), form=CustomerForm,
    fields=CUSTOMER_FIELDS, templates="sales/customer", nav="sales/_nav.html",
    list_spec=queries.CUSTOMERS, list_context=lambda page, params: {"statuses": ARCHIVE_CHOICES},
    create=sales_service.create_customer, update=sales_service.update_customer,
    set_active=sales_service.set_customer_active, delete=sales_service.delete_customer,
    in_use=sales_service.customer_in_use, title=lambda customer: customer.name,
    prepare_form=_customer_form, detail_options=[joinedload(Customer.payment_terms)],
    detail_context=queries.customer_page, detail_block="results",
).register(bp)


@bp.route("/customers/options")
@require_role("viewer")
def customer_options():
    """Active customers by name, email or tax number."""
    return picker_response(Customer, *sales_service.CUSTOMER_SEARCH,
                           hint=lambda customer: customer.email)


register_statement(bp, receivables_queries.CUSTOMER_STATEMENT,
                   "/customers/<int:customer_id>/statement")


# --- orders -----------------------------------------------------------------------------

@bp.route("/orders")
@require_role("viewer")
@export_limited
def order_list():
    return queries.ORDERS.response("sales/orders.html", statuses=STATUS_CHOICES)


def _warehouse_choices():
    warehouses = db.session.scalars(
        company_select(Warehouse).where(Warehouse.active.is_(True))
        .order_by(Warehouse.code, Warehouse.id).limit(200))
    return choices([("", N_("Choose a warehouse"))] + [(str(w.id), str(w)) for w in warehouses])


def _header_data(form: OrderForm) -> dict:
    customer = sales_service.find_customer(_company_id(), form.customer.data)
    return {"customer_id": customer.id if customer else None,
            "warehouse_id": form.warehouse_id.data, "order_date": form.order_date.data,
            "requested_date": form.requested_date.data, "notes": form.notes.data or ""}


@bp.route("/orders/new", methods=["GET", "POST"])
@require_role("staff")
def order_create():
    form = OrderForm()
    form.warehouse_id.choices = _warehouse_choices()
    if request.method == "GET":
        form.order_date.data = company_today(current_user.company)
        warehouse = default_warehouse_of(_company_id())
        form.warehouse_id.data = str(warehouse.id) if warehouse else ""
        customer = scoped_get(Customer, parse_id(request.args.get("customer_id")))
        if customer is not None:
            form.customer.data = customer.picker_label
    return header_form(
        "sales/order_form.html", form, _header_data,
        partial(sales_service.create_order, company_id=_company_id(), user=current_user),
        detail="sales.order_detail",
        saved=lambda order: f"Sales order {order.number} created. Add its lines.")


@bp.route("/orders/<int:order_id>/edit", methods=["GET", "POST"])
@require_role("staff")
def order_edit(order_id: int):
    order = scoped_get_or_404(SalesOrder, order_id, joinedload(SalesOrder.customer))
    form = OrderForm(obj=order)
    form.warehouse_id.choices = _warehouse_choices()
    if request.method == "GET":
        form.customer.data = order.customer.picker_label
        form.warehouse_id.data = str(order.warehouse_id)
    return header_form(
        "sales/order_form.html", form, _header_data,
        partial(sales_service.update_order, company_id=_company_id(), order_id=order.id,
                user=current_user),
        detail="sales.order_detail", saved=lambda _: "Order saved.", document=order,
        refused=None if order.is_draft else
        f"{order.number} is {order.status_label.lower()}: only a draft can be edited.")


def _load_order(order_id: int) -> SalesOrder:
    """The order with everything its page shows: customer, warehouse, lines and products."""
    return scoped_get_or_404(
        SalesOrder, order_id, joinedload(SalesOrder.customer), joinedload(SalesOrder.warehouse),
        selectinload(SalesOrder.items).joinedload(SalesOrderItem.product))


def _draft_figures(order: SalesOrder) -> dict:
    """What a draft's page shows beside its lines: each line's available stock and the
    customer's credit against its limit (a confirmed order's are settled)."""
    if not order.is_draft:
        return {"availability": {}, "credit": None}
    return {"availability": line_availability(order.warehouse_id, order.items),
            "credit": sales_service.credit_check(order.company_id, order)}


LINES = LineEditor(
    model=SalesOrder, line_model=SalesOrderItem, doc_name="order", doc_key="order_id",
    line_key="line_id", detail="sales.order_detail", template="sales/order_detail.html",
    endpoints=("sales.order_line_add", "sales.order_line_update", "sales.order_line_remove"),
    load=_load_order, add_form=LineForm, edit_form=LineEditForm, add=sales_service.add_line,
    update=sales_service.update_line, remove=sales_service.remove_line,
    pick=Pick("product", "product_id"), section="order-{id}-lines",
    editable=lambda order: order.is_draft,
    oob=("sales/_order_totals.html", "sales/_order_credit.html"),
    context=lambda order: {**_draft_figures(order),
                           "deliveries": queries.order_deliveries(order),
                           "invoices": invoice_queries.order_invoices(order)},
    not_added="The line was not added: see the errors.",
    not_saved="The line was not saved: see the errors.")


@bp.route("/orders/<int:order_id>")
@require_role("viewer")
def order_detail(order_id: int):
    order = _load_order(order_id)
    return render("sales/order_detail.html", block="lines", ship_lots=_ship_lots(order),
                  **LINES.page_context(order))


def _ship_lots(order: SalesOrder) -> list[tuple]:
    """The tracked lines "Ship all" takes, with the first-expiring lots suggested (for a
    manager; nothing else asks the warehouse's lots)."""
    left = [item for item in order.items if item.left_quantity > 0 and item.product.tracked]
    if not left or not order.can("ship", current_user):
        return []
    values = delivery_service.left_to_ship(order)
    return [(item.id, item.product, item.left_quantity, values.get(f"lot-{item.id}", ""))
            for item in left]


register_line_routes(bp, LINES, url="/orders/<int:order_id>/lines",
                     line_url="/orders/<int:order_id>/lines/<int:line_id>")


register_actions(bp, SalesOrder, sales_service, detail="sales.order_detail",
                 names=("confirm", "confirm_over_limit", "ship", "close", "cancel"))


def _document(order: SalesOrder) -> dict:
    """What a sales document's print page and PDF show."""
    return {"order": order, "doc": IssuedDocument.of(order, current_user.company)}


register_printout(bp, "order", "/orders/<int:order_id>", "sales/order_print.html",
                  lambda order_id: _document(_load_order(order_id)),
                  lambda document: document["order"].number)


@bp.route("/orders/<int:order_id>/invoice", methods=["GET", "POST"])
@require_role("staff")
def order_invoice(order_id: int):
    """The order's "invoice" step: GET asks first, POST drafts the invoice of what was
    shipped and not invoiced yet and opens it."""
    order = _load_order(order_id)
    back = url_for("sales.order_detail", order_id=order.id)
    if request.method == "GET":
        try:
            SalesOrder.workflow.begin(order, "invoice", current_user)
        except DomainError as error:
            flash(str(error), "warning")
            return redirect_after_post(back)
        return confirmation(_("Create a draft invoice of what %(number)s shipped and is not "
                              "invoiced yet?", number=order.number),
                            url=url_for("sales.order_invoice", order_id=order.id),
                            button=_("Create invoice"), style="btn btn-success", back=back,
                            nav="sales/_nav.html")
    try:
        invoice = invoice_service.create_invoice_from_order(
            company_id=_company_id(), order_id=order.id, user=current_user)
    except DomainError as error:
        flash(str(error), "danger")
        return redirect_after_post(back)
    flash(_('%(number)s created for %(number2)s: check it, then a manager issues it.', number=invoice.number, number2=order.number),
          "success")
    return redirect_after_post("money.invoice_detail", invoice_id=invoice.id)


# --- delivery notes ---------------------------------------------------------------------

@bp.route("/orders/<int:order_id>/deliver", methods=["GET", "POST"])
@require_role("staff")
def order_deliver(order_id: int):
    """GET: a delivery form, each line's quantity left to ship prefilled; POST: the
    delivery note as a draft, or posted at once ("Post now")."""
    order = _load_order(order_id)
    if not order.can("deliver"):
        flash(_('%(number)s is %(value)s: there is nothing to deliver.', number=order.number, value=order.status_label.lower()),
              "warning")
        return redirect_after_post("sales.order_detail", order_id=order.id)
    form = DeliveryForm()
    values = delivery_service.left_to_ship(order)
    line_errors: dict[str, list[str]] = {}
    if request.method == "GET":
        form.delivery_date.data = company_today(current_user.company)
    else:
        submitted = line_inputs("qty-", "lot-")
        values.update(submitted)
        if form.validate_on_submit():
            answer = _create_delivery(order, form, submitted)
            if not isinstance(answer, dict):
                return answer
            line_errors = answer
    status = 422 if (form.errors or line_errors) else 200
    return render("sales/delivery_form.html", form=form, order=order, values=values,
                  line_errors=line_errors, status=status)


def _create_delivery(order, form, submitted: dict):
    """The delivery note from the posted form: a redirect, or the lines' errors."""
    try:
        delivery = delivery_service.create_delivery(
            company_id=_company_id(), order_id=order.id, user=current_user,
            quantities=by_line(submitted, "qty-"), lots=by_line(submitted, "lot-"),
            delivery_date=form.delivery_date.data, notes=form.notes.data or "",
            post="post" in request.form)
    except ValidationError as error:
        return split_line_errors(form, error, {f"{prefix}{item.id}" for item in order.items
                                               if item.left_quantity
                                               for prefix in ("qty-", "lot-")})
    except DomainError as error:
        flash(str(error), "danger")
        return redirect_after_post("sales.order_detail", order_id=order.id)
    flash(_("%(number)s posted: stock issued.", number=delivery.number)
          if delivery.status == "posted"
          else _("%(number)s saved as a draft.", number=delivery.number), "success")
    return redirect_after_post("sales.delivery_detail", delivery_id=delivery.id)


@bp.route("/deliveries")
@require_role("viewer")
@export_limited
def delivery_list():
    return queries.DELIVERIES.response("sales/deliveries.html",
                                       statuses=list(DELIVERY_STATUSES.items()))


@bp.route("/deliveries/<int:delivery_id>")
@require_role("viewer")
def delivery_detail(delivery_id: int):
    delivery = queries.delivery_page(delivery_id)
    returns = (return_queries.returns_of(SalesReturn, SalesReturn.delivery_id, delivery.id,
                                         delivery.company_id)
               if delivery.status == "posted" else None)
    return render("sales/delivery_detail.html", delivery=delivery, returns=returns,
                  kind=return_queries.SALES)


register_actions(bp, DeliveryNote, delivery_service, detail="sales.delivery_detail",
                 url="/deliveries/<int:delivery_id>")


def _delivery_document(delivery_id: int) -> dict:
    """What a delivery note's print page and PDF show."""
    delivery = queries.delivery_page(delivery_id)
    return {"delivery": delivery, "order": delivery.order,
            "seller": Seller.of(current_user.company)}


register_printout(bp, "delivery", "/deliveries/<int:delivery_id>", "sales/delivery_print.html",
                  _delivery_document, lambda document: document["delivery"].number)


# --- sales returns (erp/blueprints/returns_pages.py) --------------------------------------

register_return_pages(bp, ReturnPages(
    kind=return_queries.SALES, model=SalesReturn, list_spec=return_queries.SALES_RETURNS,
    page=return_queries.sales_return_page, document=return_queries.delivery_for_return,
    lines=lambda delivery: delivery.lines, create=return_service.create_sales_return,
    id_arg="delivery_id", url="/deliveries/<int:document_id>/return",
    default_warehouse=lambda delivery: delivery.warehouse_id,
    refused=return_service.SALES.refused,
    offers=return_queries.invoices_to_credit), prefix="")
