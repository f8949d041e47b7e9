"""The pages of both kinds of return (erp.services.returns), registered on the sales and
the purchasing blueprints: the new-return form of a document, the list, the record page,
its workflow buttons, the print page and its PDF. What differs is a
`erp.queries.returns.ReturnKind` and a few functions."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import flash, request
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from erp.auth import require_role
from erp.csv_io import export_limited
from erp.documents import register_actions
from erp.extensions import db
from erp.models import Warehouse
from erp.models.core import company_today
from erp.i18n import _, _l
from erp.models.returns import REASON_MAX, RETURN_STATUSES
from erp.models.sales import Seller
from erp.pdf import register_printout
from erp.queries import company_select
from erp.queries.returns import ReturnKind
from erp.services import DomainError, ValidationError
from erp.services import returns as service
from erp.web import by_line, line_inputs, redirect_after_post, render, split_line_errors


class ReturnForm(FlaskForm):
    """A new return's header; its quantities are `qty-<line id>` inputs read by the view.
    The warehouse is checked by the service (another company's id gets its message)."""

    return_date = DateField(_l("Return date"), validators=[DataRequired(_l("Enter a date."))])
    warehouse_id = SelectField(_l("Warehouse"), validate_choice=False)
    reason = StringField(_l("Reason"), validators=[DataRequired(_l("Say why the goods are returned.")),
                                               Length(max=REASON_MAX)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=service.NOTES_MAX)])


def warehouse_choices() -> list[tuple[str, str]]:
    warehouses = db.session.scalars(
        company_select(Warehouse).where(Warehouse.active.is_(True))
        .order_by(Warehouse.code, Warehouse.id).limit(200))
    return [(str(w.id), str(w)) for w in warehouses]


@dataclass(frozen=True)
class ReturnPages:
    kind: ReturnKind
    model: type
    list_spec: object
    page: Callable            # return id -> the return with its lines (404 elsewhere)
    document: Callable        # document id -> the document returned against, with its lines
    lines: Callable           # that document -> its lines a return may take from
    create: Callable          # the service creating a return
    id_arg: str               # the document's id in the service's keywords
    url: str                  # the document's form URL, "/deliveries/<int:document_id>/return"
    default_warehouse: Callable  # that document -> the warehouse id preselected
    refused: Callable         # that document -> why nothing can be returned now, or None
    offers: Callable = lambda record: []  # a return -> the invoices to credit for it


def register_return_pages(bp, pages: ReturnPages, *, prefix: str) -> None:
    """The return routes on `bp`: `<prefix>/returns...` and the document's `pages.url`."""
    kind, name = pages.kind, pages.kind.endpoint.split(".")[1]
    template_context = {"kind": kind}

    def new_return(document_id: int):
        document = pages.document(document_id)
        source_url = (kind.source_endpoint, {kind.source_arg: document.id})
        refused = pages.refused(document)
        if refused:
            flash(refused, "warning")
            return redirect_after_post(source_url[0], **source_url[1])
        lines = pages.lines(document)
        form = ReturnForm()
        form.warehouse_id.choices = warehouse_choices()
        values = service.returnable(lines)
        line_errors: dict[str, list[str]] = {}
        if request.method == "GET":
            form.return_date.data = company_today(current_user.company)
            form.warehouse_id.data = str(pages.default_warehouse(document))
        else:
            submitted = line_inputs("qty-", "lot-")
            values.update(submitted)
            if form.validate_on_submit():
                try:
                    created = pages.create(
                        company_id=current_user.company_id, user=current_user,
                        quantities=by_line(submitted, "qty-"), lots=by_line(submitted, "lot-"),
                        warehouse_id=form.warehouse_id.data, reason=form.reason.data,
                        return_date=form.return_date.data, notes=form.notes.data or "",
                        post="post" in request.form, **{pages.id_arg: document.id})
                except ValidationError as error:
                    line_errors = split_line_errors(
                        form, error, {f"{prefix}{line.id}" for line in lines
                                      if line.returnable_quantity > 0
                                      for prefix in ("qty-", "lot-")})
                except DomainError as error:
                    flash(str(error), "danger")
                    return redirect_after_post(source_url[0], **source_url[1])
                else:
                    flash(_("%(number)s posted: stock moved.", number=created.number)
                          if created.status == "posted"
                          else _("%(number)s saved as a draft.", number=created.number), "success")
                    return redirect_after_post(f"{kind.endpoint}_detail", return_id=created.id)
        status = 422 if (form.errors or line_errors) else 200
        return render("returns/form.html", form=form, document=document, lines=lines,
                      values=values, line_errors=line_errors, status=status,
                      form_url=request.path, **template_context)

    new_return.__name__ = f"{name}_create"
    bp.add_url_rule(pages.url, f"{name}_create", require_role(service.DRAFT_ROLE)(new_return),
                    methods=["GET", "POST"])

    @export_limited
    def return_list():
        return pages.list_spec.response("returns/list.html", statuses=list(RETURN_STATUSES.items()),
                                        **template_context)

    return_list.__name__ = f"{name}_list"
    bp.add_url_rule(f"{prefix}/returns", f"{name}_list", require_role("viewer")(return_list))

    def return_detail(return_id: int):
        record = pages.page(return_id)
        return render("returns/detail.html", record=record, credit_invoices=pages.offers(record),
                      **template_context)

    return_detail.__name__ = f"{name}_detail"
    bp.add_url_rule(f"{prefix}/returns/<int:return_id>", f"{name}_detail",
                    require_role("viewer")(return_detail))

    register_actions(bp, pages.model, service, detail=f"{kind.endpoint}_detail",
                     url=f"{prefix}/returns/<int:return_id>")

    register_printout(
        bp, name, f"{prefix}/returns/<int:return_id>", "returns/print.html",
        lambda return_id: {"record": pages.page(return_id),
                           "seller": Seller.of(current_user.company), **template_context},
        lambda document: document["record"].number)
